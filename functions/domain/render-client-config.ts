// Renders the wg-quick configuration an external client imports (file download or QR code).
// Pure: the caller loads the client, its secrets, the gateway and the network.
import type { Client, Gateway, Network } from './model.js';
import { isWireGuardKey } from './keys.js';

export interface RenderClientConfigInput {
  client: Pick<Client, 'address' | 'address6' | 'dns' | 'name'>;
  /** Absent for a client that brought its own public key: the server never saw the private key. */
  privateKey?: string;
  presharedKey?: string;
  /** The gateway must be ready: its public key is what the client peers with. */
  gateway: Pick<
    Gateway,
    'endpoint' | 'listenPort' | 'routedRanges' | 'fullTunnel' | 'dns' | 'mtu' | 'persistentKeepalive'
  > & { publicKey: string };
  network: Pick<Network, 'addressRange' | 'addressRange6' | 'defaultDns'>;
}

/**
 * The placeholder stays on a real `PrivateKey =` line (not a commented one): every WireGuard app
 * and `wg setconf` refuse it, so a config nobody completed fails loudly at import instead of
 * bringing up an interface without a key. Replacing this one line is all the user has to do.
 */
export const PRIVATE_KEY_PLACEHOLDER = '<paste your private key here>';
export const PRIVATE_KEY_PLACEHOLDER_COMMENT =
  '# Replace the placeholder below with the private key that belongs to the public key you registered.';

// The schemas validate every field long before this; these checks are the last line of defence
// against a value that would add a line, a section or a comment to the file.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029"'`\\#[\]=]/;
const IP_TEXT = /^[0-9a-fA-F:.]{2,45}$/;
const CIDR_TEXT = /^[0-9a-fA-F:.]{2,45}\/\d{1,3}$/;
const HOST_TEXT = /^[a-zA-Z0-9.:-]{1,253}$/;

function refuse(field: string, why: string): never {
  throw new Error(`cannot render client config: ${field} ${why}`);
}

function plain(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) refuse(field, 'is empty or not text');
  if (FORBIDDEN.test(value)) refuse(field, 'contains a control character, quote or config syntax');
  return value;
}

function key(field: string, value: unknown): string {
  // Base64 keys end in '=', which FORBIDDEN refuses everywhere else.
  if (typeof value !== 'string' || !isWireGuardKey(value)) refuse(field, 'is not a WireGuard key');
  return value;
}

function matching(field: string, value: unknown, shape: RegExp): string {
  const text = plain(field, value);
  if (!shape.test(text)) refuse(field, `has an unexpected shape`);
  return text;
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    refuse(field, `is not an integer in ${min}..${max}`);
  }
  return value;
}

/** A host address as a single-address prefix: the schemas hand us a bare IP; a /32 or /128 is tolerated. */
function hostPrefix(field: string, value: unknown, bits: 32 | 128): string {
  const text = plain(field, value);
  const [ip, prefix, ...rest] = text.split('/');
  if (rest.length > 0 || (prefix !== undefined && prefix !== String(bits))) refuse(field, `is not a single /${bits} address`);
  matching(field, ip, IP_TEXT);
  if (bits === 32 ? ip!.includes(':') : !ip!.includes(':')) refuse(field, `is not an IPv${bits === 32 ? 4 : 6} address`);
  return `${ip}/${bits}`;
}

