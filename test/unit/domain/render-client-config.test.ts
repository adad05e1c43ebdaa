import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  configFilename,
  renderClientConfig,
  PRIVATE_KEY_PLACEHOLDER,
  type RenderClientConfigInput,
} from '../../../functions/domain/render-client-config.js';
import { configVariants, KEYS, largestAllowedConfig } from './fixtures.js';

const goldenPath = (name: string) => fileURLToPath(new URL(`./golden/${name}.conf`, import.meta.url));

// UPDATE_GOLDEN=1 rewrites the files; review the diff before committing it.
function assertGolden(name: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(goldenPath(name), actual);
  assert.equal(actual, readFileSync(goldenPath(name), 'utf8'));
}

function variant(name: string): RenderClientConfigInput {
  const v = configVariants[name];
  assert.ok(v, `no variant ${name}`);
  return v;
}

describe('renderClientConfig', () => {
  for (const name of Object.keys(configVariants)) {
    it(`renders the ${name} variant exactly like its golden file`, () => {
      assertGolden(name, renderClientConfig(variant(name)));
    });
  }

  it('has exactly one blank line between the sections and ends with one newline', () => {
    for (const input of Object.values(configVariants)) {
      const text = renderClientConfig(input);
      assert.equal(text.split('\n\n').length, 2);
      assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'));
      assert.ok(text.startsWith('[Interface]\n'));
      assert.doesNotMatch(text, /[ \t]\n/, 'no trailing whitespace');
    }
  });

  it('puts a marked placeholder on the PrivateKey line of a bring-your-own-key client', () => {
    const text = renderClientConfig(variant('byo-key'));
    const lines = text.split('\n');
    const at = lines.indexOf(`PrivateKey = ${PRIVATE_KEY_PLACEHOLDER}`);
    assert.ok(at > 0);
    assert.match(lines[at - 1]!, /^# .*private key/);
    assert.doesNotMatch(text, /PrivateKey = [A-Za-z0-9+/]{43}=/);
  });

  it('lists every network range and routed range once, in order', () => {
    const text = renderClientConfig(variant('dual-stack'));
    assert.match(text, /^AllowedIPs = 10\.100\.0\.0\/24, fd00:100::\/112, 10\.20\.0\.0\/16, fd00:200::\/64$/m);
  });

  it('routes everything through a full-tunnel gateway', () => {
    assert.match(renderClientConfig(variant('full-tunnel')), /^AllowedIPs = 0\.0\.0\.0\/0, ::\/0$/m);
  });

  it('brackets an IPv6 endpoint', () => {
    assert.match(renderClientConfig(variant('ipv6-endpoint')), /^Endpoint = \[2001:db8::10\]:443$/m);
  });

  it('takes DNS from the client, else the gateway, else the network, else leaves it out', () => {
    assert.match(renderClientConfig(variant('dns-client')), /^DNS = 10\.100\.0\.53, 10\.100\.0\.54$/m);
    assert.match(renderClientConfig(variant('dns-gateway')), /^DNS = 10\.100\.0\.1$/m);
    assert.match(renderClientConfig(variant('dns-network')), /^DNS = 9\.9\.9\.9$/m);
    assert.doesNotMatch(renderClientConfig(variant('dns-none')), /DNS/);
  });

  it('leaves out a keepalive of 0, which means off', () => {
    const input = variant('generated-key');
    const text = renderClientConfig({ ...input, gateway: { ...input.gateway, persistentKeepalive: 0 } });
    assert.doesNotMatch(text, /PersistentKeepalive/);
  });

  it('never leaks a key it was not given', () => {
    const text = renderClientConfig(variant('generated-key'));
    assert.ok(!text.includes(KEYS.preshared));
    assert.doesNotMatch(text, /PresharedKey/);
  });

  describe('refuses values that could change the structure of the file', () => {
    const base = variant('dual-stack');
    const bad: Array<[string, (i: RenderClientConfigInput) => RenderClientConfigInput]> = [
      ['a newline in the endpoint', (i) => ({ ...i, gateway: { ...i.gateway, endpoint: 'a.example\n[Peer]' } })],
      ['a carriage return in a DNS entry', (i) => ({ ...i, client: { ...i.client, dns: ['10.0.0.1\r'] } })],
      ['a quote in the client name', (i) => ({ ...i, client: { ...i.client, name: 'a"b' } })],
      ['a NUL in the address', (i) => ({ ...i, client: { ...i.client, address: '10.100.0.7\u0000' } })],
      ['a comment marker in a routed range', (i) => ({ ...i, gateway: { ...i.gateway, routedRanges: ['10.0.0.0/8#'] } })],
      ['a private key that is not a key', (i) => ({ ...i, privateKey: 'x\nPostUp = rm -rf /' })],
      ['a preshared key with a line separator', (i) => ({ ...i, presharedKey: `${KEYS.preshared}\u2028` })],
      ['a gateway key with a trailing newline', (i) => ({ ...i, gateway: { ...i.gateway, publicKey: `${KEYS.gatewayPublic}\n` } })],
      ['an IPv6 address given as the IPv4 one', (i) => ({ ...i, client: { ...i.client, address: 'fd00::7' } })],
      ['an address with a wider prefix', (i) => ({ ...i, client: { ...i.client, address: '10.100.0.7/24' } })],
      ['a fractional MTU', (i) => ({ ...i, gateway: { ...i.gateway, mtu: 1380.5 } })],
      ['a port out of range', (i) => ({ ...i, gateway: { ...i.gateway, listenPort: 70000 } })],
      ['a tab in the network range', (i) => ({ ...i, network: { ...i.network, addressRange6: 'fd00:100::/112\t' } })],
    ];
    for (const [what, change] of bad) {
      it(`refuses ${what}`, () => {
        assert.throws(() => renderClientConfig(change(base)), /cannot render client config/);
      });
    }
  });

  it('renders the largest allowed config within the QR byte limit (2953 bytes at level L)', () => {
    const text = largestAllowedConfig();
    assert.ok(text.length > 1273, `${text.length} bytes: does not even exceed level H, not the largest`);
    assert.ok(text.length <= 2953, `${text.length} bytes`);
  });
});

describe('configFilename', () => {
  it('joins network and client when that fits in 15 characters', () => {
    assert.equal(configFilename('hq', 'alice-phone'), 'hq-alice-phone.conf');
  });

  it("keeps the client's name whole and puts the network in front only while it fits", () => {
    assert.equal(configFilename('production-eu', 'alice-laptop'), 'alice-laptop.conf');
    assert.equal(configFilename('office', 'alice-laptop'), 'alice-laptop.conf');
    assert.equal(configFilename('production-eu', 'bob'), 'production-bob.conf', 'network cut, no doubled separator');
    assert.equal(configFilename('hq', 'a-very-long-client-name'), 'a-very-long-cli.conf', 'a long client name is cut');
    assert.equal(configFilename('hq', 'abcdefghijklmn-x'), 'abcdefghijklmn.conf', 'no separator left at the cut');
  });

  it('always yields a name wg-quick and the apps accept', () => {
    const names = ['a', 'hq', 'production-eu', 'A'.repeat(32), 'x_y-z', '0'];
    for (const n of names) {
      for (const c of names) {
        const file = configFilename(n, c);
        assert.match(file, /^[a-zA-Z0-9_=+.-]{1,15}\.conf$/, file);
      }
    }
  });

  it('refuses a name with a quote or newline', () => {
    assert.throws(() => configFilename('hq', 'a"b'));
    assert.throws(() => configFilename('hq\n', 'a'));
  });
});
