// Every input the API takes, as zod schemas. The OpenAPI document is generated from these, so the
// checks that JSON Schema can express live in the schema and the rest in refinements whose
// messages name the rule.
import * as z from 'zod/mini';
import { parseRange, parseRoutedRange, tryParseAddress } from './address-pool.js';
import { AUDIT_RESOURCE_TYPES } from './audit.js';
import { DomainError } from './errors.js';
import { isWireGuardKey } from './keys.js';
import { GATEWAY_ID, INSTANCE_ID, INSTANCE_ID_PATTERN, LINK_TOKEN, NAME, PATTERN } from './grammar.js';
import { validateEndpoint } from './patterns.js';

// zod/mini has no messages of its own. These are the words of zod's English locale for the rules
// the schemas leave to zod (sizes and ranges: "Too big: expected string to have <=39 characters");
// every other rule either carries its own message or gets zod's "Invalid input", which the HTTP
// layer turns into "must be of type …" for wrong types.
const UNITS: Record<string, string> = { string: 'characters', array: 'items' };
z.config({
  localeError: (issue) => {
    if (issue.code !== 'too_big' && issue.code !== 'too_small') return undefined;
    const big = issue.code === 'too_big';
    const adj = issue.exact ? 'exactly ' : `${big ? '<' : '>'}${issue.inclusive ? '=' : ''}`;
    const unit = UNITS[issue.origin];
    const limit = `${adj}${(big ? issue.maximum : issue.minimum).toString()}`;
    return `Too ${big ? 'big' : 'small'}: expected ${issue.origin} ${unit ? `to have ${limit} ${unit}` : `to be ${limit}`}`;
  },
});

/**
 * Builds a schema at load, as a call esbuild may leave out of a bundle that never uses the result
 * (it cannot tell that zod's constructors have no side effects): each function's bundle holds only
 * the schemas of its own routes.
 */
// @__NO_SIDE_EFFECTS__
function define<T>(build: () => T): T {
  return build();
}

const MAX_DNS = 3; // the QR code of the largest config must still fit (test/unit/domain/fixtures.ts LIMITS)
const MAX_ROUTED_RANGES = 16;
export const LINK_TTL_SECONDS = { min: 300, max: 7 * 24 * 3600, default: 24 * 3600 } as const;

/** Runs a domain check and turns its ValidationError into a zod issue with the same message. */
function domainCheck(check: (value: string) => unknown) {
  return z.superRefine((value: string, ctx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof DomainError ? err.message : 'is not valid' });
    }
  });
}

/** A whole number from `min` to `max` (each message as zod words it unless given). */
const integer = (min: number, max?: number, minMessage?: string) =>
  z.number().check(z.int(), z.minimum(min, minMessage), ...(max === undefined ? [] : [z.maximum(max)]));

export const Name = define(() =>
  z
    .string()
    .check(
      z.regex(NAME, `must match ${PATTERN.NAME} (1-32 letters, digits, _ or -, starting with a letter or digit)`),
      z.describe('1-32 characters: letters, digits, _ and -, starting with a letter or digit'),
    ),
);

export const WireGuardKey = define(() =>
  z
    .string()
    .check(
      z.refine(isWireGuardKey, 'must be a WireGuard key: standard base64 of exactly 32 bytes (44 characters ending in =)'),
      z.describe('base64 of exactly 32 bytes'),
    ),
);

export const IpAddress = define(() =>
  z
    .string()
    .check(
      z.maxLength(39),
      z.refine(
        (v) => tryParseAddress(v, 4) !== undefined || tryParseAddress(v, 6) !== undefined,
        'must be an IPv4 or IPv6 address (no port, no brackets, no host name)',
      ),
    ),
);

export const DnsList = define(() =>
  z.array(IpAddress).check(z.maxLength(MAX_DNS, `at most ${MAX_DNS} DNS servers`), z.describe('DNS server IP addresses')),
);

