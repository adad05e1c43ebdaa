// What the control plane sends to a gateway (the parameters of the init, apply and teardown SSM
// documents) and what it reads back from the command output. Pure: no AWS, no I/O.
//
// The parameter patterns below are the single source for both the documents' `allowedPattern`
// (infra/ssm/documents.ts) and the check made here before anything is sent; their tokens come
// from grammar.ts. The scripts assign each parameter inside single quotes, so the one thing a
// pattern must never let through is a quote; they also keep out everything else a shell or a
// config file could trip on.
import { DomainError, ValidationError } from './errors.js';
import type { Gateway, Network } from './model.js';
import { anchored, anchoredOrEmpty, BLOCK, PATTERN } from './grammar.js';
import { isWireGuardKey } from './keys.js';

/** Regex sources in grammar.ts's subset (JavaScript, Java and POSIX ERE read them alike). */
export const PARAMETER_PATTERNS = {
  interfaceName: PATTERN.INTERFACE_NAME,
  listenPort: PATTERN.PORT,
  address: PATTERN.CIDR4,
  address6: anchoredOrEmpty(BLOCK.CIDR6),
  networkRanges: anchoredOrEmpty(BLOCK.CIDR_LIST),
  clientRange: PATTERN.CIDR_LIST,
  allowClientToClient: anchored('(true|false)'),
  linkLocalDns: anchoredOrEmpty(BLOCK.LINK_LOCAL4_LIST),
  gatewayServesDns: anchored('(true|false)'),
  egressInterface: anchoredOrEmpty(BLOCK.INTERFACE_NAME),
  stateDir: anchored('/[a-zA-Z0-9_/.-]{0,199}'),
  generation: PATTERN.GENERATION,
  // Where the peer set is: a bucket and an object key, never a URL. The apply document's first
  // step (aws:downloadContent, S3 source) fetches it with the instance's own role; a signed URL, a
  // file:// or an http:// location cannot be spelled in either.
  peerSetBucket: PATTERN.S3_BUCKET,
  peerSetKey: PATTERN.PEER_SET_KEY,
  peerSetSha256: PATTERN.SHA256_HEX,
} as const;

export type ParameterName = keyof typeof PARAMETER_PATTERNS;

export interface ParameterSpec {
  name: ParameterName;
  description: string;
  /** Present only for optional parameters. */
  default?: string;
}

export const INIT_PARAMETERS: readonly ParameterSpec[] = [
  { name: 'interfaceName', description: 'WireGuard interface name (also the config file base name).' },
  { name: 'listenPort', description: 'UDP port WireGuard listens on.' },
  { name: 'address', description: "The gateway's overlay IPv4 address with the network's prefix, e.g. 10.100.0.1/24." },
  { name: 'address6', description: "The gateway's overlay IPv6 address with prefix, or empty.", default: '' },
  {
    name: 'networkRanges',
    description: 'Comma-separated CIDRs behind the gateway that clients may reach (0.0.0.0/0 for a full tunnel); empty: only the gateway itself.',
    default: '',
  },
  { name: 'clientRange', description: "The network's overlay range(s), comma separated: where client addresses come from." },
  { name: 'allowClientToClient', description: 'Whether clients may reach each other through the gateway.', default: 'false' },
  {
    name: 'linkLocalDns',
    description:
      "DNS servers of the network in 169.254.0.0/16 (the VPC resolver), comma separated: clients may reach them on port 53 only; the rest of link-local (instance metadata) never.",
    default: '',
  },
  {
    name: 'gatewayServesDns',
    description: "Whether the gateway itself is a DNS server of the network: clients may reach its port 53 (udp and tcp).",
    default: 'false',
  },
  { name: 'egressInterface', description: 'Interface NAT goes out of; empty: the interface of the default route.', default: '' },
  { name: 'stateDir', description: 'Folder for the key, config, peer set and applied generation.', default: '/etc/wireguard' },
];

export const APPLY_PARAMETERS: readonly ParameterSpec[] = [
  { name: 'interfaceName', description: 'WireGuard interface name given to init.' },
  { name: 'generation', description: 'Generation of the peer set; an older or equal one than applied is ignored.' },
  { name: 'peerSetBucket', description: "The bucket of the peer set (the stack's data bucket)." },
  {
    name: 'peerSetKey',
    description: "The peer set's object key (peer-sets/<network>/<gateway>/<generation>-<random>.conf), read with the instance's own role.",
  },
  { name: 'peerSetSha256', description: 'SHA-256 (hex) of the peer set; anything else is refused.' },
  { name: 'stateDir', description: 'Folder given to init.', default: '/etc/wireguard' },
];

export const TEARDOWN_PARAMETERS: readonly ParameterSpec[] = [
  { name: 'interfaceName', description: 'WireGuard interface name given to init.' },
  { name: 'stateDir', description: 'Folder given to init.', default: '/etc/wireguard' },
];

