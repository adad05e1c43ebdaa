import { createClient, deleteClient, getClient, listClients, updateClient, type ClientDeps } from '../../app/clients.js';
import type { NetworkReader } from '../../app/ports.js';
import { clientsApi } from '../../contract/api-spec.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { created, noContent, ok } from '../responses.js';

const route = routesOf(clientsApi);

/** cachedNetworks: what creates read the network's ranges through (they never change). */
export function clientsHandler(deps: ClientDeps & { cachedNetworks: NetworkReader }, options: HttpOptions) {
  const createDeps = { ...deps, networks: deps.cachedNetworks };
  return httpHandler(
    [
      route('POST /networks/{network}/clients', async ({ path, body, audit }) => created(await createClient(createDeps, path.network, body, audit))),
      route('GET /networks/{network}/clients', async ({ path, query }) => ok(await listClients(deps, path.network, query))),
      route('GET /networks/{network}/clients/{clientId}', async ({ path }) => ok(await getClient(deps, path.network, path.clientId))),
      route('PATCH /networks/{network}/clients/{clientId}', async ({ path, body, audit }) =>
        ok(await updateClient(deps, path.network, path.clientId, body, audit)),
      ),
      route('DELETE /networks/{network}/clients/{clientId}', async ({ path, audit }) => {
        await deleteClient(deps, path.network, path.clientId, audit);
        return noContent();
      }),
    ],
    options,
  );
}
