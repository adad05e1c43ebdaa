// The composition root: the one place that turns a validated configuration into stores, clients
// and clocks. Lambda entries take their function's slice (slices.ts, idempotency.ts); local mode
// and the tests take every part at once here, and `overrides` replaces any of them (the local
// gateway runner instead of SSM, a test's clock).
import type { AuditDeps } from '../app/audit.js';
import type { ExportDeps } from '../app/client-export.js';
import type { ImportDeps } from '../app/client-import.js';
import type { ClientDeps } from '../app/clients.js';
import type { DownloadDeps } from '../app/downloads.js';
import type { SyncDeps } from '../app/gateway-sync.js';
import type { GatewayDeps } from '../app/gateways.js';
import type { ReportDeps } from '../app/gateway-reports.js';
import type { NetworkDeps } from '../app/networks.js';
import type { IdempotencyGuard, NetworkReader } from '../app/ports.js';
import type { Config } from '../config.js';
import { idempotencyGuard } from './idempotency.js';
import { auditDeps, gatewayDeps, syncDeps } from './slices.js';

export { systemClock } from './slices.js';

/** Everything any function needs. */
export type Deps = NetworkDeps &
  GatewayDeps &
  ClientDeps &
  ImportDeps &
  ExportDeps &
  DownloadDeps &
  AuditDeps &
  SyncDeps &
  ReportDeps & {
    /** The create-client path reads networks through a per-container cache (network-cache.ts). */
    cachedNetworks: NetworkReader;
    idempotency?: IdempotencyGuard;
  };

export function createDeps(config: Config, overrides: Partial<Deps> = {}): Deps {
  const idempotency = idempotencyGuard(config);
  return {
    ...syncDeps(config),
    ...gatewayDeps(config),
    ...auditDeps(config),
    ...(idempotency ? { idempotency } : {}),
    ...overrides,
  };
}
