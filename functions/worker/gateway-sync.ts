// Lambda entry of the gateway-sync worker (stream + schedule), with SSM Run Command as delivery.
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmGatewayCommands } from '../adapters/ssm/gateway-commands.js';
import type { SyncDeps } from '../app/gateway-sync.js';
import { config } from '../config.js';
import { objectStore, secretsReader, stores } from '../deps.js';
import { createSyncHandler } from './sync-handler.js';

const c = config();
const ssm = new SSMClient({ region: c.AWS_REGION });
const deps: SyncDeps = {
  ...stores(),
  secrets: secretsReader(),
  objects: objectStore(),
  commands: new SsmGatewayCommands(ssm, {
    initDocumentName: c.INIT_DOCUMENT_NAME,
    applyDocumentName: c.APPLY_DOCUMENT_NAME,
    teardownDocumentName: c.TEARDOWN_DOCUMENT_NAME,
  }),
  pollIntervalMs: 1000,
};

// Leaves room under the function's timeout (infra sets 5 minutes) to record results.
export const handler = createSyncHandler(() => deps, { budgetMs: 4 * 60_000 });
