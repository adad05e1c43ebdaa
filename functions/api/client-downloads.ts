import { createLink, getConfigDownload, revokeLinks } from '../app/downloads.js';
import { downloadDeps } from '../deps.js';
import { httpHandler, routesOf } from '../http/http-handler.js';
import { created, noContent, ok } from '../http/responses.js';
import { clientDownloadsApi } from '../contract/api-spec.js';

const route = routesOf(clientDownloadsApi);

const deps = downloadDeps();

export const handler = httpHandler([
  route('GET /networks/{network}/clients/{clientId}/config', async ({ path }) =>
    ok(await getConfigDownload(deps, path.network, path.clientId)),
  ),
  route('POST /networks/{network}/clients/{clientId}/links', async ({ path, body }) =>
    created(await createLink(deps, path.network, path.clientId, body)),
  ),
  route('DELETE /networks/{network}/clients/{clientId}/links', async ({ path }) => {
    await revokeLinks(deps, path.network, path.clientId);
    return noContent();
  }),
]);
