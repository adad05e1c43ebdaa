import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALLOWED_PATTERN,
  CIDR4,
  CIDR6,
  ENDPOINT_HOST,
  GENERATION,
  hasControlOrQuote,
  INSTANCE_ID,
  INTERFACE_NAME,
  NAME,
  PORT,
  SHA256_HEX,
  validateEndpoint,
  WG_KEY,
} from '../../../functions/domain/patterns.js';
import { ValidationError } from '../../../functions/domain/errors.js';
import { generateKeyPair, generatePresharedKey } from '../../../functions/domain/keys.js';
import { parseRoutedRange } from '../../../functions/domain/address-pool.js';

// Values an attacker would try against anything that ends up in a file or a shell command.
const HOSTILE = [
  '', ' ', 'a b', 'a\nb', 'a\n', '\na', 'a\r', 'a\t', 'a\u0000', 'a;reboot', 'a&&b', 'a|b', '$(reboot)', '${IFS}',
  '`id`', "a'b", 'a"b', 'a\\b', 'a/b', 'a*', '../etc', 'а', 'wg0\u200b', 'wg\u2028', 'ｗｇ0', 'a#b', 'a=$(x)',
];

function check(re: RegExp, good: string[], bad: string[]): void {
  for (const g of good) assert.ok(re.test(g), `should accept ${JSON.stringify(g)}`);
  for (const b of [...bad, ...HOSTILE]) assert.ok(!re.test(b), `should refuse ${JSON.stringify(b)}`);
}

