// Cross-checks rendered client configs with the real tools: `wg-quick strip`, then `wg setconf`
// onto a wireguard-go interface inside a fresh network namespace (the kernel here has no
// WireGuard module; see ../../../shared/WIREGUARD-HERE.md).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderClientConfig, type RenderClientConfigInput } from '../../functions/domain/render-client-config.js';
import { completeByoConfig, configVariants, KEYS } from '../unit/domain/fixtures.js';
import { useLocalApi } from '../support/local-api.js';

const TOOLS = ['/usr/bin/wg', '/usr/bin/wg-quick', '/usr/bin/wireguard-go', '/usr/sbin/ip', '/usr/bin/ip'];
const missing = ['wg', 'wg-quick', 'wireguard-go'].filter((t) => !TOOLS.some((p) => p.endsWith(`/${t}`) && existsSync(p)));
const skip =
  process.getuid?.() !== 0
    ? 'needs root for network namespaces'
    : missing.length > 0
      ? `missing ${missing.join(', ')}`
      : false;

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
  } catch (err) {
    const e = err as { stderr?: string; status?: number };
    throw new Error(`${cmd} ${args.join(' ')} failed (${e.status}): ${e.stderr ?? err}`);
  }
}

const tryRun = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    /* cleanup of something that may not exist */
  }
};

// Interface names are global across namespaces for wireguard-go (its sockets live in the shared
// /var/run/wireguard), so they carry this process's id; 15 characters at most.
let counter = 0;
function uniqueNames(): { ifname: string; ns: string } {
  const id = `${process.pid.toString(36)}${(counter++).toString(36)}`;
  const ifname = `wgc${id}`.slice(0, 15);
  return { ifname, ns: `wgi-cfgtest-${id}` };
}

interface Applied {
  stripped: string;
  /** `wg show <if> dump`: the interface line, then one line per peer, tab-separated. */
  dump: string[][];
}

