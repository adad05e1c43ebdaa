// Lambda entry of the gateway-sync worker (stream + schedule), with SSM Run Command as delivery.
import { syncDeps } from '../compose/slices.js';
import { loadConfig } from '../config.js';
import { createSyncHandler } from './sync-handler.js';

// Leaves room under the function's timeout (infra sets 5 minutes) to record results.
export const handler = createSyncHandler(syncDeps(loadConfig(process.env)), { budgetMs: 4 * 60_000 });
