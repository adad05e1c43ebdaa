// IPv4/IPv6 addresses and ranges as bigints, plus the block helpers the lease allocator builds on.
import { ValidationError } from './errors.js';

export type Family = 4 | 6;

export interface AddressRange {
  family: Family;
  network: bigint;
  prefix: number;
  size: bigint;
  /** Canonical CIDR, e.g. "10.0.0.0/24" or "fd00:100::/112". */
  text: string;
}

const BITS = { 4: 32, 6: 128 } as const;
const NETWORK_PREFIX = { 4: { min: 8, max: 30 }, 6: { min: 64, max: 126 } } as const;

// No leading zeros: inet_aton and some shells read "010" as octal, so "010.0.0.1" could be 8.0.0.1.
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

const familyName = (family: Family): string => `IPv${family}`;

function parseIpv4(text: string): bigint | undefined {
  if (!IPV4.test(text)) return undefined;
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
}

// Hex groups and a single "::" only: embedded dotted quads ("::ffff:1.2.3.4") and zone ids are refused.
function parseIpv6(text: string): bigint | undefined {
  if (text.length > 39 || !/^[0-9a-fA-F:]+$/.test(text)) return undefined;
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return undefined;
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = gap === -1 ? text.split(':') : split(text.slice(0, gap));
  const tail = gap === -1 ? [] : split(text.slice(gap + 2));
  const given = head.length + tail.length;
  if (gap === -1 ? given !== 8 : given > 7) return undefined;
  if (![...head, ...tail].every((g) => HEX_GROUP.test(g))) return undefined;
  const groups = [...head, ...Array<string>(8 - given).fill('0'), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The address as a bigint, or undefined when the text is not one in this family. */
export function tryParseAddress(text: string, family: Family): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  if (family === 4) return parseIpv4(text);
  const value = parseIpv6(text);
  // IPv4-mapped addresses (::ffff:a.b.c.d) would let one host hide behind two spellings and families.
  if (value !== undefined && value >> 32n === 0xffffn) return undefined;
  return value;
}

export function parseAddress(text: string, family: Family, field = 'address'): bigint {
  const value = tryParseAddress(text, family);
  if (value === undefined) {
    const hint = family === 4 ? 'dotted quad without leading zeros' : 'hex groups, no embedded IPv4, no zone id';
    throw new ValidationError(field, `not a valid ${familyName(family)} address (${hint})`);
  }
  return value;
}

/** RFC 5952: lower case, no leading zeros, the longest (first on a tie) run of ≥ 2 zero groups as "::". */
export function formatAddress(value: bigint, family: Family): string {
  if (value < 0n || value >> BigInt(BITS[family]) !== 0n) {
    throw new RangeError(`value out of range for ${familyName(family)}`);
  }
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

function makeRange(family: Family, network: bigint, prefix: number): AddressRange {
  const size = 1n << BigInt(BITS[family] - prefix);
  return { family, network, prefix, size, text: `${formatAddress(network, family)}/${prefix}` };
}

function parseCidr(text: string, family: Family, minPrefix: number, maxPrefix: number, field: string): AddressRange {
  const name = familyName(family);
  if (typeof text !== 'string') throw new ValidationError(field, `not an ${name} range`);
  const slash = text.indexOf('/');
  const prefixText = slash === -1 ? '' : text.slice(slash + 1);
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    throw new ValidationError(field, `not an ${name} range: expected address/prefix`);
  }
  const address = parseAddress(text.slice(0, slash), family, field);
  const prefix = Number(prefixText);
  if (prefix < minPrefix || prefix > maxPrefix) {
    throw new ValidationError(field, `${name} prefix length must be between ${minPrefix} and ${maxPrefix}`);
  }
  const hostBits = BigInt(BITS[family] - prefix);
  const network = (address >> hostBits) << hostBits;
  if (network !== address) {
    const given = `${formatAddress(address, family)}/${prefix}`;
    const canonical = makeRange(family, network, prefix).text;
    throw new ValidationError(field, `${given} has host bits set; did you mean ${canonical}?`);
  }
  return makeRange(family, network, prefix);
}

/** A network's own address range: IPv4 /8../30, IPv6 /64../126. */
export function parseRange(text: string, family: Family, field = family === 4 ? 'addressRange' : 'addressRange6'): AddressRange {
  const { min, max } = NETWORK_PREFIX[family];
  return parseCidr(text, family, min, max, field);
}

/** A range routed behind a gateway (any prefix, 0.0.0.0/0 and ::/0 included); family from the text. */
export function parseRoutedRange(text: string, field = 'routedRanges'): AddressRange {
  const family: Family = typeof text === 'string' && text.includes(':') ? 6 : 4;
  return parseCidr(text, family, 0, BITS[family], field);
}

export function contains(range: AddressRange, addr: bigint): boolean {
  return addr >= range.network && addr < range.network + range.size;
}

export function overlaps(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.network < b.network + b.size && b.network < a.network + a.size;
}

/** First and last usable hosts: the network address (and for IPv4 the broadcast) are reserved. */
export function usableBounds(range: AddressRange): { first: bigint; last: bigint } {
  // /31, /32, /127, /128 have no room for reserved addresses (RFC 3021 point-to-point, host routes).
  if (range.size <= 2n) return { first: range.network, last: range.network + range.size - 1n };
  const last = range.network + range.size - 1n;
  return { first: range.network + 1n, last: range.family === 4 ? last - 1n : last };
}

export function usableCount(range: AddressRange): bigint {
  const { first, last } = usableBounds(range);
  return last - first + 1n;
}

export function isUsableHost(range: AddressRange, addr: bigint): boolean {
  const { first, last } = usableBounds(range);
  return addr >= first && addr <= last;
}

// Fixed width so DynamoDB's lexicographic sort-key order is the numeric order of addresses.
export function leaseKey(addr: bigint, family: Family): string {
  formatAddress(addr, family); // range check
  return `IP${family}#${addr.toString(16).padStart(BITS[family] / 4, '0')}`;
}

export function parseLeaseKey(key: string): { family: Family; address: bigint } {
  const match = /^IP(?:4#([0-9a-f]{8})|6#([0-9a-f]{32}))$/.exec(key);
  if (!match) throw new Error('not a lease key');
  return match[1] !== undefined
    ? { family: 4, address: BigInt(`0x${match[1]}`) }
    : { family: 6, address: BigInt(`0x${match[2]}`) };
}

/** Blocks of blockSize addresses each, counted from the network address (the last may be partial). */
export function blockCount(range: AddressRange, blockSize: number): bigint {
  const size = checkBlockSize(blockSize);
  return (range.size + size - 1n) / size;
}

/** Usable hosts of one block, or undefined when the block holds only reserved addresses. */
export function blockBounds(
  range: AddressRange,
  blockIndex: number | bigint,
  blockSize: number,
): { first: bigint; last: bigint } | undefined {
  const size = checkBlockSize(blockSize);
  const index = BigInt(blockIndex);
  if (index < 0n || index >= blockCount(range, blockSize)) throw new RangeError('block index out of range');
  const usable = usableBounds(range);
  const start = range.network + index * size;
  const first = start > usable.first ? start : usable.first;
  const end = start + size - 1n;
  const last = end < usable.last ? end : usable.last;
  return first <= last ? { first, last } : undefined;
}

/** A uniformly random usable address of the block that is not in used, or undefined if none is left. */
export function pickFree(
  range: AddressRange,
  blockIndex: number | bigint,
  blockSize: number,
  used: ReadonlySet<bigint>,
  random: () => number = Math.random,
): bigint | undefined {
  const bounds = blockBounds(range, blockIndex, blockSize);
  if (!bounds) return undefined;
  const taken = [...used].filter((a) => a >= bounds.first && a <= bounds.last).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const free = Number(bounds.last - bounds.first + 1n) - taken.length;
  if (free <= 0) return undefined;
  // Pick the n-th free address, then step over each taken one at or below it (taken is sorted).
  let candidate = bounds.first + BigInt(Math.min(free - 1, Math.floor(random() * free)));
  for (const t of taken) if (t <= candidate) candidate++;
  return candidate;
}

/** A uniformly random usable host of the whole range, for IPv6 ranges too large to walk block by block. */
export function randomHost(range: AddressRange, random: () => number = Math.random): bigint {
  const { first } = usableBounds(range);
  const count = usableCount(range);
  // 64 bits more than needed make the modulo bias negligible (< 2^-64).
  const words = Math.ceil((count.toString(2).length + 64) / 32);
  let value = 0n;
  for (let i = 0; i < words; i++) value = (value << 32n) | BigInt(Math.floor(random() * 2 ** 32) >>> 0);
  return first + (value % count);
}

export function checkChosenAddress(range: AddressRange, text: string, field: string): bigint {
  const name = familyName(range.family);
  const value = tryParseAddress(text, range.family);
  if (value === undefined) {
    const other: Family = range.family === 4 ? 6 : 4;
    if (tryParseAddress(text, other) !== undefined) {
      throw new ValidationError(field, `is an ${familyName(other)} address; this field takes an ${name} address`);
    }
  }
  const addr = value ?? parseAddress(text, range.family, field);
  const shown = formatAddress(addr, range.family);
  if (!contains(range, addr)) throw new ValidationError(field, `${shown} is outside the network range ${range.text}`);
  if (!isUsableHost(range, addr)) {
    const kind = addr === range.network ? 'network' : 'broadcast';
    throw new ValidationError(field, `${shown} is the ${kind} address of ${range.text} and is reserved`);
  }
  return addr;
}

function checkBlockSize(blockSize: number): bigint {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new RangeError('block size must be a positive integer');
  return BigInt(blockSize);
}

/** The lease keys a record with these addresses holds (its IPv4 address, and its IPv6 one if any). */
export function leaseKeysOf(record: { address: string; address6?: string }): string[] {
  return [
    leaseKey(parseAddress(record.address, 4), 4),
    ...(record.address6 ? [leaseKey(parseAddress(record.address6, 6), 6)] : []),
  ];
}
