// The gateway's firewall (issue 9), with the init and apply documents' scripts run by the local
// runner in network namespaces and real WireGuard (wireguard-go) tunnels, dual stack:
//
//   client A ns ──veth 198.18.1.0/30──┐
//                                     gateway ns ──veth 192.0.2.0/24, 2001:db8:2::/64── host ns
//   client B ns ──veth 198.18.2.0/30──┘   overlay 10.96.0.0/24 + fd00:96::/112: gateway .1/::1,
//                                         A .2/::2, B .3/::3
//
// A full-tunnel gateway whose DNS servers are its own overlay address and the VPC resolver. The
// host ns stands in for the VPC: it also holds the instance metadata addresses (169.254.169.254,
// fd00:ec2::254) and the resolver (169.254.169.253), each with a TCP listener, and the gateway has
// routes to them, so only the gateway's firewall keeps clients away. Each refusal is checked with a
// control: the same flow with an ACCEPT placed before the gateway's chains goes through.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApplyParameters,
  buildInitParameters,
  buildTeardownParameters,
  parseApplyOutput,
  parseInitOutput,
  type CommandResult,
} from '../../functions/domain/gateway-commands.js';
import { peerSetDigest, renderPeerSet, type PeerSetEntry } from '../../functions/domain/peer-set.js';
import { PeerSetObjects } from '../support/peer-set-objects.js';
import { LocalGatewayRunner } from '../../infra/local/gateway-runner.js';
import {
  addNamespaces,
  cleanupOnSignal,
  finishCommand,
  inNs,
  keyPair,
  netnsSkip,
  pings,
  reaches,
  tcpExchange,
  wgQuickUp,
  tcpServer as startTcpServer,
  teardown,
  veth,
} from '../support/netns.js';

const skip = netnsSkip();

const sfx = randomBytes(3).toString('hex');
const NS = { gw: `wgf-gw-${sfx}`, host: `wgf-host-${sfx}`, a: `wgf-ca-${sfx}`, b: `wgf-cb-${sfx}` };
const IF = { gw: `wgfg${sfx}`, a: `wgfa${sfx}`, b: `wgfb${sfx}` };
const VETH = { gwHost: `vfh${sfx}`, host: `vhf${sfx}`, gwA: `vfa${sfx}`, a: `vaf${sfx}`, gwB: `vfb${sfx}`, b: `vbf${sfx}` };
const INSTANCE = 'i-0e2e0000000000009';
const PORT = 51820;
const GW = { ip: '10.96.0.1', ip6: 'fd00:96::1', lan: '192.0.2.1', lan6: '2001:db8:2::1' };
const HOST = { ip: '192.0.2.10', ip6: '2001:db8:2::10' };
const A = { ip: '10.96.0.2', ip6: 'fd00:96::2' };
const B = { ip: '10.96.0.3', ip6: 'fd00:96::3' };
const IMDS = '169.254.169.254';
const IMDS6 = 'fd00:ec2::254';
const RESOLVER = '169.254.169.253';
const HOST_PORT = 8080;
const GW_PORT = 8090;
const CLIENT_PORT = 8081;

const workDir = mkdtempSync(join(tmpdir(), 'wgf-e2e-'));
const stateDir = join(workDir, 'state');
const shimDir = join(workDir, 'shim');
const children: ChildProcess[] = [];
let runner: LocalGatewayRunner;
const tcpServer = (ns: string, ip: string, port: number) => startTcpServer(ns, ip, port, children);

const clientA = keyPair();
const clientB = keyPair();
const peerA: PeerSetEntry = { publicKey: clientA.publicKey, allowedIps: [`${A.ip}/32`, `${A.ip6}/128`] };
const peerB: PeerSetEntry = { publicKey: clientB.publicKey, allowedIps: [`${B.ip}/32`, `${B.ip6}/128`] };
let gatewayPublicKey = '';

const finish = (r: LocalGatewayRunner, commandId: string) => finishCommand(r, INSTANCE, commandId);

const initParams = () =>
  buildInitParameters(
    {
      interfaceName: IF.gw,
      listenPort: PORT,
      address: GW.ip,
      address6: GW.ip6,
      routedRanges: [],
      fullTunnel: true,
      dns: [GW.ip, RESOLVER],
    },
    { addressRange: '10.96.0.0/24', addressRange6: 'fd00:96::/112' },
    { egressInterface: VETH.gwHost, stateDir },
  );
const init = async (r = runner) => finish(r, (await r.sendInit(INSTANCE, initParams())).commandId);

