// One-time download links: one item per token, keyed by the token's SHA-256 (the token itself is
// never stored), listed per client through gsi1 so they can be revoked together.
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LinkRecord, LinkStore, SpendOutcome } from '../../app/ports.js';
import type { AuditRecord } from '../../domain/audit.js';
import { deleteAudit, putAudit, writeWithAudit, type AuditTable } from './audit-log.js';
import { isConditionFailure, keys } from './table.js';

/**
 * DynamoDB's TTL only deletes, and only some time after the fact. The record stays a week past the
 * link's expiry so a late visitor is told "expired" or "used" rather than "not a valid link".
 */
export const LINK_RECORD_GRACE_SECONDS = 7 * 24 * 3600;

const REVOKE_PARALLELISM = 10;

export class DynamoLinkStore implements LinkStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async create(link: LinkRecord, audit: AuditRecord): Promise<void> {
    await writeWithAudit(
      this.db,
      {
        Put: {
        TableName: this.tableName,
        Item: {
          ...keys.link(link.tokenHash),
          type: 'link',
          gsi1pk: keys.linksOfClientGsiPk(link.network, link.client),
          gsi1sk: link.createdAt,
          ttl: Math.floor(Date.parse(link.expiresAt) / 1000) + LINK_RECORD_GRACE_SECONDS,
          network: link.network,
          client: link.client,
          clientCreatedAt: link.clientCreatedAt,
          clientVersion: link.clientVersion,
          createdAt: link.createdAt,
          expiresAt: link.expiresAt,
        },
        // 256 random bits do not collide; the condition makes sure a bug could never overwrite a used link.
        ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      putAudit(this.auditTable, audit),
    );
  }

  async get(tokenHash: string): Promise<LinkRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: keys.link(tokenHash), ConsistentRead: true }));
    return out.Item ? toLink(out.Item) : undefined;
  }

  async spend(tokenHash: string, now: string, spendId: string, audit: AuditRecord): Promise<SpendOutcome> {
    try {
      await writeWithAudit(
        this.db,
        {
          Update: {
            TableName: this.tableName,
            Key: keys.link(tokenHash),
            UpdateExpression: 'SET usedAt = :now, spendId = :spend',
            // The only place a link is spent: one conditional write (with its audit record), so of
            // any number of concurrent redemptions exactly one wins. The expiry is checked here
            // because TTL deletes late.
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt) AND expiresAt > :now',
            ExpressionAttributeValues: { ':now': now, ':spend': spendId },
          },
        },
        putAudit(this.auditTable, audit),
      );
      // The spend is ours (spendId): the consistent read right after shows it as written.
      const link = await this.get(tokenHash);
      return { spent: true, link: link! };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Only the losing path pays for this read; it tells the user which reason applies.
      return { spent: false, link: await this.get(tokenHash) };
    }
  }

  async release(tokenHash: string, spendId: string, audit: AuditRecord): Promise<void> {
    try {
      // The link.redeem record goes with the spend it described.
      await writeWithAudit(
        this.db,
        {
          Update: {
            TableName: this.tableName,
            Key: keys.link(tokenHash),
            UpdateExpression: 'REMOVE usedAt, spendId',
            // Only the redemption that spent it gives it back, and never one revoked meanwhile.
            ConditionExpression: 'spendId = :spend AND attribute_not_exists(revokedAt)',
            ExpressionAttributeValues: { ':spend': spendId },
          },
        },
        deleteAudit(this.auditTable, audit),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async revokeAll(network: string, client: string, now: string): Promise<number> {
    const open: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :p',
          FilterExpression: 'attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt) AND expiresAt > :now',
          ExpressionAttributeValues: { ':p': keys.linksOfClientGsiPk(network, client), ':now': now },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      open.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);

    let revoked = 0;
    for (let i = 0; i < open.length; i += REVOKE_PARALLELISM) {
      const results = await Promise.all(
        open.slice(i, i + REVOKE_PARALLELISM).map(async (item) => {
          try {
            await this.db.send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: { pk: item.pk, sk: item.sk },
                UpdateExpression: 'SET revokedAt = :now',
                // A link spent between the query and this write stays "used".
                ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt) AND attribute_not_exists(revokedAt)',
                ExpressionAttributeValues: { ':now': now },
              }),
            );
            return 1;
          } catch (err) {
            if (isConditionFailure(err)) return 0;
            throw err;
          }
        }),
      );
      revoked += results.reduce<number>((a, b) => a + b, 0);
    }
    return revoked;
  }
}

function toLink(item: Record<string, unknown>): LinkRecord {
  return {
    tokenHash: (item.pk as string).slice('LINK#'.length),
    network: item.network as string,
    client: item.client as string,
    clientCreatedAt: item.clientCreatedAt as string,
    clientVersion: item.clientVersion as number,
    createdAt: item.createdAt as string,
    expiresAt: item.expiresAt as string,
    ...(typeof item.usedAt === 'string' ? { usedAt: item.usedAt } : {}),
    ...(typeof item.revokedAt === 'string' ? { revokedAt: item.revokedAt } : {}),
  };
}
