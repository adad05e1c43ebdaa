// One run of the report schedule: read what the gateways reported since the last run, ask them for
// the next report, and keep ONE snapshot per gateway. The control plane reaches gateways only
// through SSM Run Command: the report document goes to each instance in a command of its own, and
// the agent writes each instance's stdout to the bucket (a 10,000-peer report is ~0.75 MB; SSM's API keeps
// only 24,000 characters of it). The next run reads that object, so a report reaches the answers
// within one interval, and nothing waits in between. No per-client write ever: answers merge the
// snapshot at read time (status-view.ts).
import { isInSync } from '../domain/generation.js';
import type { InitOptions } from '../domain/gateway-commands.js';
import { buildReportParameters } from '../domain/gateway-commands.js';
import {
  parseReportOutput,
  reportAgeSeconds,
  SnapshotView,
  type AgentState,
  type GatewayReport,
  type StatusSnapshot,
} from '../domain/gateway-report.js';
import type { Gateway } from '../domain/model.js';
import { REPORT_STEP_NAME, reportOutputPrefix, reportStdoutKey } from '../domain/object-keys.js';
import type { Clock, GatewayRef, GatewayReporter, GatewayStore, ObjectStore, RandomBytes, StatusSnapshotStore } from './ports.js';

/** DescribeInstanceInformation's filter takes at most 50 instance ids. */
export const REPORT_BATCH = 50;
/**
 * Instances per report command: one. An instance's output is read from under its own command's
 * id, which only that instance is told; a gateway's role may put objects under reports/, so in a
 * command shared with others it could write the output another instance's report is read from.
 */
export const REPORT_COMMAND_INSTANCES = 1;
/** Gateways whose snapshot is read and written at once. */
const CONCURRENCY = 8;
/**
 * How long a report command whose output has not arrived yet is waited for (a slow agent, a delayed
 * delivery) before the gateway is asked again: until then no new command goes to its instance, so
 * the late output is still read, rather than forgotten with its command.
 */
export const PENDING_PATIENCE_MS = 5 * 60_000;

export interface ReportDeps {
  gateways: Pick<GatewayStore, 'listAll'>;
  snapshots: StatusSnapshotStore;
  reporter: GatewayReporter;
  objects: Pick<ObjectStore, 'bucket' | 'getObject' | 'deleteObject'>;
  clock: Clock;
  randomBytes: RandomBytes;
  /** The state folder init was told to use (local mode and tests pick their own). */
  initOptions?: (gateway: Gateway) => InitOptions;
}

/** What one run learnt of one gateway: what the worker turns into metrics and log lines. */
export interface GatewayReportSummary extends GatewayRef {
  agent: AgentState;
  /** A new report was read in this run. */
  reported: boolean;
  peers: number | null;
  peersOnline: number | null;
  /** Seconds since the gateway's last report (since reports were first asked for, before the first). */
  reportAgeSeconds: number;
  /** Seconds desiredGeneration has been ahead of appliedGeneration (0 when in sync). */
  syncLagSeconds: number;
  /** Why a report that arrived could not be used. */
  problem?: string;
}

/** Every AWS call of the run, counted (the bench prices them). */
export interface ReportCalls {
  gatewayPages: number;
  snapshotReads: number;
  outputReads: number;
  outputDeletes: number;
  snapshotWrites: number;
  agentLookups: number;
  reportCommands: number;
}

export interface ReportRun {
  gateways: GatewayReportSummary[];
  failures: (GatewayRef & { error: string; message: string })[];
  calls: ReportCalls;
}

const refOf = (g: Gateway): GatewayRef => ({ network: g.network, gatewayId: g.id });

