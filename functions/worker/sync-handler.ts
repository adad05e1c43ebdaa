// The gateway-sync worker: woken by the table's stream (gateway items whose desired state moved)
// and by a schedule that catches whatever was missed. The same code runs in Lambda and locally.
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent, StreamRecord } from 'aws-lambda';
import { enforceExpiries, syncGateway, type SyncDeps, type SyncOutcome } from '../app/gateway-sync.js';
import { buildTeardownParameters } from '../domain/gateway-commands.js';
import type { Gateway } from '../domain/model.js';
import { log } from '../http/log.js';

export interface SweepEvent {
  source: 'aws.events' | 'local.schedule';
}

export interface SyncHandlerOptions {
  /** Time one invocation may spend waiting for commands and pacing applies. */
  budgetMs: number;
}

type Image = StreamRecord['NewImage'];

const str = (image: Image, name: string): string | undefined => (image?.[name] as AttributeValue | undefined)?.S;
const num = (image: Image, name: string): number | undefined => {
  const n = (image?.[name] as AttributeValue | undefined)?.N;
  return n === undefined ? undefined : Number(n);
};

/** Whether a stream record asks for work: a new gateway, a moved generation, or a re-init. */
export function wantsSync(record: DynamoDBRecord): { network: string; gatewayId: string } | undefined {
  const keys = record.dynamodb?.Keys;
  const sk = (keys?.sk as AttributeValue | undefined)?.S;
  const pk = (keys?.pk as AttributeValue | undefined)?.S;
  if (!sk?.startsWith('GW#') || !pk?.startsWith('NET#')) return undefined;
  if (record.eventName === 'REMOVE') return undefined;
  const next = record.dynamodb?.NewImage;
  const prev = record.dynamodb?.OldImage;
  const moved =
    record.eventName === 'INSERT' ||
    num(next, 'desiredGeneration') !== num(prev, 'desiredGeneration') ||
    (str(next, 'status') === 'pending' && str(prev, 'status') !== 'pending');
  return moved ? { network: pk.slice(4), gatewayId: sk.slice(3) } : undefined;
}

/** A deleted gateway: the instance still runs its interface and firewall, and gets a teardown. */
export function wantsTeardown(record: DynamoDBRecord): { network: string; gatewayId: string; instanceId: string; interfaceName: string } | undefined {
  if (record.eventName !== 'REMOVE') return undefined;
  const keys = record.dynamodb?.Keys;
  const sk = (keys?.sk as AttributeValue | undefined)?.S;
  const pk = (keys?.pk as AttributeValue | undefined)?.S;
  if (!sk?.startsWith('GW#') || !pk?.startsWith('NET#')) return undefined;
  const old = record.dynamodb?.OldImage;
  const instanceId = str(old, 'instanceId');
  const interfaceName = str(old, 'interfaceName');
  if (!instanceId || !interfaceName) return undefined;
  return { network: pk.slice(4), gatewayId: sk.slice(3), instanceId, interfaceName };
}

async function teardown(deps: SyncDeps, t: NonNullable<ReturnType<typeof wantsTeardown>>, budgetMs: number): Promise<void> {
  const stateDir = deps.initOptions?.({ network: t.network, id: t.gatewayId, instanceId: t.instanceId, interfaceName: t.interfaceName } as Gateway)?.stateDir;
  const { commandId } = await deps.commands.sendTeardown(t.instanceId, buildTeardownParameters({ interfaceName: t.interfaceName, ...(stateDir ? { stateDir } : {}) }));
  const deadline = Date.now() + budgetMs;
  let result = await deps.commands.getResult(commandId, t.instanceId);
  while (result.status === 'pending' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, deps.pollIntervalMs));
    result = await deps.commands.getResult(commandId, t.instanceId);
  }
  // The gateway's record is gone, so the outcome has nowhere to go but the log.
  log(result.status === 'success' || result.status === 'pending' ? 'info' : 'error', {
    worker: 'gateway-sync',
    network: t.network,
    gatewayId: t.gatewayId,
    teardown: result.status,
    ...(result.reason ? { reason: result.reason } : {}),
  });
}

export function needsWork(g: Gateway): boolean {
  return (
    g.status === 'pending' ||
    (g.status === 'ready' && (g.appliedGeneration < g.desiredGeneration || g.lastSync?.outcome === 'sent'))
  );
}

export function createSyncHandler(getDeps: () => SyncDeps, options: SyncHandlerOptions) {
  return async (event: DynamoDBStreamEvent | SweepEvent): Promise<{ batchItemFailures: { itemIdentifier: string }[] } | void> => {
    const deps = getDeps();
    if ('Records' in event) {
      const targets = new Map<string, { network: string; gatewayId: string; sequence: string[] }>();
      for (const record of event.Records) {
        const target = wantsSync(record);
        if (!target) continue;
        const key = `${target.network}/${target.gatewayId}`;
        const entry = targets.get(key) ?? { ...target, sequence: [] };
        entry.sequence.push(record.dynamodb?.SequenceNumber ?? '');
        targets.set(key, entry);
      }
      const failures: { itemIdentifier: string }[] = [];
      const removed = event.Records.map((r) => ({ r, t: wantsTeardown(r) })).filter((x) => x.t !== undefined);
      const share = options.budgetMs / Math.max(1, targets.size + removed.length);
      for (const { r, t } of removed) {
        try {
          await teardown(deps, t!, share);
        } catch (err) {
          log('error', { worker: 'gateway-sync', network: t!.network, gatewayId: t!.gatewayId, teardown: 'not sent', error: (err as Error).name, message: (err as Error).message });
          if (r.dynamodb?.SequenceNumber) failures.push({ itemIdentifier: r.dynamodb.SequenceNumber });
        }
      }
      for (const t of targets.values()) {
        try {
          report(t.network, t.gatewayId, await syncGateway(deps, t.network, t.gatewayId, share));
        } catch (err) {
          log('error', { worker: 'gateway-sync', network: t.network, gatewayId: t.gatewayId, error: (err as Error).name, message: (err as Error).message });
          failures.push(...t.sequence.filter(Boolean).map((itemIdentifier) => ({ itemIdentifier })));
        }
      }
      return { batchItemFailures: failures };
    }

    // Scheduled sweep: every gateway that is not where it should be.
    let cursor: string | undefined;
    const todo: Gateway[] = [];
    do {
      const page = await deps.gateways.listAll(100, cursor);
      for (const g of page.items) {
        if (needsWork(g)) todo.push(g);
        else if (g.status === 'ready' && g.expiringClients) {
          try {
            if (await enforceExpiries(deps, g)) todo.push(g);
          } catch (err) {
            log('error', { worker: 'gateway-sync', network: g.network, gatewayId: g.id, error: (err as Error).name, message: (err as Error).message });
          }
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
    const share = options.budgetMs / Math.max(1, todo.length);
    for (const g of todo) {
      try {
        report(g.network, g.id, await syncGateway(deps, g.network, g.id, share));
      } catch (err) {
        log('error', { worker: 'gateway-sync', network: g.network, gatewayId: g.id, error: (err as Error).name, message: (err as Error).message });
      }
    }
  };
}

function report(network: string, gatewayId: string, outcome: SyncOutcome): void {
  log('info', { worker: 'gateway-sync', network, gatewayId, ...outcome });
}
