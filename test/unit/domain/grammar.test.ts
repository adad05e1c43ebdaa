// One corpus of valid and hostile values, run through every consumer of the grammar: (a) the API's
// zod schemas and the TypeScript checks made before anything is sent, (b) the SSM documents'
// allowedPatterns as the built documents carry them (as JavaScript RegExps, and through Java's
// regex engine when `java` is on PATH), and (c) the apply script's peer-line check, taken from the
// built script and run by real `grep -E` and bash `[[ =~ ]]`. They must accept and refuse alike.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod/mini';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ValidationError } from '../../../functions/domain/errors.js';
import { formatAddress, tryParseAddress } from '../../../functions/domain/address-pool.js';
import {
  BLOCK,
  CIDR,
  CIDR4,
  CIDR6,
  GENERATION,
  INSTANCE_ID,
  INSTANCE_ID_PATTERN,
  INTERFACE_NAME,
  IPV4,
  IPV6,
  NAME,
  PATTERN,
  PEER_LINE,
  PEER_LINE_PATTERN,
  PEER_SET_KEY,
  PORT,
  S3_BUCKET,
  SHA256_HEX,
  WG_KEY,
} from '../../../functions/domain/grammar.js';
import {
  buildApplyParameters,
  buildInitParameters,
  buildTeardownParameters,
  isAllowedParameterValue,
  PARAMETER_PATTERNS,
  type DocumentKind,
  type ParameterName,
} from '../../../functions/domain/gateway-commands.js';
import { isWireGuardKey } from '../../../functions/domain/keys.js';
import { bucketPrefixes } from '../../../functions/domain/object-keys.js';
import { parsePeerSet, renderPeerSet } from '../../../functions/domain/peer-set.js';
import { CreateGatewayBody, InstanceId, IpAddress, Name, WireGuardKey } from '../../../functions/domain/schemas.js';
import { SsmGatewayCommands } from '../../../functions/adapters/ssm/gateway-commands.js';
import { buildDocument, renderScript, scriptPath, scriptText } from '../../../infra/ssm/documents.js';

const root = new URL('../../../', import.meta.url);
const source = (path: string): string => readFileSync(new URL(path, root), 'utf8');

// --- the corpus -------------------------------------------------------------------------------------

type Kind =
  | 'key' | 'ipv4' | 'ipv6' | 'cidr4' | 'cidr6' | 'cidrList' | 'name' | 'instanceId' | 'interfaceName' | 'port' | 'generation' | 'sha256'
  | 'bucket' | 'peerSetKey';

const K1 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const K2 = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const K3 = 'cccccccccccccccccccccccccccccccccccccccccc8=';
const K4 = '//////////////////////////////////////////w=';

