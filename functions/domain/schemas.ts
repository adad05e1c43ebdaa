// Every input the API takes, as zod schemas. The OpenAPI document is generated from these, so the
// checks that JSON Schema can express live in the schema and the rest in refinements whose
// messages name the rule.
import * as z from 'zod';
import { parseRange, parseRoutedRange, tryParseAddress } from './address-pool.js';
import { DomainError } from './errors.js';
import { isWireGuardKey } from './keys.js';
import { ALLOWED_PATTERN, INSTANCE_ID, NAME, hasControlOrQuote, validateEndpoint } from './patterns.js';

const MAX_DNS = 3; // the QR code of the largest config must still fit (test/unit/domain/fixtures.ts LIMITS)
const MAX_ROUTED_RANGES = 16;
export const LINK_TTL_SECONDS = { min: 300, max: 7 * 24 * 3600, default: 24 * 3600 } as const;

/** Runs a domain check and turns its ValidationError into a zod issue with the same message. */
function domainCheck(check: (value: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof DomainError ? err.message : 'is not valid' });
    }
  };
}

export const Name = z
  .string()
  .regex(NAME, `must match ${ALLOWED_PATTERN.NAME} (1-32 letters, digits, _ or -, starting with a letter or digit)`)
  .describe('1-32 characters: letters, digits, _ and -, starting with a letter or digit');

export const WireGuardKey = z
  .string()
  .refine(isWireGuardKey, 'must be a WireGuard key: standard base64 of exactly 32 bytes (44 characters ending in =)')
  .describe('base64 of exactly 32 bytes');

export const IpAddress = z
  .string()
  .max(39)
  .refine(
    (v) => tryParseAddress(v, 4) !== undefined || tryParseAddress(v, 6) !== undefined,
    'must be an IPv4 or IPv6 address (no port, no brackets, no host name)',
  );

export const DnsList = z
  .array(IpAddress)
  .max(MAX_DNS, `at most ${MAX_DNS} DNS servers`)
  .describe('DNS server IP addresses');

const Range4 = z.string().max(18).superRefine(domainCheck((v) => parseRange(v, 4, 'addressRange')));
const Range6 = z.string().max(43).superRefine(domainCheck((v) => parseRange(v, 6, 'addressRange6')));
const RoutedRange = z.string().max(43).superRefine(domainCheck((v) => parseRoutedRange(v)));

export const Endpoint = z
  .string()
  .max(253)
  .superRefine(domainCheck((v) => validateEndpoint(v)))
  .describe('public host name, IPv4 or IPv6 address of the gateway (no port, no brackets)');

const FutureTimestamp = z
  .string()
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2027-01-31T12:00:00Z' })
  .refine((v) => Date.parse(v) > Date.now(), 'must be in the future');

export const CreateNetworkBody = z
  .object({
    name: Name,
    addressRange: Range4.describe('IPv4 CIDR of the overlay, prefix /8 to /30'),
    addressRange6: Range6.optional().describe('IPv6 CIDR of the overlay, prefix /64 to /126'),
    defaultDns: DnsList.optional(),
  })
  .strict();
export type CreateNetworkBody = z.infer<typeof CreateNetworkBody>;

export const UpdateNetworkBody = z
  .object({ defaultDns: DnsList, version: z.number().int().min(1).optional() })
  .strict();
export type UpdateNetworkBody = z.infer<typeof UpdateNetworkBody>;

const GatewayTunables = {
  endpoint: Endpoint,
  listenPort: z.number().int().min(1).max(65535),
  routedRanges: z.array(RoutedRange).max(MAX_ROUTED_RANGES, `at most ${MAX_ROUTED_RANGES} routed ranges`),
  fullTunnel: z.boolean(),
  dns: DnsList,
  mtu: z.number().int().min(1280, 'must be at least 1280 (the IPv6 minimum)').max(9000),
  persistentKeepalive: z.number().int().min(1).max(3600).describe('seconds; omit to turn it off'),
};

