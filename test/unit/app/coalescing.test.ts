// At most one apply in flight per gateway; what changes meanwhile goes out in the next apply, at
// once, and is reported in effect exactly when an apply that read it has landed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient, createClientsBatch, getClient, updateClient } from '../../../functions/app/clients.js';
import { CLAIM_STALE_MS, syncGateway } from '../../../functions/app/gateway-sync.js';
import { needsWork } from '../../../functions/app/gateway-worker.js';
import { ThrottledError } from '../../../functions/domain/errors.js';
import { isInSync } from '../../../functions/domain/generation.js';
import { TEST_AUDIT, fakeWorld, networkWithGateway } from '../../support/fakes.js';

async function readyGateway() {
  const w = fakeWorld();
  const { network, gateway } = await networkWithGateway(w, { ready: true });
  return { w, net: network.name, gw: gateway };
}


describe('in-flight coalescing', () => {
  it('folds a change made while an apply runs into the next apply, sent as soon as that one ends, and reports it in effect only then', async () => {
    const { w, net, gw } = await readyGateway();
    const alice = await createClient(w.deps, net, { gatewayId: gw.id, name: 'alice' }, TEST_AUDIT);
    let bob: Awaited<ReturnType<typeof createClient>> | undefined;
    const seenBetween: Record<string, boolean> = {};
    // While the first apply is in flight (its first result poll), the admin creates bob and
    // disables alice: two changes, on whatever shards they were given.
    w.faults.before('commands.getResult', async () => {
      bob = await createClient(w.deps, net, { gatewayId: gw.id, name: 'bob' }, TEST_AUDIT);
      await updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT);
    });
    // The moment the second apply is recorded as sent, the first has landed: alice's create is in
    // effect, neither change made during it is.
    w.faults.before('gateways.recordSync', () => undefined); // the first "sent"
    w.faults.before('gateways.recordSync', () => undefined); // the first result
    w.faults.before('gateways.recordSync', async () => {
      seenBetween.bob = (await getClient(w.deps, net, 'bob')).inEffect;
      seenBetween.alice = (await getClient(w.deps, net, 'alice')).inEffect;
    });
    const outcome = await syncGateway(w.deps, net, gw.id, 60_000);
    assert.equal(outcome.state, 'in-sync');
    assert.equal(outcome.commandsSent, 2, 'one apply for alice, one for everything changed while it ran');
    assert.deepEqual(seenBetween, { bob: false, alice: false }, 'alice now disabled: her disable is not in effect yet either');
    const applies = w.commands.sentTo(gw.instanceId, 'apply');
    assert.equal(applies.length, 2);
    assert.ok(Number(applies[1]!.params.generation) > Number(applies[0]!.params.generation));
    assert.equal((await getClient(w.deps, net, 'bob')).inEffect, true);
    assert.equal((await getClient(w.deps, net, 'alice')).inEffect, true, 'her disable is what the gateway runs now');
    assert.ok(bob && (await w.deps.clients.get(net, 'alice'))!.genShard !== undefined && (await w.deps.clients.get(net, 'bob'))!.genShard !== undefined);
    assert.ok(isInSync((await w.gateways.get(net, gw.id))!));
  });

  it('sends a change on an idle gateway at once, without waiting for earlier changes to age', async () => {
    const { w, net, gw } = await readyGateway();
    const t0 = w.clock.now().getTime();
    for (let i = 0; i < 8; i++) {
      await createClient(w.deps, net, { gatewayId: gw.id, name: `c${i}` }, TEST_AUDIT);
      const outcome = await syncGateway(w.deps, net, gw.id, 60_000);
      assert.equal(outcome.commandsSent, 1);
      assert.equal((await getClient(w.deps, net, `c${i}`)).inEffect, true);
    }
    // Only the worker's result polls moved the fake clock (one poll interval per apply at most).
    assert.ok(w.clock.now().getTime() - t0 <= 8 * w.deps.pollIntervalMs, `${w.clock.now().getTime() - t0} ms of waiting for 8 changes`);
  });

  it('never sends a second command while one is in flight (another invocation waits for it instead)', async () => {
    const { w, net, gw } = await readyGateway();
    await createClient(w.deps, net, { gatewayId: gw.id, name: 'alice' }, TEST_AUDIT);
    // The first run sends and runs out of time while the command is pending.
    w.commands.script(gw.instanceId, 'apply', () => [{ status: 'pending' }, { status: 'pending' }, { status: 'success', stdout: 'WG_INGRESS_APPLIED generation=1 peers=1\n' }]);
    const first = await syncGateway(w.deps, net, gw.id, 1);
    assert.equal(first.state, 'waiting');
    await createClient(w.deps, net, { gatewayId: gw.id, name: 'bob' }, TEST_AUDIT);
    // A second invocation (a stream record of bob's create) waits for that command, then sends one more.
    w.commands.script(gw.instanceId, 'apply', (params) => ({ status: 'success', stdout: `WG_INGRESS_APPLIED generation=${params.generation} peers=2\n` }));
    const second = await syncGateway(w.deps, net, gw.id, 60_000);
    assert.equal(second.state, 'in-sync');
    assert.equal(w.commands.sentTo(gw.instanceId, 'apply').length, 2);
  });
});