const CORPUS: Record<Kind, { valid: string[]; invalid: string[] }> = {
  key: {
    valid: [K1, K2, K3, K4, 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw='],
    invalid: [
      '', K1.slice(1), `A${K1}`, K1.slice(0, -1), `${K1.slice(0, -1)}==`, `${'A'.repeat(42)}B=`, `${'-'.repeat(42)}A=`,
      `${'_'.repeat(42)}A=`, `${'A'.repeat(42)}A`, `${K2.slice(0, 20)}.${K2.slice(21)}`, `${K2.slice(0, 20)}=${K2.slice(21)}`,
    ],
  },
  ipv4: {
    valid: ['0.0.0.0', '10.100.0.5', '192.168.1.10', '255.255.255.255', '1.2.3.4', '100.64.99.199'],
    invalid: [
      '', '010.0.0.1', '10.0.0.01', '10.00.0.1', '256.0.0.1', '1.2.3.300', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.',
      '1.2.3.-1', '+1.2.3.4', '0x1.2.3.4', '１.2.3.4', '1,2,3,4', '01.2.3.4', '1.2.3.4a', 'a.b.c.d', '1.2.3.4/32', '1.2.3.4:53',
    ],
  },
  ipv6: {
    valid: [
      '::', '::1', 'fd00::1', 'fd00:100::5', '2001:db8::1', '1:2:3:4:5:6:7:8', '1::', '1:0:0:2::', 'fe80::1:2:3:4:5',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '1:2:3:4:5:6::', '::2:3:4:5:6:7', '1:2:3:4:5::8', '1:0:2:3:4:5:6:7', 'abcd::ef01',
    ],
    invalid: [
      '', ':', ':::', 'fd00:::1', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7',
      '1::2:3:4:5:6:7', 'fd00::01', 'fd00:0000::1', '12345::', 'g::1', 'fd00::1%eth0', '::ffff:1.2.3.4', '::1.2.3.4', '[fd00::1]',
      'fd00::/64', 'fd00::1:', ':fd00::1', 'fd00:1', 'fd00', '１::1',
    ],
  },
  cidr4: {
    valid: ['0.0.0.0/0', '10.0.0.0/8', '10.100.0.0/24', '10.100.0.5/32', '192.168.10.0/24', '172.16.0.0/12', '1.2.3.4/32'],
    invalid: [
      '', '10.0.0.0/33', '10.0.0.0/99', '10.0.0.0/024', '10.0.0.0/08', '10.0.0.0/-1', '010.0.0.0/8', '10.0.0/8', '10.0.0.0',
      '10.0.0.0/', '/8', '10.0.0.0/8/8', '10.0.0.0 /8', '10.0.0.0/ 8', '256.0.0.0/8', '10.0.0.0/8,', '10.0.0.0\\8', '10.0.0.0/３',
    ],
  },
  cidr6: {
    valid: ['::/0', 'fd00::/64', 'fd00:100::/112', '2001:db8::1/128', 'fd00:100::5/128', '1:2:3:4:5:6:7:8/128', 'fe80::/10'],
    invalid: [
      '', 'fd00::/129', 'fd00::/200', 'fd00::/064', 'fd00::/08', 'fd00::', 'fd00:::/64', 'fd00::%eth0/64', '::ffff:1.2.3.4/128',
      'fd00::/64/64', 'fd00::/', '[fd00::]/64', 'fd00::01/64', 'fd00::/6 4', 'fd00::/64,',
    ],
  },
  cidrList: {
    valid: [
      '10.0.0.0/8', '10.0.0.0/8,fd00::/64', '0.0.0.0/0,::/0', '10.100.0.0/24,fd00:100::/112',
      Array.from({ length: 64 }, (_, i) => `10.${i}.0.0/16`).join(','),
    ],
    invalid: [
      '10.0.0.0/8,', ',10.0.0.0/8', '10.0.0.0/8,,fd00::/64', '10.0.0.0/8, fd00::/64', '10.0.0.0/8;fd00::/64', '10.0.0.0/8 fd00::/64',
      Array.from({ length: 65 }, (_, i) => `10.${i}.0.0/16`).join(','), '10.0.0.0/8,FD00::/64', '10.0.0.0/8,10.0.0.0',
    ],
  },
  name: {
    valid: ['a', 'Z', '0', 'brisk-otter-27', 'a_b', 'a-', 'A'.repeat(32), 'office', 'n2'],
    invalid: ['', '-a', '_a', 'A'.repeat(33), 'a.b', 'a/b', 'a b', 'é', 'a:b', 'a=b', 'a+b', 'a@b', '..'],
  },
  instanceId: {
    valid: ['i-0123abcd', 'i-0123456789abcdef0', 'i-0e2e0000000000001', 'i-ffffffff'],
    invalid: [
      '', 'i-', 'i-0123ABCD', 'i-0123abc', 'i-0123abcde', 'i-0123456789abcdef', 'i-0123456789abcdef01', 'x-0123abcd',
      'i0123abcd', 'I-0123abcd', 'mi-0123456789abcdef0', 'i-0123456789abcdeg0', 'i_0123abcd', 'i-0123abcd-1', 'i-０123abcd',
    ],
  },
  interfaceName: {
    valid: ['wg0', 'wgi-0a1b2c3d4e', 'wg-ingress', 'a', 'A'.repeat(15), 'x_y-z_1', 'wgigabc123'],
    invalid: [
      '', 'A'.repeat(16), '0wg', '-wg', '_wg', '.', '..', '.wg', 'wg.0', 'wg=0', 'wg+0', 'wg/0', 'wg:0', 'wg@0', 'wg%i', 'ẃg0',
    ],
  },
  port: {
    valid: ['1', '53', '443', '9999', '10000', '51820', '59999', '64999', '65499', '65529', '65535'],
    invalid: ['', '0', '00', '01', '051820', '65536', '65540', '70000', '99999', '123456', '-1', '+1', '1e3', '0x10', '５', '1.0', '5 1'],
  },
  generation: {
    valid: ['0', '1', '7', '1700000000000', '123456789012345', '999999999999999'],
    invalid: ['', '00', '01', '1234567890123456', '-1', '+1', '1.0', '1e3', '0x1', '１', '1_000'],
  },
  sha256: {
    valid: ['0'.repeat(64), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'deadbeef'.repeat(8)],
    invalid: ['', '0'.repeat(63), '0'.repeat(65), 'DEADBEEF'.repeat(8), 'g'.repeat(64), `${'0'.repeat(63)}G`, ` ${'0'.repeat(63)}`],
  },
  bucket: {
    valid: ['abc', 'wg-ingress-local', 'wg-ingress-databucket83908e77-1a2b3c4d5e6f', 'my.bucket.example', 'a'.repeat(63), '0ab'],
    invalid: [
      '', 'ab', 'a'.repeat(64), 'Abc', 'ABC', '-abc', 'abc-', '.abc', 'abc.', 'a_b', 'a/b', 'a:b', 's3://abc',
      'https://s3.amazonaws.com/abc', 'abc/key', 'a+b', 'a=b', 'a%b',
    ],
  },
  peerSetKey: {
    valid: [
      'peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf',
      'peer-sets/office/gw-3k9x2m7q00/176463360000000-0123456789abcdef.conf',
      `peer-sets/${'A'.repeat(32)}/gw-0123456789/999999999999999-ffffffffffffffff.conf`,
      'peer-sets/brisk-otter_27/gw-zzzzzzzzzz/7-abcdefabcdefabcd.conf',
    ],
    invalid: [
      '', 'peer-sets/', 'peer-sets/n/gw-aaaaaaaaaa/', 'downloads/n/gw-aaaaaaaaaa/0-0000000000000000.conf',
      '/peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf', 'peer-sets//gw-aaaaaaaaaa/0-0000000000000000.conf',
      'peer-sets/../gw-aaaaaaaaaa/0-0000000000000000.conf', 'peer-sets/n/../0-0000000000000000.conf',
      'peer-sets/n/gw-aaaaaaaaaa/../0-0000000000000000.conf', 'peer-sets/-n/gw-aaaaaaaaaa/0-0000000000000000.conf',
      `peer-sets/${'A'.repeat(33)}/gw-aaaaaaaaaa/0-0000000000000000.conf`, 'peer-sets/n/gw-AAAAAAAAAA/0-0000000000000000.conf',
      'peer-sets/n/gw-aaaaaaaaa/0-0000000000000000.conf', 'peer-sets/n/gw-aaaaaaaaaa/00-0000000000000000.conf',
      'peer-sets/n/gw-aaaaaaaaaa/0-000000000000000.conf', 'peer-sets/n/gw-aaaaaaaaaa/0-00000000000000000.conf',
      'peer-sets/n/gw-aaaaaaaaaa/0-000000000000000G.conf', 'peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.CONF',
      'peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000xconf', 'peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf/x',
      'peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf?X-Amz-Signature=ab',
      'https://b.s3.amazonaws.com/peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf',
      's3://b/peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf', 'file:///peer-sets/n/gw-aaaaaaaaaa/0-0000000000000000.conf',
      'peer-sets/n/gw-aaaaaaaaaa/1234567890123456-0000000000000000.conf',
    ],
  },
};

// What an attacker would try against anything that ends up in a file, a parameter or a script: never
// part of any token, so each one ruins every valid value it is put into, wherever it goes.
const HOSTILE = [
  "'", '"', '`id`', '$(id)', '${IFS}', ';reboot', '&&id', '|id', '>x', '<x', '*', '?', '#', '!', '~', '\\', ' ', '\t',
  '\n', '\nreboot', '\r', '\r\n', '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\u200b',
  '\ufeff', 'é', 'а', '\ud83d\ude00',
];

interface Case {
  kind: Kind;
  value: string;
  valid: boolean;
}

function corpusCases(): Case[] {
  const cases: Case[] = [];
  for (const [kind, { valid, invalid }] of Object.entries(CORPUS) as [Kind, (typeof CORPUS)[Kind]][]) {
    for (const value of valid) cases.push({ kind, value, valid: true });
    for (const value of invalid) cases.push({ kind, value, valid: false });
    const base = valid[1] ?? valid[0]!;
    const mid = Math.floor(base.length / 2);
    for (const h of HOSTILE) {
      for (const value of [h, base + h, h + base, base.slice(0, mid) + h + base.slice(mid), base + h + base]) {
        cases.push({ kind, value, valid: false });
      }
    }
  }
  return cases;
}
const CASES = corpusCases();

// --- the consumers ----------------------------------------------------------------------------------

/** true: accepted; false: refused with a ValidationError (anything else is a bug and is thrown). */
function accepts(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (err) {
    if (err instanceof ValidationError) return false;
    throw err;
  }
}
const zodAccepts = (schema: z.ZodMiniType, value: unknown): boolean => schema.safeParse(value).success;

const documentPattern = (kind: DocumentKind, name: ParameterName): RegExp => {
  const p = buildDocument(kind).parameters[name];
  assert.ok(p, `the ${kind} document has no parameter ${name}`);
  return new RegExp(p.allowedPattern);
};

/** A parameter of a document: the TS gate before sending, and the document's own allowedPattern. */
interface ParameterUse {
  doc: DocumentKind;
  name: ParameterName;
  /** What is sent for a corpus value of this kind. */
  sent: (value: string) => string;
  /** The parameter may be empty (then the document's default or "nothing" applies). */
  optional?: true;
}
const same = (v: string): string => v;
const PARAMETER_USES: Partial<Record<Kind, ParameterUse[]>> = {
  ipv4: [{ doc: 'init', name: 'address', sent: (v) => `${v}/24` }],
  ipv6: [{ doc: 'init', name: 'address6', sent: (v) => `${v}/112` }],
  cidr4: [
    { doc: 'init', name: 'address', sent: same },
    { doc: 'init', name: 'networkRanges', sent: same, optional: true },
    { doc: 'init', name: 'clientRange', sent: same },
  ],
  cidr6: [
    { doc: 'init', name: 'address6', sent: same, optional: true },
    { doc: 'init', name: 'networkRanges', sent: same, optional: true },
    { doc: 'init', name: 'clientRange', sent: same },
  ],
  cidrList: [
    { doc: 'init', name: 'networkRanges', sent: same, optional: true },
    { doc: 'init', name: 'clientRange', sent: same },
  ],
  interfaceName: [
    { doc: 'init', name: 'interfaceName', sent: same },
    { doc: 'apply', name: 'interfaceName', sent: same },
    { doc: 'teardown', name: 'interfaceName', sent: same },
    { doc: 'init', name: 'egressInterface', sent: same, optional: true },
  ],
  port: [{ doc: 'init', name: 'listenPort', sent: same }],
  generation: [{ doc: 'apply', name: 'generation', sent: same }],
  sha256: [{ doc: 'apply', name: 'peerSetSha256', sent: same }],
  bucket: [{ doc: 'apply', name: 'peerSetBucket', sent: same }],
  peerSetKey: [{ doc: 'apply', name: 'peerSetKey', sent: same }],
};

type Check = (value: string) => boolean | Promise<boolean>;
/** What a parameter must do with a corpus value: an optional one also takes the empty string. */
const wanted = (use: ParameterUse, c: Case): boolean => c.valid || (use.optional === true && use.sent(c.value) === '');

const applyInput = {
  interfaceName: 'wg0',
  generation: 1,
  peerSetBucket: 'wg-ingress-local',
  peerSetKey: 'peer-sets/n/gw-aaaaaaaaaa/1-0000000000000000.conf',
  peerSetSha256: '0'.repeat(64),
};
const gateway = { interfaceName: 'wg0', listenPort: 51820, address: '10.100.0.1', routedRanges: [], fullTunnel: false };
const network = { addressRange: '10.100.0.0/24' };
const ssm = new SsmGatewayCommands({ send: async () => ({ Command: { CommandId: 'c-1' } }) } as unknown as SSMClient, {
  initDocumentName: 'init',
  applyDocumentName: 'apply',
  teardownDocumentName: 'teardown',
  reportDocumentName: 'report',
});
async function ssmAdapterAccepts(instanceId: string): Promise<boolean> {
  try {
    await ssm.sendTeardown(instanceId, buildTeardownParameters({ interfaceName: 'wg0' }));
    return true;
  } catch (err) {
    if (err instanceof ValidationError && err.field === 'instanceId') return false;
    throw err;
  }
}
const routedRangeAccepted = (v: string): boolean =>
  zodAccepts(CreateGatewayBody, { instanceId: 'i-0123abcd', endpoint: 'vpn.example.com', routedRanges: [v] });

/** (a): the API's schemas and the checks the control plane makes before it sends or renders. */
const TS_CHECKS: Record<Kind, Record<string, Check>> = {
  key: {
    'grammar WG_KEY': (v) => WG_KEY.test(v),
    'zod WireGuardKey': (v) => zodAccepts(WireGuardKey, v),
    isWireGuardKey: (v) => isWireGuardKey(v),
    'renderPeerSet publicKey': (v) => accepts(() => renderPeerSet([{ publicKey: v, allowedIps: ['10.0.0.1/32'] }])),
    'renderPeerSet presharedKey': (v) =>
      accepts(() => renderPeerSet([{ publicKey: K1, presharedKey: v, allowedIps: ['10.0.0.1/32'] }])),
  },
  ipv4: {
    'grammar IPV4': (v) => IPV4.test(v),
    // A DNS entry; IPv4 has one spelling, so the API's parser takes exactly the grammar's.
    'zod IpAddress': (v) => zodAccepts(IpAddress, v),
    'renderPeerSet allowedIps': (v) => accepts(() => renderPeerSet([{ publicKey: K1, allowedIps: [`${v}/32`] }])),
  },
  ipv6: {
    // zod's IpAddress takes any RFC 4291 spelling and the API stores it canonical: see the
    // non-canonical test below.
    'grammar IPV6': (v) => IPV6.test(v),
    'renderPeerSet allowedIps': (v) => accepts(() => renderPeerSet([{ publicKey: K1, allowedIps: [`${v}/128`] }])),
  },
  cidr4: {
    'grammar CIDR4': (v) => CIDR4.test(v),
    'grammar CIDR': (v) => CIDR.test(v),
    'zod routedRanges': routedRangeAccepted,
    'renderPeerSet allowedIps': (v) => accepts(() => renderPeerSet([{ publicKey: K1, allowedIps: [v] }])),
    'buildInitParameters routedRanges': (v) =>
      accepts(() => buildInitParameters({ ...gateway, routedRanges: ['10.9.0.0/16', v] }, network)),
  },
  cidr6: {
    'grammar CIDR6': (v) => CIDR6.test(v),
    'grammar CIDR': (v) => CIDR.test(v),
    'zod routedRanges': routedRangeAccepted,
    'renderPeerSet allowedIps': (v) => accepts(() => renderPeerSet([{ publicKey: K1, allowedIps: [v] }])),
    'buildInitParameters routedRanges': (v) =>
      accepts(() => buildInitParameters({ ...gateway, routedRanges: ['10.9.0.0/16', v] }, network)),
  },
  cidrList: {
    'grammar CIDR_LIST': (v) => new RegExp(PATTERN.CIDR_LIST).test(v),
  },
  name: {
    'grammar NAME': (v) => NAME.test(v),
    'zod Name': (v) => zodAccepts(Name, v),
  },
  instanceId: {
    'grammar INSTANCE_ID': (v) => INSTANCE_ID.test(v),
    'zod InstanceId': (v) => zodAccepts(InstanceId, v),
    'zod CreateGatewayBody.instanceId': (v) => zodAccepts(CreateGatewayBody, { instanceId: v, endpoint: 'vpn.example.com' }),
    'SSM adapter sendTeardown': ssmAdapterAccepts,
  },
  interfaceName: {
    'grammar INTERFACE_NAME': (v) => INTERFACE_NAME.test(v),
    buildTeardownParameters: (v) => accepts(() => buildTeardownParameters({ interfaceName: v })),
  },
  port: {
    'grammar PORT': (v) => PORT.test(v),
    'buildInitParameters listenPort': (v) =>
      accepts(() => buildInitParameters({ ...gateway, listenPort: v as unknown as number }, network)),
  },
  generation: { 'grammar GENERATION': (v) => GENERATION.test(v) },
  sha256: { 'grammar SHA256_HEX': (v) => SHA256_HEX.test(v) },
  bucket: {
    'grammar S3_BUCKET': (v) => S3_BUCKET.test(v),
    'buildApplyParameters peerSetBucket': (v) => accepts(() => buildApplyParameters({ ...applyInput, peerSetBucket: v })),
  },
  peerSetKey: {
    'grammar PEER_SET_KEY': (v) => PEER_SET_KEY.test(v),
    'buildApplyParameters peerSetKey': (v) => accepts(() => buildApplyParameters({ ...applyInput, peerSetKey: v })),
  },
};
for (const [kind, uses] of Object.entries(PARAMETER_USES) as [Kind, ParameterUse[]][]) {
  for (const use of uses) TS_CHECKS[kind][`TS gate ${use.name}`] = (v) => isAllowedParameterValue(use.name, use.sent(v));
}
const tsWanted = (consumer: string, kind: Kind, c: Case): boolean => {
  const use = (PARAMETER_USES[kind] ?? []).find((u) => consumer === `TS gate ${u.name}`);
  return use ? wanted(use, c) : c.valid;
};

/** (c): the peer-set lines a value of this kind can be in, each in the smallest valid peer set around it. */
function peerLines(kind: Kind, v: string): { line: string; text: string }[] {
  const inPeer = (line: string) => ({ line, text: `[Peer]\nPublicKey = ${K2}\n${line}\n` });
  switch (kind) {
    case 'key':
      return [{ line: `PublicKey = ${v}`, text: `[Peer]\nPublicKey = ${v}\n` }, inPeer(`PresharedKey = ${v}`)];
    case 'ipv4':
      return [inPeer(`AllowedIPs = ${v}/32`), inPeer(`AllowedIPs = 10.0.0.1/32, ${v}/32`)];
    case 'ipv6':
      return [inPeer(`AllowedIPs = ${v}/128`), inPeer(`AllowedIPs = 10.0.0.1/32, ${v}/128`)];
    case 'cidr4':
    case 'cidr6':
      return [inPeer(`AllowedIPs = ${v}`), inPeer(`AllowedIPs = 10.0.0.1/32, ${v}`), inPeer(`AllowedIPs = ${v}, fd00::1/128`)];
    default:
      return [];
  }
}

const parsePeerSetAccepts = (text: string): boolean => accepts(() => parsePeerSet(text));

// The apply script's check, exactly as the built script defines it.
const builtApply = renderScript('apply', {
  interfaceName: 'wg0',
  generation: '1',
  peerSetBucket: 'wg-ingress-local',
  peerSetKey: 'peer-sets/n/gw-aaaaaaaaaa/1-0000000000000000.conf',
  peerSetSha256: '0'.repeat(64),
  stateDir: '/etc/wireguard',
});
const PEER_LINE_RE_LINE = builtApply.split('\n').find((l) => l.startsWith('PEER_LINE_RE='));
const SHELL_ENV = { ...process.env, LC_ALL: 'C' };

/** grep -E over many single-line inputs at once: which of them it accepts. */
function grepAcceptsLines(lines: string[]): boolean[] {
  const r = spawnSync('bash', ['-c', `${PEER_LINE_RE_LINE}\nexec grep -anE -- "$PEER_LINE_RE"`], {
    input: Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8'),
    env: SHELL_ENV,
    maxBuffer: 1 << 28,
  });
  assert.ok(r.status === 0 || r.status === 1, `grep failed: ${r.stderr.toString()}`);
  const accepted = new Set(
    r.stdout.toString('latin1').split('\n').filter(Boolean).map((l) => Number(l.slice(0, l.indexOf(':'))) - 1),
  );
  return lines.map((_, i) => accepted.has(i));
}

/** The apply script's own command on a whole peer-set text: `grep -qvE` finds a refused line or not. */
function scriptAcceptsText(text: string): boolean {
  const r = spawnSync('bash', ['-c', `${PEER_LINE_RE_LINE}\nif grep -qvE "$PEER_LINE_RE"; then exit 1; fi`], {
    input: Buffer.from(text, 'utf8'),
    env: SHELL_ENV,
  });
  assert.ok(r.status === 0 || r.status === 1, `grep failed: ${r.stderr.toString()}`);
  return r.status === 0;
}

/** bash `[[ line =~ $PEER_LINE_RE ]]`, one bash for all lines (NUL-separated: a bash string holds no NUL). */
function bashAcceptsLines(lines: string[]): boolean[] {
  const loop = `while IFS= read -r -d '' l; do if [[ $l =~ $PEER_LINE_RE ]]; then printf 1; else printf 0; fi; done`;
  const r = spawnSync('bash', ['-c', `${PEER_LINE_RE_LINE}\n${loop}`], {
    input: Buffer.from(lines.map((l) => `${l}\u0000`).join(''), 'utf8'),
    env: SHELL_ENV,
    maxBuffer: 1 << 24,
  });
  assert.equal(r.status, 0, r.stderr.toString());
  const out = r.stdout.toString();
  assert.equal(out.length, lines.length, 'bash answered for a different number of lines');
  return [...out].map((c) => c === '1');
}

/** Java's regex engine, as SSM's allowedPattern is checked: find(), the laxer of find() and matches(). */
function javaFinds(pairs: { pattern: string; value: string }[]): boolean[] | undefined {
  if (spawnSync('java', ['-version']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'wgi-grammar-java-'));
  try {
    const file = join(dir, 'GrammarCheck.java');
    writeFileSync(
      file,
      `import java.io.*; import java.nio.charset.StandardCharsets; import java.util.*; import java.util.regex.*;
public class GrammarCheck {
  public static void main(String[] args) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    Base64.Decoder b64 = Base64.getDecoder();
    Map<String, Pattern> compiled = new HashMap<>();
    StringBuilder out = new StringBuilder();
    for (String line; (line = in.readLine()) != null;) {
      if (line.isEmpty()) continue;
      int tab = line.indexOf('\\t');
      String pattern = new String(b64.decode(line.substring(0, tab)), StandardCharsets.UTF_8);
      String value = new String(b64.decode(line.substring(tab + 1)), StandardCharsets.UTF_8);
      out.append(compiled.computeIfAbsent(pattern, Pattern::compile).matcher(value).find() ? '1' : '0');
    }
    System.out.print(out);
  }
}
`,
    );
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const r = spawnSync('java', [file], {
      input: pairs.map((p) => `${b64(p.pattern)}\t${b64(p.value)}\n`).join(''),
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.length, pairs.length);
    return [...r.stdout].map((c) => c === '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- the agreement ------------------------------------------------------------------------------------

interface Disagreement {
  consumer: string;
  kind: Kind;
  value: string;
  got: boolean;
  want: boolean;
}
const describeDisagreements = (list: Disagreement[]): string =>
  `${list.length} disagreement(s):\n` +
  list
    .slice(0, 25)
    .map((d) => `  ${d.consumer} ${d.got ? 'accepts' : 'refuses'} ${d.kind} ${JSON.stringify(d.value)}, the corpus says ${d.want ? 'valid' : 'invalid'}`)
    .join('\n');

describe('one grammar, three regex engines', () => {
  it('has a corpus with valid and invalid values of every kind', () => {
    for (const kind of Object.keys(CORPUS) as Kind[]) {
      assert.ok(CASES.some((c) => c.kind === kind && c.valid) && CASES.some((c) => c.kind === kind && !c.valid), kind);
    }
    assert.ok(CASES.length > 1500, String(CASES.length));
  });

  it('(a) the API schemas and the checks before sending accept exactly the valid values', async () => {
    const wrong: Disagreement[] = [];
    for (const c of CASES) {
      for (const [consumer, check] of Object.entries(TS_CHECKS[c.kind])) {
        const got = await check(c.value);
        const want = tsWanted(consumer, c.kind, c);
        if (got !== want) wrong.push({ consumer, kind: c.kind, value: c.value, got, want });
      }
    }
    assert.deepEqual(wrong, [], describeDisagreements(wrong));
  });

  it("(b) the built SSM documents' allowedPatterns accept exactly the valid values (JavaScript RegExp)", () => {
    const wrong: Disagreement[] = [];
    for (const c of CASES) {
      for (const use of PARAMETER_USES[c.kind] ?? []) {
        const got = documentPattern(use.doc, use.name).test(use.sent(c.value));
        const want = wanted(use, c);
        if (got !== want) wrong.push({ consumer: `SSM ${use.doc}.${use.name}`, kind: c.kind, value: c.value, got, want });
      }
    }
    assert.deepEqual(wrong, [], describeDisagreements(wrong));
  });

  it("(b) Java reads the documents' patterns alike, but for a final line break (why the TypeScript check is the gate)", (t) => {
    const pairs = CASES.flatMap((c) =>
      (PARAMETER_USES[c.kind] ?? []).map((use) => ({
        c,
        use,
        pattern: buildDocument(use.doc).parameters[use.name]!.allowedPattern,
        value: use.sent(c.value),
      })),
    );
    const java = javaFinds(pairs);
    if (!java) return t.skip('java is not on PATH');
    const wrong: Disagreement[] = [];
    pairs.forEach(({ c, use, pattern, value }, i) => {
      // Java's `$` also matches before one final line terminator.
      const stripped = value.replace(/(\r\n|[\n\r\u0085\u2028\u2029])$/, '');
      const want = new RegExp(pattern).test(value) || (stripped !== value && new RegExp(pattern).test(stripped));
      if (java[i] !== want) wrong.push({ consumer: `Java SSM ${use.doc}.${use.name}`, kind: c.kind, value: c.value, got: java[i]!, want });
    });
    assert.deepEqual(wrong, [], describeDisagreements(wrong));
  });

  it("(c) the apply script's peer-line check (grep -E and bash [[ =~ ]]) and the TypeScript peer-set reader agree", () => {
    assert.ok(PEER_LINE_RE_LINE, 'the built apply script defines no PEER_LINE_RE');
    assert.equal(PEER_LINE_RE_LINE, `PEER_LINE_RE='${PEER_LINE_PATTERN}'`);
    const uses = CASES.flatMap((c) => peerLines(c.kind, c.value).map((p) => ({ c, ...p })));
    assert.ok(uses.length > 500);
    const wrong: Disagreement[] = [];
    const note = (consumer: string, c: Case, got: boolean, want: boolean) => {
      if (got !== want) wrong.push({ consumer, kind: c.kind, value: c.value, got, want });
    };

    // One line each: every engine must give the corpus' verdict.
    const single = uses.filter((u) => !u.line.includes('\n'));
    const grep = grepAcceptsLines(single.map((u) => u.line));
    single.forEach((u, i) => {
      note(`grep -E on ${JSON.stringify(u.line.slice(0, 14))}…`, u.c, grep[i]!, u.c.valid);
      note('grammar PEER_LINE (JavaScript)', u.c, PEER_LINE.test(u.line), u.c.valid);
      note('parsePeerSet', u.c, parsePeerSetAccepts(u.text), u.c.valid);
    });
    // bash holds the whole value in one string, line breaks and all (only NUL cannot be in it).
    const inBash = uses.filter((u) => !u.line.includes('\u0000'));
    const bash = bashAcceptsLines(inBash.map((u) => u.line));
    inBash.forEach((u, i) => note('bash [[ =~ ]]', u.c, bash[i]!, u.c.valid));
    // A value with a line break is no longer one line: grep and parsePeerSet read the peer set line by
    // line, so they must agree on the whole text (a value ending in "\n" leaves a valid empty line;
    // renderPeerSet never writes such a value, the key and CIDR checks above refuse it first).
    for (const u of uses.filter((x) => x.line.includes('\n'))) {
      const script = scriptAcceptsText(u.text);
      const ts = parsePeerSetAccepts(u.text);
      if (script !== ts) wrong.push({ consumer: `apply script (grep -qvE) vs parsePeerSet=${ts} on the text`, kind: u.c.kind, value: u.c.value, got: script, want: ts });
    }
    assert.deepEqual(wrong, [], describeDisagreements(wrong));
  });

  it('refuses the non-canonical spellings the API canonicalizes, and accepts what the API makes of them', () => {
    const canonical: [Kind, string, string][] = [
      ['ipv6', 'FD00::1', 'fd00::1'],
      ['ipv6', 'fd00::0001', 'fd00::1'],
      ['ipv6', '2001:DB8::1', '2001:db8::1'],
      ['ipv6', '1::2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['ipv6', '0000::', '::'],
      ['ipv6', 'FFFF:0:0:0:0:0:0:1', 'ffff::1'],
      ['cidr6', 'FD00::/64', 'fd00::/64'],
      ['cidr6', 'fd00:0000::/64', 'fd00::/64'],
      ['cidr6', 'FD00:100:0:0:0:0:0:0/112', 'fd00:100::/112'],
    ];
    for (const [kind, raw, want] of canonical) {
      if (kind === 'ipv6') {
        assert.ok(zodAccepts(IpAddress, raw), raw);
        assert.equal(formatAddress(tryParseAddress(raw, 6)!, 6), want);
      } else {
        assert.ok(routedRangeAccepted(raw), raw);
      }
      const gatewaySide = (v: string): Record<string, boolean> => ({
        ...Object.fromEntries(
          Object.entries(TS_CHECKS[kind]).filter(([n]) => !n.startsWith('zod ')).map(([n, check]) => [n, check(v) as boolean]),
        ),
        ...Object.fromEntries((PARAMETER_USES[kind] ?? []).map((u) => [`SSM ${u.doc}.${u.name}`, documentPattern(u.doc, u.name).test(u.sent(v))])),
        ...Object.fromEntries(peerLines(kind, v).map((p, i) => [`peer line ${i}`, scriptAcceptsText(p.text)])),
      });
      for (const [consumer, ok] of Object.entries(gatewaySide(raw))) assert.equal(ok, false, `${consumer} accepts ${raw}`);
      for (const [consumer, ok] of Object.entries(gatewaySide(want))) assert.equal(ok, true, `${consumer} refuses ${want}`);
    }
  });

  it('accepts every address the address printer can produce', () => {
    for (let i = 0; i < 20000; i++) {
      let v6 = 0n;
      for (let g = 0; g < 8; g++) {
        const r = Math.random();
        v6 = (v6 << 16n) | BigInt(r < 0.5 ? 0 : r < 0.75 ? Math.floor(Math.random() * 16) : Math.floor(Math.random() * 65536));
      }
      if (v6 >> 32n !== 0xffffn) assert.match(formatAddress(v6, 6), IPV6);
      assert.match(formatAddress(BigInt(Math.floor(Math.random() * 2 ** 32)), 4), IPV4);
    }
    for (const text of ['::', '::1', '1::', '1:0:0:1::', '1:0:1:0:1:0:1:0']) assert.match(formatAddress(tryParseAddress(text, 6)!, 6), IPV6);
  });
});

describe('the grammar is the only copy', () => {
  it('uses only syntax that JavaScript, Java and POSIX ERE read alike', () => {
    const sources: [string, string][] = [
      ...Object.entries(PATTERN).map(([k, v]): [string, string] => [`PATTERN.${k}`, v]),
      ...Object.entries(BLOCK).map(([k, v]): [string, string] => [`BLOCK.${k}`, v]),
      ...Object.entries(PARAMETER_PATTERNS).map(([k, v]): [string, string] => [`PARAMETER_PATTERNS.${k}`, v]),
    ];
    for (const [name, re] of sources) {
      assert.doesNotMatch(re, /\(\?|\\[dDsSwWbBnrtuxp0-9]|[*+?}]\?/, `${name}: non-capturing group, lookaround, class escape or lazy quantifier`);
      let inBracket = false;
      for (let i = 0; i < re.length; i++) {
        const ch = re[i]!;
        if (inBracket) {
          assert.ok(ch !== '\\' && ch !== '[', `${name}: "${ch}" inside a bracket expression at ${i}`);
          if (ch === ']') inBracket = false;
        } else if (ch === '[') {
          assert.notEqual(re[i + 1], ']', `${name}: "]" first in a bracket expression`);
          assert.notEqual(re[i + 1], '^', `${name}: negated bracket expression`);
          inBracket = true;
        } else if (ch === '\\') {
          assert.ok('.[]'.includes(re[i + 1]!), `${name}: escape \\${re[i + 1]} at ${i}`);
          i++;
        } else if (ch === '{') {
          assert.match(re.slice(i), /^\{[0-9]+(,[0-9]+)?\}/, `${name}: a brace that is not a bounded repeat at ${i}`);
        } else if ((ch === '^' && i !== 0) || (ch === '$' && i !== re.length - 1)) {
          assert.fail(`${name}: anchor in the middle at ${i}`);
        }
      }
      assert.ok(!inBracket, `${name}: unclosed bracket expression`);
      assert.doesNotThrow(() => new RegExp(re, 'u'), name);
      const posix = spawnSync('grep', ['-E', '--', re], { input: '', env: SHELL_ENV });
      assert.equal(posix.status, 1, `${name}: grep -E cannot compile it: ${posix.stderr.toString()}`);
    }
    for (const [name, re] of Object.entries(PATTERN)) assert.ok(re.startsWith('^') && re.endsWith('$'), name);
  });

  it("spells the peer-set key under bucketPrefixes.peerSets, the prefix the worker writes and the gateway policy reads", () => {
    assert.ok(BLOCK.PEER_SET_KEY.startsWith(bucketPrefixes.peerSets.prefix));
    assert.ok(BLOCK.PEER_SET_KEY.includes(BLOCK.NAME) && BLOCK.PEER_SET_KEY.includes(BLOCK.GATEWAY_ID) && BLOCK.PEER_SET_KEY.includes(BLOCK.GENERATION));
  });

  it('gives infra/local and the rest the instance id rule as a string and a RegExp', () => {
    assert.equal(INSTANCE_ID_PATTERN, '^i-([0-9a-f]{8}|[0-9a-f]{17})$');
    assert.equal(INSTANCE_ID.source, INSTANCE_ID_PATTERN);
  });

  it('leaves no hand-written copy of a token in the scripts, the parameter table, the peer set or the schemas', () => {
    const apply = readFileSync(scriptPath('apply'), 'utf8');
    assert.match(apply, /^PEER_LINE_RE='%%PEER_LINE_PATTERN%%'$/m);
    assert.ok(scriptText('apply').includes(PEER_LINE_PATTERN));
    // Pieces of a key, an octet, a prefix or an IPv6 group pattern.
    const COPY = /25\[0-5\]|3\[0-2\]|12\[0-8\]|\[A-Za-z0-9\+\/\]|AEIMQUY|0-9a-fA-F|\[0-9a-f\]\{|\{42\}|KEY_RE|OCTET|CIDR_RE|i-\[0-9a-f\]/;
    for (const kind of ['init', 'apply', 'teardown'] as const) {
      assert.doesNotMatch(readFileSync(scriptPath(kind), 'utf8'), COPY, `infra/gateway/${kind}.sh`);
    }
    for (const file of [
      'functions/domain/gateway-commands.ts',
      'functions/domain/peer-set.ts',
      'functions/domain/patterns.ts',
      'functions/domain/schemas.ts',
      'functions/domain/keys.ts',
      'functions/adapters/ssm/gateway-commands.ts',
      'infra/ssm/documents.ts',
    ]) {
      assert.doesNotMatch(source(file), COPY, file);
    }
    assert.match(source('functions/domain/grammar.ts'), COPY, 'the test would not notice a copy');
  });
});
