// Lambda entry: the networks function, wired by the composition root from the environment.
import { httpOptions, idempotencyGuard, networkDeps } from '../compose.js';
import { loadConfig } from '../config.js';
import { networksHandler } from '../http/routes/networks.js';

const config = loadConfig(process.env);

export const handler = networksHandler(networkDeps(config), httpOptions(config, idempotencyGuard(config)));
