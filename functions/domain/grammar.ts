// The one grammar of every token that may reach a config file, an SSM parameter or a gateway
// script: WireGuard keys, IPv4/IPv6 addresses and CIDRs, names, ids, interface names, ports,
// generations, digests. Everything else is generated from it: the API's zod schemas and checks
// (schemas.ts, patterns.ts, keys.ts, peer-set.ts), the SSM documents' `allowedPattern`s
// (gateway-commands.ts → infra/ssm/documents.ts) and the apply script's peer-line check (put into
// infra/gateway/apply.sh at synth time). test/unit/domain/grammar.test.ts runs one corpus through
// all of them.
//
// Why a subset of regex syntax: the same source string is read by three engines, JavaScript's
// RegExp (the API), Java's java.util.regex (SSM's allowedPattern) and POSIX ERE (glibc, as bash's
// `[[ =~ ]]` and `grep -E` use it). They agree only on: literals, `\.` `\[` `\]` escapes outside
// brackets, bracket expressions of plain characters and ASCII ranges (no backslash inside brackets:
// POSIX reads it literally), groups `( )`, `|`, `?`, `*`, `+`, bounded `{m,n}`, and `^`/`$` at the
// ends. So: no `(?:...)`, no `\d`/`\s`/`\w`, no lookaround, no lazy quantifiers, no flags, no
// backreferences. Groups capture; nothing relies on it. POSIX matches leftmost-longest and the others
// leftmost-first, which changes what a group captures but not whether an anchored pattern matches.
// Java's `$` also matches before a final line terminator ("\n", "\r", U+0085, U+2028...), so the
// TypeScript check with these RegExps is the gate and the document patterns a second line of defence.

/** `^block$`: a block never has `|` at its top level, so anchoring needs no extra group. */
export const anchored = (block: string): string => `^${block}$`;
/** `^(block)?$`: the block, or the empty string (optional SSM parameters). */
export const anchoredOrEmpty = (block: string): string => `^(${block})?$`;

const octet = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
// Dotted quad without leading zeros: inet_aton and some shells read "010" as octal.
const ipv4 = `${octet}\\.${octet}\\.${octet}\\.${octet}`;
// RFC 5952 groups: lower case, no leading zeros.
const h = '(0|[1-9a-f][0-9a-f]{0,3})';
// Eight groups, or a single "::" standing for at least two zero groups (RFC 5952 never compresses
// one), so at most six groups around it. No embedded dotted quad, no zone id. formatAddress
// (address-pool.ts) always prints one of these.
const ipv6 =
  '(' +
  [
    `${h}(:${h}){7}`,
    `(${h}:){1,6}:`,
    `(${h}:){1}(:${h}){1,5}`,
    `(${h}:){2}(:${h}){1,4}`,
    `(${h}:){3}(:${h}){1,3}`,
    `(${h}:){4}(:${h}){1,2}`,
    `(${h}:){5}:${h}`,
    `::(${h}(:${h}){0,5})?`,
  ].join('|') +
  ')';
const prefix4 = '(3[0-2]|[12][0-9]|[0-9])';
const prefix6 = '(12[0-8]|1[01][0-9]|[1-9][0-9]|[0-9])';
const cidr4 = `${ipv4}/${prefix4}`;
const cidr6 = `${ipv6}/${prefix6}`;
const cidr = `(${cidr4}|${cidr6})`;
// 43rd character limited to those whose 2 spare bits are zero: base64 of exactly 32 bytes, one
// spelling per key.
const wgKey = '[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=';
const hostLabel = '[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
// Unbounded: a peer's AllowedIPs count is the control plane's choice, and POSIX engines expand a
// bounded repeat into copies of the group.
const peerAllowedIps = `${cidr}(, ${cidr})*`;

