import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork } from '../app/networks.js';
import { stores } from '../deps.js';
import { httpHandler, route } from '../http/http-handler.js';
import { created, noContent, ok } from '../http/responses.js';

const deps = stores();

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
