// What the API answers, as schemas for the OpenAPI document only (handlers build their answers from
// the domain model; nothing validates them at run time). The console's API types are generated
// from the document, so a change of an answer here or in the model breaks the console's typecheck.
// The properties mirror functions/domain/model.ts and the use cases' views (ClientView, …); a
// client's status and a gateway's health are the gateway-report schemas of domain/schemas.ts.
import * as z from 'zod/mini';
import { AUDIT_RESOURCE_TYPES } from '../domain/audit.js';
import { ClientStatusAnswer, GatewayHealthAnswer } from '../domain/schemas.js';

// @__NO_SIDE_EFFECTS__
function define<T>(build: () => T): T {
  return build();
}

const text = (description?: string) => (description ? z.string().check(z.describe(description)) : z.string());
const stamp = (description: string) => z.string().check(z.describe(`ISO 8601 date-time: ${description}`));
const count = (description: string) => z.number().check(z.describe(description));

/** `{items, nextCursor}`: pass nextCursor back as `cursor` for the next page (absent on the last). */
export const pageOf = (item: z.ZodMiniType) =>
  z.object({ items: z.array(item), nextCursor: z.optional(text('opaque; absent on the last page')) });

export const NetworkAnswer = define(() =>
  z.object({
    id: text("the network's name"),
    name: text(),
    addressRange: text('canonical IPv4 CIDR'),
    addressRange6: z.optional(text('canonical IPv6 CIDR')),
    defaultDns: z.array(z.string()),
    createdAt: stamp('created'),
    updatedAt: stamp('last changed'),
    version: count('optimistic-locking version'),
  }),
);

const SyncResultAnswer = define(() =>
  z.object({
    at: stamp('when the result was recorded'),
    generation: count('the generation sent or applied'),
    outcome: z.enum(['applied', 'failed', 'sent']),
    message: z.optional(text('why it failed, or what was done')),
    skipped: z.optional(z.array(z.object({ client: z.string(), code: z.string(), reason: z.string() }))),
    skippedCount: z.optional(count('clients left out of the peer set')),
    commandId: z.optional(z.string()),
  }),
);

export const FullGatewayAnswer = define(() =>
  z.object({
    id: text('generated, e.g. gw-3k9x2m7q'),
    network: z.string(),
    instanceId: z.string(),
    endpoint: z.string(),
    listenPort: z.number(),
    interfaceName: z.string(),
    address: text("the gateway's own overlay IPv4 address"),
    address6: z.optional(z.string()),
    routedRanges: z.array(z.string()),
    fullTunnel: z.boolean(),
    dns: z.array(z.string()),
    mtu: z.optional(z.number()),
    persistentKeepalive: z.optional(z.number()),
    status: z.enum(['pending', 'ready', 'error']),
    statusReason: z.optional(z.string()),
    publicKey: z.optional(text('reported by the init document')),
    desiredGeneration: count('moves forward with every change of the peer set'),
    appliedGeneration: count('the newest generation the gateway applied'),
    lastSync: z.optional(SyncResultAnswer),
    health: GatewayHealthAnswer,
    createdAt: stamp('created'),
    updatedAt: stamp('last changed'),
    version: z.number(),
  }),
);

export const FullClientAnswer = define(() =>
  z.object({
    id: text("the client's name"),
    name: z.string(),
    network: z.string(),
    gatewayId: z.string(),
    address: z.string(),
    address6: z.optional(z.string()),
    publicKey: z.string(),
    dns: z.array(z.string()),
    enabled: z.boolean(),
    hasPrivateKey: z.boolean().check(z.describe('false: the client brought its own key and the config holds a placeholder')),
    hasPresharedKey: z.boolean(),
    expiresAt: z.optional(stamp('after this the client may no longer connect')),
    generation: count("the stamp of this client's last change on its gateway's generation shard; the change is in effect once the gateway applied that shard at least this far (see inEffect)"),
    inEffect: z.boolean().check(z.describe("the gateway runs this client's current state")),
    status: ClientStatusAnswer,
    createdAt: stamp('created'),
    updatedAt: stamp('last changed'),
    version: z.number(),
  }),
);

export const ConfigAnswer = define(() =>
  z.object({
    configUrl: text('signed URL of the .conf file (minutes long)'),
    qrUrl: text('signed URL of the QR code PNG'),
    filename: z.string(),
    expiresAt: stamp('when the URLs expire'),
  }),
);

export const LinkAnswer = define(() =>
  z.object({ url: text('the one-time link for the end user'), expiresAt: stamp('when the link expires') }),
);

export const AuditRecordAnswer = define(() =>
  z.object({
    id: z.string(),
    at: stamp('when the change committed'),
    actor: z.object({ type: z.enum(['admin', 'link', 'system']), id: z.string(), name: z.optional(z.string()) }),
    action: text('<resource>.<verb>, e.g. client.disable'),
    resource: z.object({ type: z.enum(AUDIT_RESOURCE_TYPES), network: z.string(), id: z.string() }),
    changes: z.optional(z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }))),
    requestId: z.string(),
  }),
);

/**
 * Each route's success answer, by route key. Kept apart from api-spec.ts (whose tables each Lambda
 * bundle holds) so only the function that serves /openapi.json carries these schemas.
 */
export const answerSchemas: Record<string, z.ZodMiniType> = {
  'POST /networks': NetworkAnswer,
  'GET /networks': pageOf(NetworkAnswer),
  'GET /networks/{network}': NetworkAnswer,
  'PATCH /networks/{network}': NetworkAnswer,
  'POST /networks/{network}/gateways': FullGatewayAnswer,
  'GET /networks/{network}/gateways': pageOf(FullGatewayAnswer),
  'GET /networks/{network}/gateways/{gatewayId}': FullGatewayAnswer,
  'PATCH /networks/{network}/gateways/{gatewayId}': FullGatewayAnswer,
  'POST /networks/{network}/gateways/{gatewayId}/sync': FullGatewayAnswer,
  'POST /networks/{network}/clients': FullClientAnswer,
  'GET /networks/{network}/clients': pageOf(FullClientAnswer),
  'GET /networks/{network}/clients/{clientId}': FullClientAnswer,
  'PATCH /networks/{network}/clients/{clientId}': FullClientAnswer,
  'GET /networks/{network}/clients/{clientId}/config': ConfigAnswer,
  'POST /networks/{network}/clients/{clientId}/links': LinkAnswer,
  'GET /audit': pageOf(AuditRecordAnswer),
};
