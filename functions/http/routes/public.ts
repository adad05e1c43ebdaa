import { publicApi } from '../../contract/api-spec.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { buildOpenApi } from '../openapi.js';
import { ok } from '../responses.js';

const route = routesOf(publicApi);

export function publicHandler(deps: { publicBaseUrl: string }, options: HttpOptions) {
  const document = buildOpenApi(deps.publicBaseUrl);
  return httpHandler(
    [route('GET /health', async () => ok({ status: 'ok' })), route('GET /openapi.json', async () => ok(document))],
    options,
  );
}
