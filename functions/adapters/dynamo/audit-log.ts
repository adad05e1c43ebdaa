// The audit log's items: one per record, written in the same transaction as the change it
// describes (so it exists exactly when the change committed), read newest first per network or
// per resource, and removed by the table's TTL after the retention time.
import { QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditQuery, AuditReader, Page } from '../../app/ports.js';
import type { AuditRecord } from '../../domain/audit.js';
import { decodeCursorFor, encodePage } from './paging.js';
import { cancellationDetails, keys } from './table.js';

export type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** Where the stores put audit items, and how long they stay. */
export interface AuditTable {
  tableName: string;
  retentionDays: number;
}

export function auditSortKey(record: Pick<AuditRecord, 'at' | 'id'>): string {
  return `${record.at}#${record.id}`;
}

export function auditItem(record: AuditRecord, retentionDays: number): Record<string, unknown> {
  const sk = auditSortKey(record);
  const { network, type, id } = record.resource;
  return {
    pk: keys.auditPk(network),
    sk,
    gsi1pk: keys.auditResourceGsiPk(network, type, id),
    gsi1sk: sk,
    type: 'audit',
    ttl: Math.floor(Date.parse(record.at) / 1000) + retentionDays * 86_400,
    ...record,
  };
}

/** The transaction item that writes the record (never over another one). */
export function putAudit(table: AuditTable, record: AuditRecord): TransactItem {
  return {
    Put: {
      TableName: table.tableName,
      Item: auditItem(record, table.retentionDays),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** The transaction item that removes a record again (a link spend given back). */
export function deleteAudit(table: AuditTable, record: AuditRecord): TransactItem {
  return { Delete: { TableName: table.tableName, Key: { pk: keys.auditPk(record.resource.network), sk: auditSortKey(record) } } };
}

/**
 * One write together with its audit record, as a two-item transaction. A failed condition of the
 * write comes out as the single write's ConditionalCheckFailedException (with the old item as
 * `Item` when the write asked for it), so the stores' error handling reads as before.
 */
export async function writeWithAudit(db: DynamoDBDocumentClient, write: TransactItem, audit: TransactItem): Promise<void> {
  try {
    await db.send(new TransactWriteCommand({ TransactItems: [write, audit] }));
  } catch (err) {
    const first = cancellationDetails(err)?.[0];
    if (first?.code === 'ConditionalCheckFailed') {
      throw Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
        ...(first.item ? { Item: first.item } : {}),
      });
    }
    throw err;
  }
}

export class DynamoAuditLog implements AuditReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(query: AuditQuery): Promise<Page<AuditRecord>> {
    // One resource: its own partition of gsi1. A kind of resource: the network's partition,
    // filtered (a Query, never a Scan; a page may hold fewer items than the limit).
    const byResource = query.resourceType !== undefined && query.resourceId !== undefined;
    const partition = byResource
      ? keys.auditResourceGsiPk(query.network, query.resourceType!, query.resourceId!)
      : keys.auditPk(query.network);
    const byType = !byResource && query.resourceType !== undefined;
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        ...(byResource ? { IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p' } : { KeyConditionExpression: 'pk = :p' }),
        ...(byType ? { FilterExpression: '#resource.#type = :t', ExpressionAttributeNames: { '#resource': 'resource', '#type': 'type' } } : {}),
        ExpressionAttributeValues: { ':p': partition, ...(byType ? { ':t': query.resourceType } : {}) },
        ScanIndexForward: false,
        Limit: query.limit,
        ExclusiveStartKey: decodeCursorFor(query.cursor, partition, '', byResource ? 'gsi1pk' : 'pk'),
      }),
    );
    return encodePage((out.Items ?? []).map(toRecord), out.LastEvaluatedKey);
  }
}

function toRecord(item: Record<string, unknown>): AuditRecord {
  return {
    id: item.id as string,
    at: item.at as string,
    actor: item.actor as AuditRecord['actor'],
    action: item.action as string,
    resource: item.resource as AuditRecord['resource'],
    ...(item.changes ? { changes: item.changes as AuditRecord['changes'] } : {}),
    requestId: item.requestId as string,
  };
}
