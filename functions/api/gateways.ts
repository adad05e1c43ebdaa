import { createGateway, deleteGateway, getGateway, listGateways, requestResync, updateGateway } from '../app/gateways.js';
import { gatewayStores } from '../deps.js';
import { httpHandler, routesOf } from '../http/http-handler.js';
import { accepted, noContent, ok } from '../http/responses.js';
import { gatewaysApi } from '../contract/api-spec.js';

const route = routesOf(gatewaysApi);

const deps = gatewayStores();

export const handler = httpHandler([
  route('POST /networks/{network}/gateways', async ({ path, body }) => accepted(await createGateway(deps, path.network, body))),
  route('GET /networks/{network}/gateways', async ({ path, query }) => ok(await listGateways(deps, path.network, query))),
  route('GET /networks/{network}/gateways/{gatewayId}', async ({ path }) =>
    ok(await getGateway(deps, path.network, path.gatewayId)),
  ),
  route('PATCH /networks/{network}/gateways/{gatewayId}', async ({ path, body }) =>
    ok(await updateGateway(deps, path.network, path.gatewayId, body)),
  ),
  route('DELETE /networks/{network}/gateways/{gatewayId}', async ({ path }) => {
    await deleteGateway(deps, path.network, path.gatewayId);
    return noContent();
  }),
  route('POST /networks/{network}/gateways/{gatewayId}/sync', async ({ path }) =>
    accepted(await requestResync(deps, path.network, path.gatewayId)),
  ),
]);
