// The public end of a one-time link. GET only shows a page (mail scanners and chat previews fetch
// links); the page's form POSTs to the same URL, which spends the link.
import { inspectLink, redeemLink, type DownloadDeps } from '../../app/downloads.js';
import { downloadPageApi } from '../../contract/api-spec.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { downloadPage, landingPage } from '../pages.js';
import { publishCount } from '../../observability.js';

const route = routesOf(downloadPageApi);

export function downloadPageHandler(deps: DownloadDeps, options: HttpOptions) {
  return httpHandler(
    [
      route('GET /dl/{token}', async ({ path }) => landingPage(await inspectLink(deps, path.token))),
      route('POST /dl/{token}', async ({ path, audit }) => {
        const page = downloadPage(await redeemLink(deps, path.token, audit.requestId));
        publishCount('LinkRedemptions', audit.requestId);
        return page;
      }),
    ],
    options,
  );
}
