import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  type AddressRange,
  blockBounds,
  blockCount,
  checkChosenAddress,
  contains,
  formatAddress,
  isUsableHost,
  leaseKey,
  overlaps,
  parseAddress,
  parseLeaseKey,
  parseRange,
  parseRoutedRange,
  pickFree,
  randomHost,
  tryParseAddress,
  usableBounds,
  usableCount,
} from '../../../functions/domain/address-pool.js';
import { ValidationError } from '../../../functions/domain/errors.js';

// Deterministic PRNG (mulberry32) so a failing property case can be replayed.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const canon = (text: string, family: 4 | 6): string => formatAddress(parseAddress(text, family), family);

function throwsValidation(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('addresses', () => {
  it('canonicalises IPv4 and IPv6 text', () => {
    const table: [string, 4 | 6, string][] = [
      ['10.0.0.1', 4, '10.0.0.1'],
      ['0.0.0.0', 4, '0.0.0.0'],
      ['255.255.255.255', 4, '255.255.255.255'],
      ['2001:DB8::1', 6, '2001:db8::1'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'], // first of two equal runs
      ['2001:db8:0:1:0:0:0:1', 6, '2001:db8:0:1::1'], // the longest run, not the first
      ['2001:db8:0:1:1:1:1:1', 6, '2001:db8:0:1:1:1:1:1'], // a single zero group stays
      ['2001:db8::0:1', 6, '2001:db8::1'],
      ['::', 6, '::'],
      ['::1', 6, '::1'],
      ['fd00::', 6, 'fd00::'],
      ['0:0:0:0:0:0:0:0', 6, '::'],
      ['fd00:0100::', 6, 'fd00:100::'],
      ['1:2:3:4:5:6:7::', 6, '1:2:3:4:5:6:7:0'],
    ];
    for (const [input, family, want] of table) assert.equal(canon(input, family), want, input);
  });

  it('formats IPv6 exactly like the WHATWG URL parser (RFC 5952 compression)', () => {
    const random = prng(1);
    for (let i = 0; i < 2000; i++) {
      // Mostly-zero groups so runs of zeros of every length show up.
      let value = 0n;
      for (let g = 0; g < 8; g++) value = (value << 16n) | BigInt(random() < 0.5 ? 0 : Math.floor(random() * 0x10000));
      if (value >> 32n === 0xffffn) continue;
      const text = formatAddress(value, 6);
      assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
      assert.equal(parseAddress(text, 6), value);
    }
  });

  it('refuses malformed, ambiguous and tricky address text', () => {
    const bad4 = ['010.0.0.1', '10.0.0.01', '10.0.0', '10.0.0.1.', '10.0.0.256', '0x0a.0.0.1', '167772161', '10.1',
      ' 10.0.0.1', '10.0.0.1 ', '10.0.0.1\n', '１0.0.0.1', '10.0.0.1/32', '', '::ffff:10.0.0.1', '10.0.0.-1'];
    const bad6 = ['::ffff:10.0.0.1', '::10.0.0.1', '::ffff:a00:1', 'fe80::1%eth0', 'fe80::1%25eth0', '[::1]', ' ::1',
      '::1\n', '1::2::3', ':::', ':1::', '1::2:', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7::8',
      'g::1', '', '::1/128', 'fd00::１'];
    for (const b of bad4) {
      assert.equal(tryParseAddress(b, 4), undefined, b);
      throwsValidation(() => parseAddress(b, 4, 'address'));
    }
    for (const b of bad6) {
      assert.equal(tryParseAddress(b, 6), undefined, b);
      throwsValidation(() => parseAddress(b, 6, 'address6'));
    }
  });

  it('refuses values outside the family when formatting', () => {
    assert.throws(() => formatAddress(1n << 32n, 4), RangeError);
    assert.throws(() => formatAddress(-1n, 6), RangeError);
  });
});

describe('ranges', () => {
  it('parses network ranges into canonical text', () => {
    const r = parseRange('10.100.0.0/24', 4);
    assert.deepEqual(r, { family: 4, network: 0x0a640000n, prefix: 24, size: 256n, text: '10.100.0.0/24' });
    assert.equal(parseRange('FD00:0100::/112', 6).text, 'fd00:100::/112');
    assert.equal(parseRange('fd00::/64', 6).size, 1n << 64n);
  });

  it('suggests the canonical range when host bits are set', () => {
    throwsValidation(() => parseRange('10.0.0.5/24', 4), /^10\.0\.0\.5\/24 has host bits set; did you mean 10\.0\.0\.0\/24\?$/);
    throwsValidation(() => parseRange('fd00::1/64', 6), /did you mean fd00::\/64\?/);
    throwsValidation(() => parseRoutedRange('192.168.1.1/16'), /did you mean 192\.168\.0\.0\/16\?/);
  });

  it('enforces prefix limits for network ranges', () => {
    for (const ok of ['10.0.0.0/8', '10.0.0.0/30']) assert.ok(parseRange(ok, 4));
    for (const ok of ['fd00::/64', 'fd00::/126']) assert.ok(parseRange(ok, 6));
    for (const bad of ['10.0.0.0/7', '10.0.0.0/31', '10.0.0.0/32', '0.0.0.0/0']) throwsValidation(() => parseRange(bad, 4), /between 8 and 30/);
    for (const bad of ['fd00::/63', 'fd00::/127', 'fd00::/128']) throwsValidation(() => parseRange(bad, 6), /between 64 and 126/);
  });

  it('refuses malformed range text', () => {
    const bad = ['10.0.0.0', '10.0.0.0/', '10.0.0.0/024', '10.0.0.0/24 ', '10.0.0.0/+24', '10.0.0.0/24/1', '/24',
      '10.0.0.0 /24', '10.0.0.0/24\n', 'fd00::/64', '10.0.0.0/2a', '10.0.0.0/1e1'];
    for (const b of bad) throwsValidation(() => parseRange(b, 4, 'addressRange'));
    throwsValidation(() => parseRange('10.0.0.0/24', 6));
    assert.throws(() => parseRange('10.0.0.0/24x', 4), (e: unknown) => e instanceof ValidationError && e.field === 'addressRange');
  });

  it('parses routed ranges of either family with any prefix', () => {
    assert.equal(parseRoutedRange('0.0.0.0/0').text, '0.0.0.0/0');
    assert.equal(parseRoutedRange('::/0').text, '::/0');
    assert.equal(parseRoutedRange('10.1.2.3/32').size, 1n);
    assert.equal(parseRoutedRange('2001:DB8::/32').text, '2001:db8::/32');
    assert.equal(parseRoutedRange('2001:db8::1/128').family, 6);
    throwsValidation(() => parseRoutedRange('10.0.0.0/33'));
    throwsValidation(() => parseRoutedRange('::/129'));
    throwsValidation(() => parseRoutedRange('::ffff:0:0/96'));
  });

  it('answers contains and overlaps', () => {
    const a = parseRange('10.0.0.0/24', 4);
    assert.ok(contains(a, parseAddress('10.0.0.0', 4)));
    assert.ok(contains(a, parseAddress('10.0.0.255', 4)));
    assert.ok(!contains(a, parseAddress('10.0.1.0', 4)));
    assert.ok(!contains(a, parseAddress('9.255.255.255', 4)));
    assert.ok(overlaps(a, parseRoutedRange('10.0.0.128/25')));
    assert.ok(overlaps(a, parseRoutedRange('0.0.0.0/0')));
    assert.ok(overlaps(parseRoutedRange('10.0.0.0/8'), a));
    assert.ok(!overlaps(a, parseRoutedRange('10.0.1.0/24')));
    assert.ok(!overlaps(parseRoutedRange('::/0'), a)); // other family
  });
});

describe('reserved and usable hosts', () => {
  const count = (text: string, family: 4 | 6): bigint => usableCount(parseRange(text, family));

  it('counts usable hosts', () => {
    assert.equal(count('10.0.0.0/29', 4), 6n);
    assert.equal(count('10.0.0.0/30', 4), 2n);
    assert.equal(count('10.0.0.0/24', 4), 254n);
    assert.equal(count('fd00::/126', 6), 3n);
    assert.equal(count('fd00::/64', 6), (1n << 64n) - 1n);
  });

  it('reserves the network and the IPv4 broadcast address', () => {
    const r = parseRange('10.0.0.0/29', 4);
    assert.ok(!isUsableHost(r, parseAddress('10.0.0.0', 4)));
    assert.ok(!isUsableHost(r, parseAddress('10.0.0.7', 4)));
    assert.ok(isUsableHost(r, parseAddress('10.0.0.1', 4)));
    assert.ok(isUsableHost(r, parseAddress('10.0.0.6', 4)));
    assert.ok(!isUsableHost(r, parseAddress('10.0.0.8', 4)));
    const r6 = parseRange('fd00::/126', 6);
    assert.ok(!isUsableHost(r6, parseAddress('fd00::', 6)));
    assert.ok(isUsableHost(r6, parseAddress('fd00::3', 6)));
    assert.deepEqual(usableBounds(r6), { first: parseAddress('fd00::1', 6), last: parseAddress('fd00::3', 6) });
  });

  it('explains which rule a chosen address breaks', () => {
    const r = parseRange('10.0.0.0/24', 4);
    const r6 = parseRange('fd00::/112', 6);
    assert.equal(checkChosenAddress(r, '10.0.0.7', 'address'), parseAddress('10.0.0.7', 4));
    assert.equal(checkChosenAddress(r6, 'FD00::0:7', 'address6'), parseAddress('fd00::7', 6));
    const cases: [AddressRange, string, RegExp][] = [
      [r, 'ten', /not a valid IPv4 address/],
      [r, '010.0.0.1', /not a valid IPv4 address/],
      [r, 'fd00::1', /is an IPv6 address; this field takes an IPv4 address/],
      [r6, '10.0.0.1', /is an IPv4 address; this field takes an IPv6 address/],
      [r, '10.0.1.1', /10\.0\.1\.1 is outside the network range 10\.0\.0\.0\/24/],
      [r6, 'fd00::1:0', /outside the network range fd00::\/112/],
      [r, '10.0.0.0', /network address of 10\.0\.0\.0\/24 and is reserved/],
      [r, '10.0.0.255', /broadcast address/],
      [r6, 'fd00::', /network address/],
    ];
    for (const [range, text, message] of cases) {
      assert.throws(() => checkChosenAddress(range, text, 'myField'), (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.field, 'myField');
        assert.match(e.message, message);
        return true;
      }, text);
    }
    assert.ok(isUsableHost(r6, checkChosenAddress(r6, 'fd00::ffff', 'address6'))); // no IPv6 broadcast
  });
});

describe('lease keys', () => {
  it('formats fixed-width lower-case hex and parses back', () => {
    assert.equal(leaseKey(parseAddress('10.0.0.1', 4), 4), 'IP4#0a000001');
    assert.equal(leaseKey(parseAddress('fd00::ab', 6), 6), 'IP6#fd0000000000000000000000000000ab');
    assert.deepEqual(parseLeaseKey('IP4#0a000001'), { family: 4, address: 0x0a000001n });
    assert.deepEqual(parseLeaseKey('IP6#fd0000000000000000000000000000ab'), { family: 6, address: parseAddress('fd00::ab', 6) });
    for (const bad of ['IP4#0A000001', 'IP4#a000001', 'IP6#0a000001', 'IP4#0a000001 ', 'ip4#0a000001']) {
      assert.throws(() => parseLeaseKey(bad), bad);
    }
    assert.throws(() => leaseKey(1n << 32n, 4));
  });

  it('sorts lexicographically in numeric order', () => {
    const random = prng(2);
    for (const family of [4, 6] as const) {
      const values = Array.from({ length: 500 }, () => {
        let v = 0n;
        for (let i = 0; i < (family === 4 ? 1 : 4); i++) v = (v << 32n) | BigInt(Math.floor(random() * 2 ** 32));
        return random() < 0.2 ? v >> BigInt(Math.floor(random() * 30)) : v; // small values too
      });
      const byNumber = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((v) => leaseKey(v, family));
      const byText = values.map((v) => leaseKey(v, family)).sort();
      assert.deepEqual(byText, byNumber);
      for (const v of values) assert.equal(parseLeaseKey(leaseKey(v, family)).address, v);
    }
  });
});

describe('block allocation helpers', () => {
  it('splits a range into blocks that skip reserved addresses', () => {
    const r = parseRange('10.0.0.0/24', 4);
    assert.equal(blockCount(r, 64), 4n);
    assert.equal(blockCount(r, 100), 3n);
    assert.deepEqual(blockBounds(r, 0, 64), { first: 0x0a000001n, last: 0x0a00003fn });
    assert.deepEqual(blockBounds(r, 1, 64), { first: 0x0a000040n, last: 0x0a00007fn });
    assert.deepEqual(blockBounds(r, 3, 64), { first: 0x0a0000c0n, last: 0x0a0000fen });
    assert.deepEqual(blockBounds(r, 2, 100), { first: 0x0a0000c8n, last: 0x0a0000fen });
    assert.equal(blockBounds(parseRange('10.0.0.0/30', 4), 0, 1), undefined); // only the network address
    assert.throws(() => blockBounds(r, 4, 64), RangeError);
    assert.throws(() => blockBounds(r, -1, 64), RangeError);
    assert.throws(() => blockCount(r, 0), RangeError);
    assert.equal(blockCount(parseRange('fd00::/64', 6), 256), 1n << 56n);
  });

  it('pickFree always returns a usable, in-block, unused address (random ranges)', () => {
    const random = prng(3);
    for (let round = 0; round < 300; round++) {
      const family: 4 | 6 = random() < 0.5 ? 4 : 6;
      const prefix = family === 4 ? 20 + Math.floor(random() * 11) : 112 + Math.floor(random() * 15);
      const bits = family === 4 ? 32 : 128;
      let base = 0n;
      for (let i = 0; i < bits / 32; i++) base = (base << 32n) | BigInt(Math.floor(random() * 2 ** 32));
      if (family === 6) base = (0xfdn << 120n) | (base & ((1n << 120n) - 1n));
      const host = BigInt(bits - prefix);
      const range = parseRange(`${formatAddress((base >> host) << host, family)}/${prefix}`, family);
      const blockSize = 1 + Math.floor(random() * 64);
      const index = BigInt(Math.floor(random() * Number(blockCount(range, blockSize))));
      const bounds = blockBounds(range, index, blockSize);
      const used = new Set<bigint>();
      // Fill the block one pick at a time, with some unrelated addresses in `used` as noise.
      used.add(range.network);
      used.add(range.network + range.size + 5n);
      for (;;) {
        const picked = pickFree(range, index, blockSize, used, random);
        if (picked === undefined) break;
        assert.ok(bounds, 'picked from an empty block');
        assert.ok(isUsableHost(range, picked));
        assert.ok(picked >= bounds.first && picked <= bounds.last);
        assert.ok(!used.has(picked));
        used.add(picked);
      }
      // Undefined only once every usable address of the block is taken.
      if (bounds) for (let a = bounds.first; a <= bounds.last; a++) assert.ok(used.has(a));
    }
  });

  it('pickFree covers every free address with roughly equal frequency', () => {
    const r = parseRange('10.0.0.0/28', 4);
    const used = new Set([0x0a000003n, 0x0a000004n, 0x0a000009n]);
    const counts = new Map<bigint, number>();
    const random = prng(4);
    for (let i = 0; i < 11000; i++) {
      const a = pickFree(r, 0, 16, used, random)!;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    assert.equal(counts.size, 14 - 3);
    for (const n of counts.values()) assert.ok(n > 800 && n < 1200, String(n));
    // Edge values of random() stay inside the free set.
    assert.equal(pickFree(r, 0, 16, used, () => 0), 0x0a000001n);
    assert.equal(pickFree(r, 0, 16, used, () => 0.9999999999), 0x0a00000en);
    assert.equal(pickFree(r, 0, 16, used, () => 1), 0x0a00000en);
  });

  it('randomHost stays within the usable hosts of huge and tiny ranges', () => {
    const random = prng(5);
    const big = parseRange('fd00:1:2:3::/64', 6);
    const seenHigh = new Set<bigint>();
    for (let i = 0; i < 1000; i++) {
      const a = randomHost(big, random);
      assert.ok(isUsableHost(big, a));
      seenHigh.add((a - big.network) >> 60n);
    }
    assert.equal(seenHigh.size, 16); // high bits are random too, not only the low 53
    const tiny = parseRange('10.0.0.0/30', 4);
    const seen = new Set<bigint>();
    for (let i = 0; i < 200; i++) seen.add(randomHost(tiny, random));
    assert.deepEqual([...seen].sort(), [0x0a000001n, 0x0a000002n]);
  });
});
