// The report script's output and what answers make of it. golden/wg-show-dump.txt is the real
// `wg show <iface> dump` of a wireguard-go interface with three peers (one connected, with a
// preshared key; keys made for that capture only), golden/ip-link.txt the interface's `ip -o link`.
// The script runs for real here with bash, reading them through stand-ins for `wg` and `ip`; the
// end-to-end test runs it in a namespace against a live interface.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ONLINE_WINDOW_SECONDS,
  parseReportOutput,
  reportAgeSeconds,
  SnapshotView,
  type StatusSnapshot,
} from '../../../functions/domain/gateway-report.js';
import { renderScript } from '../../../infra/ssm/documents.js';

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');
const DUMP = golden('wg-show-dump.txt');
const LINK = golden('ip-link.txt');
const dumpLines = DUMP.trim().split('\n').map((l) => l.split('\t'));
const [interfaceLine, ...peerLines] = dumpLines;
const PRIVATE_KEY = interfaceLine![0]!;
const connected = peerLines.find((p) => p[4] !== '0')!;

const work = mkdtempSync(join(tmpdir(), 'wgi-report-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs report.sh as SSM would, with `wg` and `ip` answering from the golden files. */
function runReport(interfaces: Record<string, { dump: string; link: string }>): { stdout: string; stderr: string; status: number | null } {
  const dir = mkdtempSync(join(work, 'run-'));
  const stateDir = join(dir, 'state');
  const bin = join(dir, 'bin');
  mkdirSync(stateDir);
  mkdirSync(bin);
  for (const [name, files] of Object.entries(interfaces)) {
    writeFileSync(join(stateDir, `${name}.interface`), '[Interface]\n');
    writeFileSync(join(dir, `${name}.dump`), files.dump);
    writeFileSync(join(dir, `${name}.link`), files.link);
  }
  writeFileSync(join(stateDir, 'not an interface!.interface'), '');
  // wg show <iface> dump · ip -o link show dev <iface>: the files of that interface, or failure.
  writeFileSync(join(bin, 'wg'), `#!/bin/bash\n[ "$1" = show ] && [ "$3" = dump ] && exec cat "${dir}/$2.dump"\nexit 1\n`);
  writeFileSync(join(bin, 'ip'), `#!/bin/bash\n[ -f "${dir}/$5.link" ] && exec cat "${dir}/$5.link"\necho "Device \\"$5\\" does not exist." >&2; exit 1\n`);
  chmodSync(join(bin, 'wg'), 0o755);
  chmodSync(join(bin, 'ip'), 0o755);
  const script = join(dir, 'report.sh');
  writeFileSync(script, renderScript('report', { stateDir }));
  const r = spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('the report script and its parser', () => {
  it('reports each initialised interface from one real wg dump: up, every peer, never a private or preshared key', () => {
    const run = runReport({ wgi0: { dump: DUMP, link: LINK } });
    assert.equal(run.status, 0, run.stderr);
    assert.ok(!run.stdout.includes(PRIVATE_KEY), 'the private key stays on the gateway');
    for (const p of peerLines) if (p[1] !== '(none)') assert.ok(!run.stdout.includes(p[1]!), 'preshared keys stay on the gateway');
    const report = parseReportOutput(run.stdout);
    assert.ok(Math.abs(report.at - Date.now() / 1000) < 60);
    assert.deepEqual([...report.interfaces.keys()], ['wgi0'], 'only names of the grammar are reported');
    const wgi0 = report.interfaces.get('wgi0')!;
    assert.equal(wgi0.up, true);
    assert.deepEqual(
      wgi0.peers,
      peerLines.map((p) => [p[0], p[2] === '(none)' ? null : p[2], Number(p[4]), Number(p[5]), Number(p[6])]),
    );
    const peer = wgi0.peers.find((p) => p[0] === connected[0])!;
    assert.match(peer[1]!, /^198\.18\.5\.2:\d+$/);
    assert.ok(peer[2] > 0 && peer[3] > 0 && peer[4] > 0);
  });

  it('an interface that is down or gone reports up=0 and no peers', () => {
    const run = runReport({ wgi1: { dump: DUMP, link: LINK.replace(',UP,LOWER_UP', '') }, wgi2: { dump: '', link: '' } });
    assert.equal(run.status, 0, run.stderr);
    const report = parseReportOutput(run.stdout);
    assert.equal(report.interfaces.get('wgi1')!.up, false);
    assert.equal(report.interfaces.get('wgi1')!.peers.length, 3);
    assert.deepEqual(report.interfaces.get('wgi2'), { up: false, peers: [] });
  });

  it('no interface at all is a report with none', () => {
    const run = runReport({});
    assert.equal(run.status, 0, run.stderr);
    assert.equal(parseReportOutput(run.stdout).interfaces.size, 0);
  });

  it('refuses output that is cut short, altered or not what the script prints', () => {
    const good = runReport({ wgi0: { dump: DUMP, link: LINK } }).stdout;
    const lines = good.split('\n');
    const cases: [string, string][] = [
      ['no end', lines.filter((l) => l !== 'WG_INGRESS_REPORT_END').join('\n')],
      ['a peer line lost', lines.filter((l, i) => i !== 2).join('\n')],
      ['no header', lines.slice(1).join('\n')],
      ['a key that is not one', good.replace(connected[0]!, 'not-a-key')],
      ['a counter that is not one', good.replace(`\t${connected[5]}\t`, '\t-5\t')],
      ['an endpoint that is not one', good.replace(/198\.18\.5\.2:\d+/, 'evil.example:1')],
      ['a line after the end', `${good}extra\n`],
      ['the private key line', good.replace('WG_INGRESS_INTERFACE name=wgi0 up=1\n', `WG_INGRESS_INTERFACE name=wgi0 up=1\n${interfaceLine!.join('\t')}\n`)],
    ];
    for (const [what, text] of cases) assert.throws(() => parseReportOutput(text), /report/, what);
  });
});

const snapshot = (peers: StatusSnapshot['report']): StatusSnapshot => ({
  version: 1,
  network: 'n',
  gatewayId: 'gw-0123456789',
  instanceId: 'i-0123456789abcdef0',
  interfaceName: 'wgi-0123456789',
  observedAt: '2026-12-02T00:00:10.000Z',
  agent: 'online',
  report: peers,
  requestedSince: '2026-12-01T23:00:00.000Z',
});

describe('status and health from a snapshot', () => {
  const at = Date.parse('2026-12-02T00:00:00.000Z') / 1000;
  const KEYS = ['A'.repeat(43) + '=', 'B'.repeat(43) + '=', 'C'.repeat(43) + '='];
  const view = new SnapshotView(
    snapshot({
      at: '2026-12-02T00:00:05.000Z',
      interfaceUp: true,
      peers: [
        [KEYS[0]!, '198.51.100.7:40000', at - 10, 1000, 2000],
        [KEYS[1]!, null, 0, 0, 0],
        [KEYS[2]!, '[2001:db8::7]:51000', at - ONLINE_WINDOW_SECONDS - 1, 5, 6],
      ],
    }),
  );
  const now = new Date(at * 1000);

  it('a handshake within 180 s is online; the values are the dump\'s own', () => {
    assert.deepEqual(view.clientStatus(KEYS[0]!, now), {
      online: true,
      lastHandshakeAt: new Date((at - 10) * 1000).toISOString(),
      rxBytes: 1000,
      txBytes: 2000,
      endpoint: '198.51.100.7:40000',
      observedAt: '2026-12-02T00:00:05.000Z',
    });
    assert.equal(view.clientStatus(KEYS[2]!, now)!.online, false, '181 s ago');
    assert.equal(view.clientStatus(KEYS[2]!, new Date((at - 1) * 1000))!.online, true, '180 s ago');
    assert.equal(view.clientStatus(KEYS[0]!, new Date((at + 171) * 1000))!.online, false, 'a report that ages turns offline by itself');
  });

  it('never connected: not online and no handshake; never reported: null', () => {
    assert.deepEqual(view.clientStatus(KEYS[1]!, now), { online: false, lastHandshakeAt: null, rxBytes: 0, txBytes: 0, endpoint: null, observedAt: '2026-12-02T00:00:05.000Z' });
    assert.equal(view.clientStatus('D'.repeat(43) + '=', now), null);
    assert.equal(new SnapshotView(snapshot(null)).clientStatus(KEYS[0]!, now), null);
  });

  it('health counts the peers and those online; before any report it invents none', () => {
    assert.deepEqual(view.health(now), {
      agent: 'online',
      lastSeenAt: '2026-12-02T00:00:05.000Z',
      interfaceUp: true,
      peers: 3,
      peersOnline: 1,
      observedAt: '2026-12-02T00:00:10.000Z',
    });
    assert.deepEqual(new SnapshotView(snapshot(null)).health(now), {
      agent: 'online',
      lastSeenAt: null,
      interfaceUp: null,
      peers: null,
      peersOnline: null,
      observedAt: '2026-12-02T00:00:10.000Z',
    });
  });

  it("a report's age runs from its time, or from the first request while none came", () => {
    assert.equal(reportAgeSeconds(view.snapshot, new Date('2026-12-02T00:01:05.000Z')), 60);
    assert.equal(reportAgeSeconds(snapshot(null), new Date('2026-12-02T00:00:00.000Z')), 3600);
  });
});
