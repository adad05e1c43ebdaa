import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork } from '../app/networks.js';
import { networkStores } from '../deps.js';
import { httpHandler, routesOf } from '../http/http-handler.js';
import { created, noContent, ok } from '../http/responses.js';
import { networksApi } from '../contract/api-spec.js';

const route = routesOf(networksApi);

const deps = networkStores();

export const handler = httpHandler([
  route('POST /networks', async ({ body }) => created(await createNetwork(deps, body))),
  route('GET /networks', async ({ query }) => ok(await listNetworks(deps, query))),
  route('GET /networks/{network}', async ({ path }) => ok(await getNetwork(deps, path.network))),
  route('PATCH /networks/{network}', async ({ path, body }) => ok(await updateNetwork(deps, path.network, body))),
  route('DELETE /networks/{network}', async ({ path }) => {
    await deleteNetwork(deps, path.network);
    return noContent();
  }),
]);