describe('a throttled SendCommand', () => {
  it('leaves the gateway as it was, so the next wake-up sends the apply', async () => {
    const { w, net, gw } = await readyGateway();
    await createClient(w.deps, net, { gatewayId: gw.id, name: 'alice' }, TEST_AUDIT);
    const before = await w.gateways.get(net, gw.id);
    w.commands.script(gw.instanceId, 'apply', () => new ThrottledError());
    await assert.rejects(syncGateway(w.deps, net, gw.id, 60_000), ThrottledError);
    assert.deepEqual(await w.gateways.get(net, gw.id), before, 'no "sent" record: nothing is waited for');
    assert.ok(needsWork(before!));
    w.commands.script(gw.instanceId, 'apply', (params) => ({ status: 'success', stdout: `WG_INGRESS_APPLIED generation=${params.generation} peers=1\n` }));
    assert.equal((await syncGateway(w.deps, net, gw.id, 60_000)).state, 'in-sync');
    assert.equal((await getClient(w.deps, net, 'alice')).inEffect, true);
  });
});

describe('batch creates', () => {
  it('writes many clients under one stamp on one shard, which moves once: the gateway gets them in one apply', async () => {
    const { w, net, gw } = await readyGateway();
    const bodies = Array.from({ length: 50 }, (_, i) => ({ name: `imp-${i}`, ...(i === 3 ? { expiresAt: '2099-01-01T00:00:00Z' } : {}) }));
    bodies.push({ name: 'imp-7' }); // a duplicate inside the batch
    const results = await createClientsBatch(w.deps, net, gw.id, bodies, TEST_AUDIT);
    const created = results.flatMap((r) => ('client' in r ? [r.client] : []));
    assert.equal(created.length, 50);
    const failed = results.filter((r) => 'error' in r);
    assert.deepEqual(failed.map((r) => r.index), [50]);
    assert.equal((failed[0] as { error: { code: string } }).error.code, 'name_taken');
    assert.equal(new Set(created.map((c) => c.generation)).size, 1, 'one stamp');
    const stored = await Promise.all(created.map(async (c) => (await w.deps.clients.get(net, c.name))!));
    assert.equal(new Set(stored.map((c) => c.genShard)).size, 1, 'one shard');
    const row = w.table.gatewayRow(net, gw.id)!;
    const shard = row.shards[String(stored[0]!.genShard).padStart(2, '0')]!;
    assert.equal(shard.generation, created[0]!.generation);
    assert.equal(row.clientCount, 50, 'the reserved count settled to what was created');
    assert.deepEqual(shard.expiring, ['imp-3']);
    assert.equal(w.faults.calls('clients.settleBatch'), 1);
    const outcome = await syncGateway(w.deps, net, gw.id, 60_000);
    assert.equal(outcome.commandsSent, 1);
    assert.ok((await getClient(w.deps, net, 'imp-49')).inEffect);
  });

  it('keeps its clients out of effect until its shard moved, and stamps them again when another change overtook it', async () => {
    const { w, net, gw } = await readyGateway();
    let overtaken = 0;
    w.faults.before('clients.settleBatch', (batch) => {
      // Another writer took the batch's shard past its stamp while the batch ran.
      const shard = w.table.gatewayRow(net, gw.id)!.shards[String(batch.shard).padStart(2, '0')]!;
      shard.generation = overtaken = batch.generation + 5;
    });
    const results = await createClientsBatch(w.deps, net, gw.id, [{ name: 'x' }, { name: 'y' }], TEST_AUDIT);
    const created = results.flatMap((r) => ('client' in r ? [r.client] : []));
    assert.equal(created.length, 2);
    assert.ok(created.every((c) => c.generation > overtaken), 'restamped above the writer that overtook it');
    assert.equal((await getClient(w.deps, net, 'x')).generation, created[0]!.generation);
    assert.equal((await getClient(w.deps, net, 'x')).inEffect, false);
    await syncGateway(w.deps, net, gw.id, 60_000);
    assert.equal((await getClient(w.deps, net, 'x')).inEffect, true);
  });
});