export const CreateGatewayBody = z
  .object({
    instanceId: z
      .string()
      .regex(INSTANCE_ID, `must match ${ALLOWED_PATTERN.INSTANCE_ID} (an EC2 instance id such as i-0123456789abcdef0)`),
    endpoint: GatewayTunables.endpoint,
    listenPort: GatewayTunables.listenPort.optional(),
    routedRanges: GatewayTunables.routedRanges.optional(),
    fullTunnel: GatewayTunables.fullTunnel.optional(),
    dns: GatewayTunables.dns.optional(),
    mtu: GatewayTunables.mtu.optional(),
    persistentKeepalive: GatewayTunables.persistentKeepalive.optional(),
  })
  .strict();
export type CreateGatewayBody = z.infer<typeof CreateGatewayBody>;

export const UpdateGatewayBody = z
  .object({
    endpoint: GatewayTunables.endpoint.optional(),
    listenPort: GatewayTunables.listenPort.optional(),
    routedRanges: GatewayTunables.routedRanges.optional(),
    fullTunnel: GatewayTunables.fullTunnel.optional(),
    dns: GatewayTunables.dns.optional(),
    mtu: GatewayTunables.mtu.nullable().optional().describe('null removes it'),
    persistentKeepalive: GatewayTunables.persistentKeepalive.nullable().optional().describe('null removes it'),
    version: z.number().int().min(1).optional(),
  })
  .strict();
export type UpdateGatewayBody = z.infer<typeof UpdateGatewayBody>;

export const GatewayId = z.string().regex(/^gw-[a-z0-9]{10}$/, 'must be a gateway id such as gw-0a1b2c3d4e');

export const CreateClientBody = z
  .object({
    gatewayId: GatewayId,
    name: Name.optional().describe('generated when absent'),
    publicKey: WireGuardKey.optional().describe('bring your own key: the server then never knows the private key'),
    address: z.string().max(15).optional().describe('IPv4 address inside the network range; allocated when absent'),
    address6: z.string().max(39).optional().describe('IPv6 address inside addressRange6; allocated when absent'),
    dns: DnsList.optional(),
    presharedKey: z
      .union([WireGuardKey, z.boolean()])
      .optional()
      .describe('a preshared key, or true to have one generated'),
    expiresAt: FutureTimestamp.optional(),
  })
  .strict();
export type CreateClientBody = z.infer<typeof CreateClientBody>;

export const UpdateClientBody = z
  .object({
    enabled: z.boolean().optional(),
    dns: DnsList.optional(),
    expiresAt: FutureTimestamp.nullable().optional().describe('null removes the expiry'),
    version: z.number().int().min(1).optional().describe('refuse the change unless the client is at this version'),
  })
  .strict();
export type UpdateClientBody = z.infer<typeof UpdateClientBody>;

const Limit = z.coerce.number().int().min(1).max(100).default(50);
const Cursor = z.string().max(2048).optional();

export const ListQuery = z.object({ limit: Limit, cursor: Cursor }).strict();
export type ListQuery = z.infer<typeof ListQuery>;

export const ListClientsQuery = z.object({ gatewayId: GatewayId.optional(), limit: Limit, cursor: Cursor }).strict();
export type ListClientsQuery = z.infer<typeof ListClientsQuery>;

export const CreateLinkBody = z
  .object({
    expiresInSeconds: z
      .number()
      .int()
      .min(LINK_TTL_SECONDS.min)
      .max(LINK_TTL_SECONDS.max)
      .optional()
      .describe(`lifetime of the link; default ${LINK_TTL_SECONDS.default}`),
  })
  .strict();
export type CreateLinkBody = z.infer<typeof CreateLinkBody>;

export const PathParams = {
  network: Name,
  gatewayId: GatewayId,
  clientId: Name,
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'is not a link token'),
};

/** Last line of defence for free text that might reach a config or a script. */
export function isPlainText(value: string): boolean {
  return !hasControlOrQuote(value);
}
