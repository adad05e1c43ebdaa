// The init and apply documents' scripts, run by the local runner inside network namespaces, with
// real WireGuard (wireguard-go) tunnels:
//
//   client A ns ──veth 198.18.1.0/30──┐
//                                     gateway ns ──veth 192.0.2.0/24── host ns (behind the gateway)
//   client B ns ──veth 198.18.2.0/30──┘   overlay 10.99.0.0/24: gateway .1, A .2, B .3
//
// Peer sets are handed over as file:// paths, and once through an HTTP server on this process's
// loopback (the runner fetches http(s) peer sets outside the namespace, which has its own loopback).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApplyParameters,
  buildTeardownParameters,
  buildInitParameters,
  parseApplyOutput,
  parseInitOutput,
  type CommandResult,
} from '../../functions/domain/gateway-commands.js';
import { peerSetDigest, renderPeerSet, type PeerSetEntry } from '../../functions/domain/peer-set.js';
import { LocalGatewayRunner } from '../../infra/local/gateway-runner.js';
import { PeerSetObjects } from '../support/peer-set-objects.js';
import {
  addNamespaces,
  cleanupOnSignal,
  finishCommand,
  inNs,
  keyPair,
  netnsSkip,
  pings,
  reaches,
  run,
  succeeds,
  tcpExchange,
  tcpServer as startTcpServer,
  teardown,
  veth,
  wgQuickUp,
} from '../support/netns.js';

const skip = netnsSkip();

const sfx = randomBytes(3).toString('hex');
const NS = { gw: `wgi-gw-${sfx}`, host: `wgi-host-${sfx}`, a: `wgi-ca-${sfx}`, b: `wgi-cb-${sfx}` };
const IF = { gw: `wgig${sfx}`, a: `wgia${sfx}`, b: `wgib${sfx}` };
const VETH = { gwHost: `vgh${sfx}`, host: `vhg${sfx}`, gwA: `vga${sfx}`, a: `vag${sfx}`, gwB: `vgb${sfx}`, b: `vbg${sfx}` };
const INSTANCE = 'i-0e2e0000000000001';
const PORT = 51820;
const HOST_IP = '192.0.2.10';
const GW_LAN_IP = '192.0.2.1';
const A_IP = '10.99.0.2';
const B_IP = '10.99.0.3';

const workDir = mkdtempSync(join(tmpdir(), 'wgi-e2e-gw-'));
const stateDir = join(workDir, 'state');
const children: ChildProcess[] = [];
let runner: LocalGatewayRunner;

const tcpServer = (ns: string, ip: string, port: number) => startTcpServer(ns, ip, port, children);

const clientA = { ...keyPair(), presharedKey: run('wg', ['genpsk']).trim() };
const clientB = keyPair();
const peerA: PeerSetEntry = { publicKey: clientA.publicKey, presharedKey: clientA.presharedKey, allowedIps: [`${A_IP}/32`] };
const peerB: PeerSetEntry = { publicKey: clientB.publicKey, allowedIps: [`${B_IP}/32`] };

let gatewayPublicKey = '';

const finish = (commandId: string) => finishCommand(runner, INSTANCE, commandId);

function initParams() {
  return buildInitParameters(
    { interfaceName: IF.gw, listenPort: PORT, address: '10.99.0.1', routedRanges: ['192.0.2.0/24'], fullTunnel: false },
    { addressRange: '10.99.0.0/24' },
    { egressInterface: VETH.gwHost, stateDir },
  );
}

async function init(): Promise<CommandResult> {
  return finish((await runner.sendInit(INSTANCE, initParams())).commandId);
}

/** The bucket the runner's download step reads: a test puts each peer set there, as the worker does. */
const objects = new PeerSetObjects();
/** `digest` lets a test send a digest of other bytes. */
async function apply(generation: number, text: string, opts: { digest?: string } = {}): Promise<CommandResult> {
  const params = buildApplyParameters({
    interfaceName: IF.gw,
    generation,
    ...objects.put(text, generation),
    peerSetSha256: opts.digest ?? peerSetDigest(text),
    stateDir,
  });
  return finish((await runner.sendApply(INSTANCE, params)).commandId);
}

