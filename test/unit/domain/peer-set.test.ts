import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ValidationError } from '../../../functions/domain/errors.js';
import { generateKeyPair, generatePresharedKey } from '../../../functions/domain/keys.js';
import { parsePeerSet, partitionRenderable, peerSetDigest, renderPeerSet, type PeerCandidate, type PeerSetEntry } from '../../../functions/domain/peer-set.js';
import { scriptText } from '../../../infra/ssm/documents.js';

const K1 = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const K2 = 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=';
const K3 = 'cccccccccccccccccccccccccccccccccccccccccc8=';
const PSK = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';

/** The apply script's own line check: its PEER_LINE_RE line as built, run with grep -E as the script does. */
function scriptAcceptsLines(lines: string[]): boolean[] {
  const defs = scriptText('apply')
    .split('\n')
    .filter((l) => /^PEER_LINE_RE=/.test(l))
    .join('\n');
  assert.ok(defs, 'apply.sh has no PEER_LINE_RE line');
  return lines.map((line) => {
    const r = spawnSync('bash', ['-c', `${defs}\nexport LC_ALL=C; printf '%s\\n' "$1" | grep -qxE "$PEER_LINE_RE"`, 'check', line]);
    return r.status === 0;
  });
}

describe('peer set', () => {
  it('renders the agreed format, sorted by public key', () => {
    const text = renderPeerSet([
      { publicKey: K3, allowedIps: ['10.100.0.7/32'] },
      { publicKey: K1, presharedKey: PSK, allowedIps: ['10.100.0.5/32', 'fd00:100::5/128'] },
      { publicKey: K2, allowedIps: ['10.100.0.6/32'] },
    ]);
    assert.equal(
      text,
      `[Peer]\nPublicKey = ${K1}\nPresharedKey = ${PSK}\nAllowedIPs = 10.100.0.5/32, fd00:100::5/128\n\n` +
        `[Peer]\nPublicKey = ${K2}\nAllowedIPs = 10.100.0.6/32\n\n` +
        `[Peer]\nPublicKey = ${K3}\nAllowedIPs = 10.100.0.7/32\n\n`,
    );
  });

  it('gives the same bytes and digest for the same set in any order', () => {
    const peers: PeerSetEntry[] = Array.from({ length: 50 }, (_, i) => ({
      publicKey: generateKeyPair().publicKey,
      ...(i % 3 ? {} : { presharedKey: generatePresharedKey() }),
      allowedIps: [`10.100.${i >> 8}.${i & 255}/32`],
    }));
    const a = renderPeerSet(peers);
    const b = renderPeerSet([...peers].reverse());
    assert.equal(a, b);
    assert.equal(peerSetDigest(a), peerSetDigest(Buffer.from(b)));
  });

  it('digests like sha256sum', () => {
    const text = renderPeerSet([{ publicKey: K1, allowedIps: ['10.100.0.5/32'] }]);
    const r = spawnSync('sha256sum', [], { input: text, encoding: 'utf8' });
    assert.equal(peerSetDigest(text), r.stdout.split(' ')[0]);
    assert.equal(peerSetDigest(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('renders an empty set as no bytes', () => {
    assert.equal(renderPeerSet([]), '');
    assert.deepEqual(parsePeerSet(''), []);
  });

  it('reads back what it renders', () => {
    const peers = [
      { publicKey: K1, presharedKey: PSK, allowedIps: ['10.100.0.5/32', 'fd00:100::5/128'] },
      { publicKey: K2, allowedIps: ['10.100.0.6/32'] },
    ];
    assert.deepEqual(parsePeerSet(renderPeerSet(peers)), peers);
  });

  it('refuses to render anything outside the format', () => {
    const bad: PeerSetEntry[][] = [
      [{ publicKey: 'x', allowedIps: ['10.0.0.1/32'] }],
      [{ publicKey: K1 + '\nPostUp = id', allowedIps: ['10.0.0.1/32'] }],
      [{ publicKey: K1, presharedKey: 'nope', allowedIps: ['10.0.0.1/32'] }],
      [{ publicKey: K1, allowedIps: [] }],
      [{ publicKey: K1, allowedIps: ['10.0.0.1'] }],
      [{ publicKey: K1, allowedIps: ['10.0.0.1/32\nEndpoint = 1.2.3.4:5'] }],
      [{ publicKey: K1, allowedIps: ['10.0.0.1/32'] }, { publicKey: K1, allowedIps: ['10.0.0.2/32'] }],
    ];
    for (const peers of bad) assert.throws(() => renderPeerSet(peers), ValidationError, JSON.stringify(peers));
  });

  it('the apply script and parsePeerSet agree on every line of a table', () => {
    const lines = [
      '[Peer]',
      '',
      `PublicKey = ${K1}`,
      `PresharedKey = ${PSK}`,
      'AllowedIPs = 10.100.0.5/32',
      'AllowedIPs = 10.100.0.5/32, fd00:100::5/128',
      'AllowedIPs = 0.0.0.0/0, ::/0',
      // refused
      '[Interface]',
      '[peer]',
      ' [Peer]',
      `PublicKey = ${K1} `,
      `PublicKey=${K1}`,
      `PublicKey = ${K1.slice(1)}`,
      'PublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=',
      'AllowedIPs = 10.100.0.5/32,fd00::5/128',
      'AllowedIPs = 10.100.0.5/33',
      'AllowedIPs = 10.100.0.256/32',
      'AllowedIPs = 10.100.0.5',
      'AllowedIPs = ',
      'AllowedIPs = 10.100.0.5/32; id',
      'Endpoint = 192.0.2.1:51820',
      'PostUp = id',
      'PersistentKeepalive = 25',
      '# comment',
      `PublicKey = ${K1}\r`,
    ];
    const script = scriptAcceptsLines(lines);
    lines.forEach((line, i) => {
      // The line inside an otherwise valid set, so only the line itself decides.
      const text = line.startsWith('PublicKey')
        ? `[Peer]\n${line}\n`
        : line === '[Peer]'
          ? `${line}\nPublicKey = ${K2}\n`
          : `[Peer]\nPublicKey = ${K2}\n${line}\n`;
      let ts = true;
      try {
        parsePeerSet(text);
      } catch {
        ts = false;
      }
      assert.equal(script[i], ts, `script ${script[i]} vs parsePeerSet ${ts} on ${JSON.stringify(line)}`);
    });
  });

  it('refuses structure the apply script refuses too', () => {
    const bad = [
      `PublicKey = ${K1}\n`, // outside a [Peer]
      '[Peer]\nAllowedIPs = 10.0.0.1/32\n', // no key
      `[Peer]\nPublicKey = ${K1}\nPublicKey = ${K2}\n`,
      `[Peer]\nPublicKey = ${K1}\n[Peer]\nPublicKey = ${K1}\n`,
      `[Peer]\nPublicKey = ${K1}`, // no final newline
    ];
    for (const text of bad) assert.throws(() => parsePeerSet(text), ValidationError, JSON.stringify(text));
  });
});

describe('partitionRenderable', () => {
  const peer = (owner: string, publicKey: string, ip: string, extra: Partial<PeerCandidate> = {}): PeerCandidate => ({
    owner,
    publicKey,
    allowedIps: [ip],
    ...extra,
  });
  const codes = (p: ReturnType<typeof partitionRenderable>) => p.leftOut.map((l) => [l.owner, l.code]);

  it('keeps every renderable peer, without its owner, and leaves nothing out', () => {
    const p = partitionRenderable([peer('a', K1, '10.0.0.2/32', { presharedKey: PSK }), peer('b', K2, '10.0.0.3/32')]);
    assert.deepEqual(p.renderable, [
      { publicKey: K1, presharedKey: PSK, allowedIps: ['10.0.0.2/32'] },
      { publicKey: K2, allowedIps: ['10.0.0.3/32'] },
    ]);
    assert.deepEqual(p.leftOut, []);
  });

  it('leaves out every peer that shares a public key (nothing tells the rightful one), naming the others', () => {
    const p = partitionRenderable([peer('a', K1, '10.0.0.2/32'), peer('b', K1, '10.0.0.3/32'), peer('c', K2, '10.0.0.4/32')]);
    assert.deepEqual(p.renderable.map((e) => e.publicKey), [K2]);
    assert.deepEqual(codes(p), [['a', 'repeated_public_key'], ['b', 'repeated_public_key']]);
    assert.equal(p.leftOut[0]!.reason, "public key is also used by 'b'");
    assert.equal(p.leftOut[1]!.reason, "public key is also used by 'a'");
  });

  it("leaves out a peer with the gateway's own key, and malformed peers, each with its reason", () => {
    const p = partitionRenderable(
      [
        peer('own', K3, '10.0.0.2/32'),
        peer('badkey', 'not-a-key', '10.0.0.3/32'),
        peer('newline', K1 + '\nPostUp = id', '10.0.0.4/32'),
        peer('badpsk', K1, '10.0.0.5/32', { presharedKey: 'nope' }),
        peer('badip', K2, 'undefined/32'),
        { owner: 'noip', publicKey: generateKeyPair().publicKey, allowedIps: [] },
        { owner: 'missing', publicKey: undefined as unknown as string, allowedIps: undefined as unknown as string[] },
        peer('fine', generateKeyPair().publicKey, '10.0.0.9/32'),
      ],
      [K3, undefined],
    );
    assert.deepEqual(p.renderable.length, 1);
    assert.deepEqual(codes(p), [
      ['badip', 'invalid_address'],
      ['badkey', 'invalid_public_key'],
      ['badpsk', 'invalid_preshared_key'],
      ['missing', 'invalid_public_key'],
      ['newline', 'invalid_public_key'],
      ['noip', 'invalid_address'],
      ['own', 'gateway_public_key'],
    ]);
    for (const l of p.leftOut) assert.ok(!l.reason.includes('nope') && !l.reason.includes(K3), 'no key value in a reason');
  });

  it('leaves out peers sharing an address once repeated keys are out, so a peer is not blamed on one already left out', () => {
    const p = partitionRenderable([
      peer('a', K1, '10.0.0.2/32'),
      peer('b', K1, '10.0.0.3/32'),
      peer('c', K2, '10.0.0.3/32'),
      peer('d', K3, '10.0.0.5/32', { allowedIps: ['10.0.0.5/32', 'fd00::5/128'] }),
      peer('e', generateKeyPair().publicKey, 'fd00::5/128'),
    ]);
    assert.deepEqual(p.renderable.map((e) => e.publicKey), [K2]);
    assert.deepEqual(codes(p), [['a', 'repeated_public_key'], ['b', 'repeated_public_key'], ['d', 'repeated_address'], ['e', 'repeated_address']]);
    assert.equal(p.leftOut.find((l) => l.owner === 'd')!.reason, "address is also used by 'e'");
  });

  it('does not depend on the order of the candidates, and renderPeerSet accepts whatever it keeps', () => {
    const candidates = [
      peer('a', K1, '10.0.0.2/32'),
      peer('b', K1, '10.0.0.3/32'),
      peer('c', K2, '10.0.0.4/32'),
      peer('d', 'x', '10.0.0.5/32'),
      peer('e', K3, '10.0.0.4/32'),
      peer('f', generateKeyPair().publicKey, '10.0.0.6/32', { presharedKey: generatePresharedKey() }),
    ];
    const a = partitionRenderable(candidates, [K2]);
    const b = partitionRenderable([...candidates].reverse(), [K2]);
    assert.deepEqual(a.leftOut, b.leftOut);
    assert.equal(renderPeerSet(a.renderable), renderPeerSet(b.renderable));
    assert.equal(parsePeerSet(renderPeerSet(a.renderable)).length, 2, 'e (its address now unshared) and f');
  });
});
