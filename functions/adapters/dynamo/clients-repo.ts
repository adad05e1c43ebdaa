import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ClientBatch, ClientChange, ClientStore, CreateOptions, NetworkGuard, Page } from '../../app/ports.js';
import { AddressTakenError, ConflictError, NameTakenError, NotFoundError, PublicKeyTakenError } from '../../domain/errors.js';
import type { AuditRecord } from '../../domain/audit.js';
import type { Client, ClientSecrets } from '../../domain/model.js';
import { putAudit, writeWithAudit, type AuditTable, type TransactItem } from './audit-log.js';
import { decodeCursorFor, encodePage } from './paging.js';
import { claimLeases, releaseLeases, leasesBetween } from './leases.js';
import { ensureShards, moveShard, shardFailure, ShardMissingError, type ShardMove } from './generation-shards.js';
import { cancellationDetails, isConditionFailure, keys, stringAttribute, stripInternal } from './table.js';

export class DynamoClientStore implements ClientStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly secretsTableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async create({ client, leaseKeys }: ClientChange, secrets: ClientSecrets, network: NetworkGuard, audit: AuditRecord, options: CreateOptions = {}): Promise<void> {
    const move = shardMoveOf(client, 1, client.expiresAt !== undefined ? { add: [client.name] } : undefined);
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: clientItem(client),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...claimLeases(this.tableName, client.network, leaseKeys, `client:${client.name}`),
      claimPublicKey(this.tableName, client),
      // In a batch the shard moves once for all of it (reserveBatch, settleBatch).
      ...(options.batch ? [] : [moveShard(this.tableName, { ...move, ranges: network })]),
    ];
    if (secrets.privateKey || secrets.presharedKey) {
      items.push({
        Put: {
          TableName: this.secretsTableName,
          Item: { ...keys.secrets(client.network, client.name), ...secrets },
        },
      });
    }
    items.push(putAudit(this.auditTable, audit));
    await this.withShards(client.network, client.gatewayId, async () => {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (err) {
        const reasons = cancellationDetails(err);
        if (!reasons) throw err;
        if (reasons[0]?.code === 'ConditionalCheckFailed') throw new NameTakenError('client', client.name);
        const leaseIndex = reasons.slice(1, 1 + leaseKeys.length).findIndex((r) => r.code === 'ConditionalCheckFailed');
        if (leaseIndex >= 0) throw new AddressTakenError(leaseKeys[leaseIndex]!);
        const claim = reasons[1 + leaseKeys.length];
        if (claim?.code === 'ConditionalCheckFailed') throw new PublicKeyTakenError(stringAttribute(claim.item?.owner)?.startsWith('gateway:') ?? false);
        if (!options.batch) {
          const failure = shardFailure(reasons[2 + leaseKeys.length], { ...move, ranges: network });
          if (failure) throw failure;
        }
        throw err; // TransactionConflict and throttling are retried by the caller
      }
    });
  }

  async reserveBatch(batch: ClientBatch, reserve: number): Promise<void> {
    // The count goes up first, so the gateway cannot be deleted while the batch's clients are written.
    const move: ShardMove = { network: batch.network.name, ranges: batch.network, gatewayId: batch.gatewayId, shard: batch.shard, below: batch.generation, clientDelta: reserve };
    await this.withShards(batch.network.name, batch.gatewayId, () => this.sendMove(move));
  }

  async settleBatch(batch: ClientBatch, settled: { created: number; reserved: number; expiring: string[] }): Promise<void> {
    const move: ShardMove = {
      network: batch.network.name,
      ranges: batch.network,
      gatewayId: batch.gatewayId,
      shard: batch.shard,
      generation: batch.generation,
      clientDelta: settled.created - settled.reserved,
      ...(settled.expiring.length ? { expiring: { add: settled.expiring } } : {}),
    };
    await this.sendMove(move);
  }

  async restamp(network: string, names: string[], from: number, to: number): Promise<void> {
    for (const name of names) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.client(network, name),
            UpdateExpression: 'SET generation = :to',
            ConditionExpression: 'generation = :from',
            ExpressionAttributeValues: { ':from': from, ':to': to },
          }),
        );
      } catch (err) {
        // Changed (or deleted) since: its own change stamped it.
        if (!isConditionFailure(err)) throw err;
      }
    }
  }

  /** One shard move on its own (a one-item transaction keeps the failed condition's old item). */
  private async sendMove(move: ShardMove): Promise<void> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: [moveShard(this.tableName, move)] }));
    } catch (err) {
      const failure = shardFailure(cancellationDetails(err)?.[0], move);
      throw failure ?? err;
    }
  }

  /** Runs a write that moves a shard; a gateway made before shards gets them first (once). */
  private async withShards<T>(network: string, gatewayId: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof ShardMissingError)) throw err;
      await ensureShards(this.db, this.tableName, network, gatewayId);
      try {
        return await write();
      } catch (again) {
        if (again instanceof ShardMissingError) throw new NotFoundError('gateway', gatewayId);
        throw again;
      }
    }
  }

  async get(network: string, name: string): Promise<Client | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: keys.client(network, name), ConsistentRead: true }),
    );
    return out.Item ? stripInternal<Client>(out.Item) : undefined;
  }

  async list(network: string, opts: { gatewayId?: string; namePrefix?: string; limit: number; cursor?: string }): Promise<Page<Client>> {
    const byGateway = opts.gatewayId !== undefined;
    // A name prefix narrows the key condition itself, so a search reads only matching items.
    const sortPrefix = `CLIENT#${opts.namePrefix ?? ''}`;
    const partition = byGateway ? keys.clientsOfGatewayGsiPk(network, opts.gatewayId!) : keys.networkPk(network);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        ...(byGateway
          ? { IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p AND begins_with(gsi1sk, :s)' }
          : { KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)' }),
        ExpressionAttributeValues: { ':p': partition, ':s': sortPrefix },
        Limit: opts.limit,
        ExclusiveStartKey: decodeCursorFor(opts.cursor, partition, sortPrefix, byGateway ? 'gsi1pk' : 'pk'),
      }),
    );
    return encodePage((out.Items ?? []).map((i) => stripInternal<Client>(i)), out.LastEvaluatedKey);
  }

  async update(client: Client, expectedVersion: number, peerSetChanged: boolean, audit: AuditRecord): Promise<Client> {
    const move = peerSetChanged ? shardMoveOf(client, 0, client.expiresAt !== undefined ? { add: [client.name] } : { remove: [client.name] }) : undefined;
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: clientItem(client),
          ConditionExpression: 'attribute_exists(pk) AND version = :v',
          ExpressionAttributeValues: { ':v': expectedVersion },
        },
      },
    ];
    if (move) items.push(moveShard(this.tableName, move));
    items.push(putAudit(this.auditTable, audit));
    await this.withShards(client.network, client.gatewayId, async () => {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (err) {
        const reasons = cancellationDetails(err);
        if (reasons?.[0]?.code === 'ConditionalCheckFailed') {
          throw new ConflictError(
            'version_conflict',
            `client '${client.name}' was changed meanwhile (expected version ${expectedVersion})`,
            'version',
          );
        }
        const failure = move ? shardFailure(reasons?.[1], move) : undefined;
        throw failure ?? err;
      }
    });
    return client;
  }

  async delete({ client, leaseKeys }: ClientChange, expectedVersion: number, generation: number, audit: AuditRecord): Promise<void> {
    const move = shardMoveOf({ ...client, generation }, -1, client.expiresAt !== undefined ? { remove: [client.name] } : undefined);
    const items: TransactItem[] = [
      {
        Delete: {
          TableName: this.tableName,
          Key: keys.client(client.network, client.name),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': expectedVersion },
        },
      },
      moveShard(this.tableName, move),
      { Delete: { TableName: this.secretsTableName, Key: keys.secrets(client.network, client.name) } },
      ...releaseLeases(this.tableName, client.network, leaseKeys),
    ];
    // The key claim goes with its owner. A client written before keys were claimed has none, and
    // its key may since be claimed by another client: that claim stays (then the delete runs again
    // without it).
    const releaseKey = releasePublicKey(this.tableName, client);
    const record = putAudit(this.auditTable, audit);
    await this.withShards(client.network, client.gatewayId, async () => {
      for (const release of [true, false]) {
        try {
          await this.db.send(new TransactWriteCommand({ TransactItems: release ? [...items, releaseKey, record] : [...items, record] }));
          return;
        } catch (err) {
          const reasons = cancellationDetails(err);
          if (reasons?.[0]?.code === 'ConditionalCheckFailed') {
            throw new ConflictError('version_conflict', `client '${client.name}' was changed meanwhile`, 'version');
          }
          const failure = shardFailure(reasons?.[1], move);
          if (failure) throw failure;
          if (release && reasons?.[items.length]?.code === 'ConditionalCheckFailed') continue;
          throw err;
        }
      }
    });
  }

  async markLinksRevoked(network: string, name: string, at: string, audit: AuditRecord): Promise<void> {
    try {
      await writeWithAudit(
        this.db,
        {
          Update: {
            TableName: this.tableName,
            Key: keys.client(network, name),
            // The version moves too, so a concurrent PATCH that read the client before this mark
            // cannot write it back without the mark.
            UpdateExpression: 'SET linksRevokedAt = :at, version = version + :one',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':at': at, ':one': 1 },
          },
        },
        putAudit(this.auditTable, audit),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new NotFoundError('client', name);
      throw err;
    }
  }

  leasesBetween(network: string, fromKey: string, toKey: string): Promise<Set<string>> {
    return leasesBetween(this.db, this.tableName, network, fromKey, toKey);
  }

  async getMany(network: string, names: string[]): Promise<Client[]> {
    const clients: Client[] = [];
    for (let i = 0; i < names.length; i += 100) {
      let pending: Record<string, unknown>[] | undefined = names.slice(i, i + 100).map((n) => keys.client(network, n));
      for (let round = 0; pending?.length && round < 8; round++) {
        const out: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) clients.push(stripInternal<Client>(item));
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
      if (pending?.length) throw new Error('BatchGet left keys unprocessed');
    }
    return clients;
  }

  async allOfGateway(network: string, gatewayId: string): Promise<Client[]> {
    // The base table with a consistent read, not the GSI: a peer set rendered right after a change
    // must contain that change, and GSI reads are only eventually consistent.
    const clients: Client[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
          FilterExpression: 'gatewayId = :g',
          ExpressionAttributeValues: { ':p': keys.networkPk(network), ':s': 'CLIENT#', ':g': gatewayId },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) clients.push(stripInternal<Client>(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return clients;
  }
}

/** The shard move of a client's change: its own shard, to its new stamp. */
function shardMoveOf(client: Client, clientDelta: number, expiring?: ShardMove['expiring']): ShardMove {
  if (client.genShard === undefined) throw new Error(`client '${client.name}' has no generation shard`);
  return { network: client.network, gatewayId: client.gatewayId, shard: client.genShard, generation: client.generation, clientDelta, ...(expiring ? { expiring } : {}) };
}

/** The client's claim on its public key, which no other client of the network may hold. */
export function claimPublicKey(tableName: string, client: Client): TransactItem {
  return {
    Put: {
      TableName: tableName,
      Item: { ...keys.publicKey(client.network, client.publicKey), type: 'publicKey', owner: `client:${client.name}` },
      ConditionExpression: 'attribute_not_exists(pk)',
      // The owner tells another client's key from the gateway's own.
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** Removes the client's key claim if it holds it (no claim at all is fine too). */
function releasePublicKey(tableName: string, client: Client): TransactItem {
  return {
    Delete: {
      TableName: tableName,
      Key: keys.publicKey(client.network, client.publicKey),
      // OWNER is a reserved word in DynamoDB expressions.
      ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': `client:${client.name}` },
    },
  };
}

export function clientItem(client: Client): Record<string, unknown> {
  return {
    ...keys.client(client.network, client.name),
    type: 'client',
    gsi1pk: keys.clientsOfGatewayGsiPk(client.network, client.gatewayId),
    gsi1sk: `CLIENT#${client.name}`,
    ...client,
  };
}
