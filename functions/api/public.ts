import { config } from '../config.js';
import { httpHandler, route } from '../http/http-handler.js';
import { buildOpenApi } from '../http/openapi.js';
import { ok } from '../http/responses.js';

const document = buildOpenApi(config().PUBLIC_BASE_URL);

export const handler = httpHandler([
  route('GET /health', async () => ok({ status: 'ok' })),
  route('GET /openapi.json', async () => ok(document)),
]);