/** Writes the config as <ifname>.conf, strips it, applies it in a namespace; always cleans up. */
function stripAndApply(text: string, hosts?: Record<string, string>): Applied {
  const { ifname, ns } = uniqueNames();
  const dir = mkdtempSync(join(tmpdir(), 'wg-ingress-cfg-'));
  const nsEtc = join('/etc/netns', ns);
  try {
    const file = join(dir, `${ifname}.conf`);
    writeFileSync(file, text, { mode: 0o600 });
    const stripped = run('wg-quick', ['strip', file]);
    const strippedFile = join(dir, 'stripped.conf');
    writeFileSync(strippedFile, stripped, { mode: 0o600 });

    if (hosts) {
      // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts for that namespace only.
      mkdirSync(nsEtc, { recursive: true });
      writeFileSync(join(nsEtc, 'hosts'), Object.entries(hosts).map(([name, ip]) => `${ip} ${name}\n`).join(''));
    }
    run('ip', ['netns', 'add', ns]);
    run('ip', ['netns', 'exec', ns, 'wireguard-go', ifname]);
    run('ip', ['netns', 'exec', ns, 'wg', 'setconf', ifname, strippedFile]);
    const dump = run('ip', ['netns', 'exec', ns, 'wg', 'show', ifname, 'dump'])
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'));
    return { stripped, dump };
  } finally {
    // Deleting the link ends the wireguard-go process that serves it.
    tryRun('ip', ['netns', 'exec', ns, 'ip', 'link', 'del', ifname]);
    tryRun('ip', ['netns', 'del', ns]);
    rmSync(nsEtc, { recursive: true, force: true });
    rmSync(join('/var/run/wireguard', `${ifname}.sock`), { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectPeer(applied: Applied, input: RenderClientConfigInput, expected: { privateKey: string; endpoint: string }) {
  const [iface, peer, ...rest] = applied.dump;
  assert.ok(iface && peer, 'interface and peer lines');
  assert.equal(rest.length, 0, 'exactly one peer');
  assert.equal(iface[0], expected.privateKey);
  const [publicKey, presharedKey, endpoint, allowedIps, , , , keepalive] = peer;
  assert.equal(publicKey, input.gateway.publicKey);
  assert.equal(presharedKey, input.presharedKey ?? '(none)');
  assert.equal(endpoint, expected.endpoint);
  const expectedAllowed = input.gateway.fullTunnel
    ? ['0.0.0.0/0', '::/0']
    : [...new Set([input.network.addressRange, ...(input.network.addressRange6 ? [input.network.addressRange6] : []), ...input.gateway.routedRanges])];
  assert.deepEqual(allowedIps!.split(',').sort(), [...expectedAllowed].sort());
  assert.equal(keepalive, input.gateway.persistentKeepalive === undefined ? 'off' : String(input.gateway.persistentKeepalive));
  // wg-quick's own keys must be gone, the rest kept.
  assert.doesNotMatch(applied.stripped, /^(Address|DNS|MTU)\s*=/m);
}

const netnsEtcExisted = existsSync('/etc/netns');

const api = useLocalApi();

describe('rendered configs pass wg-quick strip and wg setconf on a real interface', { skip }, () => {
  after(() => {
    // Only if this file made it, and only while empty (other suites may be using it right now).
    if (!netnsEtcExisted) tryRun('rmdir', ['/etc/netns']);
  });

  for (const [name, input] of Object.entries(configVariants)) {
    it(`applies the ${name} config`, () => {
      let text = renderClientConfig(input);
      const privateKey = input.privateKey ?? KEYS.byoPrivate;
      if (input.privateKey === undefined) text = completeByoConfig(text);
      const host = input.gateway.endpoint;
      const hosts = /[a-z]/i.test(host) && !host.includes(':') ? { [host]: '192.0.2.10' } : undefined;
      const ip = hosts ? '192.0.2.10' : host;
      const endpoint = `${ip.includes(':') ? `[${ip}]` : ip}:${input.gateway.listenPort}`;
      expectPeer(stripAndApply(text, hosts), input, { privateKey, endpoint });
    });
  }

  it('refuses a bring-your-own-key config whose placeholder was not replaced', () => {
    const text = renderClientConfig(configVariants['byo-key']!);
    assert.throws(() => stripAndApply(text), /wg setconf .* failed/);
  });

  it('accepts the config a generated-key client downloads through the API', async () => {
    // The worker (record mode) makes the gateway ready with a key of its own.
    await api.call('POST', '/networks', { name: 'cfgtools', addressRange: '10.44.0.0/24', addressRange6: 'fd00:44::/120' });
    const gw = await api.call('POST', '/networks/cfgtools/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.44', routedRanges: ['172.16.44.0/24'], persistentKeepalive: 25 });
    let ready: { status: string; publicKey?: string } = gw.json;
    for (let i = 0; i < 200 && ready.status !== 'ready'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ready = (await api.call('GET', `/networks/cfgtools/gateways/${gw.json.id}`)).json;
    }
    assert.equal(ready.status, 'ready');
    const client = await api.call('POST', '/networks/cfgtools/clients', { gatewayId: gw.json.id, presharedKey: true });
    assert.equal(client.status, 201);
    const download = await api.call('GET', `/networks/cfgtools/clients/${client.json.id}/config`);
    assert.equal(download.status, 200, download.text);
    const res = await fetch(download.json.configUrl);
    assert.equal(res.status, 200);
    const applied = stripAndApply(await res.text());
    const [iface, peer] = applied.dump;
    assert.equal(run('wg', ['pubkey'], iface![0]).trim(), client.json.publicKey, 'the private key in the file belongs to the client');
    assert.equal(peer![0], ready.publicKey, 'the peer is the gateway');
    assert.equal(peer![1]!.length, 44, 'the preshared key is applied');
    assert.equal(peer![2], '192.0.2.44:51820');
    assert.deepEqual(peer![3]!.split(',').sort(), ['10.44.0.0/24', '172.16.44.0/24', 'fd00:44::/120'].sort());
    assert.equal(peer![7], '25');
  });

  it('leaves no namespace, interface or socket behind', () => {
    const prefix = `wgi-cfgtest-${process.pid.toString(36)}`;
    assert.doesNotMatch(run('ip', ['netns', 'list']), new RegExp(prefix));
    assert.doesNotMatch(run('wg', ['show', 'interfaces']), new RegExp(`wgc${process.pid.toString(36)}`));
  });
});
