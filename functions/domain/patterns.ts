// Endpoint validation, and the grammar's patterns under the names the rest of the code imports.
// The patterns themselves are defined once, in grammar.ts.
import { ValidationError } from './errors.js';
import { formatAddress, tryParseAddress } from './address-pool.js';
import { ENDPOINT_HOST } from './grammar.js';

export {
  PATTERN as ALLOWED_PATTERN,
  CIDR4,
  CIDR6,
  ENDPOINT_HOST,
  GENERATION,
  INSTANCE_ID,
  INTERFACE_NAME,
  NAME,
  PORT,
  SHA256_HEX,
  WG_KEY,
} from './grammar.js';

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
