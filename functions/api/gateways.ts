// Lambda entry: the gateways function, wired by the composition root from the environment.
import { idempotencyGuard } from '../compose/idempotency.js';
import { gatewayDeps } from '../compose/slices.js';
import { loadConfig } from '../config.js';
import { httpOptions } from '../http/http-handler.js';
import { gatewaysHandler } from '../http/routes/gateways.js';

const config = loadConfig(process.env);

export const handler = gatewaysHandler(gatewayDeps(config), httpOptions(config, idempotencyGuard(config)));
