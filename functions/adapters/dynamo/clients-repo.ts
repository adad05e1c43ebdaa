import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ClientChange, ClientStore, NetworkGuard, Page } from '../../app/ports.js';
import {
  AddressTakenError,
  ConflictError,
  GenerationBehindError,
  NameTakenError,
  NetworkChangedError,
  NotFoundError,
  PublicKeyTakenError,
} from '../../domain/errors.js';
import type { AuditRecord } from '../../domain/audit.js';
import type { Client, ClientSecrets } from '../../domain/model.js';
import { putAudit, writeWithAudit, type AuditTable, type TransactItem } from './audit-log.js';
import { decodeCursorFor, encodePage } from './paging.js';
import { claimLeases, releaseLeases, leasesBetween } from './leases.js';
import { cancellationDetails, isConditionFailure, keys, numberAttribute, stringAttribute, stripInternal, type CancellationDetail } from './table.js';

export class DynamoClientStore implements ClientStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly secretsTableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async create({ client, leaseKeys }: ClientChange, secrets: ClientSecrets, network: NetworkGuard, audit: AuditRecord): Promise<void> {
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
      this.moveGateway(client.network, client.gatewayId, client.generation, 1, client.expiresAt !== undefined, client.publicKey),
      networkCheck(this.tableName, network),
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
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      const reasons = cancellationDetails(err);
      if (!reasons) throw err;
      if (reasons[0]?.code === 'ConditionalCheckFailed') throw new NameTakenError('client', client.name);
      const leaseIndex = reasons.slice(1, 1 + leaseKeys.length).findIndex((r) => r.code === 'ConditionalCheckFailed');
      if (leaseIndex >= 0) throw new AddressTakenError(leaseKeys[leaseIndex]!);
      if (reasons[1 + leaseKeys.length]?.code === 'ConditionalCheckFailed') throw new PublicKeyTakenError();
      const gateway = reasons[2 + leaseKeys.length];
      if (gateway?.code === 'ConditionalCheckFailed' && stringAttribute(gateway.item?.publicKey) === client.publicKey) {
        throw new PublicKeyTakenError(true);
      }
      throwIfGatewayFailed(gateway, client.gatewayId);
      if (reasons[3 + leaseKeys.length]?.code === 'ConditionalCheckFailed') throw new NetworkChangedError();
      throw err; // TransactionConflict and throttling are retried by the caller
    }
  }

  async get(network: string, name: string): Promise<Client | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: keys.client(network, name), ConsistentRead: true }),
    );
    return out.Item ? stripInternal<Client>(out.Item) : undefined;
  }

  async list(network: string, opts: { gatewayId?: string; limit: number; cursor?: string }): Promise<Page<Client>> {
    const byGateway = opts.gatewayId !== undefined;
    const partition = byGateway ? keys.clientsOfGatewayGsiPk(network, opts.gatewayId!) : keys.networkPk(network);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        ...(byGateway
          ? { IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p AND begins_with(gsi1sk, :s)' }
          : { KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)' }),
        ExpressionAttributeValues: { ':p': partition, ':s': 'CLIENT#' },
        Limit: opts.limit,
        ExclusiveStartKey: decodeCursorFor(opts.cursor, partition, 'CLIENT#', byGateway ? 'gsi1pk' : 'pk'),
      }),
    );
    return encodePage((out.Items ?? []).map((i) => stripInternal<Client>(i)), out.LastEvaluatedKey);
  }

  async update(client: Client, expectedVersion: number, peerSetChanged: boolean, audit: AuditRecord): Promise<Client> {
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
    if (peerSetChanged) items.push(this.moveGateway(client.network, client.gatewayId, client.generation, 0, client.expiresAt !== undefined));
    items.push(putAudit(this.auditTable, audit));
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
      if (reasons) throwIfGatewayFailed(reasons[1], client.gatewayId);
      throw err;
    }
    return client;
  }

  async delete({ client, leaseKeys }: ClientChange, expectedVersion: number, generation: number, audit: AuditRecord): Promise<void> {
    const items: TransactItem[] = [
      {
        Delete: {
          TableName: this.tableName,
          Key: keys.client(client.network, client.name),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': expectedVersion },
        },
      },
      this.moveGateway(client.network, client.gatewayId, generation, -1, false),
      { Delete: { TableName: this.secretsTableName, Key: keys.secrets(client.network, client.name) } },
      ...releaseLeases(this.tableName, client.network, leaseKeys),
    ];
    // The key claim goes with its owner. A client written before keys were claimed has none, and
    // its key may since be claimed by another client: that claim stays (then the delete runs again
    // without it).
    const releaseKey = releasePublicKey(this.tableName, client);
    const record = putAudit(this.auditTable, audit);
    for (const release of [true, false]) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: release ? [...items, releaseKey, record] : [...items, record] }));
        return;
      } catch (err) {
        const reasons = cancellationDetails(err);
        if (reasons?.[0]?.code === 'ConditionalCheckFailed') {
          throw new ConflictError('version_conflict', `client '${client.name}' was changed meanwhile`, 'version');
        }
        if (reasons) throwIfGatewayFailed(reasons[1], client.gatewayId);
        if (release && reasons?.[items.length]?.code === 'ConditionalCheckFailed') continue;
        throw err;
      }
    }
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

  /**
   * The gateway's generation moves to `generation`, only forwards (see domain/generation.ts); with
   * `notPublicKey`, only if that is not the gateway's own key (a new client's key).
   */
  private moveGateway(
    network: string,
    gatewayId: string,
    generation: number,
    clientDelta: number,
    expiring: boolean,
    notPublicKey?: string,
  ): TransactItem {
    const keyCheck = notPublicKey !== undefined;
    return {
      Update: {
        TableName: this.tableName,
        Key: keys.gateway(network, gatewayId),
        // expiringClients tells the worker's schedule which gateways have expiries to enforce.
        UpdateExpression: 'SET desiredGeneration = :g, clientCount = clientCount + :delta' + (expiring ? ', expiringClients = :t' : ''),
        ConditionExpression:
          'attribute_exists(pk) AND desiredGeneration < :g' + (keyCheck ? ' AND (attribute_not_exists(publicKey) OR publicKey <> :pk)' : ''),
        ExpressionAttributeValues: {
          ':g': generation,
          ':delta': clientDelta,
          ...(expiring ? { ':t': true } : {}),
          ...(keyCheck ? { ':pk': notPublicKey } : {}),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }
}

export function networkCheck(tableName: string, network: NetworkGuard): TransactItem {
  return {
    ConditionCheck: {
      TableName: tableName,
      Key: keys.network(network.name),
      ConditionExpression: network.addressRange6
        ? 'addressRange = :r4 AND addressRange6 = :r6'
        : 'addressRange = :r4 AND attribute_not_exists(addressRange6)',
      ExpressionAttributeValues: { ':r4': network.addressRange, ...(network.addressRange6 ? { ':r6': network.addressRange6 } : {}) },
    },
  };
}

/** The client's claim on its public key, which no other client of the network may hold. */
function claimPublicKey(tableName: string, client: Client): TransactItem {
  return {
    Put: {
      TableName: tableName,
      Item: { ...keys.publicKey(client.network, client.publicKey), type: 'publicKey', owner: `client:${client.name}` },
      ConditionExpression: 'attribute_not_exists(pk)',
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

function throwIfGatewayFailed(reason: CancellationDetail | undefined, gatewayId: string): void {
  if (reason?.code !== 'ConditionalCheckFailed') return;
  const current = numberAttribute(reason.item?.desiredGeneration);
  if (current !== undefined) throw new GenerationBehindError(current);
  throw new NotFoundError('gateway', gatewayId);
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