describe('patterns', () => {
  it('keeps every allowed pattern anchored, flag-free and free of lookaround', () => {
    for (const [name, source] of Object.entries(ALLOWED_PATTERN)) {
      assert.ok(source.startsWith('^') && source.endsWith('$'), name);
      assert.ok(!/\(\?[=!<]|\\d|\\s|\\w/.test(source), name);
      assert.doesNotThrow(() => new RegExp(source, 'u'), name);
    }
  });

  it('NAME', () => {
    check(NAME, ['a', 'Z', '0', 'brisk-otter-27', 'a_b', 'A'.repeat(32), 'a-'], ['-a', '_a', 'A'.repeat(33), 'a.b', 'é', 'a b']);
  });

  it('INSTANCE_ID', () => {
    check(INSTANCE_ID, ['i-0123abcd', 'i-0123456789abcdef0'],
      ['i-0123ABCD', 'i-0123abc', 'i-0123abcde', 'i-0123456789abcdef', 'i-0123456789abcdef01', 'x-0123abcd', 'i0123abcd', 'i-0123abcd\n']);
  });

  it('INTERFACE_NAME', () => {
    check(INTERFACE_NAME, ['wg0', 'wg-ingress', 'wgi-0a1b2c3d4e', 'a', 'x_y-z_1', 'A'.repeat(15)],
      ['.', '..', 'a.b', '.a', '-', '0wg', '_wg', 'x=y+z', 'A'.repeat(16), 'wg 0', 'wg0/1', 'wg:0']);
  });

  it('ENDPOINT_HOST', () => {
    check(ENDPOINT_HOST, ['vpn.example.com', 'a', 'A-1.b2', '203.0.113.7', 'fd00::1', '2001:db8::1', `${'a'.repeat(63)}.com`],
      ['-a.com', 'a-.com', 'a..com', '.a.com', `${'a'.repeat(64)}.com`, 'a_b.com', '[fd00::1]', 'FD00::1', 'fd00::1%eth0', 'vpn.example.com:51820', 'xn--bcher-kva.example ', 'bücher.example']);
  });

  it('PORT', () => {
    check(PORT, ['1', '53', '51820', '65535', '9999', '10000', '59999', '64999', '65499', '65529'],
      ['0', '00', '01', '65536', '65540', '70000', '99999', '123456', '-1', '+1', '1e3', '0x10', '５']);
    for (let p = 0; p <= 70000; p++) assert.equal(PORT.test(String(p)), p >= 1 && p <= 65535, String(p));
  });

  it('WG_KEY', () => {
    const keys = [generatePresharedKey(), ...Object.values(generateKeyPair())];
    check(WG_KEY, keys, [keys[0]! + '\n', keys[0]!.slice(1), 'A'.repeat(42) + 'B=', '-'.repeat(42) + 'A=']);
  });

  it('GENERATION and SHA256_HEX', () => {
    check(GENERATION, ['0', '1', '123456789012345'], ['1234567890123456', '-1', '1.0', '１']);
    check(SHA256_HEX, ['0'.repeat(64), 'deadbeef'.repeat(8)], ['0'.repeat(63), '0'.repeat(65), 'DEADBEEF'.repeat(8), 'g'.repeat(64)]);
  });

  it('CIDR4 and CIDR6 accept what the range parser prints', () => {
    check(CIDR4, ['10.0.0.0/24', '0.0.0.0/0', '255.255.255.255/32'],
      ['10.0.0.0/33', '10.0.0.0/024', '010.0.0.0/8', '10.0.0/8', '10.0.0.0', '10.0.0.0/8 ', 'fd00::/64']);
    check(CIDR6, ['fd00::/64', '::/0', '2001:db8::1/128', 'fd00:100::/112'],
      ['fd00::/129', 'fd00::/064', 'FD00::/64', 'fd00::', '10.0.0.0/8', 'fd00::%eth0/64']);
    for (const text of ['10.1.2.0/24', '0.0.0.0/0', '192.168.7.7/32']) assert.match(parseRoutedRange(text).text, CIDR4);
    for (const text of ['FD00:0:0:1::/64', '::/0', '2001:DB8::1/128']) assert.match(parseRoutedRange(text).text, CIDR6);
  });

  it('hasControlOrQuote', () => {
    for (const bad of ['\n', '\r', '\t', '\u0000', '\u001f', '\u007f', '\u0085', '\u2028', "'", '"', '`', '\\', 'ok\n']) {
      assert.ok(hasControlOrQuote(`a${bad}b`), JSON.stringify(bad));
    }
    for (const ok of ['vpn.example.com', 'a b', '$x', 'brisk-otter-27', 'é', '10.0.0.0/24']) assert.ok(!hasControlOrQuote(ok), ok);
  });
});

describe('validateEndpoint', () => {
  it('returns the canonical host', () => {
    const table: [string, string][] = [
      ['vpn.example.com', 'vpn.example.com'],
      ['VPN.Example.COM', 'vpn.example.com'],
      ['localhost', 'localhost'],
      ['203.0.113.7', '203.0.113.7'],
      ['2001:DB8:0:0::1', '2001:db8::1'],
      ['fd00::1', 'fd00::1'],
      [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
    ];
    for (const [input, want] of table) {
      const got = validateEndpoint(input);
      assert.equal(got, want);
      assert.match(got, ENDPOINT_HOST);
    }
  });

  it('refuses hostile and malformed endpoints with a reason', () => {
    const cases: [string, RegExp][] = [
      ['', /required/],
      ['a'.repeat(254), /at most 253/],
      [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, /at most 253/],
      ['vpn.example.com\n', /control characters/],
      ['vpn example.com', /spaces/],
      ["vpn'.example.com", /quotes/],
      ['vpn.example.com;reboot', /host name/],
      ['$(reboot)', /host name/],
      ['`id`', /quotes/],
      ['[fd00::1]', /without brackets/],
      ['fd00::1%eth0', /IPv6/],
      ['::ffff:1.2.3.4', /IPv6|port/],
      ['vpn.example.com:51820', /port/],
      ['203.0.113.7:51820', /port/],
      ['010.0.0.1', /leading zeros/],
      ['1.2.3', /IPv4/],
      ['1.2.3.256', /IPv4/],
      ['vpn.example.123', /all-numeric/],
      ['vpn.exаmple.com', /host name/], // Cyrillic "а"
      ['-vpn.example.com', /host name/],
      ['vpn..example.com', /host name/],
      ['vpn.example.com.', /host name/],
      [`${'a'.repeat(64)}.com`, /host name/],
      ['vpn_1.example.com', /host name/],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => validateEndpoint(input), (e: unknown) => {
        assert.ok(e instanceof ValidationError, String(e));
        assert.equal(e.field, 'endpoint');
        assert.match(e.message, message, JSON.stringify(input));
        return true;
      });
    }
  });

  it('checks long hostile input quickly (no catastrophic backtracking)', () => {
    const start = process.hrtime.bigint();
    for (const re of [ENDPOINT_HOST, NAME, INTERFACE_NAME, CIDR4, CIDR6]) {
      re.test('a-'.repeat(100000) + '!');
      re.test('a.'.repeat(100000) + '-');
    }
    assert.ok(process.hrtime.bigint() - start < 2_000_000_000n);
  });
});
