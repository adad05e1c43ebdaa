// The report runs and the answers' reader on the fakes: one command per 50 online instances, the
// output read at the next run into one snapshot per gateway, and answers merged at read time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PENDING_PATIENCE_MS, REPORT_BATCH, runReports, type ReportDeps } from '../../../functions/app/gateway-reports.js';
import { StatusReader } from '../../../functions/app/status-view.js';
import { getClient, listClients } from '../../../functions/app/clients.js';
import { generateKeyPair } from '../../../functions/domain/keys.js';
import { REPORT_STEP_NAME, reportStdoutKey } from '../../../functions/domain/object-keys.js';
import type { Gateway } from '../../../functions/domain/model.js';
import { FakeReporter, fakeWorld, markApplied, MemoryStatusSnapshots, networkWithGateway, TEST_AUDIT, type FakeWorld } from '../../support/fakes.js';
import { createClient } from '../../../functions/app/clients.js';

function reportDeps(w: FakeWorld, reporter = new FakeReporter(), snapshots = new MemoryStatusSnapshots()): ReportDeps & { reporter: FakeReporter; snapshots: MemoryStatusSnapshots } {
  return { gateways: w.gateways, snapshots, reporter, objects: w.objects, clock: w.clock, randomBytes: w.deps.randomBytes };
}

/** What the SSM agent writes for a report command on an instance: the script's stdout. */
function agentWrites(w: FakeWorld, sent: { commandId: string; output: { keyPrefix: string } }, instanceId: string, stdout: string): string {
  const key = reportStdoutKey(sent.output.keyPrefix, sent.commandId, instanceId, REPORT_STEP_NAME);
  void w.objects.putObject(key, stdout, 'text/plain');
  return key;
}

const reportText = (at: number, iface: string, peers: string[], up = 1) =>
  [`WG_INGRESS_REPORT v=1 at=${at}`, `WG_INGRESS_INTERFACE name=${iface} up=${up}`, ...peers, `WG_INGRESS_INTERFACE_END name=${iface} peers=${peers.length}`, 'WG_INGRESS_REPORT_END', ''].join('\n');