/** Runs `task` over `items` with at most `limit` at a time. */
async function each<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function runReports(deps: ReportDeps): Promise<ReportRun> {
  const calls: ReportCalls = { gatewayPages: 0, snapshotReads: 0, outputReads: 0, outputDeletes: 0, snapshotWrites: 0, agentLookups: 0, reportCommands: 0 };
  const failures: ReportRun['failures'] = [];
  const fail = (g: Gateway, err: unknown) =>
    failures.push({ ...refOf(g), error: (err as Error)?.name ?? 'Error', message: (err as Error)?.message ?? String(err) });

  // 1. Every ready gateway (a pending one has no interface yet) and its last snapshot.
  const ready: Gateway[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.gateways.listAll(100, cursor);
    calls.gatewayPages++;
    ready.push(...page.items.filter((g) => g.status === 'ready'));
    cursor = page.nextCursor;
  } while (cursor);
  const previous = new Map<Gateway, StatusSnapshot | undefined>();
  await each(ready, CONCURRENCY, async (g) => {
    try {
      const read = await deps.snapshots.read(g.network, g.id);
      calls.snapshotReads++;
      previous.set(g, read === undefined || read === 'unchanged' ? undefined : read.snapshot);
    } catch (err) {
      fail(g, err);
    }
  });
  const gateways = ready.filter((g) => previous.has(g));

  // 2. The outputs of the last run's commands: one per instance, shared by the gateways on it.
  const outputs = new Map<string, Promise<{ report?: GatewayReport; problem?: string; key: string } | undefined>>();
  const outputOf = (g: Gateway, pending: NonNullable<StatusSnapshot['pending']>) => {
    const key = reportStdoutKey(pending.keyPrefix, pending.commandId, g.instanceId, REPORT_STEP_NAME);
    let got = outputs.get(key);
    if (!got) {
      got = deps.objects.getObject(key).then((body) => {
        calls.outputReads++;
        if (body === undefined) return undefined;
        try {
          return { report: parseReportOutput(body.toString('utf8')), key };
        } catch (err) {
          return { problem: (err as Error).message, key };
        }
      });
      outputs.set(key, got);
    }
    return got;
  };

  // An instance whose last command is young and has not answered yet is left to finish it.
  const startedAt = deps.clock.now().getTime();
  const waiting = new Set<string>();
  await each(gateways, CONCURRENCY, async (g) => {
    const pending = previous.get(g)?.pending;
    if (!pending || startedAt - Date.parse(pending.sentAt) >= PENDING_PATIENCE_MS) return;
    if ((await outputOf(g, pending).catch(() => undefined)) === undefined) waiting.add(g.instanceId);
  });

  // 3. SSM's view of every agent, 50 instances per call.
  const instances = [...new Set(gateways.map((g) => g.instanceId))];
  const agents = new Map<string, AgentState>();
  for (const batch of chunks(instances, REPORT_BATCH)) {
    calls.agentLookups++;
    for (const [id, state] of await deps.reporter.agentStates(batch)) agents.set(id, state);
  }

  // 4. The next report: one command per online instance (REPORT_COMMAND_INSTANCES).
  const now = deps.clock.now();
  const keyPrefix = reportOutputPrefix(`${now.toISOString().replace(/[-:.]/g, '')}-${deps.randomBytes(4).toString('hex')}`);
  const sent = new Map<string, string>();
  const byStateDir = new Map<string, string[]>();
  for (const g of gateways) {
    if (agents.get(g.instanceId) !== 'online' || waiting.has(g.instanceId)) continue;
    const stateDir = deps.initOptions?.(g).stateDir ?? '';
    const list = byStateDir.get(stateDir) ?? [];
    if (!list.includes(g.instanceId)) list.push(g.instanceId);
    byStateDir.set(stateDir, list);
  }
  for (const [stateDir, ids] of byStateDir) {
    for (const batch of chunks(ids, REPORT_COMMAND_INSTANCES)) {
      const params = buildReportParameters(stateDir ? { stateDir } : {});
      const { commandId } = await deps.reporter.sendReport(batch, params, { bucket: deps.objects.bucket, keyPrefix });
      calls.reportCommands++;
      for (const id of batch) sent.set(id, commandId);
    }
  }

  // 5. One snapshot per gateway: the new report (or the last one), the agent, the next command.
  const summaries: GatewayReportSummary[] = [];
  await each(gateways, CONCURRENCY, async (g) => {
    try {
      const old = previous.get(g);
      const output = old?.pending ? await outputOf(g, old.pending) : undefined;
      const iface = output?.report?.interfaces.get(g.interfaceName);
      const report: StatusSnapshot['report'] = output?.report
        ? { at: new Date(output.report.at * 1000).toISOString(), interfaceUp: iface?.up ?? false, peers: iface?.peers ?? [] }
        : (old?.report ?? null);
      // Behind on any component (the gateway's own, or a client shard: domain/generation.ts).
      const behind = !isInSync(g);
      const commandId = sent.get(g.instanceId);
      const stillPending = !commandId && waiting.has(g.instanceId) ? old?.pending : undefined;
      const snapshot: StatusSnapshot = {
        version: 1,
        network: g.network,
        gatewayId: g.id,
        instanceId: g.instanceId,
        interfaceName: g.interfaceName,
        observedAt: now.toISOString(),
        agent: agents.get(g.instanceId) ?? 'unknown',
        report,
        ...(commandId ? { pending: { commandId, sentAt: now.toISOString(), keyPrefix } } : stillPending ? { pending: stillPending } : {}),
        requestedSince: old?.requestedSince ?? now.toISOString(),
        ...(behind ? { behindSince: old?.behindSince ?? now.toISOString() } : {}),
      };
      await deps.snapshots.write(snapshot);
      calls.snapshotWrites++;
      const health = new SnapshotView(snapshot).health(now);
      summaries.push({
        ...refOf(g),
        agent: snapshot.agent,
        reported: Boolean(output?.report),
        peers: health.peers,
        peersOnline: health.peersOnline,
        reportAgeSeconds: reportAgeSeconds(snapshot, now),
        syncLagSeconds: snapshot.behindSince ? Math.max(0, Math.round((now.getTime() - Date.parse(snapshot.behindSince)) / 1000)) : 0,
        ...(output?.problem ? { problem: output.problem } : {}),
      });
    } catch (err) {
      fail(g, err);
    }
  });

  // 6. A read output has served (deleting is free; the bucket's rule is the backstop).
  for (const got of outputs.values()) {
    const output = await got.catch(() => undefined);
    if (!output) continue;
    await deps.objects.deleteObject(output.key).catch(() => undefined);
    calls.outputDeletes++;
  }
  return { gateways: summaries, failures, calls };
}
