import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { GatewayStore, Page } from '../../app/ports.js';
import { AddressTakenError, ConflictError, GenerationBehindError, NotFoundError } from '../../domain/errors.js';
import type { AuditRecord } from '../../domain/audit.js';
import type { Gateway, SyncResult } from '../../domain/model.js';
import { putAudit, writeWithAudit, type AuditTable } from './audit-log.js';
import { claimLeases, releaseLeases } from './leases.js';
import { decodeCursorFor, encodePage } from './paging.js';
import { cancellationDetails, isConditionFailure, keys, numberAttribute, stripInternal } from './table.js';

export class DynamoGatewayStore implements GatewayStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly auditTable: AuditTable,
  ) {}

  async create(gateway: Gateway, leaseKeys: string[], audit: AuditRecord): Promise<void> {
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
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: keys.gateway(network, id), ConsistentRead: true }),
    );
    return out.Item ? toGateway(out.Item) : undefined;
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
    return encodePage((out.Items ?? []).map(toGateway), out.LastEvaluatedKey);
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
    return encodePage((out.Items ?? []).map(toGateway), out.LastEvaluatedKey);
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
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tableName,
                Key: keys.gateway(network, id),
                // Not while the removal of its last clients is still on its way to the instance:
                // once the item is gone, nothing would ever deliver it.
                ConditionExpression: 'attribute_exists(pk) AND clientCount = :zero AND appliedGeneration >= desiredGeneration',
                ExpressionAttributeValues: { ':zero': 0 },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
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
          ],
        }),
      );
    } catch (err) {
      const reason = cancellationDetails(err)?.[0];
      if (reason?.code === 'ConditionalCheckFailed') {
        const old = reason.item;
        if (!old) throw new NotFoundError('gateway', id);
        if ((numberAttribute(old.clientCount) ?? 0) > 0) throw new ConflictError('gateway_not_empty', `gateway '${id}' still has clients; delete them first`);
        throw new ConflictError('gateway_not_synced', `gateway '${id}' has changes not yet applied (its last clients' removal); try again once appliedGeneration reaches desiredGeneration`);
      }
      throw err;
    }
  }

  async recordSync(network: string, id: string, result: SyncResult, appliedGeneration?: number): Promise<void> {
    const key = keys.gateway(network, id);
    const conditional = async (input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>) => {
      try {
        await this.db.send(new UpdateCommand({ TableName: this.tableName, Key: key, ...input }));
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
      }
    };
    if (result.outcome === 'sent') {
      // Only while it is news: not once that generation is applied, and never over a command
      // in flight for a later generation (the stream worker and the schedule may overlap).
      await conditional({
        UpdateExpression: 'SET lastSync = :r',
        ConditionExpression:
          'attribute_exists(pk) AND appliedGeneration < :g AND ' +
          '(attribute_not_exists(lastSync) OR lastSync.outcome <> :sent OR lastSync.generation <= :g)',
        ExpressionAttributeValues: { ':r': result, ':g': result.generation, ':sent': 'sent' },
      });
      return;
    }
    if (appliedGeneration !== undefined) {
      // appliedGeneration only moves forward, whatever order results arrive in.
      await conditional({
        UpdateExpression: 'SET appliedGeneration = :g',
        ConditionExpression: 'attribute_exists(pk) AND appliedGeneration < :g',
        ExpressionAttributeValues: { ':g': appliedGeneration },
      });
    }
    // The outcome replaces the "sent" record of the same command only, never a newer one.
    await conditional({
      UpdateExpression: 'SET lastSync = :r',
      ConditionExpression: 'attribute_exists(pk) AND lastSync.commandId = :cmd',
      ExpressionAttributeValues: { ':r': result, ':cmd': result.commandId ?? '' },
    });
  }

  async recordInit(
    network: string,
    id: string,
    outcome: { status: 'ready' | 'error'; publicKey?: string; reason?: string; at: string; commandId?: string },
  ): Promise<void> {
    try {
    await this.db.send(
      new UpdateCommand({
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
      }),
    );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
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

function toGateway(item: Record<string, unknown>): Gateway {
  const { clientCount: _c, ...rest } = stripInternal<Gateway & { clientCount?: number }>(item);
  return rest;
}