describe('report runs', () => {
  it('asks for a report at the first run, reads it into the snapshot at the next, and deletes the output', async () => {
    const w = fakeWorld({ now: '2026-12-02T00:00:00.000Z' });
    const { gateway } = await networkWithGateway(w, { ready: true });
    const deps = reportDeps(w);
    const first = await runReports(deps);
    assert.equal(deps.reporter.sent.length, 1);
    assert.deepEqual(deps.reporter.sent[0]!.instanceIds, [gateway.instanceId]);
    assert.equal(deps.reporter.sent[0]!.output.bucket, w.objects.bucket);
    assert.match(deps.reporter.sent[0]!.output.keyPrefix, /^reports\//);
    assert.equal(first.gateways[0]!.peers, null, 'no report yet: no count');
    const snap1 = deps.snapshots.get(gateway.network, gateway.id)!;
    assert.equal(snap1.report, null);
    assert.equal(snap1.pending?.commandId, deps.reporter.sent[0]!.commandId);

    const key = generateKeyPair().publicKey;
    const at = Date.parse('2026-12-02T00:00:30.000Z') / 1000;
    const outputKey = agentWrites(w, deps.reporter.sent[0]!, gateway.instanceId, reportText(at, gateway.interfaceName, [`${key}\t203.0.113.9:41000\t${at - 5}\t100\t200`]));
    w.clock.advance(60_000);
    const second = await runReports(deps);
    const snap2 = deps.snapshots.get(gateway.network, gateway.id)!;
    assert.deepEqual(snap2.report, { at: '2026-12-02T00:00:30.000Z', interfaceUp: true, peers: [[key, '203.0.113.9:41000', at - 5, 100, 200]] });
    assert.equal(snap2.requestedSince, snap1.requestedSince);
    assert.notEqual(snap2.pending?.commandId, snap1.pending?.commandId);
    assert.equal(await w.objects.getObject(outputKey), undefined, 'the output served: deleted');
    assert.deepEqual({ ...second.gateways[0], reportAgeSeconds: undefined }, {
      network: gateway.network,
      gatewayId: gateway.id,
      agent: 'online',
      reported: true,
      peers: 1,
      peersOnline: 1,
      reportAgeSeconds: undefined,
      syncLagSeconds: 0,
    });
    assert.equal(second.gateways[0]!.reportAgeSeconds, 30);
    assert.deepEqual(second.calls, { gatewayPages: 1, snapshotReads: 1, outputReads: 1, outputDeletes: 1, snapshotWrites: 1, agentLookups: 1, reportCommands: 1 });
  });

  it('waits for a late report instead of forgetting it, and asks again only once it is given up on', async () => {
    const w = fakeWorld({ now: '2026-12-02T00:00:00.000Z' });
    const { gateway } = await networkWithGateway(w, { ready: true });
    const deps = reportDeps(w);
    await runReports(deps);
    const first = deps.reporter.sent[0]!;
    // The next run comes before the agent has written anything: no second command, the first still pending.
    w.clock.advance(60_000);
    await runReports(deps);
    assert.equal(deps.reporter.sent.length, 1, 'no new command while the last one may still answer');
    assert.equal(deps.snapshots.get(gateway.network, gateway.id)!.pending?.commandId, first.commandId);
    // The late output arrives: the run after reads it, and asks for the next report.
    const at = Date.parse('2026-12-02T00:01:30.000Z') / 1000;
    agentWrites(w, first, gateway.instanceId, reportText(at, gateway.interfaceName, []));
    w.clock.advance(60_000);
    await runReports(deps);
    const snap = deps.snapshots.get(gateway.network, gateway.id)!;
    assert.equal(snap.report?.at, '2026-12-02T00:01:30.000Z', 'the late report is read, not lost');
    assert.equal(deps.reporter.sent.length, 2);
    // A command that never answers is given up on after the patience: the gateway is asked again.
    w.clock.advance(PENDING_PATIENCE_MS - 1_000);
    await runReports(deps);
    assert.equal(deps.reporter.sent.length, 2);
    w.clock.advance(1_000);
    await runReports(deps);
    assert.equal(deps.reporter.sent.length, 3);
    assert.equal(deps.snapshots.get(gateway.network, gateway.id)!.pending?.commandId, deps.reporter.sent[2]!.commandId);
  });

  it('sends each online instance a command of its own (50 agent lookups a call), and none to an agent SSM does not see online', async () => {
    const w = fakeWorld();
    const deps = reportDeps(w);
    const ids: string[] = [];
    const gateways: Gateway[] = [];
    for (let i = 0; i < 2 * REPORT_BATCH + 3; i++) {
      const instanceId = `i-${i.toString(16).padStart(17, '0')}`;
      ids.push(instanceId);
      gateways.push((await networkWithGateway(w, { ready: true, instanceId })).gateway);
    }
    deps.reporter.agents.set(ids[0]!, 'connection_lost');
    deps.reporter.agents.set(ids[1]!, 'inactive');
    const run = await runReports(deps);
    // One instance a command: no gateway learns the command id another one's output is read from.
    assert.deepEqual(deps.reporter.sent.map((s) => s.instanceIds.length), Array(ids.length - 2).fill(1));
    assert.equal(new Set(deps.reporter.sent.map((s) => s.commandId)).size, ids.length - 2);
    assert.ok(!deps.reporter.sent.some((s) => s.instanceIds.includes(ids[0]!) || s.instanceIds.includes(ids[1]!)));
    assert.equal(deps.reporter.agentLookups, 3);
    for (const g of gateways.slice(2)) {
      const mine = deps.reporter.sent.find((s) => s.instanceIds.includes(g.instanceId))!;
      assert.equal(deps.snapshots.get(g.network, g.id)!.pending?.commandId, mine.commandId, 'its output is read from under its own command');
    }
    assert.equal(run.gateways.length, ids.length);
    assert.equal(run.gateways.find((g) => g.agent === 'connection_lost')!.reported, false);
  });

  it('keeps the last report when the next is unreadable, and says why', async () => {
    const w = fakeWorld();
    const { gateway } = await networkWithGateway(w, { ready: true });
    const deps = reportDeps(w);
    await runReports(deps);
    agentWrites(w, deps.reporter.sent[0]!, gateway.instanceId, reportText(1796170000, gateway.interfaceName, []));
    await runReports(deps);
    const good = deps.snapshots.get(gateway.network, gateway.id)!.report;
    assert.deepEqual(good?.peers, []);
    agentWrites(w, deps.reporter.sent[1]!, gateway.instanceId, 'WG_INGRESS_REPORT v=1 at=1796170060\nWG_INGRESS_INTERFACE name=x up=1\n');
    const run = await runReports(deps);
    assert.match(run.gateways[0]!.problem!, /cut short/);
    assert.deepEqual(deps.snapshots.get(gateway.network, gateway.id)!.report, good);
  });

  it('a report without the gateway\'s interface shows it down with no peers; lag counts from when the gateway fell behind', async () => {
    const w = fakeWorld({ now: '2026-12-02T00:00:00.000Z' });
    const { gateway } = await networkWithGateway(w, { ready: true });
    await createClient(w.deps, gateway.network, { gatewayId: gateway.id, name: 'c1' }, TEST_AUDIT);
    const deps = reportDeps(w);
    const first = await runReports(deps);
    assert.equal(first.gateways[0]!.syncLagSeconds, 0);
    agentWrites(w, deps.reporter.sent[0]!, gateway.instanceId, reportText(1796170000, 'wgi-other', []));
    w.clock.advance(120_000);
    const second = await runReports(deps);
    assert.equal(second.gateways[0]!.syncLagSeconds, 120);
    assert.deepEqual(deps.snapshots.get(gateway.network, gateway.id)!.report?.interfaceUp, false);
    markApplied(w, gateway);
    const third = await runReports(deps);
    assert.equal(third.gateways[0]!.syncLagSeconds, 0);
    assert.equal(deps.snapshots.get(gateway.network, gateway.id)!.behindSince, undefined);
  });
});

describe('answers merge the snapshot at read time', () => {
  it('get and list carry the client\'s status; a reader re-reads only after its TTL, and then only if the ETag changed', async () => {
    const w = fakeWorld({ now: '2026-12-02T00:00:00.000Z' });
    const { gateway } = await networkWithGateway(w, { ready: true });
    const c = await createClient(w.deps, gateway.network, { gatewayId: gateway.id, name: 'phone' }, TEST_AUDIT);
    assert.equal(c.status, null);
    const deps = reportDeps(w);
    const status = new StatusReader(deps.snapshots, w.clock, 5_000);
    const withStatus = { ...w.deps, status };
    assert.equal((await getClient(withStatus, gateway.network, 'phone')).status, null, 'no snapshot yet');
    await runReports(deps);
    const at = Date.parse('2026-12-02T00:00:00.000Z') / 1000;
    agentWrites(w, deps.reporter.sent[0]!, gateway.instanceId, reportText(at, gateway.interfaceName, [`${c.publicKey}\t198.51.100.4:5000\t${at - 1}\t10\t20`]));
    w.clock.advance(5_000);
    await runReports(deps);
    const reads = deps.snapshots.reads;
    const one = await getClient(withStatus, gateway.network, 'phone');
    assert.deepEqual(one.status, { online: true, lastHandshakeAt: new Date((at - 1) * 1000).toISOString(), rxBytes: 10, txBytes: 20, endpoint: '198.51.100.4:5000', observedAt: new Date(at * 1000).toISOString() });
    const page = await listClients(withStatus, gateway.network, { limit: 100 });
    assert.deepEqual(page.items[0]!.status, one.status);
    assert.equal(deps.snapshots.reads, reads + 1, 'one read for both answers');
    w.clock.advance(5_000);
    await getClient(withStatus, gateway.network, 'phone');
    assert.equal(deps.snapshots.reads, reads + 2, 'after the TTL: asked again (unchanged)');
    assert.equal((await status.health(gateway))!.peers, 1);
  });

  it('a snapshot that cannot be read leaves the answer as it was: the last snapshot read, or no status; never a failed request', async () => {
    const w = fakeWorld({ now: '2026-12-02T00:00:00.000Z' });
    const { gateway } = await networkWithGateway(w, { ready: true });
    const c = await createClient(w.deps, gateway.network, { gatewayId: gateway.id, name: 'phone' }, TEST_AUDIT);
    const deps = reportDeps(w);
    let broken = true;
    // A store caught mid-write (or down): every read throws while `broken`.
    const flaky = { read: (...args: Parameters<typeof deps.snapshots.read>) => (broken ? Promise.reject(new SyntaxError('Unexpected end of JSON input')) : deps.snapshots.read(...args)) };
    const status = new StatusReader(flaky, w.clock, 5_000);
    const withStatus = { ...w.deps, status };
    await runReports(deps);
    const at = Date.parse('2026-12-02T00:00:00.000Z') / 1000;
    agentWrites(w, deps.reporter.sent[0]!, gateway.instanceId, reportText(at, gateway.interfaceName, [`${c.publicKey}\t198.51.100.4:5000\t${at - 1}\t10\t20`]));
    w.clock.advance(5_000);
    await runReports(deps);
    assert.equal((await getClient(withStatus, gateway.network, 'phone')).status, null, 'none read yet: no status, and the answer still comes');
    broken = false;
    w.clock.advance(5_000);
    const good = (await getClient(withStatus, gateway.network, 'phone')).status;
    assert.equal(good?.rxBytes, 10);
    broken = true;
    w.clock.advance(5_000);
    assert.deepEqual((await getClient(withStatus, gateway.network, 'phone')).status, good, 'the last snapshot read');
    assert.equal((await status.health(gateway))!.peers, 1);
  });
});