const gatewayPeers = (): string[] => inNs(NS.gw, 'wg', 'show', IF.gw, 'peers').split('\n').filter(Boolean).sort();
const appliedGeneration = (): string => readFileSync(join(stateDir, `${IF.gw}.generation`), 'utf8').trim();
function handshakeOf(publicKey: string): number {
  const line = inNs(NS.gw, 'wg', 'show', IF.gw, 'latest-handshakes').split('\n').find((l) => l.startsWith(publicKey));
  return Number(line?.split('\t')[1] ?? 0);
}
function ownRules(): { forward: string[]; nat: string[]; jumps: number } {
  const filter = inNs(NS.gw, 'iptables', '-S').split('\n');
  const nat = inNs(NS.gw, 'iptables', '-t', 'nat', '-S').split('\n');
  return {
    forward: filter.filter((l) => l.startsWith(`-A WGI-FWD-${IF.gw} `)),
    nat: nat.filter((l) => l.startsWith(`-A WGI-NAT-${IF.gw} `)),
    jumps:
      filter.filter((l) => l === `-A FORWARD -j WGI-FWD-${IF.gw}`).length +
      nat.filter((l) => l === `-A POSTROUTING -j WGI-NAT-${IF.gw}`).length,
  };
}

function clientUp(ns: string, ifname: string, key: { privateKey: string; presharedKey?: string }, address: string, endpoint: string): void {
  wgQuickUp(workDir, {
    ns,
    ifname,
    ...key,
    addresses: [`${address}/32`],
    gatewayPublicKey,
    endpoint: `${endpoint}:${PORT}`,
    allowedIps: ['10.99.0.0/24', '192.0.2.0/24'],
  });
}

function cleanup(): void {
  teardown({
    children,
    interfaces: [[NS.gw, IF.gw], [NS.a, IF.a], [NS.b, IF.b]],
    namespaces: Object.values(NS),
    paths: [workDir],
  });
}

cleanupOnSignal(cleanup);

