import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../functions/domain/errors.js';
import {
  buildApplyParameters,
  buildInitParameters,
  dnsFirewall,
  GatewayOutputError,
  parseApplyOutput,
  parseInitOutput,
  validateCommandParameters,
  type ApplyInput,
  type CommandParameters,
  type ParameterName,
} from '../../../functions/domain/gateway-commands.js';
import { applyDocument, initDocument } from '../../../infra/ssm/documents.js';

type GatewayInput = Parameters<typeof buildInitParameters>[0];
type NetworkInput = Parameters<typeof buildInitParameters>[1];
type InitOpts = NonNullable<Parameters<typeof buildInitParameters>[2]>;

const gateway: GatewayInput = {
  interfaceName: 'wg0',
  listenPort: 51820,
  address: '10.100.0.1',
  address6: 'fd00:100::1',
  routedRanges: ['172.31.0.0/16', '192.168.10.0/24'],
  fullTunnel: false,
};
const network: NetworkInput = { addressRange: '10.100.0.0/24', addressRange6: 'fd00:100::/112' };
const apply: ApplyInput = {
  interfaceName: 'wg0',
  generation: 7,
  peerSetBucket: 'wg-ingress-state-bucket83908e77-1x2y3z',
  peerSetKey: 'peer-sets/office/gw-3k9x2m7q00/7-0123456789abcdef.conf',
  peerSetSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

const documentPattern = (name: ParameterName): RegExp => {
  const p = initDocument().parameters[name] ?? applyDocument().parameters[name];
  assert.ok(p, `no document declares ${name}`);
  return new RegExp(p.allowedPattern);
};

/** Feeds `value` into the one input field that becomes parameter `name`, then builds. */
const builders: Partial<Record<ParameterName, (value: string) => CommandParameters>> = {
  interfaceName: (v) => buildInitParameters({ ...gateway, interfaceName: v }, network),
  listenPort: (v) => buildInitParameters({ ...gateway, listenPort: v as unknown as number }, network),
  address: (v) => buildInitParameters({ ...gateway, address: v }, network),
  address6: (v) => buildInitParameters({ ...gateway, address6: v }, network),
  networkRanges: (v) => buildInitParameters({ ...gateway, routedRanges: ['172.31.0.0/16', v] }, network),
  clientRange: (v) => buildInitParameters(gateway, { ...network, addressRange: v }),
  egressInterface: (v) => buildInitParameters(gateway, network, { egressInterface: v } as InitOpts),
  stateDir: (v) => buildApplyParameters({ ...apply, stateDir: v }),
  generation: (v) => buildApplyParameters({ ...apply, generation: v as unknown as number }),
  peerSetBucket: (v) => buildApplyParameters({ ...apply, peerSetBucket: v }),
  peerSetKey: (v) => buildApplyParameters({ ...apply, peerSetKey: v }),
  peerSetSha256: (v) => buildApplyParameters({ ...apply, peerSetSha256: v }),
};

// linkLocalDns and gatewayServesDns are derived from the DNS lists (not fed through): tested on their own.
const valid: Record<Exclude<ParameterName, 'allowClientToClient' | 'gatewayServesDns' | 'linkLocalDns'>, string> = {
  interfaceName: 'wg0',
  listenPort: '51820',
  address: '10.100.0.1',
  address6: 'fd00:100::1',
  networkRanges: '192.168.10.0/24',
  clientRange: '10.100.0.0/24',
  egressInterface: 'ens5',
  stateDir: '/etc/wireguard',
  generation: '7',
  peerSetBucket: apply.peerSetBucket,
  peerSetKey: apply.peerSetKey,
  peerSetSha256: apply.peerSetSha256,
};

// What must never reach a shell: command separators, substitutions, quotes, line breaks, blanks.
const HOSTILE_SUFFIXES = [';reboot', '$(id)', '${IFS}', '`id`', "'", '"', '\n', '\nreboot', '\r', ' x', '\t', '\\', '|id', '>x', '<x', '*', '\u0000'];
// Harmless inside single quotes; some parameters need them (a URL's query has `&`, `=`, `%`).
const OTHER_SUFFIXES = ['&&id', '&x=1', '%2F', '=', ':', '@', ',', '.', '-', '/..', '0', 'A'];

describe('gateway command parameters', () => {
  it('builds init parameters from a gateway and its network', () => {
    assert.deepEqual(buildInitParameters(gateway, network), {
      interfaceName: ['wg0'],
      listenPort: ['51820'],
      address: ['10.100.0.1/24'],
      address6: ['fd00:100::1/112'],
      networkRanges: ['172.31.0.0/16,192.168.10.0/24'],
      clientRange: ['10.100.0.0/24,fd00:100::/112'],
      allowClientToClient: ['false'],
      linkLocalDns: [''],
      gatewayServesDns: ['false'],
    });
  });

  it("tells the firewall which of the network's DNS servers are link-local and whether the gateway is one", () => {
    const p = buildInitParameters(
      { ...gateway, dns: ['169.254.169.253', '10.100.0.1'] },
      { ...network, defaultDns: ['169.254.169.253', '169.254.10.20', '192.168.10.53'] },
    );
    assert.deepEqual([p.linkLocalDns, p.gatewayServesDns], [['169.254.169.253,169.254.10.20'], ['true']]);
    assert.deepEqual(dnsFirewall({ address: '10.100.0.1', address6: 'fd00:100::1', dns: ['FD00:100::1'] }), {
      linkLocalDns: [],
      gatewayServesDns: true,
    });
    assert.deepEqual(dnsFirewall({ address: '10.100.0.1', dns: ['10.100.0.2', '169.254.169.254x'] }), { linkLocalDns: [], gatewayServesDns: false });
    const pattern = documentPattern('linkLocalDns');
    for (const ok of ['', '169.254.169.253', '169.254.0.1,169.254.255.255']) assert.ok(pattern.test(ok), ok);
    for (const bad of ['10.0.0.2', '169.254.169.253,8.8.8.8', '169.254.1.256', '169.254.01.1', '169.254.169.253 ', "169.254.1.1'"]) {
      assert.ok(!pattern.test(bad), bad);
      assert.throws(() => validateCommandParameters('init', { ...buildInitParameters(gateway, network), linkLocalDns: [bad] }), ValidationError, bad);
    }
    assert.ok(!documentPattern('gatewayServesDns').test('yes'));
  });

  it('sends the default route ranges for a full-tunnel gateway, and nothing for a gateway without routes', () => {
    assert.deepEqual(buildInitParameters({ ...gateway, fullTunnel: true }, network).networkRanges, ['0.0.0.0/0,::/0']);
    const v4 = buildInitParameters({ ...gateway, address6: undefined, fullTunnel: true }, { addressRange: '10.100.0.0/24' });
    assert.deepEqual(v4.networkRanges, ['0.0.0.0/0']);
    assert.deepEqual(v4.address6, ['']);
    assert.deepEqual(buildInitParameters({ ...gateway, routedRanges: [] }, network).networkRanges, ['']);
  });

  it('passes options through, checked', () => {
    const p = buildInitParameters(gateway, network, { allowClientToClient: true, egressInterface: 'ens5', stateDir: '/var/lib/wgi' });
    assert.deepEqual([p.allowClientToClient, p.egressInterface, p.stateDir], [['true'], ['ens5'], ['/var/lib/wgi']]);
  });

  it('builds apply parameters', () => {
    assert.deepEqual(buildApplyParameters(apply), {
      interfaceName: ['wg0'],
      generation: ['7'],
      peerSetBucket: [apply.peerSetBucket],
      peerSetKey: [apply.peerSetKey],
      peerSetSha256: [apply.peerSetSha256],
    });
  });

  it('names the peer set by bucket and key only: no URL of any scheme, no other object, no way out of peer-sets/', () => {
    for (const key of ['peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf', 'peer-sets/brisk-otter_2/gw-0123456789/999999999999999-ffffffffffffffff.conf']) {
      assert.deepEqual(buildApplyParameters({ ...apply, peerSetKey: key }).peerSetKey, [key]);
    }
    const refusedKeys = [
      'https://bucket.s3.amazonaws.com/peer-sets/n/gw-aaaaaaaaaa/1-0000000000000000.conf?X-Amz-Signature=ab',
      's3://bucket/peer-sets/n/gw-aaaaaaaaaa/1-0000000000000000.conf',
      'file:///tmp/peers', 'http://127.0.0.1:4569/b/k', 'downloads/n/c/config.conf', 'peer-sets/../downloads/x.conf',
      'peer-sets/n/gw-aaaaaaaaaa/../../downloads/1-0000000000000000.conf', '/peer-sets/n/gw-aaaaaaaaaa/1-0000000000000000.conf',
      'peer-sets/n/gw-aaaaaaaaaa/1-0000000000000000.conf?x=1', 'peer-sets/n/gw-aaaaaaaaaa/01-0000000000000000.conf',
      'peer-sets/n/gw-AAAAAAAAAA/1-0000000000000000.conf', 'peer-sets/n/gw-aaaaaaaaaa/1-000000000000000.conf', '',
    ];
    for (const key of refusedKeys) {
      assert.throws(() => buildApplyParameters({ ...apply, peerSetKey: key }), ValidationError, key);
      assert.ok(!documentPattern('peerSetKey').test(key), key);
    }
    for (const bucket of ['https://s3.amazonaws.com/b', 's3://b', 'B', 'ab', '-ab', 'ab-', 'a/b', 'a'.repeat(64), 'a_b', 'a b']) {
      assert.throws(() => buildApplyParameters({ ...apply, peerSetBucket: bucket }), ValidationError, bucket);
      assert.ok(!documentPattern('peerSetBucket').test(bucket), bucket);
    }
  });

  it('agrees with the documents on valid values', () => {
    for (const [name, value] of Object.entries(valid) as [ParameterName, string][]) {
      assert.ok(documentPattern(name).test(name === 'address' ? `${value}/24` : name === 'address6' ? `${value}/112` : value), name);
      assert.doesNotThrow(() => builders[name]!(value), name);
    }
  });

  it('refuses every hostile value before sending, naming the parameter, exactly where the document refuses it', () => {
    let checked = 0;
    for (const [name, base] of Object.entries(valid) as [ParameterName, string][]) {
      const values = [...HOSTILE_SUFFIXES.map((s) => base + s), ...HOSTILE_SUFFIXES.map((s) => s + base), "x'; reboot; echo '"];
      for (const value of values) {
        // What reaches the document for this input (init appends the prefix to a bare address).
        const sent = name === 'address' ? `${value}/24` : name === 'address6' ? `${value}/112` : value;
        assert.ok(!documentPattern(name).test(sent), `document pattern of ${name} accepts ${JSON.stringify(sent)}`);
        assert.throws(
          () => builders[name]!(value),
          (e: unknown) => e instanceof ValidationError && e.field === name,
          `${name} accepts ${JSON.stringify(value)}`,
        );
        checked++;
      }
    }
    assert.ok(checked > 300);
  });

  it('accepts before sending exactly what the document accepts, on a wider table', () => {
    for (const [name, base] of Object.entries(valid) as [ParameterName, string][]) {
      for (const value of [...HOSTILE_SUFFIXES, ...OTHER_SUFFIXES].flatMap((s) => [base + s, s + base, s])) {
        const sent = name === 'address' ? `${value}/24` : name === 'address6' ? `${value}/112` : value;
        let accepted = true;
        try {
          builders[name]!(value);
        } catch (e) {
          assert.ok(e instanceof ValidationError && e.field === name, `${name}: ${String(e)}`);
          accepted = false;
        }
        assert.equal(accepted, documentPattern(name).test(sent), `${name} = ${JSON.stringify(value)}`);
      }
    }
  });

  it('refuses a generation that is not a non-negative safe integer', () => {
    for (const generation of [-1, 1.5, Number.NaN, 2 ** 60]) {
      assert.throws(() => buildApplyParameters({ ...apply, generation }), ValidationError);
    }
  });

  it('validates a complete set like SSM: defaults filled, unknown and missing names refused', () => {
    const filled = validateCommandParameters('apply', buildApplyParameters(apply));
    assert.equal(filled.stateDir, '/etc/wireguard');
    assert.throws(() => validateCommandParameters('apply', { ...buildApplyParameters(apply), commands: ['id'] }), /commands/);
    const { generation: _, ...missing } = buildApplyParameters(apply);
    assert.throws(() => validateCommandParameters('apply', missing), (e: unknown) => e instanceof ValidationError && e.field === 'generation');
    assert.throws(() => validateCommandParameters('apply', { ...buildApplyParameters(apply), generation: ['1', '2'] }), ValidationError);
  });
});

describe('gateway command output', () => {
  const key = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';

  it('reads the public key from init output among other lines', () => {
    assert.deepEqual(parseInitOutput(`installing\nWG_INGRESS_PUBLIC_KEY=${key}\nWG_INGRESS_INIT_OK\n`), { publicKey: key });
  });

  it('refuses init output without exactly one valid key line or without the OK line', () => {
    for (const out of [
      'WG_INGRESS_INIT_OK\n',
      `WG_INGRESS_PUBLIC_KEY=${key}\n`,
      `WG_INGRESS_PUBLIC_KEY=${key}\nWG_INGRESS_PUBLIC_KEY=${key}\nWG_INGRESS_INIT_OK\n`,
      'WG_INGRESS_PUBLIC_KEY=not-a-key\nWG_INGRESS_INIT_OK\n',
      '',
    ]) {
      assert.throws(() => parseInitOutput(out), GatewayOutputError, JSON.stringify(out));
    }
  });

  it('reads applied and skipped apply output', () => {
    assert.deepEqual(parseApplyOutput('WG_INGRESS_APPLIED generation=12 peers=1000\n'), { outcome: 'applied', generation: 12, peers: 1000 });
    assert.deepEqual(parseApplyOutput('WG_INGRESS_APPLY_SKIPPED generation=3 applied=12\n'), {
      outcome: 'skipped',
      generation: 3,
      appliedGeneration: 12,
    });
    assert.throws(() => parseApplyOutput('something else\n'), GatewayOutputError);
  });
});