/** The bucket the runners' download step reads (the worker's part, done by the test). */
const objects = new PeerSetObjects();
async function apply(generation: number, entries: PeerSetEntry[], r = runner): Promise<CommandResult> {
  const text = renderPeerSet(entries);
  const params = buildApplyParameters({ interfaceName: IF.gw, generation, ...objects.put(text, generation), peerSetSha256: peerSetDigest(text), stateDir });
  return finish(r, (await r.sendApply(INSTANCE, params)).commandId);
}

const forwarding = () => ({
  v4: inNs(NS.gw, 'sysctl', '-n', 'net.ipv4.ip_forward').trim(),
  v6: inNs(NS.gw, 'sysctl', '-n', 'net.ipv6.conf.all.forwarding').trim(),
});

const CHAINS = { filter: [`WGI-FWD-${IF.gw}`, `WGI-IN-${IF.gw}`], nat: [`WGI-NAT-${IF.gw}`] };
/** Per family: the jumps into this interface's chains, and how many rules each chain holds. */
function firewall(tool: 'iptables' | 'ip6tables'): { jumps: string[]; rules: Record<string, number> } {
  const lines = [...inNs(NS.gw, tool, '-S').split('\n'), ...inNs(NS.gw, tool, '-t', 'nat', '-S').split('\n')];
  const ours = [...CHAINS.filter, ...CHAINS.nat];
  return {
    jumps: lines.filter((l) => ours.some((c) => l.endsWith(` -j ${c}`))).sort(),
    rules: Object.fromEntries(ours.map((c) => [c, lines.filter((l) => l.startsWith(`-A ${c} `)).length])),
  };
}
const EXPECTED_JUMPS = [
  `-A FORWARD -j WGI-FWD-${IF.gw}`,
  `-A INPUT -j WGI-IN-${IF.gw}`,
  `-A POSTROUTING -j WGI-NAT-${IF.gw}`,
].sort();

/** Runs `probe` with an ACCEPT for `match` placed first in `chain` of the gateway, then removes it. */
function withHole<T>(tool: 'iptables' | 'ip6tables', chain: string, match: string[], probe: () => T): T {
  const rule = [chain, ...match, '-j', 'ACCEPT'];
  inNs(NS.gw, tool, '-I', ...rule);
  try {
    return probe();
  } finally {
    inNs(NS.gw, tool, '-D', ...rule);
  }
}

function clientUp(ns: string, ifname: string, privateKey: string, address: { ip: string; ip6: string }, endpoint: string): void {
  wgQuickUp(workDir, {
    ns,
    ifname,
    privateKey,
    addresses: [`${address.ip}/32`, `${address.ip6}/128`],
    gatewayPublicKey,
    endpoint: `${endpoint}:${PORT}`,
    // What a full tunnel sends through, narrowed to the addresses this test uses.
    allowedIps: ['10.96.0.0/24', 'fd00:96::/112', '192.0.2.0/24', '2001:db8:2::/64', `${IMDS}/32`, `${RESOLVER}/32`, `${IMDS6}/128`],
  });
}