/** The report document runs on an instance, not for one interface: every gateway there reports at once. */
export const REPORT_PARAMETERS: readonly ParameterSpec[] = [
  { name: 'stateDir', description: "Folder given to init: every interface initialised there reports.", default: '/etc/wireguard' },
];

export type DocumentKind = 'init' | 'apply' | 'teardown' | 'report';
export const DOCUMENT_PARAMETERS: Record<DocumentKind, readonly ParameterSpec[]> = {
  init: INIT_PARAMETERS,
  apply: APPLY_PARAMETERS,
  teardown: TEARDOWN_PARAMETERS,
  report: REPORT_PARAMETERS,
};

/** The SSM SendCommand `Parameters` shape. */
export type CommandParameters = Record<string, string[]>;

const compiled = Object.fromEntries(
  Object.entries(PARAMETER_PATTERNS).map(([k, v]) => [k, new RegExp(v)]),
) as Record<ParameterName, RegExp>;

export function isAllowedParameterValue(name: ParameterName, value: string): boolean {
  return typeof value === 'string' && compiled[name].test(value);
}

function checked(name: ParameterName, value: string): string {
  if (!isAllowedParameterValue(name, value)) {
    throw new ValidationError(name, `${name} is not allowed by the gateway document's pattern`);
  }
  return value;
}

/**
 * Checks a complete parameter set against a document's table, filling defaults, exactly as SSM
 * would before running it; throws ValidationError naming the first offending parameter.
 */
export function validateCommandParameters(kind: DocumentKind, params: CommandParameters): Record<string, string> {
  const specs = DOCUMENT_PARAMETERS[kind];
  const out: Record<string, string> = {};
  for (const key of Object.keys(params)) {
    if (!specs.some((s) => s.name === key)) throw new ValidationError(key, `${key} is not a parameter of the ${kind} document`);
  }
  for (const spec of specs) {
    const values = params[spec.name];
    if (values === undefined) {
      if (spec.default === undefined) throw new ValidationError(spec.name, `${spec.name} is required`);
      out[spec.name] = spec.default;
      continue;
    }
    if (!Array.isArray(values) || values.length !== 1 || typeof values[0] !== 'string') {
      throw new ValidationError(spec.name, `${spec.name} must be exactly one string`);
    }
    out[spec.name] = checked(spec.name, values[0]);
  }
  return out;
}

function toParameters(values: Record<string, string>): CommandParameters {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]]));
}

const prefixOf = (cidr: string): string => cidr.slice(cidr.indexOf('/') + 1);
const withPrefix = (address: string, range: string): string =>
  address.includes('/') ? address : `${address}/${prefixOf(range)}`;

export interface InitOptions {
  allowClientToClient?: boolean;
  egressInterface?: string;
  stateDir?: string;
}

const LINK_LOCAL4 = /^169\.254\.[0-9]{1,3}\.[0-9]{1,3}$/;
const bareAddress = (a: string | undefined): string | undefined => a?.replace(/\/.*$/, '').toLowerCase();

/**
 * What the gateway's firewall needs to know of the network's DNS servers (the gateway's own list,
 * then the network's default): the ones in 169.254.0.0/16 (the VPC resolver, 169.254.169.253),
 * which clients may reach on port 53 while the rest of link-local stays closed, and whether one of
 * them is the gateway's own overlay address, so that its port 53 is open to clients.
 */
export function dnsFirewall(
  gateway: Pick<Gateway, 'address'> & { address6?: string; dns?: readonly string[] },
  defaultDns: readonly string[] = [],
): { linkLocalDns: string[]; gatewayServesDns: boolean } {
  const dns = [...new Set([...(gateway.dns ?? []), ...defaultDns].map((d) => d.toLowerCase()))];
  const own = [bareAddress(gateway.address), bareAddress(gateway.address6)].filter(Boolean);
  return {
    linkLocalDns: dns.filter((d) => LINK_LOCAL4.test(d)).slice(0, 8),
    gatewayServesDns: dns.some((d) => own.includes(d)),
  };
}

