import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { AppliedRecord, GatewayStore, InitOutcome, NetworkGuard, Page } from '../../app/ports.js';
import { AddressTakenError, ConflictError, GenerationBehindError, NotFoundError } from '../../domain/errors.js';
import type { AuditRecord } from '../../domain/audit.js';
import { clientCountOf, isInSync } from '../../domain/generation.js';
import type { Gateway, GenerationShard, SyncResult } from '../../domain/model.js';
import { putAudit, writeWithAudit, type AuditTable, type TransactItem } from './audit-log.js';
import { deleteShards, gatewayKeyClaim, putShards, readShards, releaseGatewayKey } from './generation-shards.js';
import { claimLeases, releaseLeases } from './leases.js';
import { decodeCursorFor, encodePage } from './paging.js';
import { cancellationDetails, isConditionFailure, keys, numberAttribute, stripInternal } from './table.js';

export class DynamoGatewayStore implements GatewayStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async create(gateway: Gateway, leaseKeys: string[], audit: AuditRecord, network: NetworkGuard): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: keys.network(gateway.network),
                UpdateExpression: 'SET gatewayCount = gatewayCount + :one',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...gatewayItem(gateway), clientCount: 0 },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            ...claimLeases(this.tableName, gateway.network, leaseKeys, `gateway:${gateway.id}`),
            putAudit(this.auditTable, audit),
            ...putShards(this.tableName, network, gateway.id),
          ],
        }),
      );
    } catch (err) {
      const reasons = cancellationDetails(err)?.map((r) => r.code);
      if (!reasons) throw err;
      if (reasons[0] === 'ConditionalCheckFailed') throw new NotFoundError('network', gateway.network);
      if (reasons[1] === 'ConditionalCheckFailed') throw new ConflictError('id_taken', 'gateway id collision; retry');
      const leaseIndex = reasons.slice(2, 2 + leaseKeys.length).indexOf('ConditionalCheckFailed');
      if (leaseIndex >= 0) throw new AddressTakenError(leaseKeys[leaseIndex]!);
      throw err;
    }
  }

  async get(network: string, id: string): Promise<Gateway | undefined> {
    // The item and the shards side by side: each component only has to be read before the clients
    // are (domain/generation.ts), not before the others.
    const [item, shards] = await Promise.all([this.item(network, id), readShards(this.db, this.tableName, network, id)]);
    if (!item) return undefined;
    return withShards(toGateway(item), shards);
  }

  private async item(network: string, id: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: keys.gateway(network, id), ConsistentRead: true }),
    );
    return out.Item;
  }

  /** Each gateway of a page with its shards. */
  private async withShardsAll(items: Record<string, unknown>[]): Promise<Gateway[]> {
    return Promise.all(
      items.map(async (item) => {
        const g = toGateway(item);
        return withShards(g, await readShards(this.db, this.tableName, g.network, g.id));
      }),
    );
  }

  async list(network: string, limit: number, cursor?: string): Promise<Page<Gateway>> {
    const pk = keys.networkPk(network);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': pk, ':s': 'GW#' },
        Limit: limit,
        ExclusiveStartKey: decodeCursorFor(cursor, pk, 'GW#'),
      }),
    );
    return encodePage(await this.withShardsAll(out.Items ?? []), out.LastEvaluatedKey);
  }

  async listAll(limit: number, cursor?: string): Promise<Page<Gateway>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :p',
        ExpressionAttributeValues: { ':p': keys.gatewaysGsiPk },
        Limit: limit,
        ExclusiveStartKey: decodeCursorFor(cursor, keys.gatewaysGsiPk, 'NET#', 'gsi1pk'),
      }),
    );
    return encodePage(await this.withShardsAll(out.Items ?? []), out.LastEvaluatedKey);
  }

  async update(gateway: Gateway, expectedVersion: number, generation: number | undefined, audit: AuditRecord): Promise<Gateway> {
    const set = [
      'endpoint = :endpoint',
      'listenPort = :port',
      'routedRanges = :routed',
      'fullTunnel = :full',
      'dns = :dns',
      '#status = :status',
      'updatedAt = :now',
      'version = :next',
    ];
    const remove: string[] = [];
    const values: Record<string, unknown> = {
      ':endpoint': gateway.endpoint,
      ':port': gateway.listenPort,
      ':routed': gateway.routedRanges,
      ':full': gateway.fullTunnel,
      ':dns': gateway.dns,
      ':status': gateway.status,
      ':now': gateway.updatedAt,
      ':next': expectedVersion + 1,
      ':v': expectedVersion,
    };
    if (gateway.mtu === undefined) remove.push('mtu');
    else (set.push('mtu = :mtu'), (values[':mtu'] = gateway.mtu));
    if (gateway.persistentKeepalive === undefined) remove.push('persistentKeepalive');
    else (set.push('persistentKeepalive = :ka'), (values[':ka'] = gateway.persistentKeepalive));
    if (generation !== undefined) {
      set.push('desiredGeneration = :g');
      values[':g'] = generation;
      remove.push('initCommand');
    }
    try {
      await writeWithAudit(
        this.db,
        {
          Update: {
            TableName: this.tableName,
            Key: keys.gateway(gateway.network, gateway.id),
            UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
            ConditionExpression: 'attribute_exists(pk) AND version = :v' + (generation !== undefined ? ' AND desiredGeneration < :g' : ''),
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        putAudit(this.auditTable, audit),
      );
      return await this.written(gateway.network, gateway.id);
    } catch (err) {
      if (isConditionFailure(err)) {
        const old = (err as { Item?: Record<string, unknown> }).Item;
        if (!old) throw new NotFoundError('gateway', gateway.id);
        // The version held: only the generation had moved on (a client change meanwhile, which
        // leaves the gateway's version alone). The caller stamps again above it.
        const current = numberAttribute(old.desiredGeneration);
        if (generation !== undefined && numberAttribute(old.version) === expectedVersion && current !== undefined) {
          throw new GenerationBehindError(current);
        }
        throw new ConflictError('version_conflict', `gateway '${gateway.id}' was changed meanwhile (expected version ${expectedVersion})`, 'version');
      }
      throw err;
    }
  }

  async delete(network: string, id: string, leaseKeys: string[], audit: AuditRecord): Promise<void> {
    // The gateway and every shard as read: a client write or a change of the gateway since fails
    // the transaction, and the check starts again from a fresh read.
    let releaseKey = true;
    for (let attempt = 0; ; attempt++) {
      const item = await this.item(network, id);
      if (!item) throw new NotFoundError('gateway', id);
      const gateway = withShards(toGateway(item), await readShards(this.db, this.tableName, network, id));
      if (clientCountOf(gateway, numberAttribute(item.clientCount) ?? 0) > 0) {
        throw new ConflictError('gateway_not_empty', `gateway '${id}' still has clients; delete them first`);
      }
      // Not while the removal of its last clients is still on its way to the instance: once the
      // item is gone, nothing would ever deliver it.
      if (!isInSync(gateway)) {
        throw new ConflictError('gateway_not_synced', `gateway '${id}' has changes not yet applied (its last clients' removal); try again once appliedGeneration reaches desiredGeneration`);
      }
      const head: TransactItem[] = [
        {
          Delete: {
            TableName: this.tableName,
            Key: keys.gateway(network, id),
            ConditionExpression:
              'attribute_exists(pk) AND version = :v AND desiredGeneration = :d AND appliedGeneration = :a AND (attribute_not_exists(clientCount) OR clientCount = :c)',
            ExpressionAttributeValues: {
              ':v': gateway.version,
              ':d': gateway.desiredGeneration,
              ':a': gateway.appliedGeneration,
              ':c': numberAttribute(item.clientCount) ?? 0,
            },
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: keys.network(network),
            UpdateExpression: 'SET gatewayCount = gatewayCount - :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
        ...releaseLeases(this.tableName, network, leaseKeys),
        putAudit(this.auditTable, audit),
      ];
      // Its key claim goes too, unless a client holds that key (data from before claims).
      const release = releaseKey && gateway.publicKey ? [releaseGatewayKey(this.tableName, network, id, gateway.publicKey)] : [];
      try {
        await this.db.send(
          new TransactWriteCommand({ TransactItems: [...head, ...release, ...deleteShards(this.tableName, network, id, gateway.shards ?? {})] }),
        );
        return;
      } catch (err) {
        const reasons = cancellationDetails(err);
        if (!reasons || attempt >= 4 || !reasons.some((r) => r.code === 'ConditionalCheckFailed')) throw err;
        if (release.length && reasons[head.length]?.code === 'ConditionalCheckFailed') releaseKey = false;
        // Otherwise something changed since the read (a client write, an apply): read again.
      }
    }
  }

  async recordSync(network: string, id: string, result: SyncResult, applied?: AppliedRecord): Promise<void> {
    const key = keys.gateway(network, id);
    const conditional = async (input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>) => {
      try {
        await this.db.send(new UpdateCommand({ TableName: this.tableName, Key: key, ...input }));
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    };
    if (result.outcome === 'sent') {
      // Over its own claim only (claimApply): a sender whose claim was taken over as stale records nothing.
      await conditional({
        UpdateExpression: 'SET lastSync = :r',
        ConditionExpression: 'attribute_exists(pk) AND lastSync.claim = :claim',
        ExpressionAttributeValues: { ':r': result, ':claim': result.claim ?? '' },
      });
      return;
    }
    if (applied !== undefined) {
      // The usual case in one write: the result of the command on record, which moves the
      // generation forward.
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET lastSync = :r, appliedGeneration = :g' + (applied.vector ? ', appliedShards = :v' : ''),
            ConditionExpression: 'attribute_exists(pk) AND lastSync.commandId = :cmd AND appliedGeneration < :g',
            ExpressionAttributeValues: { ':r': result, ':cmd': result.commandId ?? '', ':g': applied.generation, ...(applied.vector ? { ':v': applied.vector } : {}) },
          }),
        );
        return;
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
      // appliedGeneration only moves forward, whatever order results arrive in; the vector of what
      // was read goes with it (a later apply's vector is never below an earlier one's).
      await conditional({
        UpdateExpression: 'SET appliedGeneration = :g' + (applied.vector ? ', appliedShards = :v' : ''),
        ConditionExpression: 'attribute_exists(pk) AND appliedGeneration < :g',
        ExpressionAttributeValues: { ':g': applied.generation, ...(applied.vector ? { ':v': applied.vector } : {}) },
      });
    }
    // The outcome replaces the "sent" record of the same command only, never a newer one.
    await conditional({
      UpdateExpression: 'SET lastSync = :r',
      ConditionExpression: 'attribute_exists(pk) AND lastSync.commandId = :cmd',
      ExpressionAttributeValues: { ':r': result, ':cmd': result.commandId ?? '' },
    });
  }

  async claimApply(network: string, id: string, claim: SyncResult, staleBefore: string): Promise<boolean> {
    // Only while it is news (not once that generation is applied), and never over a command in
    // flight or claimed (the stream worker and the schedule may overlap): one apply per gateway.
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.gateway(network, id),
          UpdateExpression: 'SET lastSync = :r',
          ConditionExpression:
            'attribute_exists(pk) AND appliedGeneration < :g AND (attribute_not_exists(lastSync) OR lastSync.outcome <> :sent' +
            ' OR (attribute_not_exists(lastSync.commandId) AND lastSync.#at < :stale))',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':r': claim, ':g': claim.generation, ':sent': 'sent', ':stale': staleBefore },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async releaseApply(network: string, id: string, token: string, previous: SyncResult | undefined): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.gateway(network, id),
          UpdateExpression: previous ? 'SET lastSync = :prev' : 'REMOVE lastSync',
          ConditionExpression: 'attribute_exists(pk) AND lastSync.claim = :claim',
          ExpressionAttributeValues: { ':claim': token, ...(previous ? { ':prev': previous } : {}) },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async recordInit(network: string, id: string, outcome: InitOutcome): Promise<void> {
    const update: TransactItem = {
      Update: {
        TableName: this.tableName,
        Key: keys.gateway(network, id),
        UpdateExpression:
          'SET #status = :s, updatedAt = :at, version = version + :one' +
          (outcome.publicKey ? ', publicKey = :k' : '') +
          (outcome.reason ? ', statusReason = :r REMOVE initCommand' : ' REMOVE statusReason, initCommand'),
        // A result only counts for the init it answers: a re-init requested meanwhile (new
        // listen port) cleared initCommand, and its own init must run.
        ConditionExpression:
          'attribute_exists(pk)' + (outcome.commandId ? ' AND #status = :pending AND initCommand.commandId = :cmd' : ''),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':s': outcome.status,
          ':at': outcome.at,
          ':one': 1,
          ...(outcome.publicKey ? { ':k': outcome.publicKey } : {}),
          ...(outcome.reason ? { ':r': outcome.reason } : {}),
          ...(outcome.commandId ? { ':pending': 'pending', ':cmd': outcome.commandId } : {}),
        },
      },
    };
    // The gateway's own key is claimed like a client's, so a client's claim rules it out. A key a
    // client already holds (data from before the claim) stays with it: the worker leaves that
    // client out of the peer set (gateway_public_key).
    const claims: TransactItem[] = [];
    if (outcome.publicKey) claims.push(gatewayKeyClaim(this.tableName, network, id, outcome.publicKey));
    if (outcome.publicKey && outcome.previousPublicKey && outcome.previousPublicKey !== outcome.publicKey) {
      claims.push(releaseGatewayKey(this.tableName, network, id, outcome.previousPublicKey));
    }
    for (const withClaims of claims.length ? [true, false] : [false]) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: withClaims ? [update, ...claims] : [update] }));
        return;
      } catch (err) {
        const reasons = cancellationDetails(err);
        if (!reasons) throw err;
        if (reasons[0]?.code === 'ConditionalCheckFailed') return;
        if (withClaims && reasons.slice(1).some((r) => r.code === 'ConditionalCheckFailed')) continue;
        throw err;
      }
    }
  }

  async markExpiring(network: string, id: string, change: { add?: Record<string, string[]>; remove?: Record<string, string[]>; clearLegacy?: boolean }): Promise<void> {
    const shards = new Set([...Object.keys(change.add ?? {}), ...Object.keys(change.remove ?? {})]);
    for (const shard of shards) {
      const add = change.add?.[shard] ?? [];
      const remove = (change.remove?.[shard] ?? []).filter((n) => !add.includes(n));
      const parts = [...(add.length ? ['ADD expiring :add'] : []), ...(remove.length ? ['DELETE expiring :remove'] : [])];
      if (!parts.length) continue;
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: keys.generationShard(network, id, shard),
            UpdateExpression: parts.join(' '),
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ...(add.length ? { ':add': new Set(add) } : {}), ...(remove.length ? { ':remove': new Set(remove) } : {}) },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    }
    if (change.clearLegacy) {
      await this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: keys.gateway(network, id), UpdateExpression: 'REMOVE expiringClients', ConditionExpression: 'attribute_exists(pk)' }),
      ).catch((err) => {
        if (!isConditionFailure(err)) throw err;
      });
    }
  }

  async markInitSent(network: string, id: string, command: { commandId: string; at: string }): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.gateway(network, id),
        UpdateExpression: 'SET initCommand = :c',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':c': command },
      }),
    );
  }

  async requestResync(network: string, id: string, generation: number, reinit: boolean, audit: AuditRecord): Promise<Gateway> {
    try {
      await writeWithAudit(
        this.db,
        {
          Update: {
            TableName: this.tableName,
            Key: keys.gateway(network, id),
            // A forced resync also forgets a failed or lost command and, for a gateway whose init
            // failed, runs init again.
            UpdateExpression: 'SET desiredGeneration = :g' + (reinit ? ', #status = :pending' : '') + ' REMOVE lastSync, initCommand',
            ConditionExpression: 'attribute_exists(pk) AND desiredGeneration < :g',
            ...(reinit ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
            ExpressionAttributeValues: { ':g': generation, ...(reinit ? { ':pending': 'pending' } : {}) },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        putAudit(this.auditTable, audit),
      );
      return await this.written(network, id);
    } catch (err) {
      if (isConditionFailure(err)) {
        const old = (err as { Item?: Record<string, unknown> }).Item;
        const current = numberAttribute(old?.desiredGeneration);
        if (current !== undefined) throw new GenerationBehindError(current);
        throw new NotFoundError('gateway', id);
      }
      throw err;
    }
  }

  /** The gateway as a transaction just wrote it (a transaction returns no item): a consistent read. */
  private async written(network: string, id: string): Promise<Gateway> {
    const gateway = await this.get(network, id);
    if (!gateway) throw new NotFoundError('gateway', id);
    return gateway;
  }
}

function gatewayItem(gateway: Gateway): Record<string, unknown> {
  return {
    ...keys.gateway(gateway.network, gateway.id),
    type: 'gateway',
    gsi1pk: keys.gatewaysGsiPk,
    gsi1sk: `NET#${keys.gatewayGsiSk(gateway.network, gateway.id)}`,
    ...gateway,
  };
}

function withShards(gateway: Gateway, shards: Record<string, GenerationShard>): Gateway {
  return Object.keys(shards).length ? { ...gateway, shards } : gateway;
}

function toGateway(item: Record<string, unknown>): Gateway {
  const { clientCount: _c, ...rest } = stripInternal<Gateway & { clientCount?: number }>(item);
  return rest;
}
