import assert from 'node:assert/strict';
import { isInSync } from '../../../functions/domain/generation.js';
import { describe, it } from 'node:test';
import { createClient } from '../../../functions/app/clients.js';
import { needsWork, sweepGateways, syncReported, teardownGateway, type WorkerReport } from '../../../functions/app/gateway-worker.js';
import { createGateway } from '../../../functions/app/gateways.js';
import { parsePeerSet } from '../../../functions/domain/peer-set.js';
import type { Gateway } from '../../../functions/domain/model.js';
import { TEST_AUDIT, fakeWorld, markApplied, markReady, networkWithGateway, type FakeWorld } from '../../support/fakes.js';

const instance = (n: number) => `i-0123456789abcdef${n}`;
const byGateway = (reports: WorkerReport[]) => new Map(reports.map((r) => [r.gatewayId, r]));

/** Three gateways of one network: one in sync, one just registered, one behind by a client. */
async function threeGateways(w: FakeWorld) {
  const { network, gateway: inSync } = await networkWithGateway(w, { ready: true, instanceId: instance(0) });
  const net = network.name;
  const fresh = await createGateway(w.deps, net, { instanceId: instance(1), endpoint: '192.0.2.2' }, TEST_AUDIT);
  const behind = await createGateway(w.deps, net, { instanceId: instance(2), endpoint: '192.0.2.3' }, TEST_AUDIT);
  await markReady(w, behind);
  await createClient(w.deps, net, { gatewayId: behind.id, name: 'alice' }, TEST_AUDIT);
  return { net, inSync, fresh, behind };
}

describe('needsWork', () => {
  const base = { status: 'ready', desiredGeneration: 5, appliedGeneration: 5 } as Gateway;
  it('is true for a pending gateway, one behind its desired generation, or one waiting for a command', () => {
    assert.equal(needsWork({ ...base, status: 'pending' }), true);
    assert.equal(needsWork({ ...base, appliedGeneration: 4 }), true);
    assert.equal(needsWork({ ...base, lastSync: { at: '', generation: 5, outcome: 'sent', commandId: 'c' } }), true);
  });
  it('is false for a gateway in sync and for one whose init failed (it waits for a resync request)', () => {
    assert.equal(needsWork(base), false);
    assert.equal(needsWork({ ...base, lastSync: { at: '', generation: 5, outcome: 'failed' } }), false);
    assert.equal(needsWork({ ...base, status: 'error', appliedGeneration: 0 }), false);
  });
});

describe('sweepGateways', () => {
  it('syncs only the gateways that need work: init for the new one, an apply for the one behind', async () => {
    const w = fakeWorld();
    const { net, inSync, fresh, behind } = await threeGateways(w);
    const reports = byGateway(await sweepGateways(w.deps, 60_000));
    assert.deepEqual([...reports.keys()].sort(), [fresh.id, behind.id].sort());
    assert.deepEqual(w.commands.sentTo(instance(0)), [], 'the gateway in sync gets nothing');
    assert.deepEqual(w.commands.sentTo(instance(1)).map((c) => c.kind), ['init']);
    assert.deepEqual(w.commands.sentTo(instance(2)).map((c) => c.kind), ['apply']);
    for (const id of [fresh.id, behind.id]) assert.deepEqual(reports.get(id), { kind: 'sync', network: net, gatewayId: id, state: 'in-sync', appliedGeneration: w.table.gatewayRow(net, id)!.gateway.appliedGeneration, commandsSent: 1 });
    for (const id of [fresh.id, behind.id]) assert.ok(isInSync(w.table.gatewayRow(net, id)!.read()));
    assert.equal(w.table.gatewayRow(net, fresh.id)!.gateway.status, 'ready');
    assert.equal(w.table.gatewayRow(net, fresh.id)!.gateway.publicKey, w.commands.instances.get(instance(1))!.publicKey);
    assert.equal(w.table.gatewayRow(net, inSync.id)!.gateway.appliedGeneration, 0);
  });

  it('reports a gateway that fails and still syncs the ones after it', async () => {
    const w = fakeWorld();
    const { net, fresh, behind } = await threeGateways(w);
    // Whichever of the two the sweep comes to first fails, whatever its command.
    const order = (await w.gateways.listAll(100)).items.map((g) => g.id).filter((id) => id === fresh.id || id === behind.id);
    const [failing, after] = order[0] === fresh.id ? [fresh, behind] : [behind, fresh];
    for (const kind of ['init', 'apply'] as const) w.commands.script(failing.instanceId, kind, () => new Error('instance not managed by SSM'));
    const reports = await sweepGateways(w.deps, 60_000);
    assert.deepEqual(reports.map((r) => r.gatewayId), [failing.id, after.id]);
    assert.deepEqual(reports[0], { kind: 'failed', step: 'sync', network: net, gatewayId: failing.id, error: 'Error', message: 'instance not managed by SSM' });
    assert.equal((reports[1] as { state?: string }).state, 'in-sync');
    assert.equal(w.commands.sentTo(after.instanceId).length, 1);
  });

  it("moves the generation of a gateway whose client expired and applies a peer set without it", async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    const net = network.name;
    const stays = await createClient(w.deps, net, { gatewayId: gateway.id, name: 'stays' }, TEST_AUDIT);
    const leaves = await createClient(w.deps, net, { gatewayId: gateway.id, name: 'leaves', expiresAt: '2026-06-01T12:30:00Z' }, TEST_AUDIT);
    markApplied(w, gateway);
    assert.deepEqual(await sweepGateways(w.deps, 60_000), [], 'nothing is due yet');
    w.clock.advance(3_600_000);
    const reports = await sweepGateways(w.deps, 60_000);
    assert.equal(reports.length, 1);
    assert.equal((reports[0] as { state?: string }).state, 'in-sync');
    const [apply] = w.commands.sentTo(instance(0), 'apply');
    const peers = parsePeerSet(w.objects.written(apply!.params.peerSetKey!)!).map((p) => p.publicKey);
    assert.deepEqual(peers, [stays.publicKey]);
    assert.ok(!peers.includes(leaves.publicKey));
    assert.deepEqual(await sweepGateways(w.deps, 60_000), [], 'once applied, the expiry is enforced and quiet');
  });

  it('reports an expiry check that fails and still syncs the others', async () => {
    const w = fakeWorld();
    const { net, fresh, inSync } = await threeGateways(w);
    w.table.gatewayRow(net, inSync.id)!.gateway.expiringClients = true;
    w.faults.before('clients.allOfGateway', (_n, gatewayId) => {
      if (gatewayId === inSync.id) throw new Error('DynamoDB unavailable');
    }, 3);
    const reports = byGateway(await sweepGateways(w.deps, 60_000));
    assert.deepEqual(reports.get(inSync.id), { kind: 'failed', step: 'expiries', network: net, gatewayId: inSync.id, error: 'Error', message: 'DynamoDB unavailable' });
    assert.equal((reports.get(fresh.id) as { state?: string }).state, 'in-sync');
  });

  it('reads every page of gateways', async () => {
    const w = fakeWorld();
    const { network } = await networkWithGateway(w, { addressRange: '10.0.0.0/16' });
    for (let i = 0; i < 120; i++) await createGateway(w.deps, network.name, { instanceId: instance(1), endpoint: '192.0.2.2' }, TEST_AUDIT);
    w.commands.script(instance(1), 'init', () => ({ status: 'pending' }));
    const reports = await sweepGateways(w.deps, 121_000);
    assert.equal(reports.length, 121);
    assert.ok(w.faults.calls('gateways.listAll') >= 2);
  });
});