const Range4 = define(() => z.string().check(z.maxLength(18), domainCheck((v) => parseRange(v, 4, 'addressRange'))));
const Range6 = define(() => z.string().check(z.maxLength(43), domainCheck((v) => parseRange(v, 6, 'addressRange6'))));
const RoutedRange = define(() => z.string().check(z.maxLength(43), domainCheck((v) => parseRoutedRange(v))));

export const Endpoint = define(() =>
  z
    .string()
    .check(
      z.maxLength(253),
      domainCheck((v) => validateEndpoint(v)),
      z.describe('public host name, IPv4 or IPv6 address of the gateway (no port, no brackets)'),
    ),
);

const FutureTimestamp = define(() =>
  z
    .string()
    .check(
      z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2027-01-31T12:00:00Z' }),
      z.refine((v) => Date.parse(v) > Date.now(), 'must be in the future'),
    ),
);

/** `schema`, optional, with a description of its own. */
const optional = <T extends z.ZodMiniType>(schema: T, description?: string) =>
  description === undefined ? z.optional(schema) : z.optional(schema).check(z.describe(description));

/** `schema`, or null to remove the value, or absent to leave it. */
const removable = <T extends z.ZodMiniType>(schema: T, description: string) =>
  z.optional(z.nullable(schema)).check(z.describe(description));

const Version = define(() => integer(1));

export const CreateNetworkBody = define(() =>
  z.strictObject({
    name: Name,
    addressRange: Range4.check(z.describe('IPv4 CIDR of the overlay, prefix /8 to /30')),
    addressRange6: optional(Range6, 'IPv6 CIDR of the overlay, prefix /64 to /126'),
    defaultDns: optional(DnsList),
  }),
);
export type CreateNetworkBody = z.infer<typeof CreateNetworkBody>;

export const UpdateNetworkBody = define(() => z.strictObject({ defaultDns: DnsList, version: optional(Version) }));
export type UpdateNetworkBody = z.infer<typeof UpdateNetworkBody>;

export const InstanceId = define(() =>
  z.string().check(z.regex(INSTANCE_ID, `must match ${INSTANCE_ID_PATTERN} (an EC2 instance id such as i-0123456789abcdef0)`)),
);

const GatewayTunables = define(() => ({
  endpoint: Endpoint,
  listenPort: integer(1, 65535),
  routedRanges: z.array(RoutedRange).check(z.maxLength(MAX_ROUTED_RANGES, `at most ${MAX_ROUTED_RANGES} routed ranges`)),
  fullTunnel: z.boolean(),
  dns: DnsList,
  mtu: integer(1280, 9000, 'must be at least 1280 (the IPv6 minimum)'),
  persistentKeepalive: integer(1, 3600).check(z.describe('seconds; omit to turn it off')),
}));

export const CreateGatewayBody = define(() =>
  z.strictObject({
    instanceId: InstanceId,
    endpoint: GatewayTunables.endpoint,
    listenPort: optional(GatewayTunables.listenPort),
    routedRanges: optional(GatewayTunables.routedRanges),
    fullTunnel: optional(GatewayTunables.fullTunnel),
    dns: optional(GatewayTunables.dns),
    mtu: optional(GatewayTunables.mtu),
    persistentKeepalive: optional(GatewayTunables.persistentKeepalive),
  }),
);
export type CreateGatewayBody = z.infer<typeof CreateGatewayBody>;

export const UpdateGatewayBody = define(() =>
  z.strictObject({
    endpoint: optional(GatewayTunables.endpoint),
    listenPort: optional(GatewayTunables.listenPort),
    routedRanges: optional(GatewayTunables.routedRanges),
    fullTunnel: optional(GatewayTunables.fullTunnel),
    dns: optional(GatewayTunables.dns),
    mtu: removable(GatewayTunables.mtu, 'null removes it'),
    persistentKeepalive: removable(GatewayTunables.persistentKeepalive, 'null removes it'),
    version: optional(Version),
  }),
);
export type UpdateGatewayBody = z.infer<typeof UpdateGatewayBody>;