function list(field: string, values: readonly unknown[] | undefined, shape: RegExp): string[] {
  if (values === undefined) return [];
  if (!Array.isArray(values)) refuse(field, 'is not a list');
  return values.map((v, i) => matching(`${field}[${i}]`, v, shape));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function renderClientConfig(input: RenderClientConfigInput): string {
  const { client, gateway, network } = input;
  plain('client.name', client.name);

  const iface: string[] = ['[Interface]'];
  if (input.privateKey === undefined) {
    iface.push(PRIVATE_KEY_PLACEHOLDER_COMMENT, `PrivateKey = ${PRIVATE_KEY_PLACEHOLDER}`);
  } else {
    iface.push(`PrivateKey = ${key('privateKey', input.privateKey)}`);
  }

  const addresses = [hostPrefix('client.address', client.address, 32)];
  if (client.address6 !== undefined) addresses.push(hostPrefix('client.address6', client.address6, 128));
  iface.push(`Address = ${addresses.join(', ')}`);

  // The first non-empty list wins; they are alternatives, not layers.
  const dns = [client.dns, gateway.dns, network.defaultDns]
    .map((d, i) => list(['client.dns', 'gateway.dns', 'network.defaultDns'][i]!, d, IP_TEXT))
    .find((d) => d.length > 0);
  if (dns) iface.push(`DNS = ${unique(dns).join(', ')}`);

  if (gateway.mtu !== undefined) iface.push(`MTU = ${integer('gateway.mtu', gateway.mtu, 576, 65535)}`);

  const peer: string[] = ['[Peer]', `PublicKey = ${key('gateway.publicKey', gateway.publicKey)}`];
  if (input.presharedKey !== undefined) peer.push(`PresharedKey = ${key('presharedKey', input.presharedKey)}`);

  const networkRanges = [matching('network.addressRange', network.addressRange, CIDR_TEXT)];
  if (network.addressRange6 !== undefined) {
    networkRanges.push(matching('network.addressRange6', network.addressRange6, CIDR_TEXT));
  }
  const routed = list('gateway.routedRanges', gateway.routedRanges, CIDR_TEXT);
  if (typeof gateway.fullTunnel !== 'boolean') refuse('gateway.fullTunnel', 'is not a boolean');
  const allowed = gateway.fullTunnel ? ['0.0.0.0/0', '::/0'] : unique([...networkRanges, ...routed]);
  peer.push(`AllowedIPs = ${allowed.join(', ')}`);

  const host = matching('gateway.endpoint', gateway.endpoint, HOST_TEXT);
  const port = integer('gateway.listenPort', gateway.listenPort, 1, 65535);
  // An IPv6 literal needs brackets, or its last group would be read as the port.
  peer.push(`Endpoint = ${host.includes(':') ? `[${host}]` : host}:${port}`);

  if (gateway.persistentKeepalive !== undefined) {
    const seconds = integer('gateway.persistentKeepalive', gateway.persistentKeepalive, 0, 65535);
    // 0 is wg's own spelling of "off": the same as leaving the line out.
    if (seconds > 0) peer.push(`PersistentKeepalive = ${seconds}`);
  }

  return `${iface.join('\n')}\n\n${peer.join('\n')}\n`;
}

/**
 * wg-quick (Linux) and the Android app take the tunnel's interface name from the file's base name
 * and refuse more than 15 characters (IFNAMSIZ - 1) or anything outside [a-zA-Z0-9_=+.-]; the
 * Windows and macOS apps accept that subset too. So the base name is `<network>-<client>` when
 * that fits, else the network is cut to at least 5 characters and the client fills the rest:
 * the client part is what tells a user's several files apart, the network part keeps some context.
 */
export const MAX_TUNNEL_NAME_LENGTH = 15;
const MIN_NETWORK_PART = 3;
const TUNNEL_NAME = /^[a-zA-Z0-9_=+.-]{1,15}$/;

/**
 * The file's base name becomes the tunnel's name in wg-quick and the WireGuard apps (15 characters
 * at most). The client's name is what its user recognises, so it comes first: the network is put in
 * front only while both fit (cut, if need be, to no fewer than 3 characters).
 */
export function configFilename(networkName: string, clientName: string): string {
  const safe = (field: string, s: string) => plain(field, s).replace(/[^a-zA-Z0-9_=+.-]/g, '_');
  // A cut that ends in a separator would read as a typo ('production-' + '-bob').
  const cut = (s: string, n: number) => s.slice(0, n).replace(/[-_.]+$/, '');
  const net = safe('networkName', networkName);
  const cli = safe('clientName', clientName);
  const room = MAX_TUNNEL_NAME_LENGTH - 1 - cli.length; // one '-' between the parts
  let base: string;
  if (net.length <= room) base = `${net}-${cli}`;
  else if (room >= MIN_NETWORK_PART && cut(net, room).length > 0) base = `${cut(net, room)}-${cli}`;
  else base = cut(cli, MAX_TUNNEL_NAME_LENGTH) || cli.slice(0, MAX_TUNNEL_NAME_LENGTH);
  if (!TUNNEL_NAME.test(base)) refuse('filename', 'is not a valid tunnel name');
  return `${base}.conf`;
}

const SAFE_FILENAME = /^[a-zA-Z0-9_=+.-]{1,64}$/;

/**
 * `attachment; filename="<name>"` for a name that needs neither escaping nor RFC 5987 encoding,
 * so every browser saves the file under exactly that name.
 */
export function attachmentDisposition(filename: string): string {
  if (!SAFE_FILENAME.test(filename) || filename.startsWith('.')) {
    throw new Error(`unsafe download filename: ${JSON.stringify(filename)}`);
  }
  return `attachment; filename="${filename}"`;
}
