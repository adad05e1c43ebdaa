// Reads which addresses of a range are leased; the allocator picks its candidates from this.
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LeaseReader } from '../../app/ports.js';
import { keys } from './table.js';

/** Transaction items that claim leases: each succeeds only if nobody holds that address yet. */
export function claimLeases(tableName: string, network: string, leaseKeys: string[], owner: string) {
  return leaseKeys.map((leaseKey) => ({
    Put: {
      TableName: tableName,
      Item: { ...keys.lease(network, leaseKey), type: 'lease', owner },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  }));
}

/** Transaction items that give leases back (a delete of their holder). */
export function releaseLeases(tableName: string, network: string, leaseKeys: string[]) {
  return leaseKeys.map((leaseKey) => ({ Delete: { TableName: tableName, Key: keys.lease(network, leaseKey) } }));
}

/** Lease keys already taken between two lease keys (inclusive), keys only, strongly consistent. */
export async function leasesBetween(
  db: DynamoDBDocumentClient,
  tableName: string,
  network: string,
  fromKey: string,
  toKey: string,
): Promise<Set<string>> {
  const taken = new Set<string>();
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: tableName,
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

/** Just the lease reads, for code that allocates without writing clients (gateway creation). */
export class DynamoLeaseReader implements LeaseReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  leasesBetween(network: string, fromKey: string, toKey: string): Promise<Set<string>> {
    return leasesBetween(this.db, this.tableName, network, fromKey, toKey);
  }
}
