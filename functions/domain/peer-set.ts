// The desired peer set of one gateway, as the apply document fetches it: a wg(8) config made only
// of [Peer] sections. The apply script refuses any line outside this grammar, so renderPeerSet only
// emits it and parsePeerSet accepts exactly it. Keys and CIDRs are grammar.ts's; the script's line
// pattern is generated from the same grammar (test/unit/domain/grammar.test.ts and peer-set.test.ts
// run the script's own check against this module).
import { createHash } from 'node:crypto';
import { ValidationError } from './errors.js';
import { CIDR as ALLOWED_IP } from './grammar.js';
import { isWireGuardKey } from './keys.js';

export interface PeerSetEntry {
  publicKey: string;
  presharedKey?: string;
  allowedIps: string[];
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Same set in, same bytes out: peers sorted by public key, fields in a fixed order. */
export function renderPeerSet(peers: readonly PeerSetEntry[]): string {
  const seen = new Set<string>();
  for (const p of peers) {
    if (!isWireGuardKey(p.publicKey)) throw new ValidationError('publicKey', 'peer public key is not a WireGuard key');
    if (p.presharedKey !== undefined && !isWireGuardKey(p.presharedKey)) {
      throw new ValidationError('presharedKey', 'peer preshared key is not a WireGuard key');
    }
    if (p.allowedIps.length === 0) throw new ValidationError('allowedIps', 'a peer needs at least one allowed IP');
    for (const ip of p.allowedIps) {
      if (!ALLOWED_IP.test(ip)) throw new ValidationError('allowedIps', 'peer allowed IP is not a CIDR');
    }
    if (seen.has(p.publicKey)) throw new ValidationError('publicKey', 'two peers share a public key');
    seen.add(p.publicKey);
  }
  return [...peers]
    .sort((a, b) => byCodeUnits(a.publicKey, b.publicKey))
    .map(
      (p) =>
        '[Peer]\n' +
        `PublicKey = ${p.publicKey}\n` +
        (p.presharedKey ? `PresharedKey = ${p.presharedKey}\n` : '') +
        `AllowedIPs = ${p.allowedIps.join(', ')}\n\n`,
    )
    .join('');
}

/** SHA-256 (hex) of the peer set's bytes (UTF-8 for a string), as `sha256sum` prints it. */
export function peerSetDigest(text: string | Uint8Array): string {
  const hash = createHash('sha256');
  if (typeof text === 'string') hash.update(text, 'utf8');
  else hash.update(text);
  return hash.digest('hex');
}

/** Reads a peer set with the same rules as the apply script; throws on the first bad line. */
export function parsePeerSet(text: string): PeerSetEntry[] {
  const peers: PeerSetEntry[] = [];
  let current: PeerSetEntry | undefined;
  const seen = new Set<string>();
  if (text !== '' && !text.endsWith('\n')) throw new ValidationError('peerSet', 'peer set does not end with a newline');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const where = `peer set line ${i + 1}`;
    if (line === '') return;
    if (line === '[Peer]') {
      if (current && !current.publicKey) throw new ValidationError('peerSet', `${where}: previous peer has no PublicKey`);
      current = { publicKey: '', allowedIps: [] };
      peers.push(current);
      return;
    }
    const m = /^(PublicKey|PresharedKey|AllowedIPs) = (.*)$/.exec(line);
    if (!m) throw new ValidationError('peerSet', `${where}: not a peer-set line`);
    if (!current) throw new ValidationError('peerSet', `${where}: outside a [Peer] section`);
    const [, field, value] = m as unknown as [string, string, string];
    if (field === 'AllowedIPs') {
      const ips = value.split(', ');
      if (current.allowedIps.length || !ips.every((ip) => ALLOWED_IP.test(ip))) {
        throw new ValidationError('peerSet', `${where}: bad AllowedIPs`);
      }
      current.allowedIps = ips;
      return;
    }
    if (!isWireGuardKey(value)) throw new ValidationError('peerSet', `${where}: bad ${field}`);
    if (field === 'PublicKey') {
      if (current.publicKey || seen.has(value)) throw new ValidationError('peerSet', `${where}: repeated PublicKey`);
      seen.add(value);
      current.publicKey = value;
    } else {
      if (current.presharedKey) throw new ValidationError('peerSet', `${where}: repeated PresharedKey`);
      current.presharedKey = value;
    }
  });
  if (current && !current.publicKey) throw new ValidationError('peerSet', 'last peer has no PublicKey');
  return peers;
}
