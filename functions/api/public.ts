import { config } from '../config.js';
import { httpHandler, routesOf } from '../http/http-handler.js';
import { buildOpenApi } from '../http/openapi.js';
import { ok } from '../http/responses.js';
import { publicApi } from '../contract/api-spec.js';

const route = routesOf(publicApi);

const document = buildOpenApi(config().PUBLIC_BASE_URL);

export const handler = httpHandler([
  route('GET /health', async () => ok({ status: 'ok' })),
  route('GET /openapi.json', async () => ok(document)),
]);
