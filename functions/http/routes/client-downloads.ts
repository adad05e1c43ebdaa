import { createLink, getConfigDownload, revokeLinks, type DownloadDeps } from '../../app/downloads.js';
import { clientDownloadsApi } from '../../contract/api-spec.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { created, noContent, ok } from '../responses.js';

const route = routesOf(clientDownloadsApi);

export function clientDownloadsHandler(deps: DownloadDeps, options: HttpOptions) {
  return httpHandler(
    [
      route('GET /networks/{network}/clients/{clientId}/config', async ({ path }) =>
        ok(await getConfigDownload(deps, path.network, path.clientId)),
      ),
      route('POST /networks/{network}/clients/{clientId}/links', async ({ path, body, audit }) =>
        created(await createLink(deps, path.network, path.clientId, body, audit)),
      ),
      route('DELETE /networks/{network}/clients/{clientId}/links', async ({ path, audit }) => {
        await revokeLinks(deps, path.network, path.clientId, audit);
        return noContent();
      }),
    ],
    options,
  );
}