export function buildInitParameters(
  gateway: Pick<Gateway, 'interfaceName' | 'listenPort' | 'address' | 'address6' | 'routedRanges' | 'fullTunnel'> & {
    dns?: readonly string[];
  },
  network: Pick<Network, 'addressRange' | 'addressRange6'> & { defaultDns?: readonly string[] },
  options: InitOptions = {},
): CommandParameters {
  const firewallDns = dnsFirewall(gateway, network.defaultDns);
  const has6 = Boolean(network.addressRange6);
  const networkRanges = gateway.fullTunnel
    ? has6 ? ['0.0.0.0/0', '::/0'] : ['0.0.0.0/0']
    : gateway.routedRanges;
  // The ranges first: the addresses borrow their prefix length from them.
  const clientRange = checked('clientRange', [network.addressRange, ...(has6 ? [network.addressRange6!] : [])].join(','));
  const values: Record<string, string> = {
    interfaceName: checked('interfaceName', gateway.interfaceName),
    listenPort: checked('listenPort', String(gateway.listenPort)),
    address: checked('address', withPrefix(gateway.address, network.addressRange)),
    address6: checked(
      'address6',
      gateway.address6 && network.addressRange6 ? withPrefix(gateway.address6, network.addressRange6) : '',
    ),
    networkRanges: checked('networkRanges', networkRanges.join(',')),
    clientRange,
    allowClientToClient: checked('allowClientToClient', options.allowClientToClient ? 'true' : 'false'),
    linkLocalDns: checked('linkLocalDns', firewallDns.linkLocalDns.join(',')),
    gatewayServesDns: checked('gatewayServesDns', firewallDns.gatewayServesDns ? 'true' : 'false'),
  };
  if (options.egressInterface !== undefined) values.egressInterface = checked('egressInterface', options.egressInterface);
  if (options.stateDir !== undefined) values.stateDir = checked('stateDir', options.stateDir);
  return toParameters(values);
}

export interface ApplyInput {
  interfaceName: string;
  generation: number;
  peerSetBucket: string;
  peerSetKey: string;
  peerSetSha256: string;
  stateDir?: string;
}

export function buildApplyParameters(input: ApplyInput): CommandParameters {
  if (typeof input.generation === 'number' && (!Number.isSafeInteger(input.generation) || input.generation < 0)) {
    throw new ValidationError('generation', 'generation must be a non-negative integer');
  }
  const values: Record<string, string> = {
    interfaceName: checked('interfaceName', input.interfaceName),
    generation: checked('generation', String(input.generation)),
    peerSetBucket: checked('peerSetBucket', input.peerSetBucket),
    peerSetKey: checked('peerSetKey', input.peerSetKey),
    peerSetSha256: checked('peerSetSha256', input.peerSetSha256),
  };
  if (input.stateDir !== undefined) values.stateDir = checked('stateDir', input.stateDir);
  return toParameters(values);
}

export function buildTeardownParameters(input: { interfaceName: string; stateDir?: string }): CommandParameters {
  const values: Record<string, string> = { interfaceName: checked('interfaceName', input.interfaceName) };
  if (input.stateDir !== undefined) values.stateDir = checked('stateDir', input.stateDir);
  return toParameters(values);
}

export function buildReportParameters(input: { stateDir?: string }): CommandParameters {
  return input.stateDir !== undefined ? toParameters({ stateDir: checked('stateDir', input.stateDir) }) : {};
}

/** A command's output that does not say what the document promises to say. */
export class GatewayOutputError extends DomainError {
  constructor(message: string) {
    super('gateway_output_invalid', message);
  }
}

export function parseInitOutput(stdout: string): { publicKey: string } {
  const lines = stdout.split(/\r?\n/);
  const keyLines = lines.filter((l) => l.startsWith('WG_INGRESS_PUBLIC_KEY='));
  if (keyLines.length !== 1) throw new GatewayOutputError(`init printed ${keyLines.length} public key lines, expected 1`);
  const publicKey = keyLines[0]!.slice('WG_INGRESS_PUBLIC_KEY='.length).trim();
  if (!isWireGuardKey(publicKey)) throw new GatewayOutputError('init printed a public key that is not a WireGuard key');
  if (!lines.some((l) => l.trim() === 'WG_INGRESS_INIT_OK')) throw new GatewayOutputError('init did not report success');
  return { publicKey };
}

export type ApplyOutcome =
  | { outcome: 'applied'; generation: number; peers: number }
  | { outcome: 'skipped'; generation: number; appliedGeneration: number };

export function parseApplyOutput(stdout: string): ApplyOutcome {
  for (const line of stdout.split(/\r?\n/)) {
    let m = /^WG_INGRESS_APPLIED generation=(\d+) peers=(\d+)\s*$/.exec(line);
    if (m) return { outcome: 'applied', generation: Number(m[1]), peers: Number(m[2]) };
    m = /^WG_INGRESS_APPLY_SKIPPED generation=(\d+) applied=(\d+)\s*$/.exec(line);
    if (m) return { outcome: 'skipped', generation: Number(m[1]), appliedGeneration: Number(m[2]) };
  }
  throw new GatewayOutputError('apply did not report what it did');
}

export type CommandStatus = 'pending' | 'success' | 'failed' | 'timed_out';

export interface CommandResult {
  status: CommandStatus;
  stdout?: string;
  reason?: string;
}
