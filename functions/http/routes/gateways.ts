import { createGateway, deleteGateway, getGateway, listGateways, requestResync, updateGateway, type GatewayDeps } from '../../app/gateways.js';
import { pageWithHealth, withHealth } from '../../app/status-view.js';
import { gatewaysApi } from '../../contract/api-spec.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { accepted, noContent, ok } from '../responses.js';

const route = routesOf(gatewaysApi);

export function gatewaysHandler(deps: GatewayDeps, options: HttpOptions) {
  // Every gateway answer carries the health its last report shows (a new gateway's id has none yet).
  const health = (g: Parameters<typeof withHealth>[1]) => withHealth(deps.status, g);
  return httpHandler(
    [
      route('POST /networks/{network}/gateways', async ({ path, body, audit }) => accepted({ ...(await createGateway(deps, path.network, body, audit)), health: null })),
      route('GET /networks/{network}/gateways', async ({ path, query }) => ok(await pageWithHealth(deps.status, await listGateways(deps, path.network, query)))),
      route('GET /networks/{network}/gateways/{gatewayId}', async ({ path }) => ok(await health(await getGateway(deps, path.network, path.gatewayId)))),
      route('PATCH /networks/{network}/gateways/{gatewayId}', async ({ path, body, audit }) =>
        ok(await health(await updateGateway(deps, path.network, path.gatewayId, body, audit))),
      ),
      route('DELETE /networks/{network}/gateways/{gatewayId}', async ({ path, audit }) => {
        await deleteGateway(deps, path.network, path.gatewayId, audit);
        return noContent();
      }),
      route('POST /networks/{network}/gateways/{gatewayId}/sync', async ({ path, audit }) =>
        accepted(await health(await requestResync(deps, path.network, path.gatewayId, audit))),
      ),
    ],
    options,
  );
}
