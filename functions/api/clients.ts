// Lambda entry: the clients function, wired by the composition root from the environment.
import { idempotencyGuard } from '../compose/idempotency.js';
import { clientDeps } from '../compose/slices.js';
import { loadConfig } from '../config.js';
import { httpOptions } from '../http/http-handler.js';
import { clientsHandler } from '../http/routes/clients.js';

const config = loadConfig(process.env);

export const handler = clientsHandler(clientDeps(config), httpOptions(config, idempotencyGuard(config)));
