// What the gateway-sync worker does with one invocation: sync the gateways a batch of changes
// names, tear down deleted ones, or (on the schedule) sweep every gateway that is not where it
// should be. Each gateway gets a share of the invocation's time; one failing gateway never stops
// the others, and every outcome is reported to the caller (which logs it).
import { buildTeardownParameters } from '../domain/gateway-commands.js';
import type { Gateway } from '../domain/model.js';
import { isInSync } from '../domain/generation.js';
import { enforceExpiries, hasExpiring, syncGateway, waitForCommand, type SyncDeps, type SyncOutcome } from './gateway-sync.js';
import type { GatewayRef, RemovedGateway } from './ports.js';

export type WorkerReport =
  | ({ kind: 'sync' } & GatewayRef & SyncOutcome)
  | ({ kind: 'teardown' } & GatewayRef & { teardown: string; reason?: string })
  | ({ kind: 'failed'; step: 'sync' | 'teardown' | 'expiries' } & GatewayRef & { error: string; message: string });

export function needsWork(g: Gateway): boolean {
  return g.status === 'pending' || (g.status === 'ready' && (!isInSync(g) || g.lastSync?.outcome === 'sent'));
}

const failure = (step: 'sync' | 'teardown' | 'expiries', ref: GatewayRef, err: unknown): WorkerReport => ({
  kind: 'failed',
  step,
  ...ref,
  error: (err as Error)?.name ?? 'Error',
  message: (err as Error)?.message ?? String(err),
});

/** Syncs one gateway; a thrown error becomes a report instead of ending the others' turn. */
export async function syncReported(deps: SyncDeps, ref: GatewayRef, budgetMs: number): Promise<WorkerReport> {
  try {
    return { kind: 'sync', ...ref, ...(await syncGateway(deps, ref.network, ref.gatewayId, budgetMs)) };
  } catch (err) {
    return failure('sync', ref, err);
  }
}

/** Sends the teardown document to a deleted gateway's instance and waits for its result. */
export async function teardownGateway(deps: SyncDeps, removed: RemovedGateway, budgetMs: number): Promise<WorkerReport> {
  try {
    const stateDir = deps.initOptions?.({ network: removed.network, id: removed.gatewayId, instanceId: removed.instanceId, interfaceName: removed.interfaceName } as Gateway)?.stateDir;
    const params = buildTeardownParameters({ interfaceName: removed.interfaceName, ...(stateDir ? { stateDir } : {}) });
    const { commandId } = await deps.commands.sendTeardown(removed.instanceId, params);
    const result = await waitForCommand(deps, commandId, removed.instanceId, deps.clock.now().getTime() + budgetMs);
    const ref = { network: removed.network, gatewayId: removed.gatewayId };
    // The gateway's record is gone, so the outcome has nowhere to go but the report.
    return { kind: 'teardown', ...ref, teardown: result.status, ...(result.reason ? { reason: result.reason } : {}) };
  } catch (err) {
    return failure('teardown', removed, err);
  }
}

/** The scheduled sweep: every gateway that is behind, pending, waiting for a command, or has expiries due. */
export async function sweepGateways(deps: SyncDeps, budgetMs: number, requestId = '-'): Promise<WorkerReport[]> {
  const reports: WorkerReport[] = [];
  const todo: Gateway[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.gateways.listAll(100, cursor);
    for (const g of page.items) {
      if (needsWork(g)) todo.push(g);
      else if (g.status === 'ready' && hasExpiring(g)) {
        try {
          if (await enforceExpiries(deps, g, requestId)) todo.push(g);
        } catch (err) {
          reports.push(failure('expiries', { network: g.network, gatewayId: g.id }, err));
        }
      }
    }
    cursor = page.nextCursor;
  } while (cursor);
  const share = budgetMs / Math.max(1, todo.length);
  for (const g of todo) reports.push(await syncReported(deps, { network: g.network, gatewayId: g.id }, share));
  return reports;
}