describe('gateway documents in network namespaces', { skip, concurrency: false }, () => {
  before(async () => {
    const startedAt = Date.now();
    addNamespaces(Object.values(NS));
    const link = veth;
    link(VETH.gwHost, NS.gw, `${GW_LAN_IP}/24`, VETH.host, NS.host, `${HOST_IP}/24`);
    link(VETH.gwA, NS.gw, '198.18.1.1/30', VETH.a, NS.a, '198.18.1.2/30');
    link(VETH.gwB, NS.gw, '198.18.2.1/30', VETH.b, NS.b, '198.18.2.2/30');
    // The host knows the way to the client range, so only the firewall can stop its flows.
    inNs(NS.host, 'ip', 'route', 'add', '10.99.0.0/24', 'via', GW_LAN_IP);
    runner = new LocalGatewayRunner({
      dataDir: join(workDir, 'runner'),
      mode: 'netns',
      namespaces: { [INSTANCE]: NS.gw },
      objects: objects.reader,
    });
    await tcpServer(NS.host, HOST_IP, 8080);
    const r = await init();
    assert.equal(r.status, 'success', r.reason);
    gatewayPublicKey = parseInitOutput(r.stdout!).publicKey;
    const applied = await apply(1, renderPeerSet([peerA, peerB]));
    assert.equal(applied.status, 'success', applied.reason);
    clientUp(NS.a, IF.a, clientA, A_IP, '198.18.1.1');
    clientUp(NS.b, IF.b, clientB, B_IP, '198.18.2.1');
    await tcpServer(NS.a, A_IP, 8081);
    await tcpServer(NS.b, B_IP, 8082);
    console.log(`# topology, init, first apply and clients up in ${Date.now() - startedAt} ms`);
  });

  after(async () => {
    await runner?.close();
    cleanup();
  });

  it('init reports the key of a mode-600 key file and brings the interface up with it', () => {
    const keyFile = join(stateDir, `${IF.gw}.key`);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(run('wg', ['pubkey'], readFileSync(keyFile, 'utf8')).trim(), gatewayPublicKey);
    assert.equal(inNs(NS.gw, 'wg', 'show', IF.gw, 'public-key').trim(), gatewayPublicKey);
    assert.equal(inNs(NS.gw, 'wg', 'show', IF.gw, 'listen-port').trim(), String(PORT));
    assert.equal(inNs(NS.gw, 'sysctl', '-n', 'net.ipv4.ip_forward').trim(), '1');
  });

  it('a client reaches the host behind the gateway: ping and TCP (NATed to the gateway)', () => {
    assert.ok(reaches(NS.a, HOST_IP), 'client A pings the host');
    assert.equal(tcpExchange(NS.a, HOST_IP, 8080), `hello from ${GW_LAN_IP}`);
    assert.ok(reaches(NS.b, HOST_IP), 'client B pings the host');
  });

  it('the host cannot open a connection to a client although it has a route: the firewall stops it', () => {
    assert.equal(tcpExchange(NS.host, A_IP, 8081), '');
    assert.ok(!pings(NS.host, A_IP));
    // Control: the same flow with an ACCEPT placed before our chain goes through, so routing and the
    // client's own tunnel are fine and it is the gateway's rule that refuses it.
    const hole = ['FORWARD', '-s', HOST_IP, '-d', A_IP, '-j', 'ACCEPT'];
    inNs(NS.gw, 'iptables', '-I', ...hole);
    try {
      assert.equal(tcpExchange(NS.host, A_IP, 8081), `hello from ${HOST_IP}`);
    } finally {
      inNs(NS.gw, 'iptables', '-D', ...hole);
    }
    assert.equal(tcpExchange(NS.host, A_IP, 8081), '');
  });

  it('clients cannot reach each other through the gateway', () => {
    assert.ok(!pings(NS.a, B_IP));
    assert.ok(!pings(NS.b, A_IP));
    assert.equal(tcpExchange(NS.a, B_IP, 8082), '');
    assert.ok(reaches(NS.a, HOST_IP), 'while both still reach the network');
  });

  it('keeps preshared keys and private keys out of group/world-readable files', () => {
    for (const name of readdirSync(stateDir)) {
      const file = join(stateDir, name);
      if (!statSync(file).isFile()) continue;
      const mode = statSync(file).mode & 0o777;
      if (readFileSync(file, 'utf8').includes(clientA.presharedKey) || name.endsWith('.key') || name.endsWith('.conf')) {
        assert.equal(mode & 0o077, 0, `${name} is mode ${mode.toString(8)}`);
      }
    }
    assert.ok(readFileSync(join(stateDir, `${IF.gw}.conf`), 'utf8').includes(clientA.presharedKey), 'persisted for reboot');
  });

  it('init run again is idempotent: same key, same rules, no duplicates, peers kept', async () => {
    const before = ownRules();
    assert.equal(before.jumps, 2);
    const peersBefore = gatewayPeers();
    const r = await init();
    assert.equal(r.status, 'success', r.reason);
    assert.equal(parseInitOutput(r.stdout!).publicKey, gatewayPublicKey);
    assert.equal(r.stdout!.split('\n').filter((l) => l.startsWith('WG_INGRESS_PUBLIC_KEY=')).length, 1);
    assert.deepEqual(ownRules(), before);
    assert.deepEqual(gatewayPeers(), peersBefore);
    assert.ok(reaches(NS.a, HOST_IP));
  });

  it('ignores an apply of an older or equal generation', async () => {
    const peers = gatewayPeers();
    for (const generation of [1, 0]) {
      const r = await apply(generation, renderPeerSet([]));
      assert.equal(r.status, 'success', r.reason);
      assert.deepEqual(parseApplyOutput(r.stdout!), { outcome: 'skipped', generation, appliedGeneration: 1 });
    }
    assert.deepEqual(gatewayPeers(), peers);
    assert.equal(appliedGeneration(), '1');
  });

  it('refuses a peer set whose digest does not match, and changes nothing', async () => {
    const peers = gatewayPeers();
    const r = await apply(5, renderPeerSet([peerA]), { digest: peerSetDigest(renderPeerSet([peerA, peerB])) });
    assert.equal(r.status, 'failed');
    assert.match(r.reason!, /digest_mismatch/);
    assert.deepEqual(readdirSync(stateDir).filter((f) => f.startsWith('.peer-set-')), [], 'the downloaded copy is gone on failure too');
    assert.deepEqual(gatewayPeers(), peers);
    assert.equal(appliedGeneration(), '1');
    assert.ok(reaches(NS.b, HOST_IP));
  });

  it('refuses a peer set with any line outside the format, and changes nothing', async () => {
    const peers = gatewayPeers();
    const good = renderPeerSet([peerA]);
    const after = good.split('\n').length; // the number of a line added after the good set
    const allowedLine = good.split('\n').findIndex((l) => l.startsWith('AllowedIPs')) + 1;
    // Each with the reason it must fail for: the first line outside the format, by number.
    const hostile: [string, RegExp][] = [
      [good + 'PostUp = touch /tmp/pwned\n', new RegExp(`reason=bad_line:${after}\\b`)],
      [good.replace('[Peer]\n', '[Interface]\nListenPort = 1\n[Peer]\n'), /reason=bad_line:1\b/],
      [good.replace(`AllowedIPs = ${A_IP}/32`, `AllowedIPs = ${A_IP}/32 `), new RegExp(`reason=bad_line:${allowedLine}\\b`)],
      [good.replace(`AllowedIPs = ${A_IP}/32`, 'AllowedIPs = 0.0.0.0/0; echo hi'), new RegExp(`reason=bad_line:${allowedLine}\\b`)],
      [good.replace(/\n/g, '\r\n'), /reason=bad_line:1\b/],
      [good + 'Endpoint = 198.18.9.9:1\n', new RegExp(`reason=bad_line:${after}\\b`)],
      [good + '[Peer]\nAllowedIPs = 10.99.0.9/32\n', /reason=bad_structure\b/], // a peer without a key
      [good + good, /reason=bad_structure\b/], // the same key twice
      [good.trimEnd(), /reason=no_final_newline\b/],
      // NUL bytes: at the end, inside a line, on a line of their own (grep's binary mode and
      // $(…) would both lose them).
      [good + '\0', new RegExp(`reason=bad_line:${after}\\b`)],
      [good.replace(`AllowedIPs = ${A_IP}/32`, `AllowedIPs = ${A_IP}/32\0, 0.0.0.0/0`), new RegExp(`reason=bad_line:${allowedLine}\\b`)],
      [good + '\0\n', new RegExp(`reason=bad_line:${after}\\b`)],
    ];
    for (const [text, reason] of hostile) {
      const r = await apply(6, text);
      assert.equal(r.status, 'failed', JSON.stringify(text));
      assert.match(r.reason!, reason, JSON.stringify(text));
    }
    assert.deepEqual(gatewayPeers(), peers);
    assert.equal(appliedGeneration(), '1');
  });

  it('removing a peer stops its traffic and keeps the other peer’s session', async () => {
    assert.ok(reaches(NS.a, HOST_IP));
    const handshakeA = handshakeOf(clientA.publicKey);
    assert.ok(handshakeA > 0, 'A has a session');
    const text = renderPeerSet([peerA]);
    const r = await apply(7, text);
    assert.equal(r.status, 'success', r.reason);
    assert.deepEqual(parseApplyOutput(r.stdout!), { outcome: 'applied', generation: 7, peers: 1 });
    assert.deepEqual(gatewayPeers(), [clientA.publicKey]);
    assert.equal(appliedGeneration(), '7');
    assert.ok(!pings(NS.b, HOST_IP), 'B no longer gets through');
    assert.ok(reaches(NS.a, HOST_IP, 3000), 'A still does, at once');
    assert.equal(handshakeOf(clientA.publicKey), handshakeA, 'without a new handshake');
    assert.equal(readFileSync(join(stateDir, `${IF.gw}.peers`), 'utf8'), text, 'persisted for reboot');
    assert.deepEqual(readdirSync(stateDir).filter((f) => f.startsWith('.peer-set-')), [], 'the downloaded copy is gone');
  });

  it('adding the peer back lets it through again', async () => {
    const r = await apply(8, renderPeerSet([peerA, peerB]));
    assert.equal(r.status, 'success', r.reason);
    assert.deepEqual(parseApplyOutput(r.stdout!), { outcome: 'applied', generation: 8, peers: 2 });
    assert.ok(reaches(NS.b, HOST_IP));
  });

  it('a restarted interface (wg-quick up from the persisted file) has the same peers', () => {
    const conf = join(stateDir, `${IF.gw}.conf`);
    inNs(NS.gw, 'wg-quick', 'down', conf);
    assert.equal(ownRules().jumps, 0, 'PostDown removed the rules');
    inNs(NS.gw, 'wg-quick', 'up', conf);
    assert.deepEqual(gatewayPeers(), [clientA.publicKey, clientB.publicKey].sort());
    assert.equal(ownRules().jumps, 2, 'PostUp restored the rules');
    assert.ok(reaches(NS.a, HOST_IP));
    assert.ok(!pings(NS.a, B_IP));
  });

  it('stays pending while the runner is offline and runs when it is back', async () => {
    runner.setOnline(false);
    const params = buildApplyParameters({
      interfaceName: IF.gw,
      generation: 9,
      ...objects.put(renderPeerSet([peerA, peerB]), 9),
      peerSetSha256: peerSetDigest(renderPeerSet([peerA, peerB])),
      stateDir,
    });
    const { commandId } = await runner.sendApply(INSTANCE, params);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal((await runner.getResult(commandId, INSTANCE)).status, 'pending');
    runner.setOnline(true);
    const r = await finish(commandId);
    assert.equal(r.status, 'success', r.reason);
    assert.equal(appliedGeneration(), '9');
  });

  it('teardown takes the interface, its firewall chains and its files away, and can run twice', async () => {
    const params = buildTeardownParameters({ interfaceName: IF.gw, stateDir });
    const r = await finish((await runner.sendTeardown(INSTANCE, params)).commandId);
    assert.equal(r.status, 'success', r.reason);
    assert.match(r.stdout ?? '', /WG_INGRESS_TEARDOWN_OK/);
    assert.equal(succeeds(NS.gw, 'ip', 'link', 'show', 'dev', IF.gw), false, 'interface gone');
    assert.doesNotMatch(inNs(NS.gw, 'iptables', '-S'), new RegExp(`WGI-FWD-${IF.gw}`), 'forward chain gone');
    assert.doesNotMatch(inNs(NS.gw, 'iptables', '-t', 'nat', '-S'), new RegExp(`WGI-NAT-${IF.gw}`), 'NAT chain gone');
    assert.deepEqual(readdirSync(stateDir).filter((f) => f.startsWith(IF.gw)), [], 'key, config, peers and generation gone');
    assert.equal(succeeds(NS.a, 'ping', '-n', '-q', '-c', '1', '-W', '1', HOST_IP), false, 'client A no longer reaches the host');
    const again = await finish((await runner.sendTeardown(INSTANCE, params)).commandId);
    assert.equal(again.status, 'success', again.reason);
  });
});

