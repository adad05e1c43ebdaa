// Many clients in one transaction (an import's batch): each draft's items as the single create
// writes them, the network's range check and one gateway update for the whole batch. A failed
// condition cancels the whole transaction; the cancellation reasons say which drafts' claims lost.
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ClientBatchStore, ClientDraft, DraftConflict, NetworkGuard } from '../../app/ports.js';
import { GenerationBehindError, NetworkChangedError, NotFoundError } from '../../domain/errors.js';
import { putAudit, type AuditTable, type TransactItem } from './audit-log.js';
import { clientItem, networkCheck } from './clients-repo.js';
import { claimLeases } from './leases.js';
import { cancellationDetails, keys, numberAttribute, stringAttribute } from './table.js';

// DynamoDB takes at most 100 items a transaction. A draft writes at most six (client, two leases,
// key claim, secrets, audit record); the batch adds the gateway update and the network check.
const MAX_TRANSACTION_ITEMS = 100;
const ITEMS_PER_DRAFT = 6;
const ITEMS_PER_BATCH = 2;

/** Which draft (and which of its claims) a transaction item belongs to. */
type Owner = { draft: number; kind: 'client' | 'publicKey' | 'other' } | { draft: number; kind: 'lease'; leaseKey: string };

export class DynamoClientBatchStore implements ClientBatchStore {
  readonly maxBatch = Math.floor((MAX_TRANSACTION_ITEMS - ITEMS_PER_BATCH) / ITEMS_PER_DRAFT);

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly secretsTableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async createBatch(drafts: ClientDraft[], network: NetworkGuard, gatewayId: string, generation: number): Promise<DraftConflict[]> {
    if (drafts.length === 0) return [];
    if (drafts.length > this.maxBatch) throw new Error(`at most ${this.maxBatch} drafts a batch`);
    const items: TransactItem[] = [];
    const owners: Owner[] = [];
    drafts.forEach(({ client, leaseKeys, secrets, audit }, draft) => {
      items.push({ Put: { TableName: this.tableName, Item: clientItem(client), ConditionExpression: 'attribute_not_exists(pk)' } });
      owners.push({ draft, kind: 'client' });
      claimLeases(this.tableName, client.network, leaseKeys, `client:${client.name}`).forEach((lease, i) => {
        items.push(lease);
        owners.push({ draft, kind: 'lease', leaseKey: leaseKeys[i]! });
      });
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { ...keys.publicKey(client.network, client.publicKey), type: 'publicKey', owner: `client:${client.name}` },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
      owners.push({ draft, kind: 'publicKey' });
      if (secrets.privateKey || secrets.presharedKey) {
        items.push({ Put: { TableName: this.secretsTableName, Item: { ...keys.secrets(client.network, client.name), ...secrets } } });
        owners.push({ draft, kind: 'other' });
      }
      items.push(putAudit(this.auditTable, audit));
      owners.push({ draft, kind: 'other' });
    });
    const publicKeys = drafts.map((d) => d.client.publicKey);
    const gatewayAt = items.length;
    items.push(this.moveGateway(network.name, gatewayId, generation, drafts, publicKeys));
    items.push(networkCheck(this.tableName, network));
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return [];
    } catch (err) {
      const reasons = cancellationDetails(err);
      if (!reasons) throw err;
      const conflicts: DraftConflict[] = [];
      reasons.slice(0, gatewayAt).forEach((reason, i) => {
        if (reason.code !== 'ConditionalCheckFailed') return;
        const owner = owners[i]!;
        if (owner.kind === 'client') conflicts.push({ draft: owner.draft, kind: 'name' });
        else if (owner.kind === 'publicKey') conflicts.push({ draft: owner.draft, kind: 'publicKey' });
        else if (owner.kind === 'lease') conflicts.push({ draft: owner.draft, kind: 'lease', leaseKey: owner.leaseKey });
      });
      if (conflicts.length > 0) return conflicts;
      const gateway = reasons[gatewayAt];
      if (gateway?.code === 'ConditionalCheckFailed') {
        const own = stringAttribute(gateway.item?.publicKey);
        const draft = own === undefined ? -1 : publicKeys.indexOf(own);
        if (draft >= 0) return [{ draft, kind: 'gatewayPublicKey' }];
        const current = numberAttribute(gateway.item?.desiredGeneration);
        if (current !== undefined) throw new GenerationBehindError(current);
        throw new NotFoundError('gateway', gatewayId);
      }
      if (reasons[gatewayAt + 1]?.code === 'ConditionalCheckFailed') throw new NetworkChangedError();
      throw err; // TransactionConflict and throttling are retried by the caller
    }
  }

  /** The batch's one gateway update: the single create's, for every draft at once. */
  private moveGateway(network: string, gatewayId: string, generation: number, drafts: ClientDraft[], publicKeys: string[]): TransactItem {
    const expiring = drafts.some((d) => d.client.expiresAt !== undefined);
    const keyNames = publicKeys.map((_k, i) => `:k${i}`);
    return {
      Update: {
        TableName: this.tableName,
        Key: keys.gateway(network, gatewayId),
        UpdateExpression: 'SET desiredGeneration = :g, clientCount = clientCount + :delta' + (expiring ? ', expiringClients = :t' : ''),
        ConditionExpression: `attribute_exists(pk) AND desiredGeneration < :g AND (attribute_not_exists(publicKey) OR NOT (publicKey IN (${keyNames.join(', ')})))`,
        ExpressionAttributeValues: {
          ':g': generation,
          ':delta': drafts.length,
          ...(expiring ? { ':t': true } : {}),
          ...Object.fromEntries(publicKeys.map((k, i) => [keyNames[i]!, k])),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }
}
