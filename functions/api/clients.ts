// Lambda entry: the clients function, wired by the composition root from the environment.
import { httpOptions, idempotencyGuard, clientDeps } from '../compose.js';
import { loadConfig } from '../config.js';
import { clientsHandler } from '../http/routes/clients.js';

const config = loadConfig(process.env);

export const handler = clientsHandler(clientDeps(config), httpOptions(config, idempotencyGuard(config)));
