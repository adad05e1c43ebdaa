// Single-table layout; the access patterns are documented in docs/data-model.md.
import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { translateErrors } from './errors.js';

export interface DocumentClientOptions {
  region: string;
  endpoint?: string;
  /** For a local endpoint; in AWS the SDK's default chain reads the role's credentials. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Wraps the base client once it is built (the composition root's tracing). */
  instrument?: <C extends DynamoDBClient>(client: C) => C;
}

/** The base client, as Powertools Idempotency takes it; the stores use createDocumentClient. */
export function createDynamoClient(opts: DocumentClientOptions): DynamoDBClient {
  const client = new DynamoDBClient({
    region: opts.region,
    ...(opts.endpoint
      ? {
          endpoint: opts.endpoint,
          credentials: opts.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' },
          // Locally one process serves every request; DynamoDB Local drops connections when
          // hundreds arrive at once, so requests queue here instead (a Lambda container sends one
          // request at a time and never gets near this).
          // Queueing is the point here, so the SDK's "socket usage at capacity" warning is noise.
          requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 24 }), socketAcquisitionWarningTimeout: 60_000 },
          maxAttempts: 6,
        }
      : { maxAttempts: 3 }),
  });
  return opts.instrument ? opts.instrument(client) : client;
}

/** The stores' client: SDK errors come out as domain errors (errors.ts). */
export function createDocumentClient(opts: DocumentClientOptions): DynamoDBDocumentClient {
  const client = createDynamoClient(opts);
  translateErrors(client);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export const keys = {
  networksPk: 'NETWORKS',
  network: (name: string) => ({ pk: 'NETWORKS', sk: `NET#${name}` }),
  networkPk: (name: string) => `NET#${name}`,
  gateway: (network: string, id: string) => ({ pk: `NET#${network}`, sk: `GW#${id}` }),
  /** One of a gateway's generation shards (domain/generation.ts); `shard` is its two-digit name. */
  generationShard: (network: string, id: string, shard: string) => ({ pk: `NET#${network}`, sk: `GWGEN#${id}#${shard}` }),
  generationShardPrefix: (id: string) => `GWGEN#${id}#`,
  gatewaysGsiPk: 'GATEWAYS',
  gatewayGsiSk: (network: string, id: string) => `${network}#${id}`,
  client: (network: string, name: string) => ({ pk: `NET#${network}`, sk: `CLIENT#${name}` }),
  clientsOfGatewayGsiPk: (network: string, gatewayId: string) => `GW#${network}#${gatewayId}`,
  lease: (network: string, leaseKey: string) => ({ pk: `NET#${network}`, sk: leaseKey }),
  /** A client's claim on its public key: one key, one client per network. */
  publicKey: (network: string, publicKey: string) => ({ pk: `NET#${network}`, sk: `KEY#${publicKey}` }),
  secrets: (network: string, name: string) => ({ pk: `NET#${network}`, sk: `CLIENT#${name}` }),
  link: (tokenHash: string) => ({ pk: `LINK#${tokenHash}`, sk: 'LINK' }),
  linksOfClientGsiPk: (network: string, client: string) => `LINKS#${network}#${client}`,
  /** Audit records of a network, newest last in sk order (`<at>#<id>`). */
  auditPk: (network: string) => `AUDIT#${network}`,
  auditResourceGsiPk: (network: string, type: string, id: string) => `AUDIT#${network}#${type}#${id}`,
};

/** Attributes that are keys or bookkeeping, never part of an API answer. */
export const internalAttributes = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'ttl', 'type'] as const;

// DynamoDB returns attributes in no particular order; answers list them in the model's order.
const FIELD_ORDER = [
  'id', 'name', 'network', 'gatewayId', 'instanceId', 'endpoint', 'listenPort', 'interfaceName',
  'addressRange', 'addressRange6', 'address', 'address6', 'routedRanges', 'fullTunnel', 'publicKey',
  'dns', 'defaultDns', 'mtu', 'persistentKeepalive', 'enabled', 'hasPrivateKey', 'hasPresharedKey',
  'expiresAt', 'status', 'statusReason', 'generation', 'desiredGeneration', 'appliedGeneration',
  'lastSync', 'initCommand', 'linksRevokedAt', 'createdAt', 'updatedAt', 'version',
];
const RANK = new Map(FIELD_ORDER.map((f, i) => [f, i]));

export function stripInternal<T>(item: Record<string, unknown>): T {
  const hidden = new Set<string>(internalAttributes);
  const entries = Object.entries(item)
    .filter(([k]) => !hidden.has(k))
    .sort(([a], [b]) => (RANK.get(a) ?? 999) - (RANK.get(b) ?? 999));
  return Object.fromEntries(entries) as T;
}

export function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string })?.name === 'ConditionalCheckFailedException';
}

export interface CancellationDetail {
  code: string;
  /** The item as it was, for items sent with ReturnValuesOnConditionCheckFailure: ALL_OLD. */
  item?: Record<string, unknown>;
}

/** Per transaction item, in order, why it failed (with the old item where asked for). */
export function cancellationDetails(err: unknown): CancellationDetail[] | undefined {
  const e = err as { name?: string; CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[] };
  if (e?.name !== 'TransactionCanceledException') return undefined;
  return (e.CancellationReasons ?? []).map((r) => ({
    code: r.Code ?? 'None',
    ...(r.Item ? { item: r.Item } : {}),
  }));
}

/**
 * A number attribute of an item that came back with an error (the old item of a failed
 * condition): the document client does not unmarshal those, so it may still be `{ N: "…" }`.
 */
export function numberAttribute(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  const n = (raw as { N?: unknown } | undefined)?.N;
  return typeof n === 'string' ? Number(n) : undefined;
}

/** A string attribute of an item that came back with an error (see numberAttribute). */
export function stringAttribute(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  const s = (raw as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
}

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('bad cursor');
  return parsed as Record<string, unknown>;
}
