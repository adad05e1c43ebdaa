import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork, type NetworkDeps } from '../../app/networks.js';
import { networksApi } from '../../contract/api-spec.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { created, noContent, ok } from '../responses.js';

const route = routesOf(networksApi);

export function networksHandler(deps: NetworkDeps, options: HttpOptions) {
  return httpHandler(
    [
      route('POST /networks', async ({ body, audit }) => created(await createNetwork(deps, body, audit))),
      route('GET /networks', async ({ query }) => ok(await listNetworks(deps, query))),
      route('GET /networks/{network}', async ({ path }) => ok(await getNetwork(deps, path.network))),
      route('PATCH /networks/{network}', async ({ path, body, audit }) => ok(await updateNetwork(deps, path.network, body, audit))),
      route('DELETE /networks/{network}', async ({ path, audit }) => {
        await deleteNetwork(deps, path.network, audit);
        return noContent();
      }),
    ],
    options,
  );
}
