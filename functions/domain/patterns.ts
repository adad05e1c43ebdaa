// The exact shapes of every value that may reach a config file or a gateway script.
// ALLOWED_PATTERN holds the strings for SSM document `allowedPattern`; the RegExp constants are built
// from the same strings, so the API and the documents cannot drift apart. The strings use only
// syntax JavaScript and Java regexes read alike (no lookaround, no \d, no flags).
// Java's `$` also matches before a final "\n", so the API check with these RegExps (and
// hasControlOrQuote) is the gate; the document patterns are a second line of defence.
import { ValidationError } from './errors.js';
import { formatAddress, tryParseAddress } from './address-pool.js';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4_SHAPE = `(?:${OCTET}\\.){3}${OCTET}`;
const IPV6_SHAPE = '[0-9a-f:]{2,39}';
const LABEL = '[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
const IFNAME_CHAR = '[a-zA-Z0-9_=+.-]';
const IFNAME_FIRST = '[a-zA-Z0-9_=+-]';

export const ALLOWED_PATTERN = {
  NAME: '^[a-zA-Z0-9][a-zA-Z0-9_-]{0,31}$',
  INSTANCE_ID: '^i-[0-9a-f]{8}([0-9a-f]{9})?$',
  // Linux takes 1..15 bytes except "." and ".."; wg-quick narrows the alphabet to this one.
  INTERFACE_NAME: `^(?:${IFNAME_FIRST}${IFNAME_CHAR}{0,14}|\\.${IFNAME_FIRST}${IFNAME_CHAR}{0,13}|\\.\\.${IFNAME_CHAR}{1,13})$`,
  // Host name (RFC 1123 labels), dotted quad, or the character set of an IPv6 address; the total
  // length (253) and the IPv6 grammar are checked by validateEndpoint.
  ENDPOINT_HOST: `^(?:${LABEL}(?:\\.${LABEL})*|${IPV6_SHAPE})$`,
  PORT: '^(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$',
  // 43rd character limited to those whose 2 spare bits are zero: one spelling per key.
  WG_KEY: '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$',
  GENERATION: '^[0-9]{1,15}$',
  SHA256_HEX: '^[0-9a-f]{64}$',
  CIDR4: `^${IPV4_SHAPE}/(?:[0-9]|[12][0-9]|3[0-2])$`,
  CIDR6: `^${IPV6_SHAPE}/(?:[0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$`,
} as const;

export const NAME = new RegExp(ALLOWED_PATTERN.NAME);
export const INSTANCE_ID = new RegExp(ALLOWED_PATTERN.INSTANCE_ID);
export const INTERFACE_NAME = new RegExp(ALLOWED_PATTERN.INTERFACE_NAME);
export const ENDPOINT_HOST = new RegExp(ALLOWED_PATTERN.ENDPOINT_HOST);
export const PORT = new RegExp(ALLOWED_PATTERN.PORT);
export const WG_KEY = new RegExp(ALLOWED_PATTERN.WG_KEY);
export const GENERATION = new RegExp(ALLOWED_PATTERN.GENERATION);
export const SHA256_HEX = new RegExp(ALLOWED_PATTERN.SHA256_HEX);
export const CIDR4 = new RegExp(ALLOWED_PATTERN.CIDR4);
export const CIDR6 = new RegExp(ALLOWED_PATTERN.CIDR6);

export const ENDPOINT_HOST_MAX_LENGTH = 253;

/**
 * Characters that could end a line, close a quote or start an escape in a config file or shell script.
 * C1 controls and U+2028/U+2029 are included because some tools treat them as line breaks.
 */
export function hasControlOrQuote(text: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029'"`\\]/.test(text);
}

/** The canonical endpoint host (lower-case name, IPv4, or RFC 5952 IPv6), or a ValidationError. */
export function validateEndpoint(text: string, field = 'endpoint'): string {
  if (typeof text !== 'string' || text.length === 0) throw new ValidationError(field, 'is required');
  if (text.length > ENDPOINT_HOST_MAX_LENGTH) {
    throw new ValidationError(field, `must be at most ${ENDPOINT_HOST_MAX_LENGTH} characters`);
  }
  if (hasControlOrQuote(text) || /\s/.test(text)) {
    throw new ValidationError(field, 'must not contain spaces, control characters, quotes or backslashes');
  }
  if (text.startsWith('[')) throw new ValidationError(field, 'IPv6 addresses go without brackets');
  if (text.includes(':')) {
    const v6 = tryParseAddress(text, 6);
    if (v6 !== undefined) return formatAddress(v6, 6);
    if (tryParseAddress(text.slice(0, text.lastIndexOf(':')), 4) !== undefined || /^[^:]+:[0-9]+$/.test(text)) {
      throw new ValidationError(field, 'must not include a port; set listenPort instead');
    }
    throw new ValidationError(field, 'not a valid IPv6 address');
  }
  // All-numeric text is an IPv4 address or nothing: "010.0.0.1" or "1.2.3" must not pass as host names.
  if (/^[0-9.]+$/.test(text)) {
    const v4 = tryParseAddress(text, 4);
    if (v4 === undefined) throw new ValidationError(field, 'not a valid IPv4 address (dotted quad without leading zeros)');
    return formatAddress(v4, 4);
  }
  if (!ENDPOINT_HOST.test(text)) {
    throw new ValidationError(field, 'must be a host name (letters, digits, hyphens; dot-separated labels of 1-63 characters), an IPv4 or an IPv6 address');
  }
  if (/^[0-9]+$/.test(text.slice(text.lastIndexOf('.') + 1))) {
    throw new ValidationError(field, 'a host name must not end in an all-numeric label');
  }
  return text.toLowerCase();
}