describe('one sender per gateway', () => {
  it('two runs that read the same gateway send one apply: the one that loses the claim waits for that command', async () => {
    const { w, net, gw } = await readyGateway();
    await createClient(w.deps, net, { gatewayId: gw.id, name: 'alice' }, TEST_AUDIT);
    // The first run has read the gateway and is about to claim; meanwhile another run (the
    // schedule's sweep beside a stream batch) reads the same record and claims first.
    let other: ReturnType<typeof syncGateway> | undefined;
    w.faults.before('gateways.claimApply', async () => {
      other = syncGateway(w.deps, net, gw.id, 60_000);
      for (let i = 0; i < 1_000 && w.faults.calls('gateways.claimApply') < 2; i++) await new Promise((r) => setImmediate(r));
      assert.equal(w.faults.calls('gateways.claimApply'), 2, 'the other run claimed meanwhile');
    });
    const first = await syncGateway(w.deps, net, gw.id, 60_000);
    const second = await other!;
    assert.equal(w.commands.sentTo(gw.instanceId, 'apply').length, 1, 'one apply, not one per run');
    assert.equal(first.commandsSent + second.commandsSent, 1);
    assert.deepEqual([first.state, second.state], ['in-sync', 'in-sync'], 'both saw the one apply land');
    assert.equal((await getClient(w.deps, net, 'alice')).inEffect, true);
  });

  it('gives the claim back when the command cannot be sent, so the next run sends', async () => {
    const { w, net, gw } = await readyGateway();
    await createClient(w.deps, net, { gatewayId: gw.id, name: 'alice' }, TEST_AUDIT);
    w.faults.failNext('commands.sendApply', 1, () => new ThrottledError());
    await assert.rejects(syncGateway(w.deps, net, gw.id, 60_000));
    assert.equal((await w.gateways.get(net, gw.id))!.lastSync, undefined, 'the record from before the claim');
    const outcome = await syncGateway(w.deps, net, gw.id, 60_000);
    assert.deepEqual([outcome.state, outcome.commandsSent], ['in-sync', 1]);
  });

  it("waits while another sender's claim is fresh, and takes it over once it is stale (that sender is gone)", async () => {
    const { w, net, gw } = await readyGateway();
    await createClient(w.deps, net, { gatewayId: gw.id, name: 'alice' }, TEST_AUDIT);
    const row = w.table.gatewayRow(net, gw.id)!;
    row.gateway.lastSync = { at: w.clock.now().toISOString(), generation: 1, outcome: 'sent', claim: 'a-sender-that-died' };
    const waiting = await syncGateway(w.deps, net, gw.id, 5_000);
    assert.deepEqual([waiting.state, waiting.commandsSent], ['waiting', 0]);
    w.clock.advance(CLAIM_STALE_MS);
    const outcome = await syncGateway(w.deps, net, gw.id, 60_000);
    assert.deepEqual([outcome.state, outcome.commandsSent], ['in-sync', 1]);
    assert.equal(w.commands.sentTo(gw.instanceId, 'apply').length, 1);
  });
});
