import { createClient, deleteClient, getClient, listClients, updateClient } from '../app/clients.js';
import { NetworkCache } from '../app/network-cache.js';
import { stores } from '../deps.js';
import { httpHandler, routesOf } from '../http/http-handler.js';
import { created, noContent, ok } from '../http/responses.js';
import { clientsApi } from '../contract/api-spec.js';

const route = routesOf(clientsApi);

const deps = stores();
// Creates need only the network's ranges, which never change; reads and lists use the store.
const createDeps = { ...deps, networks: new NetworkCache(deps.networks, deps.clock) };

export const handler = httpHandler([
  route('POST /networks/{network}/clients', async ({ path, body }) => created(await createClient(createDeps, path.network, body))),
  route('GET /networks/{network}/clients', async ({ path, query }) => ok(await listClients(deps, path.network, query))),
  route('GET /networks/{network}/clients/{clientId}', async ({ path }) => ok(await getClient(deps, path.network, path.clientId))),
  route('PATCH /networks/{network}/clients/{clientId}', async ({ path, body }) =>
    ok(await updateClient(deps, path.network, path.clientId, body)),
  ),
  route('DELETE /networks/{network}/clients/{clientId}', async ({ path }) => {
    await deleteClient(deps, path.network, path.clientId);
    return noContent();
  }),
]);
