import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  generateKeyPair,
  generatePresharedKey,
  generatePrivateKey,
  isWireGuardKey,
  publicKeyFromPrivate,
} from '../../../functions/domain/keys.js';

const wg = (args: string[], input?: string): string =>
  execFileSync('wg', args, { input, encoding: 'utf8' }).trim();

describe('keys', () => {
  it('derives the same public key as `wg pubkey` from our private keys', () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = generateKeyPair();
      assert.equal(wg(['pubkey'], privateKey + '\n'), publicKey);
    }
  });

  it('derives the same public key as `wg pubkey` from `wg genkey` output', () => {
    for (let i = 0; i < 20; i++) {
      const privateKey = wg(['genkey']);
      assert.equal(publicKeyFromPrivate(privateKey), wg(['pubkey'], privateKey + '\n'));
    }
  });

  it('agrees with wg on an unclamped private key', () => {
    const raw = Buffer.alloc(32, 0xff).toString('base64');
    assert.equal(publicKeyFromPrivate(raw), wg(['pubkey'], raw + '\n'));
  });

  it('clamps private keys like `wg genkey`', () => {
    for (let i = 0; i < 200; i++) {
      const k = Buffer.from(generatePrivateKey(), 'base64');
      assert.equal(k.length, 32);
      assert.equal(k[0]! & 7, 0);
      assert.equal(k[31]! & 128, 0);
      assert.equal(k[31]! & 64, 64);
    }
  });

  it('generates distinct, valid keys and preshared keys', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const psk = generatePresharedKey();
      const { privateKey, publicKey } = generateKeyPair();
      for (const k of [psk, privateKey, publicKey]) {
        assert.ok(isWireGuardKey(k), k);
        assert.ok(!seen.has(k));
        seen.add(k);
      }
    }
  });

  it('accepts canonical keys, including wg output', () => {
    assert.ok(isWireGuardKey(wg(['genkey'])));
    assert.ok(isWireGuardKey(wg(['genpsk'])));
    assert.ok(isWireGuardKey('A'.repeat(43) + '='));
    assert.ok(isWireGuardKey('/'.repeat(42) + '8='));
  });

  it('rejects anything that is not canonical base64 of exactly 32 bytes', () => {
    const good = generatePrivateKey();
    const bad: unknown[] = [
      '',
      good + '\n',
      good + ' ',
      ' ' + good,
      good.slice(0, 20) + '\n' + good.slice(21),
      good.slice(0, 43), // 43 chars, no padding
      good + '=', // 45 chars
      'A'.repeat(42) + '==', // 31 bytes
      'A'.repeat(44), // 33 bytes
      'A'.repeat(43) + 'B', // wrong padding char
      'A'.repeat(42) + 'B=', // non-canonical trailing bits
      'A'.repeat(42) + 'z=',
      '-'.repeat(42) + 'A=', // url-safe alphabet
      '_'.repeat(42) + 'A=',
      'A'.repeat(42) + '\u0410=', // Cyrillic look-alike
      'A'.repeat(41) + "'A=",
      '$(reboot)' + 'A'.repeat(33) + 'A=',
      undefined,
      null,
      42,
    ];
    for (const b of bad) assert.equal(isWireGuardKey(b as string), false, JSON.stringify(b));
  });

  it('refuses to derive a public key from an invalid private key', () => {
    assert.throws(() => publicKeyFromPrivate('not a key'));
  });
});
