import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { ClientChange, ClientStore, Page } from '../../app/ports.js';
import { AddressTakenError, ConflictError, NameTakenError, NotFoundError } from '../../domain/errors.js';
import type { Client, ClientSecrets } from '../../domain/model.js';
import { decodeCursorFor, encodePage } from './paging.js';
import { cancellationReasons, keys, stripInternal } from './table.js';

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

export class DynamoClientStore implements ClientStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly secretsTableName: string,
  ) {}

  async create({ client, leaseKeys }: ClientChange, secrets: ClientSecrets, now: string): Promise<number> {
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.tableName,
          Item: clientItem(client),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...leaseKeys.map((leaseKey) => ({
        Put: {
          TableName: this.tableName,
          Item: { ...keys.lease(client.network, leaseKey), type: 'lease', owner: `client:${client.name}` },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      })),
      this.bumpGateway(client.network, client.gatewayId, now, 1),
    ];
    if (secrets.privateKey || secrets.presharedKey) {
      items.push({
        Put: {
          TableName: this.secretsTableName,
          Item: { ...keys.secrets(client.network, client.name), ...secrets },
        },
      });
    }
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      const reasons = cancellationReasons(err);
      if (!reasons) throw err;
      if (reasons[0] === 'ConditionalCheckFailed') throw new NameTakenError('client', client.name);
      const leaseIndex = reasons.slice(1, 1 + leaseKeys.length).indexOf('ConditionalCheckFailed');
      if (leaseIndex >= 0) throw new AddressTakenError(leaseKeys[leaseIndex]!);
      if (reasons[1 + leaseKeys.length] === 'ConditionalCheckFailed') {
        throw new NotFoundError('gateway', client.gatewayId);
      }
      throw err; // TransactionConflict and throttling are retried by the caller
    }
    return client.generation;
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

  async update(client: Client, expectedVersion: number, peerSetChanged: boolean, now: string): Promise<Client> {
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
    if (peerSetChanged) items.push(this.bumpGateway(client.network, client.gatewayId, now, 0));
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      const reasons = cancellationReasons(err);
      if (reasons?.[0] === 'ConditionalCheckFailed') {
        throw new ConflictError(
          'version_conflict',
          `client '${client.name}' was changed meanwhile (expected version ${expectedVersion})`,
          'version',
        );
      }
      throw err;
    }
    return client;
  }

  async delete({ client, leaseKeys }: ClientChange, expectedVersion: number, now: string): Promise<void> {
    const items: TransactItem[] = [
      {
        Delete: {
          TableName: this.tableName,
          Key: keys.client(client.network, client.name),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': expectedVersion },
        },
      },
      ...leaseKeys.map((leaseKey) => ({
        Delete: { TableName: this.tableName, Key: keys.lease(client.network, leaseKey) },
      })),
      { Delete: { TableName: this.secretsTableName, Key: keys.secrets(client.network, client.name) } },
      this.bumpGateway(client.network, client.gatewayId, now, -1),
    ];
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      if (cancellationReasons(err)?.[0] === 'ConditionalCheckFailed') {
        throw new ConflictError('version_conflict', `client '${client.name}' was changed meanwhile`, 'version');
      }
      throw err;
    }
  }

  async leasesBetween(network: string, fromKey: string, toKey: string): Promise<Set<string>> {
    const taken = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
          ExpressionAttributeValues: { ':p': keys.networkPk(network), ':a': fromKey, ':b': toKey },
          ProjectionExpression: 'sk',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) taken.add(item.sk as string);
      start = out.LastEvaluatedKey;
    } while (start);
    return taken;
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

  private bumpGateway(network: string, gatewayId: string, now: string, clientDelta: number): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: keys.gateway(network, gatewayId),
        UpdateExpression:
          'SET desiredGeneration = desiredGeneration + :one, clientCount = clientCount + :delta, generationChangedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':one': 1, ':delta': clientDelta, ':now': now },
      },
    };
  }
}

function clientItem(client: Client): Record<string, unknown> {
  return {
    ...keys.client(client.network, client.name),
    type: 'client',
    gsi1pk: keys.clientsOfGatewayGsiPk(client.network, client.gatewayId),
    gsi1sk: `CLIENT#${client.name}`,
    ...client,
  };
}
