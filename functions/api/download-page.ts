// The public end of a one-time link. GET only shows a page (mail scanners and chat previews fetch
// links); the page's form POSTs to the same URL, which spends the link.
import { inspectLink, redeemLink } from '../app/downloads.js';
import { downloadDeps } from '../deps.js';
import { httpHandler, routesOf } from '../http/http-handler.js';
import { asHtmlPages, downloadPage, landingPage } from '../http/pages.js';
import { downloadPageApi } from '../contract/api-spec.js';

const route = routesOf(downloadPageApi);

const deps = downloadDeps();

export const handler = asHtmlPages(
  httpHandler([
    route('GET /dl/{token}', async ({ path }) => landingPage(await inspectLink(deps, path.token))),
    route('POST /dl/{token}', async ({ path }) => downloadPage(await redeemLink(deps, path.token))),
  ]),
);
