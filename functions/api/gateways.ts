// Lambda entry: the gateways function, wired by the composition root from the environment.
import { httpOptions, idempotencyGuard, gatewayDeps } from '../compose.js';
import { loadConfig } from '../config.js';
import { gatewaysHandler } from '../http/routes/gateways.js';

const config = loadConfig(process.env);

export const handler = gatewaysHandler(gatewayDeps(config), httpOptions(config, idempotencyGuard(config)));
