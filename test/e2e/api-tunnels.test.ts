// Issue 4's "must show", end to end through the real API: the local stack (DynamoDB Local, the S3
// server, the same handlers and sync worker as Lambda) delivers the gateway documents with the
// local runner into a network namespace, and external clients bring up real WireGuard tunnels
// (wireguard-go) with configs fetched through the one-time link flow.
//
//   client A ns ─veth─┐                                  overlay 10.98.0.0/20 (gateway .1)
//   client B ns ─veth─┼─ bridge 198.18.98.0/24 ─ gateway ns ─veth 10.97.0.0/24─ host ns
//   client C ns ─veth─┘   (the gateway's endpoint .1)         (routed range behind the gateway)
//
// The host has a route to the client range through the gateway, so only the gateway's firewall
// can stop the flows it tries to open. A second gateway (its own namespace, nothing connects to it)
// takes the burst of 1,000 creations on a quiet gateway.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRIVATE_KEY_PLACEHOLDER } from '../../functions/domain/render-client-config.js';
import { useLocalApi, type ApiAnswer } from '../support/local-api.js';
import {
  addNamespaces,
  cleanupOnSignal,
  inNs,
  keyPair,
  netnsSkip,
  pings,
  reaches,
  run,
  tcpExchange,
  tcpServer,
  teardown,
  veth,
  wgDump,
} from '../support/netns.js';

const skip = netnsSkip();

const sfx = randomBytes(3).toString('hex');
const NS = { gw: `wgt-gw-${sfx}`, host: `wgt-host-${sfx}`, a: `wgt-ca-${sfx}`, b: `wgt-cb-${sfx}`, c: `wgt-cc-${sfx}`, gw2: `wgt-g2-${sfx}` };
// Client tunnel names: the config file's base name, unique across namespaces (wireguard-go's
// sockets share /var/run/wireguard) and across concurrent runs.
const IF = { a: `wgta${sfx}`, b: `wgtb${sfx}`, c: `wgtc${sfx}` };
const BRIDGE = `wtbr${sfx}`;
const VETH = {
  gwHost: `vth${sfx}`,
  host: `vht${sfx}`,
  brA: `vta${sfx}`,
  a: `vat${sfx}`,
  brB: `vtb${sfx}`,
  b: `vbt${sfx}`,
  brC: `vtc${sfx}`,
  c: `vct${sfx}`,
};
const INSTANCE = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
// A second gateway, quiet until the burst: the coalescing shows from its very first apply.
const INSTANCE2 = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
const NET = `e2e${sfx}`;
const OVERLAY = '10.98.0.0/20';
const HOST_RANGE = '10.97.0.0/24';
const HOST_IP = '10.97.0.10';
const GW_LAN_IP = '10.97.0.1';
const ENDPOINT = '198.18.98.1';
const UNDERLAY = { a: '198.18.98.2', b: '198.18.98.3', c: '198.18.98.4' };
const HOST_PORT = 8080;
const BURST = 1000;
const BURST_CONCURRENCY = 32;

const workDir = mkdtempSync(join(tmpdir(), 'wgt-e2e-api-'));
const confDir = join(workDir, 'clients');
const children: ChildProcess[] = [];
let gatewayIface = '';
let gateway2Iface = '';

const api = useLocalApi({
  gatewayMode: 'netns',
  namespaces: { [INSTANCE]: NS.gw, [INSTANCE2]: NS.gw2 },
  initOptions: (g) => ({ egressInterface: g.instanceId === INSTANCE ? VETH.gwHost : '', stateDir: join(workDir, g.instanceId) }),
});

function cleanup(): void {
  teardown({
    children,
    interfaces: [
      [NS.a, IF.a],
      [NS.b, IF.b],
      [NS.c, IF.c],
      ...(gatewayIface ? [[NS.gw, gatewayIface] as [string, string]] : []),
      ...(gateway2Iface ? [[NS.gw2, gateway2Iface] as [string, string]] : []),
    ],
    namespaces: Object.values(NS),
    paths: [workDir],
  });
}
cleanupOnSignal(cleanup);