function addr6(ns: string, dev: string, cidr: string): void {
  inNs(ns, 'ip', '-6', 'addr', 'add', cidr, 'dev', dev, 'nodad');
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

describe('gateway firewall: full tunnel, dual stack, fail-closed', { skip, concurrency: false }, () => {
  const startedAt = Date.now();
  before(async () => {
    addNamespaces(Object.values(NS));
    veth(VETH.gwHost, NS.gw, `${GW.lan}/24`, VETH.host, NS.host, `${HOST.ip}/24`);
    addr6(NS.gw, VETH.gwHost, `${GW.lan6}/64`);
    addr6(NS.host, VETH.host, `${HOST.ip6}/64`);
    veth(VETH.gwA, NS.gw, '198.18.1.1/30', VETH.a, NS.a, '198.18.1.2/30');
    veth(VETH.gwB, NS.gw, '198.18.2.1/30', VETH.b, NS.b, '198.18.2.2/30');
    // The host knows the way to the clients, so only the firewall can stop its flows.
    inNs(NS.host, 'ip', 'route', 'add', '10.96.0.0/24', 'via', GW.lan);
    inNs(NS.host, 'ip', '-6', 'route', 'add', 'fd00:96::/112', 'via', GW.lan6);
    // Instance metadata and the VPC resolver "upstream" of the gateway, as on EC2.
    inNs(NS.host, 'ip', 'addr', 'add', `${IMDS}/32`, 'dev', 'lo');
    inNs(NS.host, 'ip', 'addr', 'add', `${RESOLVER}/32`, 'dev', 'lo');
    inNs(NS.host, 'ip', '-6', 'addr', 'add', `${IMDS6}/128`, 'dev', 'lo');
    inNs(NS.gw, 'ip', 'route', 'add', '169.254.0.0/16', 'via', HOST.ip);
    inNs(NS.gw, 'ip', '-6', 'route', 'add', 'fd00:ec2::/32', 'via', HOST.ip6);
    await tcpServer(NS.host, HOST.ip, HOST_PORT);
    await tcpServer(NS.host, HOST.ip6, HOST_PORT);
    await tcpServer(NS.host, IMDS, 80);
    await tcpServer(NS.host, IMDS6, 80);
    await tcpServer(NS.host, RESOLVER, 53);
    await tcpServer(NS.host, RESOLVER, 80);
    // The shims of the fail-closed tests: a restore that fails, one family at a time.
    for (const family of ['4', '6']) {
      const dir = join(shimDir, family);
      mkdirSync(dir, { recursive: true });
      const tool = family === '4' ? 'iptables-restore' : 'ip6tables-restore';
      writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool}: shim failure" >&2\nexit 1\n`, { mode: 0o755 });
    }
    runner = new LocalGatewayRunner({ dataDir: join(workDir, 'runner'), mode: 'netns', namespaces: { [INSTANCE]: NS.gw }, objects: objects.reader });
    const r = await init();
    assert.equal(r.status, 'success', r.reason);
    gatewayPublicKey = parseInitOutput(r.stdout!).publicKey;
    const applied = await apply(1, [peerA, peerB]);
    assert.equal(applied.status, 'success', applied.reason);
    clientUp(NS.a, IF.a, clientA.privateKey, A, '198.18.1.1');
    clientUp(NS.b, IF.b, clientB.privateKey, B, '198.18.2.1');
    // The gateway's own services: on its overlay address (v4 and v6), its upstream address, and DNS.
    for (const ip of [GW.ip, GW.ip6, GW.lan, GW.lan6]) await tcpServer(NS.gw, ip, GW_PORT);
    await tcpServer(NS.gw, GW.ip, 53);
    for (const [ns, c] of [[NS.a, A], [NS.b, B]] as const) {
      await tcpServer(ns, c.ip, CLIENT_PORT);
      await tcpServer(ns, c.ip6, CLIENT_PORT);
    }
    assert.ok(reaches(NS.a, HOST.ip), 'client A has a session');
    assert.ok(reaches(NS.b, HOST.ip), 'client B has a session');
  });

  after(async () => {
    await runner?.close();
    cleanup();
    console.log(`# gateway-firewall: ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  });

  it('init loads both families from restore files, with the jumps, and only then turns forwarding on', () => {
    assert.deepEqual(forwarding(), { v4: '1', v6: '1' });
    for (const [tool, file] of [['iptables', `${IF.gw}.rules4`], ['ip6tables', `${IF.gw}.rules6`]] as const) {
      const text = readFileSync(join(stateDir, file), 'utf8');
      for (const chain of [...CHAINS.filter, ...CHAINS.nat]) assert.match(text, new RegExp(`^:${chain} - \\[0:0\\]$`, 'm'), `${file} declares ${chain}`);
      const fw = firewall(tool);
      assert.deepEqual(fw.jumps, EXPECTED_JUMPS, tool);
      for (const [chain, n] of Object.entries(fw.rules)) assert.ok(n > 0, `${tool} ${chain} has rules`);
    }
    const script = readFileSync(join(stateDir, `${IF.gw}-firewall.sh`), 'utf8');
    assert.match(script, /iptables-restore -w --noflush|\$1-restore -w --noflush/);
  });

  it('full tunnel: a client reaches the host behind the gateway, IPv4 and IPv6', () => {
    assert.equal(tcpExchange(NS.a, HOST.ip, HOST_PORT), `hello from ${GW.lan}`);
    assert.ok(reaches(NS.a, HOST.ip6), 'A pings the host over IPv6');
    assert.equal(tcpExchange(NS.a, HOST.ip6, HOST_PORT), `hello from ${GW.lan6}`, 'TCP over IPv6 (NATed to the gateway)');
    assert.ok(reaches(NS.b, HOST.ip6), 'B pings the host over IPv6');
  });

  it('full tunnel: no client reaches instance metadata (169.254.169.254, fd00:ec2::254) upstream of the gateway', () => {
    for (const ns of [NS.a, NS.b]) {
      assert.equal(tcpExchange(ns, IMDS, 80), '', `${ns} → ${IMDS}`);
      assert.equal(tcpExchange(ns, IMDS6, 80), '', `${ns} → ${IMDS6}`);
      assert.ok(!pings(ns, IMDS));
    }
    // Control: routing and NAT would take it there, it is the gateway's rule that refuses it.
    assert.equal(withHole('iptables', 'FORWARD', ['-d', IMDS], () => tcpExchange(NS.a, IMDS, 80)), `hello from ${GW.lan}`);
    assert.equal(withHole('ip6tables', 'FORWARD', ['-d', IMDS6], () => tcpExchange(NS.a, IMDS6, 80)), `hello from ${GW.lan6}`);
    assert.equal(tcpExchange(NS.a, IMDS, 80), '');
    assert.ok(reaches(NS.a, HOST.ip, 3000), 'while the host behind is still reached');
  });

  it("the VPC resolver (169.254.169.253), named by the network's DNS, is reached on port 53 only", () => {
    assert.equal(tcpExchange(NS.a, RESOLVER, 53), `hello from ${GW.lan}`);
    assert.equal(tcpExchange(NS.a, RESOLVER, 80), '');
    assert.ok(!pings(NS.a, RESOLVER));
    assert.match(readFileSync(join(stateDir, `${IF.gw}.rules4`), 'utf8'), new RegExp(`-d ${RESOLVER.replace(/\./g, '\\.')}/32 -p udp -m udp --dport 53 -j ACCEPT`));
  });

  it("no client reaches the gateway's own TCP services (overlay and upstream addresses); ping and its DNS it does", () => {
    for (const ip of [GW.ip, GW.ip6, GW.lan, GW.lan6]) assert.equal(tcpExchange(NS.a, ip, GW_PORT), '', `A → ${ip}:${GW_PORT}`);
    // The listeners work: the host reaches the upstream one, and a client does with an ACCEPT first in INPUT.
    assert.equal(tcpExchange(NS.host, GW.lan, GW_PORT), `hello from ${HOST.ip}`);
    assert.equal(withHole('iptables', 'INPUT', ['-i', IF.gw], () => tcpExchange(NS.a, GW.ip, GW_PORT)), `hello from ${A.ip}`);
    assert.equal(withHole('ip6tables', 'INPUT', ['-i', IF.gw], () => tcpExchange(NS.a, GW.ip6, GW_PORT)), `hello from ${A.ip6}`);
    assert.equal(tcpExchange(NS.a, GW.ip, GW_PORT), '');
    assert.ok(pings(NS.a, GW.ip), 'ping (IPv4) is allowed');
    assert.ok(pings(NS.a, GW.ip6), 'ping (IPv6) is allowed');
    assert.equal(tcpExchange(NS.a, GW.ip, 53), `hello from ${A.ip}`, 'DNS: the gateway is one of the DNS servers');
  });

  it('IPv6: the host cannot open a connection back to a client although it has a route', () => {
    assert.equal(tcpExchange(NS.host, A.ip6, CLIENT_PORT), '');
    assert.ok(!pings(NS.host, A.ip6));
    const hole = ['-s', HOST.ip6, '-d', A.ip6];
    assert.equal(withHole('ip6tables', 'FORWARD', hole, () => tcpExchange(NS.host, A.ip6, CLIENT_PORT)), `hello from ${HOST.ip6}`);
    assert.equal(tcpExchange(NS.host, A.ip6, CLIENT_PORT), '');
    assert.equal(tcpExchange(NS.host, A.ip, CLIENT_PORT), '', 'nor over IPv4');
  });

  it('IPv6: two clients cannot reach each other', () => {
    assert.ok(!pings(NS.a, B.ip6));
    assert.ok(!pings(NS.b, A.ip6));
    assert.equal(tcpExchange(NS.a, B.ip6, CLIENT_PORT), '');
    assert.equal(tcpExchange(NS.b, A.ip6, CLIENT_PORT), '');
    assert.equal(tcpExchange(NS.a, B.ip, CLIENT_PORT), '', 'nor over IPv4');
    assert.ok(reaches(NS.a, HOST.ip6, 3000), 'while both still reach the network');
  });

  it('an apply restores flushed jumps (FORWARD, INPUT, POSTROUTING), even one of an already applied generation', async () => {
    inNs(NS.gw, 'iptables', '-F', 'FORWARD');
    inNs(NS.gw, 'iptables', '-t', 'nat', '-F', 'POSTROUTING');
    inNs(NS.gw, 'ip6tables', '-D', 'INPUT', '-j', `WGI-IN-${IF.gw}`);
    assert.deepEqual(firewall('iptables').jumps, [`-A INPUT -j WGI-IN-${IF.gw}`]);
    // The hole a flushed FORWARD leaves (policy ACCEPT): the host gets through to a client.
    assert.equal(tcpExchange(NS.host, A.ip, CLIENT_PORT), `hello from ${HOST.ip}`);
    const r = await apply(1, [peerA, peerB]);
    assert.equal(r.status, 'success', r.reason);
    assert.equal(parseApplyOutput(r.stdout!).outcome, 'skipped');
    assert.deepEqual(firewall('iptables').jumps, EXPECTED_JUMPS);
    assert.deepEqual(firewall('ip6tables').jumps, EXPECTED_JUMPS);
    assert.equal(tcpExchange(NS.host, A.ip, CLIENT_PORT), '', 'closed again');
    assert.equal(tcpExchange(NS.a, HOST.ip, HOST_PORT), `hello from ${GW.lan}`, 'NAT back');
    // And a new generation: again exactly one jump each, no duplicates.
    const next = await apply(2, [peerA, peerB]);
    assert.equal(next.status, 'success', next.reason);
    assert.deepEqual(firewall('iptables').jumps, EXPECTED_JUMPS);
    assert.deepEqual(firewall('ip6tables').jumps, EXPECTED_JUMPS);
  });

  for (const family of ['6', '4'] as const) {
    const tool = family === '4' ? 'iptables-restore' : 'ip6tables-restore';
    it(`init with a failing ${tool} exits non-zero with the reason and leaves forwarding off; the rules in place stay`, async () => {
      const before = { v4: firewall('iptables'), v6: firewall('ip6tables') };
      const failing = new LocalGatewayRunner({
        dataDir: join(workDir, `runner-shim${family}`),
        mode: 'netns',
        namespaces: { [INSTANCE]: NS.gw },
        objects: objects.reader,
        env: { PATH: `${join(shimDir, family)}:${process.env.PATH}` },
      });
      try {
        const r = await init(failing);
        assert.equal(r.status, 'failed');
        assert.match(r.reason!, new RegExp(`WG_INGRESS_FIREWALL_FAILED interface=${IF.gw} reason=ipv${family}_rules`));
        assert.match(r.reason!, /WG_INGRESS_INIT_FAILED reason=firewall/);
        assert.doesNotMatch(r.stdout ?? '', /WG_INGRESS_INIT_OK/);
        assert.deepEqual(forwarding(), { v4: '0', v6: '0' });
        assert.ok(!pings(NS.a, HOST.ip), 'nothing is forwarded');
        assert.ok(!pings(NS.a, HOST.ip6), 'nothing is forwarded (IPv6)');
        // The failed load changed nothing: the chains keep their content (a transaction per family).
        assert.deepEqual({ v4: firewall('iptables'), v6: firewall('ip6tables') }, before);
        // An apply through the same failing tool fails too, keeps forwarding off and changes no
        // peer (the firewall, checked while the set is, is waited for before the peers change).
        const peers = () => inNs(NS.gw, 'wg', 'show', IF.gw, 'peers').split('\n').filter(Boolean).sort();
        const peersBefore = peers();
        assert.equal(peersBefore.length, 2);
        const a = await apply(3, [peerA], failing);
        assert.equal(a.status, 'failed');
        assert.match(a.reason!, /reason=firewall/);
        assert.deepEqual(forwarding(), { v4: '0', v6: '0' });
        assert.deepEqual(peers(), peersBefore);
      } finally {
        await failing.close();
      }
      const again = await init();
      assert.equal(again.status, 'success', again.reason);
      assert.deepEqual(forwarding(), { v4: '1', v6: '1' });
      // (up to 25 s: unanswered traffic meanwhile may have made the client start a new handshake)
      assert.ok(reaches(NS.a, HOST.ip), 'a good init brings forwarding back');
      assert.ok(reaches(NS.a, HOST.ip6));
    });
  }

  it('teardown removes every chain and jump of both families and the restore files', async () => {
    const params = buildTeardownParameters({ interfaceName: IF.gw, stateDir });
    const r = await finish(runner, (await runner.sendTeardown(INSTANCE, params)).commandId);
    assert.equal(r.status, 'success', r.reason);
    for (const tool of ['iptables', 'ip6tables'] as const) {
      const all = inNs(NS.gw, tool, '-S') + inNs(NS.gw, tool, '-t', 'nat', '-S');
      assert.doesNotMatch(all, new RegExp(`WGI-(FWD|IN|NAT)-${IF.gw}`), tool);
    }
    for (const f of [`${IF.gw}.rules4`, `${IF.gw}.rules6`, `${IF.gw}-firewall.sh`]) assert.ok(!existsSync(join(stateDir, f)), f);
  });
});
