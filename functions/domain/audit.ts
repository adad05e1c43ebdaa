// The audit log: who changed what, when, from what to what. Records are built by the use cases and
// written by the stores in the same transaction as the change they describe, so a committed change
// always has its record and a failed one has none.
import { randomUUID } from 'node:crypto';

export type ActorType = 'admin' | 'link' | 'system';

export interface Actor {
  type: ActorType;
  /** admin: the token's subject (`local-admin` in local mode); link: the client it was made for; system: the worker. */
  id: string;
  name?: string;
}

/** Who acts and in which request: what the HTTP stack (or the worker) hands every changing use case. */
export interface AuditContext {
  actor: Actor;
  /** API Gateway's request id, else the Lambda request id. */
  requestId: string;
}

export const AUDIT_RESOURCE_TYPES = ['network', 'gateway', 'client', 'link'] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

export interface AuditResource {
  type: AuditResourceType;
  network: string;
  id: string;
}

export type AuditChanges = Record<string, { from: unknown; to: unknown }>;

export interface AuditRecord {
  id: string;
  at: string;
  actor: Actor;
  /** `<resource>.<verb>`: network.create, client.disable, gateway.resync, link.redeem … */
  action: string;
  resource: AuditResource;
  changes?: AuditChanges;
  requestId: string;
}

/** The worker's own actor (expiry enforcement). */
export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'gateway-sync' };

/** Never in a record, whatever a caller passes in `fields`. */
const SECRET_FIELDS = new Set(['privateKey', 'presharedKey', 'token', 'tokenHash', 'spendId', 'secrets']);

/**
 * The fields that differ between `before` and `after` (either may be absent: a create or a
 * delete), each as `{from, to}` with `null` for "not set". Secrets are never included.
 */
export function changesBetween(
  before: object | undefined,
  after: object | undefined,
  fields: readonly string[],
): AuditChanges | undefined {
  const changes: AuditChanges = {};
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  for (const field of fields) {
    if (SECRET_FIELDS.has(field)) continue;
    const from = b[field] ?? null;
    const to = a[field] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
  }
  return Object.keys(changes).length ? changes : undefined;
}

export function auditRecord(
  context: AuditContext,
  at: Date | string,
  action: string,
  resource: AuditResource,
  changes: AuditChanges | undefined,
): AuditRecord {
  return {
    id: randomUUID(),
    at: typeof at === 'string' ? at : at.toISOString(),
    actor: { ...context.actor },
    action,
    resource,
    ...(changes ? { changes } : {}),
    requestId: context.requestId,
  };
}

/** The fields each resource's records compare (the API's own fields, never a secret). */
export const AUDITED_FIELDS = {
  network: ['name', 'addressRange', 'addressRange6', 'defaultDns'],
  gateway: [
    'instanceId', 'endpoint', 'listenPort', 'address', 'address6', 'routedRanges', 'fullTunnel', 'dns', 'mtu',
    'persistentKeepalive', 'status',
  ],
  client: ['gatewayId', 'address', 'address6', 'publicKey', 'dns', 'enabled', 'expiresAt', 'hasPrivateKey', 'hasPresharedKey'],
} as const;
