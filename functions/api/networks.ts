// Lambda entry: the networks function, wired by the composition root from the environment.
import { idempotencyGuard } from '../compose/idempotency.js';
import { networkDeps } from '../compose/slices.js';
import { loadConfig } from '../config.js';
import { httpOptions } from '../http/http-handler.js';
import { networksHandler } from '../http/routes/networks.js';

const config = loadConfig(process.env);

export const handler = networksHandler(networkDeps(config), httpOptions(config, idempotencyGuard(config)));
