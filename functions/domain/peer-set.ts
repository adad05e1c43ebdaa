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

/** A peer the control plane would like on the gateway, with who it is (a client name) for reports. */
export interface PeerCandidate extends PeerSetEntry {
  owner: string;
}

/** Why a candidate cannot be in the peer set. */
export type LeftOutCode =
  | 'invalid_public_key'
  | 'invalid_preshared_key'
  | 'invalid_address'
  | 'gateway_public_key'
  | 'repeated_public_key'
  | 'repeated_address';

export interface LeftOutPeer {
  owner: string;
  code: LeftOutCode;
  /** Says what is wrong without repeating any key (a preshared key is a secret). */
  reason: string;
}

export interface PeerSetPartition {
  renderable: PeerSetEntry[];
  leftOut: LeftOutPeer[];
}

/** What renderPeerSet refuses in one peer on its own, or undefined when the peer is fine. */
function peerProblem(p: PeerSetEntry): { code: LeftOutCode; reason: string; field: string } | undefined {
  if (!isWireGuardKey(p.publicKey)) return { code: 'invalid_public_key', reason: 'public key is not a WireGuard key', field: 'publicKey' };
  if (p.presharedKey !== undefined && !isWireGuardKey(p.presharedKey)) {
    return { code: 'invalid_preshared_key', reason: 'preshared key is not a WireGuard key', field: 'presharedKey' };
  }
  if (!Array.isArray(p.allowedIps) || p.allowedIps.length === 0) {
    return { code: 'invalid_address', reason: 'a peer needs at least one allowed IP', field: 'allowedIps' };
  }
  if (!p.allowedIps.every((ip) => typeof ip === 'string' && ALLOWED_IP.test(ip))) {
    return { code: 'invalid_address', reason: 'address is not a valid IP address', field: 'allowedIps' };
  }
  return undefined;
}

/** The candidates none of whose `values` another candidate has too; the others go to leftOut. */
function leaveOutShared(
  candidates: PeerCandidate[],
  values: (c: PeerCandidate) => string[],
  code: LeftOutCode,
  what: string,
  leftOut: LeftOutPeer[],
): PeerCandidate[] {
  const holders = new Map<string, PeerCandidate[]>();
  for (const c of candidates) for (const v of new Set(values(c))) holders.set(v, [...(holders.get(v) ?? []), c]);
  return candidates.filter((c) => {
    const others = new Set([...new Set(values(c))].flatMap((v) => holders.get(v)!.filter((h) => h !== c).map((h) => h.owner)));
    if (others.size === 0) return true;
    leftOut.push({ owner: c.owner, code, reason: `${what} is also used by ${[...others].sort(byCodeUnits).map((o) => `'${o}'`).join(', ')}` });
    return false;
  });
}

/**
 * Splits candidates into what renderPeerSet accepts and what it must leave out, with why. Fails
 * closed: a peer that is malformed, uses one of `reservedKeys` (the gateway's own key), or shares
 * its public key or an allowed IP with another candidate is left out (every one of those sharing,
 * since nothing tells the rightful one), and all the others can still be applied. Pure, and
 * independent of the candidates' order.
 */
export function partitionRenderable(candidates: readonly PeerCandidate[], reservedKeys: readonly (string | undefined)[] = []): PeerSetPartition {
  const reserved = new Set(reservedKeys.filter((k): k is string => typeof k === 'string'));
  const leftOut: LeftOutPeer[] = [];
  const valid: PeerCandidate[] = [];
  for (const c of candidates) {
    const problem = peerProblem(c);
    if (problem) leftOut.push({ owner: c.owner, code: problem.code, reason: problem.reason });
    else if (reserved.has(c.publicKey)) leftOut.push({ owner: c.owner, code: 'gateway_public_key', reason: "public key is the gateway's own key" });
    else valid.push(c);
  }
  // Two passes: peers sharing a key go first, then addresses are compared among those left.
  const keyOk = leaveOutShared(valid, (c) => [c.publicKey], 'repeated_public_key', 'public key', leftOut);
  const renderable = leaveOutShared(keyOk, (c) => c.allowedIps, 'repeated_address', 'address', leftOut).map(
    ({ owner: _owner, ...entry }): PeerSetEntry => entry,
  );
  leftOut.sort((a, b) => byCodeUnits(a.owner, b.owner) || byCodeUnits(a.code, b.code));
  return { renderable, leftOut };
}

/**
 * Same set in, same bytes out: peers sorted by public key, fields in a fixed order. Throws on any
 * peer partitionRenderable would leave out for its own or a repeated key: the worker renders only
 * what the partition kept, so this is a last guard that the apply script never gets a bad set.
 */
export function renderPeerSet(peers: readonly PeerSetEntry[]): string {
  const seen = new Set<string>();
  for (const p of peers) {
    const problem = peerProblem(p);
    if (problem) throw new ValidationError(problem.field, `peer set: ${problem.reason}`);
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
