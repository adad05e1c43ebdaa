import { exportClients, type ExportDeps } from '../../app/client-export.js';
import { importClients, type ImportDeps } from '../../app/client-import.js';
import { createClient, deleteClient, getClient, listClients, updateClient, type ClientDeps } from '../../app/clients.js';
import type { NetworkReader } from '../../app/ports.js';
import { clientsApi } from '../../contract/api-spec.js';
import { ValidationError } from '../../domain/errors.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { created, noContent, ok, type HttpResponse } from '../responses.js';

const route = routesOf(clientsApi);

/** cachedNetworks: what creates read the network's ranges through (they never change). */
export function clientsHandler(deps: ClientDeps & ImportDeps & ExportDeps & { cachedNetworks: NetworkReader }, options: HttpOptions) {
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
      route('POST /networks/{network}/clients-import', async ({ path, body, query, event, audit }) => {
        const csv = /^text\/csv/i.test(event.headers?.['content-type'] ?? '');
        if (!csv && query.gatewayId !== undefined) {
          throw new ValidationError('gatewayId', 'only a text/csv import takes gatewayId in the query; a JSON import has it in the body');
        }
        return ok(await importClients(createDeps, path.network, body, audit));
      }),
      route('GET /networks/{network}/clients-export', async ({ path, query }) => exportAnswer(await exportClients(deps, path.network, query))),
    ],
    options,
  );
}

/** A small export is the file itself; a large one was written to S3 and is a signed URL. */
function exportAnswer(answer: Awaited<ReturnType<typeof exportClients>>): HttpResponse {
  if (answer.kind === 'url') {
    const { kind: _k, ...link } = answer;
    return ok(link);
  }
  return {
    statusCode: 200,
    headers: { 'content-type': answer.contentType, 'content-disposition': `attachment; filename="${answer.filename}"`, 'cache-control': 'no-store' },
    body: answer.body,
  };
}