/** Unanchored building blocks, to compose larger patterns. */
export const BLOCK = {
  WG_KEY: wgKey,
  IPV4: ipv4,
  IPV6: ipv6,
  CIDR4: cidr4,
  CIDR6: cidr6,
  /** Either family. */
  CIDR: cidr,
  /** What init takes: comma-separated, no blanks, at most 64. */
  CIDR_LIST: `${cidr}(,${cidr}){0,63}`,
  /** IPv4 link-local addresses (169.254.0.0/16), comma-separated, at most 8: DNS servers there (the VPC resolver). */
  LINK_LOCAL4_LIST: `169\\.254\\.${octet}\\.${octet}(,169\\.254\\.${octet}\\.${octet}){0,7}`,
  /** What a peer set's AllowedIPs holds, as renderPeerSet joins it. */
  PEER_ALLOWED_IPS: peerAllowedIps,
  NAME: '[a-zA-Z0-9][a-zA-Z0-9_-]{0,31}',
  // EC2 instance ids only (8 or 17 hex digits): gateways are EC2 instances that fetch with their own
  // instance role, so hybrid managed-instance ids (mi-...) are refused everywhere.
  INSTANCE_ID: 'i-([0-9a-f]{8}|[0-9a-f]{17})',
  // What the gateway scripts can use as is: file names, iptables chain names (WGI-FWD-<name> stays
  // under 29 characters), wg-quick (its own alphabet, 15 bytes) and sysctl keys (no dot). The app's
  // interfaces are wgi-<10 lowercase letters or digits>.
  INTERFACE_NAME: '[a-zA-Z][a-zA-Z0-9_-]{0,14}',
  PORT: '([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])',
  // At most 15 digits: below 2^53, so exact as a JavaScript number.
  GENERATION: '(0|[1-9][0-9]{0,14})',
  SHA256_HEX: '[0-9a-f]{64}',
  GATEWAY_ID: 'gw-[a-z0-9]{10}',
  /** 256 random bits, base64url without padding. */
  LINK_TOKEN: '[A-Za-z0-9_-]{43}',
  // Host name (RFC 1123 labels; the 253 total and all-numeric rules are validateEndpoint's) or IPv6.
  ENDPOINT_HOST: `(${hostLabel}(\\.${hostLabel})*|${ipv6})`,
  // S3 bucket names (general purpose): 3 to 63 lower-case letters, digits, dots and hyphens, a
  // letter or digit at both ends. The rest of S3's rules (no "..", not an IP address) are S3's own;
  // none of those spellings is special to a shell or a URL path.
  S3_BUCKET: '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]',
  // The object key of a peer set, exactly as the worker names it (functions/app/gateway-sync.ts):
  // peer-sets/<network>/<gateway id>/<generation>-<16 hex digits>.conf; the prefix is
  // bucketPrefixes.peerSets (object-keys.ts, checked by the agreement test). No other object, no
  // "..", nothing outside the prefix can be named.
  PEER_SET_KEY: `peer-sets/[a-zA-Z0-9][a-zA-Z0-9_-]{0,31}/gw-[a-z0-9]{10}/(0|[1-9][0-9]{0,14})-[0-9a-f]{16}\\.conf`,
  /** Every line a peer set may hold (the empty line included): what renderPeerSet writes. */
  PEER_LINE: `(\\[Peer\\]|PublicKey = ${wgKey}|PresharedKey = ${wgKey}|AllowedIPs = ${peerAllowedIps})?`,
} as const;

export type Token = keyof typeof BLOCK;

/** The anchored pattern of every token, as SSM's allowedPattern, grep -E and RegExp take it. */
export const PATTERN = Object.fromEntries(
  Object.entries(BLOCK).map(([token, block]) => [token, anchored(block)]),
) as Record<Token, string>;

export const INSTANCE_ID_PATTERN = PATTERN.INSTANCE_ID;
/** What infra/ssm/documents.ts writes into apply.sh for its `%%PEER_LINE_PATTERN%%` marker. */
export const PEER_LINE_PATTERN = PATTERN.PEER_LINE;

export const WG_KEY = new RegExp(PATTERN.WG_KEY);
export const IPV4 = new RegExp(PATTERN.IPV4);
export const IPV6 = new RegExp(PATTERN.IPV6);
export const CIDR4 = new RegExp(PATTERN.CIDR4);
export const CIDR6 = new RegExp(PATTERN.CIDR6);
export const CIDR = new RegExp(PATTERN.CIDR);
export const NAME = new RegExp(PATTERN.NAME);
export const INSTANCE_ID = new RegExp(PATTERN.INSTANCE_ID);
export const INTERFACE_NAME = new RegExp(PATTERN.INTERFACE_NAME);
export const PORT = new RegExp(PATTERN.PORT);
export const GENERATION = new RegExp(PATTERN.GENERATION);
export const SHA256_HEX = new RegExp(PATTERN.SHA256_HEX);
export const GATEWAY_ID = new RegExp(PATTERN.GATEWAY_ID);
export const LINK_TOKEN = new RegExp(PATTERN.LINK_TOKEN);
export const ENDPOINT_HOST = new RegExp(PATTERN.ENDPOINT_HOST);
export const S3_BUCKET = new RegExp(PATTERN.S3_BUCKET);
export const PEER_SET_KEY = new RegExp(PATTERN.PEER_SET_KEY);
export const PEER_LINE = new RegExp(PATTERN.PEER_LINE);