// --- API helpers ------------------------------------------------------------------------------------
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * api.call after a turn of the event loop. The probes (ping, wg-quick, TCP) run synchronously and
 * can block this process, which also hosts the local API server, for seconds: then a kept-alive
 * connection whose idle timeout passed meanwhile would be reused by fetch a moment before the
 * server's overdue timer closes it ("fetch failed: other side closed"). Letting the timers and the
 * socket events run first avoids that.
 */
async function call(...args: Parameters<typeof api.call>): Promise<ApiAnswer> {
  await sleep(1); // timers: the server's overdue keep-alive timeouts close their sockets
  await new Promise((r) => setImmediate(r)); // poll: fetch's pool sees those sockets end
  return api.call(...args);
}

async function ok<T = any>(answer: Promise<ApiAnswer<T>>, status: number): Promise<T> {
  const res = await answer;
  assert.equal(res.status, status, res.text);
  return res.json;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

let gatewayId = '';
let gateway2Id = '';
const gateway = (id = gatewayId) => ok(call('GET', `/networks/${NET}/gateways/${id}`), 200);

/** Registers a gateway through the API and waits until init ran in its namespace. */
async function registerGateway(instanceId: string, body: Record<string, unknown>): Promise<any> {
  const created = await ok(call('POST', `/networks/${NET}/gateways`, { instanceId, ...body }), 202);
  return until('gateway ready', async () => {
    const g = await gateway(created.id);
    if (g.status === 'error') throw new Error(`gateway init failed: ${g.statusReason}`);
    return g.status === 'ready' ? g : undefined;
  });
}

/** Waits until GET shows the client's current state in effect on the gateway. */
async function inEffect(name: string, timeoutMs = 60_000): Promise<any> {
  return until(`${name} in effect`, async () => {
    const c = await ok(call('GET', `/networks/${NET}/clients/${name}`), 200);
    return c.inEffect ? c : undefined;
  }, timeoutMs);
}

/** Waits until the gateway applied everything desired so far (e.g. after a delete). */
async function gatewayInSync(id = gatewayId, timeoutMs = 60_000): Promise<any> {
  return until('gateway in sync', async () => {
    const g = await gateway(id);
    if (g.lastSync?.outcome === 'failed') throw new Error(`apply failed: ${g.lastSync.message}`);
    return g.appliedGeneration >= g.desiredGeneration && g.lastSync?.outcome !== 'sent' ? g : undefined;
  }, timeoutMs);
}

async function createClient(body: Record<string, unknown>): Promise<any> {
  return ok(call('POST', `/networks/${NET}/clients`, { gatewayId, ...body }), 201);
}

/** Every client of the gateway, through the API's paging. */
async function allClients(id = gatewayId): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ gatewayId: id, limit: '100', ...(cursor ? { cursor } : {}) });
    const page = await ok(call('GET', `/networks/${NET}/clients?${q}`), 200);
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** The config as an end user gets it: one-time link → POST /dl/{token} → signed config URL on the page. */
async function downloadViaLink(name: string): Promise<string> {
  const link = await ok(call('POST', `/networks/${NET}/clients/${name}/links`, {}), 201);
  const path = new URL(link.url).pathname;
  api.rememberToken(path.slice('/dl/'.length));
  const page = await call('POST', path, undefined, {
    token: null,
    raw: '',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(page.status, 200, page.text);
  const href = /<a class="button" href="([^"]+)"/.exec(page.text)?.[1];
  assert.ok(href, 'the page links the config');
  const configUrl = href.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"');
  const res = await fetch(configUrl);
  assert.equal(res.status, 200);
  const again = await call('POST', path, undefined, { token: null, raw: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(again.status, 410, 'the link works once');
  return res.text();
}

/** Writes a client config as <iface>.conf (wg-quick takes the interface name from the base name). */
function saveConfig(iface: string, text: string): string {
  // wg-quick hands DNS lines to resolvconf, which would rewrite this machine's /etc/resolv.conf
  // (namespaces share the file system). The network has no DNS servers, so there are none to drop.
  assert.doesNotMatch(text, /^DNS = /m);
  const file = join(confDir, `${iface}.conf`);
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}
const up = (ns: string, file: string) => inNs(ns, 'wg-quick', 'up', file);
const down = (ns: string, file: string) => inNs(ns, 'wg-quick', 'down', file);
/** down + up with the same file: forces a fresh handshake at once instead of after ~15 s. */
const restart = (ns: string, file: string) => {
  down(ns, file);
  up(ns, file);
};

const gatewayPeers = (ns = NS.gw, iface = gatewayIface) => wgDump(ns, iface);
const gatewayKeys = () => gatewayPeers().map((p) => p.publicKey).sort();
const applies = (instanceId = INSTANCE) => api.stack.runner.list().filter((c) => c.kind === 'apply' && c.instanceId === instanceId);

/** The gateway's peers from `wg show dump` equal the enabled clients the API lists, key and address. */
async function assertGatewayMatchesApi(id = gatewayId, ns = NS.gw, iface = gatewayIface): Promise<number> {
  const expected = (await allClients(id))
    .filter((c) => c.enabled)
    .map((c) => `${c.publicKey} ${c.address}/32`)
    .sort();
  const actual = gatewayPeers(ns, iface)
    .map((p) => `${p.publicKey} ${p.allowedIps.join(',')}`)
    .sort();
  assert.equal(actual.length, expected.length, 'peer count');
  assert.deepEqual(actual, expected);
  return actual.length;
}

/** Runs `total` tasks with at most `concurrency` in flight. */
async function pool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

const clients: Record<string, { name: string; address: string; publicKey: string; file: string }> = {};

describe('clients through the API reach the network behind a real WireGuard gateway', { skip, concurrency: false }, () => {
  const startedAt = Date.now();
  before(async () => {
    addNamespaces(Object.values(NS));
    mkdirSync(confDir, { mode: 0o700 });
    // The gateway's underlay: a bridge the clients' veths hang off (the "internet" of this test).
    inNs(NS.gw, 'ip', 'link', 'add', BRIDGE, 'type', 'bridge');
    inNs(NS.gw, 'ip', 'addr', 'add', `${ENDPOINT}/24`, 'dev', BRIDGE);
    inNs(NS.gw, 'ip', 'link', 'set', BRIDGE, 'up');
    for (const k of ['a', 'b', 'c'] as const) {
      const br = VETH[`br${k.toUpperCase()}` as 'brA' | 'brB' | 'brC'];
      run('ip', ['link', 'add', br, 'netns', NS.gw, 'type', 'veth', 'peer', 'name', VETH[k], 'netns', NS[k]]);
      inNs(NS.gw, 'ip', 'link', 'set', br, 'master', BRIDGE);
      inNs(NS.gw, 'ip', 'link', 'set', br, 'up');
      inNs(NS[k], 'ip', 'addr', 'add', `${UNDERLAY[k]}/24`, 'dev', VETH[k]);
      inNs(NS[k], 'ip', 'link', 'set', VETH[k], 'up');
    }
    veth(VETH.gwHost, NS.gw, `${GW_LAN_IP}/24`, VETH.host, NS.host, `${HOST_IP}/24`);
    inNs(NS.host, 'ip', 'route', 'add', OVERLAY, 'via', GW_LAN_IP);
    await tcpServer(NS.host, HOST_IP, HOST_PORT, children);
  });

  after(() => {
    cleanup();
    console.log(`# api-tunnels: ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  });

  it('a gateway registered through the API turns ready: init ran in its namespace', async () => {
    await ok(call('POST', '/networks', { name: NET, addressRange: OVERLAY }), 201);
    const ready = await registerGateway(INSTANCE, { endpoint: ENDPOINT, routedRanges: [HOST_RANGE] });
    gatewayId = ready.id;
    gatewayIface = ready.interfaceName;
    assert.equal(inNs(NS.gw, 'wg', 'show', gatewayIface, 'public-key').trim(), ready.publicKey);
    assert.equal(inNs(NS.gw, 'sysctl', '-n', 'net.ipv4.ip_forward').trim(), '1');
  });

  it('two clients get their configs through one-time links; each reaches the host behind the gateway (ping and TCP)', async () => {
    for (const [k, body] of [['a', { name: 'alice', presharedKey: true }], ['b', { name: 'bob' }]] as const) {
      const c = await createClient(body);
      clients[k] = { name: c.name, address: c.address, publicKey: c.publicKey, file: '' };
    }
    for (const k of ['a', 'b'] as const) {
      await inEffect(clients[k]!.name);
      const text = await downloadViaLink(clients[k]!.name);
      assert.match(text, /^\[Interface\]\nPrivateKey = [A-Za-z0-9+/]{43}=\n/);
      assert.match(text, new RegExp(`^AllowedIPs = ${OVERLAY}, ${HOST_RANGE}$`, 'm'));
      assert.match(text, new RegExp(`^Endpoint = ${ENDPOINT}:51820$`, 'm'));
      clients[k]!.file = saveConfig(IF[k], text);
      up(NS[k], clients[k]!.file);
      // No default route and no Table setting needed: the client namespace only gets the routes of
      // AllowedIPs through its tunnel.
      assert.match(inNs(NS[k], 'ip', 'route', 'show', OVERLAY), new RegExp(`dev ${IF[k]}`));
      assert.match(inNs(NS[k], 'ip', 'route', 'show', HOST_RANGE), new RegExp(`dev ${IF[k]}`));
      assert.equal(inNs(NS[k], 'ip', 'route', 'show', 'default').trim(), '');
      await tcpServer(NS[k], clients[k]!.address, 8081, children);
    }
    const psk = /^PresharedKey = (\S+)$/m.exec((await downloadViaLink(clients.a!.name)))?.[1];
    assert.ok(psk, "alice's config carries her preshared key");
    assert.equal(gatewayPeers().find((p) => p.publicKey === clients.a!.publicKey)?.presharedKey, psk, 'the gateway has it too');
    for (const k of ['a', 'b'] as const) {
      assert.ok(reaches(NS[k], HOST_IP, 5000), `${k} pings the host`);
      assert.equal(tcpExchange(NS[k], HOST_IP, HOST_PORT), `hello from ${GW_LAN_IP}`, `${k} opens a TCP connection (NATed)`);
    }
  });

  it('the host cannot open a connection to a client although it has a route: the firewall stops it', () => {
    assert.equal(tcpExchange(NS.host, clients.a!.address, 8081), '');
    assert.ok(!pings(NS.host, clients.a!.address));
    // Control: with an ACCEPT placed before the gateway's chain the same flow goes through, so the
    // route and the client's tunnel are fine and it is the gateway's rule that refuses it.
    const hole = ['FORWARD', '-s', HOST_IP, '-d', clients.a!.address, '-j', 'ACCEPT'];
    inNs(NS.gw, 'iptables', '-I', ...hole);
    try {
      assert.equal(tcpExchange(NS.host, clients.a!.address, 8081), `hello from ${HOST_IP}`);
    } finally {
      inNs(NS.gw, 'iptables', '-D', ...hole);
    }
    assert.equal(tcpExchange(NS.host, clients.a!.address, 8081), '');
  });

  it('the two clients cannot reach each other', () => {
    assert.ok(!pings(NS.a, clients.b!.address));
    assert.ok(!pings(NS.b, clients.a!.address));
    assert.equal(tcpExchange(NS.a, clients.b!.address, 8081), '');
    assert.equal(tcpExchange(NS.b, clients.a!.address, 8081), '');
    assert.ok(reaches(NS.a, HOST_IP, 3000), 'while both still reach the network');
  });

  it('disable stops the traffic; enable makes the same config file work again; delete stops it for good', async () => {
    const a = clients.a!;
    await ok(call('PATCH', `/networks/${NET}/clients/${a.name}`, { enabled: false }), 200);
    await inEffect(a.name);
    assert.ok(!gatewayKeys().includes(a.publicKey), 'the peer left the gateway');
    assert.ok(!pings(NS.a, HOST_IP), 'disabled: no traffic');
    assert.equal(tcpExchange(NS.a, HOST_IP, HOST_PORT), '');
    assert.ok(reaches(NS.b, HOST_IP, 3000), 'bob is unaffected');

    await ok(call('PATCH', `/networks/${NET}/clients/${a.name}`, { enabled: true }), 200);
    await inEffect(a.name);
    assert.ok(gatewayKeys().includes(a.publicKey));
    restart(NS.a, a.file); // the file downloaded before, not a new one
    assert.ok(reaches(NS.a, HOST_IP, 5000), 'enabled again: the same config works');
    assert.equal(tcpExchange(NS.a, HOST_IP, HOST_PORT), `hello from ${GW_LAN_IP}`);

    await ok(call('DELETE', `/networks/${NET}/clients/${a.name}`), 204);
    await gatewayInSync();
    assert.ok(!gatewayKeys().includes(a.publicKey), 'the peer left the gateway');
    restart(NS.a, a.file);
    assert.ok(!reaches(NS.a, HOST_IP, 3000), 'deleted: no traffic, even with a fresh handshake attempt');
    assert.equal(tcpExchange(NS.a, HOST_IP, HOST_PORT), '');
    assert.equal((await call('GET', `/networks/${NET}/clients/${a.name}`)).status, 404);
    assert.equal((await call('POST', `/networks/${NET}/clients/${a.name}/links`, {})).status, 404);
    down(NS.a, a.file);
  });

  it('a bring-your-own-key client works with its own private key', async () => {
    const own = keyPair();
    const c = await createClient({ name: 'carol', publicKey: own.publicKey });
    assert.equal(c.hasPrivateKey, false);
    await inEffect(c.name);
    const text = await downloadViaLink(c.name);
    assert.ok(text.includes(`PrivateKey = ${PRIVATE_KEY_PLACEHOLDER}\n`), 'the config has the placeholder');
    assert.ok(!text.includes(own.privateKey));
    const file = saveConfig(IF.c, text.replace(`PrivateKey = ${PRIVATE_KEY_PLACEHOLDER}`, `PrivateKey = ${own.privateKey}`));
    clients.c = { name: c.name, address: c.address, publicKey: own.publicKey, file };
    up(NS.c, file);
    assert.ok(reaches(NS.c, HOST_IP, 5000), 'carol pings the host');
    assert.equal(tcpExchange(NS.c, HOST_IP, HOST_PORT), `hello from ${GW_LAN_IP}`);
    assert.ok(!pings(NS.c, clients.b!.address), 'and not bob');
  });

  it('20 changes while the worker is stopped and the gateway offline: one apply brings it to exactly the desired peer set', async () => {
    await gatewayInSync();
    await api.stack.setWorkerRunning(false);
    api.stack.runner.setOnline(false);
    const before = applies().length;
    const names = Array.from({ length: 10 }, (_, i) => `off-${i}`);
    let changes = 0;
    for (const name of names) {
      await createClient({ name });
      changes++;
    }
    for (const name of names.slice(0, 5)) {
      await ok(call('PATCH', `/networks/${NET}/clients/${name}`, { enabled: false }), 200);
      changes++;
    }
    for (const name of names.slice(4, 7)) {
      await ok(call('DELETE', `/networks/${NET}/clients/${name}`), 204);
      changes++;
    }
    for (const name of names.slice(0, 2)) {
      await ok(call('PATCH', `/networks/${NET}/clients/${name}`, { enabled: true }), 200);
      changes++;
    }
    assert.equal(changes, 20);
    const g = await gateway();
    assert.ok(g.desiredGeneration > g.appliedGeneration, 'not in effect yet, and the API says so');
    assert.equal((await ok(call('GET', `/networks/${NET}/clients/off-0`), 200)).inEffect, false);
    assert.equal(applies().length, before, 'nothing was sent meanwhile');

    const back = Date.now();
    api.stack.runner.setOnline(true);
    await api.stack.setWorkerRunning(true);
    await api.stack.sweep(); // the schedule's catch-up run, now rather than in up to 10 s
    await gatewayInSync();
    await sleep(1000); // nothing else follows
    const sent = applies().filter((c) => c.sentAt >= back);
    assert.equal(sent.length, 1, `applies after coming back: ${sent.length}`);
    assert.equal(sent[0]!.result.status, 'success');
    const peers = await assertGatewayMatchesApi();
    assert.equal(peers, 2 + 5, 'bob, carol, off-0, off-1, off-7, off-8, off-9');
    console.log(`# offline: 20 changes, back → in sync in ${Date.now() - back - 1000} ms with 1 apply (${sent[0]!.result.stdout?.trim()})`);
    assert.ok(reaches(NS.b, HOST_IP, 3000), 'bob still reaches the host');
  });

  it(`a burst of ${BURST} client creations on a quiet gateway needs at most burst ÷ median apply + 2 applies and ends on exactly those ${BURST} peers`, async () => {
    // Its own gateway (no veths needed: nothing connects), quiet before the burst.
    const g2 = await registerGateway(INSTANCE2, { endpoint: '198.18.99.1', listenPort: 51821 });
    gateway2Id = g2.id;
    gateway2Iface = g2.interfaceName;
    assert.equal(gatewayPeers(NS.gw2, gateway2Iface).length, 0);
    const t0 = Date.now();
    await pool(BURST, BURST_CONCURRENCY, async (i) => {
      await createClient({ gatewayId: gateway2Id, name: `burst-${String(i).padStart(4, '0')}` });
    });
    const burstMs = Date.now() - t0;
    const synced = await gatewayInSync(gateway2Id, 120_000);
    const settledMs = Date.now() - t0;
    await sleep(1000); // nothing else follows
    const sent = applies(INSTANCE2);
    const timeline = sent.map((c) => `+${((c.sentAt - t0) / 1000).toFixed(1)}s ${/peers=\d+/.exec(c.result.stdout ?? '')?.[0] ?? c.result.status}`);
    // At most one apply in flight: each change waits at most for the running apply, then goes out
    // with everything else that came meanwhile.
    const durations = sent.map((c) => c.finishedAt! - c.sentAt).sort((a, b) => a - b);
    const medianApply = durations[Math.floor((durations.length - 1) / 2)]!;
    const bound = Math.floor(burstMs / medianApply) + 2;
    console.log(`# burst: ${BURST} creations (concurrency ${BURST_CONCURRENCY}) took ${burstMs} ms; in sync after ${settledMs} ms; ${sent.length} applies (bound ${bound}, median apply ${medianApply} ms): ${timeline.join(' | ')}`);
    assert.ok(sent.length <= bound, `${sent.length} applies for the burst, bound ${bound}`);

    assert.ok(sent.every((c) => c.result.status === 'success'), sent.filter((c) => c.result.status !== 'success').map((c) => `${c.result.status}: ${c.result.reason} ${c.stderr ?? ''}`).join('; '));
    assert.equal(synced.lastSync.message, `${BURST} peers`);
    assert.equal(await assertGatewayMatchesApi(gateway2Id, NS.gw2, gateway2Iface), BURST);
    assert.ok(reaches(NS.b, HOST_IP, 3000), 'the other gateway is unaffected: bob still reaches the host');
  });
});