describe('syncReported', () => {
  it('reports a gateway whose record is gone', async () => {
    const w = fakeWorld();
    assert.deepEqual(await syncReported(w.deps, { network: 'n', gatewayId: 'gw-0000000000' }, 1000), { kind: 'sync', network: 'n', gatewayId: 'gw-0000000000', state: 'gone', commandsSent: 0 });
  });
});

describe('teardownGateway', () => {
  const removed = { network: 'office', gatewayId: 'gw-abcdefghij', instanceId: instance(3), interfaceName: 'wgi-abcdefghij' };

  it('sends the teardown document for the interface and reports its result', async () => {
    const w = fakeWorld();
    const report = await teardownGateway({ ...w.deps, initOptions: () => ({ stateDir: '/var/lib/wg-test' }) }, removed, 10_000);
    assert.deepEqual(report, { kind: 'teardown', network: 'office', gatewayId: 'gw-abcdefghij', teardown: 'success' });
    assert.deepEqual(w.commands.sentTo(instance(3)).map((c) => [c.kind, c.params]), [['teardown', { interfaceName: 'wgi-abcdefghij', stateDir: '/var/lib/wg-test' }]]);
  });

  it('waits for a result that comes late, and reports a failure with its reason', async () => {
    const w = fakeWorld();
    w.commands.script(instance(3), 'teardown', () => [{ status: 'pending' }, { status: 'pending' }, { status: 'failed', reason: 'Failed: exit code 3' }]);
    const report = await teardownGateway(w.deps, removed, 10_000);
    assert.deepEqual(report, { kind: 'teardown', network: 'office', gatewayId: 'gw-abcdefghij', teardown: 'failed', reason: 'Failed: exit code 3' });
    assert.equal(w.faults.calls('commands.getResult'), 3);
  });

  it('reports a command still pending when its time is up', async () => {
    const w = fakeWorld();
    w.commands.script(instance(3), 'teardown', () => ({ status: 'pending' }));
    const report = await teardownGateway(w.deps, removed, 5_000);
    assert.equal((report as { teardown?: string }).teardown, 'pending');
    assert.equal(w.faults.calls('commands.getResult'), 6, 'one poll a second for five seconds, and the first');
  });

  it('reports a teardown that could not be sent', async () => {
    const w = fakeWorld();
    w.commands.script(instance(3), 'teardown', () => new Error('InvalidInstanceId'));
    assert.deepEqual(await teardownGateway(w.deps, removed, 5_000), { kind: 'failed', step: 'teardown', network: 'office', gatewayId: 'gw-abcdefghij', instanceId: instance(3), interfaceName: 'wgi-abcdefghij', error: 'Error', message: 'InvalidInstanceId' });
  });
});
