// A gateway's generation shards (domain/generation.ts): K small items beside the gateway item that
// client changes move instead of the gateway item, so concurrent client writes of one gateway
// contend on K items, not one. Each shard also carries the network's ranges as they were when the
// gateway was made: a client write's condition on its shard checks that the network (which
// cannot be deleted while the gateway exists) still has the ranges its addresses were picked from,
// without one more item, read by every create, in the transaction.
import { GetCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { NetworkGuard } from '../../app/ports.js';
import { GenerationBehindError, NetworkChangedError, NotFoundError } from '../../domain/errors.js';
import { GENERATION_SHARDS, shardName } from '../../domain/generation.js';
import type { GenerationShard } from '../../domain/model.js';
import type { TransactItem } from './audit-log.js';
import { cancellationDetails, keys, numberAttribute, stringAttribute, type CancellationDetail } from './table.js';

/** A client write found no shard: the gateway is gone, or was made before shards (ensureShards). */
export class ShardMissingError extends Error {
  constructor() {
    super('generation shard missing');
    this.name = 'ShardMissingError';
  }
}

function rangeAttributes(network: NetworkGuard): Record<string, unknown> {
  return { addressRange: network.addressRange, ...(network.addressRange6 ? { addressRange6: network.addressRange6 } : {}) };
}

/** Transaction Puts of a new gateway's shards, all at generation 0 with no clients. */
export function putShards(tableName: string, network: NetworkGuard, gatewayId: string, generation = 0, legacyCount = 0): TransactItem[] {
  return Array.from({ length: GENERATION_SHARDS }, (_, k) => ({
    Put: {
      TableName: tableName,
      Item: {
        ...keys.generationShard(network.name, gatewayId, shardName(k)),
        type: 'generationShard',
        generation: k === 0 ? generation : 0,
        clientCount: k === 0 ? legacyCount : 0,
        ...rangeAttributes(network),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  }));
}

/** Transaction Deletes of a gateway's shards, each only as it was read (no client write since). */
export function deleteShards(tableName: string, network: string, gatewayId: string, shards: Record<string, GenerationShard>): TransactItem[] {
  return Object.entries(shards).map(([name, shard]) => ({
    Delete: {
      TableName: tableName,
      Key: keys.generationShard(network, gatewayId, name),
      ConditionExpression: 'generation = :g AND clientCount = :c',
      ExpressionAttributeValues: { ':g': shard.generation, ':c': shard.clientCount },
    },
  }));
}

/** Every shard of a gateway, strongly consistent (one Query: K items). */
export async function readShards(db: DynamoDBDocumentClient, tableName: string, network: string, gatewayId: string): Promise<Record<string, GenerationShard>> {
  const shards: Record<string, GenerationShard> = {};
  const prefix = keys.generationShardPrefix(gatewayId);
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': keys.networkPk(network), ':s': prefix },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const expiring = item.expiring instanceof Set ? [...(item.expiring as Set<string>)].sort() : [];
      shards[(item.sk as string).slice(prefix.length)] = {
        generation: Number(item.generation ?? 0),
        clientCount: Number(item.clientCount ?? 0),
        ...(expiring.length ? { expiring } : {}),
      };
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return shards;
}

export interface ShardMove {
  network: string;
  gatewayId: string;
  shard: number;
  /** A create's check that the network still has the ranges its addresses were picked from. */
  ranges?: NetworkGuard;
  /** The new stamp; the shard must be below it. Undefined: only the count and expiries move. */
  generation?: number;
  /** Without moving the generation: the shard must be below this (a batch's stamp, reserved). */
  below?: number;
  clientDelta: number;
  /** A client that has an expiry now (added) or no longer (removed), for the schedule. */
  expiring?: { add?: string[]; remove?: string[] };
}

/** The transaction item that moves a shard: its generation forward, its count and expiry hints. */
export function moveShard(tableName: string, move: ShardMove): TransactItem {
  const set: string[] = [];
  const add = ['clientCount :delta'];
  const values: Record<string, unknown> = { ':delta': move.clientDelta };
  const conditions = ['attribute_exists(pk)'];
  if (move.ranges) {
    conditions.push('addressRange = :r4');
    values[':r4'] = move.ranges.addressRange;
    if (move.ranges.addressRange6) {
      conditions.push('addressRange6 = :r6');
      values[':r6'] = move.ranges.addressRange6;
    } else conditions.push('attribute_not_exists(addressRange6)');
  }
  if (move.generation !== undefined) {
    set.push('generation = :g');
    conditions.push('generation < :g');
    values[':g'] = move.generation;
  } else if (move.below !== undefined) {
    conditions.push('generation < :g');
    values[':g'] = move.below;
  }
  const parts: string[] = [];
  if (set.length) parts.push(`SET ${set.join(', ')}`);
  if (move.expiring?.add?.length) {
    add.push('expiring :add');
    values[':add'] = new Set(move.expiring.add);
  }
  parts.push(`ADD ${add.join(', ')}`);
  if (move.expiring?.remove?.length) {
    parts.push('DELETE expiring :remove');
    values[':remove'] = new Set(move.expiring.remove);
  }
  return {
    Update: {
      TableName: tableName,
      Key: keys.generationShard(move.network, move.gatewayId, shardName(move.shard)),
      UpdateExpression: parts.join(' '),
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** Why a shard move failed, as the domain error the use case acts on. */
export function shardFailure(reason: CancellationDetail | undefined, move: ShardMove): Error | undefined {
  if (reason?.code !== 'ConditionalCheckFailed') return undefined;
  const old = reason.item;
  if (!old) return new ShardMissingError();
  const current = numberAttribute(old.generation) ?? 0;
  if (move.ranges && (stringAttribute(old.addressRange) !== move.ranges.addressRange || stringAttribute(old.addressRange6) !== move.ranges.addressRange6)) {
    return new NetworkChangedError();
  }
  const stamp = move.generation ?? move.below;
  if (stamp !== undefined && current >= stamp) return new GenerationBehindError(current);
  return undefined;
}

/**
 * Gives a gateway made before shards its shards (lazily, at its first client write since): the
 * gateway's own desiredGeneration already holds every stamp written before, so the shards start at
 * 0 with no clients (the gateway item keeps the count of its older clients). The gateway's own key
 * gets its claim too. Throws NotFoundError when there is no such gateway.
 */
export async function ensureShards(db: DynamoDBDocumentClient, tableName: string, network: string, gatewayId: string): Promise<void> {
  const out = await db.send(new GetCommand({ TableName: tableName, Key: keys.gateway(network, gatewayId), ConsistentRead: true }));
  if (!out.Item) throw new NotFoundError('gateway', gatewayId);
  const net = await db.send(new GetCommand({ TableName: tableName, Key: keys.network(network), ConsistentRead: true }));
  if (!net.Item) throw new NotFoundError('gateway', gatewayId);
  const actual: NetworkGuard = {
    name: network,
    addressRange: net.Item.addressRange as string,
    ...(net.Item.addressRange6 ? { addressRange6: net.Item.addressRange6 as string } : {}),
  };
  try {
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          { ConditionCheck: { TableName: tableName, Key: keys.gateway(network, gatewayId), ConditionExpression: 'attribute_exists(pk)' } },
          ...putShards(tableName, actual, gatewayId),
        ],
      }),
    );
  } catch (err) {
    const reasons = cancellationDetails(err);
    if (!reasons) throw err;
    if (reasons[0]?.code === 'ConditionalCheckFailed') throw new NotFoundError('gateway', gatewayId);
    // Another write made them meanwhile: as good.
    if (reasons.slice(1).some((r) => r.code === 'ConditionalCheckFailed')) return;
    throw err;
  }
  const publicKey = out.Item.publicKey as string | undefined;
  if (publicKey) await claimGatewayKey(db, tableName, network, gatewayId, publicKey).catch(() => undefined);
}

/** The gateway's own public key claim (owner gateway:<id>), so no client can take its key. */
export function gatewayKeyClaim(tableName: string, network: string, gatewayId: string, publicKey: string): TransactItem {
  return {
    Put: {
      TableName: tableName,
      Item: { ...keys.publicKey(network, publicKey), type: 'publicKey', owner: `gateway:${gatewayId}` },
      // OWNER is a reserved word in DynamoDB expressions.
      ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': `gateway:${gatewayId}` },
    },
  };
}

/** Releases the gateway's claim on a key, if it holds it. */
export function releaseGatewayKey(tableName: string, network: string, gatewayId: string, publicKey: string): TransactItem {
  return {
    Delete: {
      TableName: tableName,
      Key: keys.publicKey(network, publicKey),
      ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': `gateway:${gatewayId}` },
    },
  };
}

async function claimGatewayKey(db: DynamoDBDocumentClient, tableName: string, network: string, gatewayId: string, publicKey: string): Promise<void> {
  await db.send(new TransactWriteCommand({ TransactItems: [gatewayKeyClaim(tableName, network, gatewayId, publicKey)] }));
}
