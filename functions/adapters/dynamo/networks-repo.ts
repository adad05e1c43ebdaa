import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { NetworkStore, Page } from '../../app/ports.js';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import type { AuditRecord } from '../../domain/audit.js';
import type { Network } from '../../domain/model.js';
import { putAudit, writeWithAudit, type AuditTable } from './audit-log.js';
import { decodeCursorFor, encodePage } from './paging.js';
import { isConditionFailure, keys, stripInternal } from './table.js';

export class DynamoNetworkStore implements NetworkStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async create(network: Network, audit: AuditRecord): Promise<void> {
    try {
      await writeWithAudit(
        this.db,
        {
          Put: {
            TableName: this.tableName,
            Item: { ...keys.network(network.name), type: 'network', gatewayCount: 0, ...network },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        putAudit(this.auditTable, audit),
      );
    } catch (err) {
      if (isConditionFailure(err)) {
        throw new ConflictError('name_taken', `a network named '${network.name}' already exists`, 'name');
      }
      throw err;
    }
  }

  async get(name: string): Promise<Network | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: keys.network(name), ConsistentRead: true }),
    );
    return out.Item ? toNetwork(out.Item) : undefined;
  }

  async list(limit: number, cursor?: string): Promise<Page<Network>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.networksPk },
        Limit: limit,
        ExclusiveStartKey: decodeCursorFor(cursor, keys.networksPk, 'NET#'),
      }),
    );
    return encodePage((out.Items ?? []).map(toNetwork), out.LastEvaluatedKey);
  }

  async updateDefaultDns(name: string, defaultDns: string[], expectedVersion: number, now: string, audit: AuditRecord): Promise<Network> {
    try {
      await writeWithAudit(
        this.db,
        {
          Update: {
            TableName: this.tableName,
            Key: keys.network(name),
            UpdateExpression: 'SET defaultDns = :dns, updatedAt = :now, version = version + :one',
            ConditionExpression: 'attribute_exists(pk) AND version = :v',
            ExpressionAttributeValues: { ':dns': defaultDns, ':now': now, ':one': 1, ':v': expectedVersion },
          },
        },
        putAudit(this.auditTable, audit),
      );
      // A transaction returns no item: the network as written (a consistent read right after).
      const network = await this.get(name);
      if (!network) throw new NotFoundError('network', name);
      return network;
    } catch (err) {
      if (isConditionFailure(err)) {
        throw new ConflictError('version_conflict', `network '${name}' was changed meanwhile (expected version ${expectedVersion})`, 'version');
      }
      throw err;
    }
  }

  async delete(name: string, audit: AuditRecord): Promise<void> {
    try {
      await writeWithAudit(
        this.db,
        {
          Delete: {
            TableName: this.tableName,
            Key: keys.network(name),
            ConditionExpression: 'attribute_exists(pk) AND gatewayCount = :zero',
            ExpressionAttributeValues: { ':zero': 0 },
          },
        },
        putAudit(this.auditTable, audit),
      );
    } catch (err) {
      if (isConditionFailure(err)) {
        const still = await this.get(name);
        if (!still) throw new NotFoundError('network', name);
        throw new ConflictError('network_not_empty', `network '${name}' still has gateways; delete them first`);
      }
      throw err;
    }
  }
}

function toNetwork(item: Record<string, unknown>): Network {
  const { gatewayCount: _gatewayCount, ...rest } = stripInternal<Network & { gatewayCount?: number }>(item);
  return rest;
}
