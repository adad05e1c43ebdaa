// Many clients of one batch in one transaction (an import): each draft's items exactly as the
// single create writes them in a batch (clients-repo.ts; the batch's shard is reserved before and
// moved once after, so no item here is shared between drafts). A failed condition cancels the
// whole transaction; the cancellation reasons say which drafts' claims lost.
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClientBatchWriter, ClientDraft, DraftConflict } from '../../app/ports.js';
import { putAudit, type AuditTable, type TransactItem } from './audit-log.js';
import { claimPublicKey, clientItem } from './clients-repo.js';
import { claimLeases } from './leases.js';
import { cancellationDetails, keys, stringAttribute } from './table.js';

// DynamoDB takes at most 100 items a transaction; a draft writes at most six (client, two leases,
// key claim, secrets, audit record).
const MAX_TRANSACTION_ITEMS = 100;
const ITEMS_PER_DRAFT = 6;

/** Which draft (and which of its claims) a transaction item belongs to. */
type Owner = { draft: number; kind: 'name' | 'publicKey' | 'other' } | { draft: number; kind: 'lease'; leaseKey: string };

export class DynamoClientBatchWriter implements ClientBatchWriter {
  readonly maxDrafts = Math.floor(MAX_TRANSACTION_ITEMS / ITEMS_PER_DRAFT);

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly secretsTableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async createMany(drafts: ClientDraft[]): Promise<DraftConflict[]> {
    if (drafts.length === 0) return [];
    if (drafts.length > this.maxDrafts) throw new Error(`at most ${this.maxDrafts} drafts a transaction`);
    const items: TransactItem[] = [];
    const owners: Owner[] = [];
    drafts.forEach(({ client, leaseKeys, secrets, audit }, draft) => {
      items.push({ Put: { TableName: this.tableName, Item: clientItem(client), ConditionExpression: 'attribute_not_exists(pk)' } });
      owners.push({ draft, kind: 'name' });
      claimLeases(this.tableName, client.network, leaseKeys, `client:${client.name}`).forEach((lease, i) => {
        items.push(lease);
        owners.push({ draft, kind: 'lease', leaseKey: leaseKeys[i]! });
      });
      items.push(claimPublicKey(this.tableName, client));
      owners.push({ draft, kind: 'publicKey' });
      if (secrets.privateKey || secrets.presharedKey) {
        items.push({ Put: { TableName: this.secretsTableName, Item: { ...keys.secrets(client.network, client.name), ...secrets } } });
        owners.push({ draft, kind: 'other' });
      }
      items.push(putAudit(this.auditTable, audit));
      owners.push({ draft, kind: 'other' });
    });
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return [];
    } catch (err) {
      const reasons = cancellationDetails(err);
      if (!reasons) throw err;
      const conflicts: DraftConflict[] = [];
      reasons.forEach((reason, i) => {
        if (reason.code !== 'ConditionalCheckFailed') return;
        const owner = owners[i]!;
        if (owner.kind === 'lease') conflicts.push({ draft: owner.draft, kind: 'lease', leaseKey: owner.leaseKey });
        else if (owner.kind === 'publicKey') {
          // The owner tells another client's key from the gateway's own.
          const gateway = stringAttribute(reason.item?.owner)?.startsWith('gateway:') ?? false;
          conflicts.push({ draft: owner.draft, kind: gateway ? 'gatewayPublicKey' : 'publicKey' });
        } else if (owner.kind === 'name') conflicts.push({ draft: owner.draft, kind: 'name' });
      });
      if (conflicts.length > 0) return conflicts;
      throw err; // TransactionConflict and throttling are retried by the caller
    }
  }
}