export const GatewayId = define(() =>
  z.string().check(z.regex(GATEWAY_ID, 'must be a gateway id such as gw-0a1b2c3d4e')),
);

export const CreateClientBody = define(() =>
  z.strictObject({
    gatewayId: GatewayId,
    name: optional(Name, 'generated when absent'),
    publicKey: optional(WireGuardKey, "bring your own key: the server then never knows the private key; unique in the network and not the gateway's own (else 409 public_key_taken)"),
    address: optional(z.string().check(z.maxLength(15)), 'IPv4 address inside the network range; allocated when absent'),
    address6: optional(z.string().check(z.maxLength(39)), 'IPv6 address inside addressRange6; allocated when absent'),
    dns: optional(DnsList),
    presharedKey: optional(z.union([WireGuardKey, z.boolean()]), 'a preshared key, or true to have one generated'),
    expiresAt: optional(FutureTimestamp),
  }),
);
export type CreateClientBody = z.infer<typeof CreateClientBody>;

// --- bulk import and export -------------------------------------------------------------------

export const MAX_IMPORT_CLIENTS = 1000;

/** One client of an import: the single create's fields and rules, less gatewayId (the import's) and presharedKey. */
export const ImportClientItem = define(() => {
  const { name, publicKey, address, address6, dns, expiresAt } = CreateClientBody.shape;
  return z.strictObject({ name, publicKey, address, address6, dns, expiresAt });
});
export type ImportClientItem = z.infer<typeof ImportClientItem>;

/**
 * What the import route validates as a whole: the items are checked one by one (ImportClientItem),
 * so one bad item fails only itself. OpenAPI shows ImportClientsDocument.
 */
export const ImportClientsBody = define(() =>
  z.strictObject({
    gatewayId: GatewayId,
    clients: z
      .array(z.unknown())
      .check(z.minLength(1, 'at least 1 client'), z.maxLength(MAX_IMPORT_CLIENTS, `at most ${MAX_IMPORT_CLIENTS} clients a request`)),
  }),
);
export type ImportClientsBody = z.infer<typeof ImportClientsBody>;

export const ImportClientsDocument = define(() =>
  z.strictObject({
    gatewayId: GatewayId,
    clients: z
      .array(ImportClientItem)
      .check(
        z.minLength(1),
        z.maxLength(MAX_IMPORT_CLIENTS),
        z.describe(`1-${MAX_IMPORT_CLIENTS} clients; each is created or refused on its own, by the rules of a single create`),
      ),
  }),
);

/** text/csv import bodies name the gateway here (a CSV has no room for it). */
export const ImportClientsQuery = define(() =>
  z.strictObject({ gatewayId: optional(GatewayId, 'required with a text/csv body; with a JSON body, gatewayId is in the body') }),
);
export type ImportClientsQuery = z.infer<typeof ImportClientsQuery>;

export const ExportClientsQuery = define(() =>
  z.strictObject({ format: z._default(z.enum(['csv', 'json']), 'json').check(z.describe('csv: RFC 4180 with a header row; json: {network, count, clients}')) }),
);
export type ExportClientsQuery = z.infer<typeof ExportClientsQuery>;

/** The field and rule of a failed zod check, as a ValidationError names them. */
export function describeIssue(issue: z.core.$ZodIssue): { field: string; message: string } {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return { field: [...issue.path.map(String), key].join('.'), message: `unknown field '${key}'; allowed fields are listed in /openapi.json` };
  }
  const message = issue.code === 'invalid_type' && issue.message.startsWith('Invalid input') ? `must be of type ${issue.expected}` : issue.message;
  return { field: issue.path.map(String).join('.'), message };
}

export const UpdateClientBody = define(() =>
  z.strictObject({
    enabled: optional(z.boolean()),
    dns: optional(DnsList),
    expiresAt: removable(FutureTimestamp, 'null removes the expiry'),
    version: optional(Version, 'refuse the change unless the client is at this version'),
  }),
);
export type UpdateClientBody = z.infer<typeof UpdateClientBody>;

