// Reads the main table's stream records (DynamoDB attribute values) into the gateway changes the
// sync worker acts on. The stream's wire format stops here.
import type { AttributeValue, DynamoDBRecord, StreamRecord } from 'aws-lambda';
import type { GatewayRef, RemovedGateway } from '../../app/ports.js';

type Image = StreamRecord['NewImage'];

const str = (image: Image, name: string): string | undefined => (image?.[name] as AttributeValue | undefined)?.S;
const num = (image: Image, name: string): number | undefined => {
  const n = (image?.[name] as AttributeValue | undefined)?.N;
  return n === undefined ? undefined : Number(n);
};

/** The network and id of a gateway item's record; undefined for every other item. */
function gatewayKey(record: DynamoDBRecord): GatewayRef | undefined {
  const keys = record.dynamodb?.Keys;
  const sk = (keys?.sk as AttributeValue | undefined)?.S;
  const pk = (keys?.pk as AttributeValue | undefined)?.S;
  if (!sk?.startsWith('GW#') || !pk?.startsWith('NET#')) return undefined;
  return { network: pk.slice(4), gatewayId: sk.slice(3) };
}

/** The gateway of a generation shard's record (`GWGEN#<id>#<shard>`); undefined for every other item. */
function shardGateway(record: DynamoDBRecord): GatewayRef | undefined {
  const keys = record.dynamodb?.Keys;
  const sk = (keys?.sk as AttributeValue | undefined)?.S;
  const pk = (keys?.pk as AttributeValue | undefined)?.S;
  if (!sk?.startsWith('GWGEN#') || !pk?.startsWith('NET#')) return undefined;
  const id = sk.slice('GWGEN#'.length, sk.lastIndexOf('#'));
  return id ? { network: pk.slice(4), gatewayId: id } : undefined;
}

/**
 * Whether a stream record asks for work: a new gateway, a moved generation (the gateway's own or
 * one of its shards': client changes move those), or a re-init.
 */
export function wantsSync(record: DynamoDBRecord): GatewayRef | undefined {
  const shard = shardGateway(record);
  if (shard) {
    const moved = record.eventName === 'MODIFY' && num(record.dynamodb?.NewImage, 'generation') !== num(record.dynamodb?.OldImage, 'generation');
    return moved ? shard : undefined;
  }
  const gateway = gatewayKey(record);
  if (!gateway || record.eventName === 'REMOVE') return undefined;
  const next = record.dynamodb?.NewImage;
  const prev = record.dynamodb?.OldImage;
  const moved =
    record.eventName === 'INSERT' ||
    num(next, 'desiredGeneration') !== num(prev, 'desiredGeneration') ||
    (str(next, 'status') === 'pending' && str(prev, 'status') !== 'pending');
  return moved ? gateway : undefined;
}

/** A deleted gateway: the instance still runs its interface and firewall, and gets a teardown. */
export function wantsTeardown(record: DynamoDBRecord): RemovedGateway | undefined {
  const gateway = gatewayKey(record);
  if (!gateway || record.eventName !== 'REMOVE') return undefined;
  const old = record.dynamodb?.OldImage;
  const instanceId = str(old, 'instanceId');
  const interfaceName = str(old, 'interfaceName');
  if (!instanceId || !interfaceName) return undefined;
  return { ...gateway, instanceId, interfaceName };
}

export interface GatewayChanges {
  /** Gateways to sync, each with the sequence numbers of the records that asked for it. */
  sync: (GatewayRef & { recordIds: string[] })[];
  teardown: (RemovedGateway & { recordId: string })[];
}

/** One batch of stream records as work: gateways to sync (once each) and gateways to tear down. */
export function readGatewayChanges(records: DynamoDBRecord[]): GatewayChanges {
  const sync = new Map<string, GatewayRef & { recordIds: string[] }>();
  const teardown: GatewayChanges['teardown'] = [];
  for (const record of records) {
    const recordId = record.dynamodb?.SequenceNumber ?? '';
    const removed = wantsTeardown(record);
    if (removed) teardown.push({ ...removed, recordId });
    const target = wantsSync(record);
    if (!target) continue;
    const key = `${target.network}/${target.gatewayId}`;
    const entry = sync.get(key) ?? { ...target, recordIds: [] };
    entry.recordIds.push(recordId);
    sync.set(key, entry);
  }
  return { sync: [...sync.values()], teardown };
}