/** The start of a name: what a name may begin with (the name grammar, any length up to 32). */
const NamePrefix = define(() =>
  z
    .string()
    .check(z.regex(NAME, `must match ${PATTERN.NAME} (the start of a client name: letters, digits, _ or -, starting with a letter or digit)`)),
);

const Limit = define(() => z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 50));
const Cursor = define(() => z.optional(z.string().check(z.maxLength(2048))));

export const ListQuery = define(() => z.strictObject({ limit: Limit, cursor: Cursor }));
export type ListQuery = z.infer<typeof ListQuery>;

export const ListClientsQuery = define(() =>
  z.strictObject({
    gatewayId: z.optional(GatewayId),
    namePrefix: optional(NamePrefix, 'only clients whose name starts with this'),
    limit: Limit,
    cursor: Cursor,
  }),
);
export type ListClientsQuery = z.infer<typeof ListClientsQuery>;

export const ListAuditQuery = define(() =>
  z.strictObject({
    network: Name,
    resourceType: optional(z.enum(AUDIT_RESOURCE_TYPES), 'only records of this kind of resource'),
    resourceId: optional(Name, "only records of this resource (a network's or client's name, a gateway's id); needs resourceType"),
    limit: Limit,
    cursor: Cursor,
  }),
);
export type ListAuditQuery = z.infer<typeof ListAuditQuery>;

export const CreateLinkBody = define(() =>
  z.strictObject({
    expiresInSeconds: optional(
      integer(LINK_TTL_SECONDS.min, LINK_TTL_SECONDS.max),
      `lifetime of the link; default ${LINK_TTL_SECONDS.default}`,
    ),
  }),
);
export type CreateLinkBody = z.infer<typeof CreateLinkBody>;

export const PathParams = define(() => ({
  network: Name,
  gatewayId: GatewayId,
  clientId: Name,
  token: z.string().check(z.regex(LINK_TOKEN, 'is not a link token')),
}));

// --- what answers carry of the gateways' reports (documented in /openapi.json) -------------------

const described = <T extends z.ZodMiniType>(schema: T, description: string) => schema.check(z.describe(description)) as T;
const Timestamp = define(() => z.string().check(z.describe('ISO 8601 date-time (UTC)')));

/** A client's `status` in answers (domain/gateway-report.ts ClientStatus). */
export const ClientStatusAnswer = define(() =>
  described(
    z.nullable(
      z.object({
        online: described(z.boolean(), 'a handshake within the last 180 s'),
        lastHandshakeAt: described(z.nullable(Timestamp), "the latest handshake the gateway saw; null: never"),
        rxBytes: described(integer(0), 'bytes the gateway received from the client'),
        txBytes: described(integer(0), 'bytes the gateway sent to the client'),
        endpoint: described(z.nullable(z.string()), "the client's public ip:port as the gateway last saw it; null: none yet"),
        observedAt: described(Timestamp, 'when the gateway ran the wg show dump these values come from'),
      }),
    ),
    "from the gateway's own wg show dump; null until the gateway has reported the peer (local record-only mode, a client just created)",
  ),
);

/** A gateway's `health` in answers (domain/gateway-report.ts GatewayHealth). */
export const GatewayHealthAnswer = define(() =>
  described(
    z.nullable(
      z.object({
        agent: described(z.enum(['online', 'connection_lost', 'inactive', 'unknown']), "SSM's view of the instance's agent (DescribeInstanceInformation's ping status)"),
        lastSeenAt: described(z.nullable(Timestamp), 'the last report the gateway itself sent; null: none yet'),
        interfaceUp: described(z.nullable(z.boolean()), 'whether the WireGuard interface is up; null: no report yet'),
        peers: described(z.nullable(integer(0)), 'peers configured on the interface; null: no report yet'),
        peersOnline: described(z.nullable(integer(0)), 'peers with a handshake within the last 180 s; null: no report yet'),
        observedAt: described(Timestamp, 'when the worker last looked (every report interval)'),
      }),
    ),
    'null until the first report run has seen the gateway',
  ),
);

