// The sync worker through the real API, the table's stream and the local runner in record mode
// (the scripts themselves run for real in test/e2e).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoGatewayStore } from '../../functions/adapters/dynamo/gateways-repo.js';
import { createDocumentClient } from '../../functions/adapters/dynamo/table.js';
import { createS3Client, S3ObjectStore } from '../../functions/adapters/s3/object-store.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION } from '../../infra/local/s3-server.js';
import { until } from '../support/until.js';
import { useLocalApi } from '../support/local-api.js';

// A long schedule: these tests call the sweep themselves when they need it.
const api = useLocalApi({ scheduleMs: 3_600_000 });

const appliedPeers = () =>
  api.stack.runner
    .list()
    .filter((c) => c.kind === 'apply' && c.result.status === 'success')
    .map((c) => /WG_INGRESS_APPLIED generation=\d+ peers=(\d+)/.exec(c.result.stdout ?? '')?.[1])
    .filter((p): p is string => p !== undefined)
    .map(Number);

describe('gateway sync through the API', () => {
  let gatewayId = '';

  it('turns a new gateway ready with the key its init reported, and applies client changes', async () => {
    await api.call('POST', '/networks', { name: 'sync', addressRange: '10.33.0.0/24' });
    const gw = await api.call('POST', '/networks/sync/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.33' });
    gatewayId = gw.json.id;
    const ready = await until('ready', async () => (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json, (g) => g.status === 'ready');
    assert.match(ready.publicKey, /^[A-Za-z0-9+/]{43}=$/);
    const init = api.stack.runner.list().find((c) => c.kind === 'init');
    assert.equal(init?.parameters.interfaceName, ready.interfaceName);
    const c = await api.call('POST', '/networks/sync/clients', { gatewayId, name: 'steady' });
    assert.equal(c.json.inEffect, false);
    const applied = await until('in effect', async () => (await api.call('GET', '/networks/sync/clients/steady')).json, (x) => x.inEffect);
    assert.equal(applied.generation, c.json.generation);
    const g = (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json;
    assert.equal(g.appliedGeneration, g.desiredGeneration);
    assert.equal(g.lastSync.outcome, 'applied');
  });

  it('takes an expired client off the gateway when the schedule runs', async () => {
    const expiresAt = new Date(Date.now() + 2500).toISOString();
    const c = await api.call('POST', '/networks/sync/clients', { gatewayId, name: 'brief', expiresAt });
    assert.equal(c.status, 201);
    await until('in effect', async () => (await api.call('GET', '/networks/sync/clients/brief')).json, (x) => x.inEffect);
    assert.equal(appliedPeers().at(-1), 2);
    await new Promise((r) => setTimeout(r, Date.parse(expiresAt) - Date.now() + 100));
    const before = (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json;
    await api.stack.sweep();
    const after = await until('expiry applied', async () => (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json, (g) => g.appliedGeneration > before.appliedGeneration);
    assert.ok(after.appliedGeneration > Date.parse(expiresAt) * 100, 'the applied set was made after the expiry');
    assert.equal(appliedPeers().at(-1), 1, 'the expired client left the peer set');
    const applies = appliedPeers().length;
    await api.stack.sweep();
    assert.equal(appliedPeers().length, applies, 'a second sweep finds nothing more to do');
  });

  it('forces a full resync on request', async () => {
    const before = (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json;
    const res = await api.call('POST', `/networks/sync/gateways/${gatewayId}/sync`);
    assert.equal(res.status, 202);
    assert.ok(res.json.desiredGeneration > before.desiredGeneration);
    await until('resynced', async () => (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json, (g) => g.appliedGeneration === res.json.desiredGeneration);
  });

  it('catches up after the gateway was offline, with one apply', async () => {
    api.stack.runner.setOnline(false);
    for (let i = 0; i < 5; i++) assert.equal((await api.call('POST', '/networks/sync/clients', { gatewayId, name: `off-${i}` })).status, 201);
    assert.equal((await api.call('PATCH', '/networks/sync/clients/off-0', { enabled: false })).status, 200);
    const sent = api.stack.runner.list().filter((c) => c.kind === 'apply').length;
    api.stack.runner.setOnline(true);
    const desired = (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json.desiredGeneration;
    await until('caught up', async () => (await api.call('GET', `/networks/sync/gateways/${gatewayId}`)).json, (g) => g.appliedGeneration >= desired, 30_000);
    assert.equal(appliedPeers().at(-1), 5, 'steady + off-1..off-4');
    assert.ok(api.stack.runner.list().filter((c) => c.kind === 'apply').length - sent <= 2, 'the queued changes coalesced');
  });

  it('folds changes made while an apply is in flight into the next apply, sent as soon as that one ends', async () => {
    const peersNow = appliedPeers().at(-1)!;
    const applyCount = () => api.stack.runner.list().filter((c) => c.kind === 'apply').length;
    const before = applyCount();
    api.stack.runner.setOnline(false); // the next command stays in flight until it comes back
    assert.equal((await api.call('POST', '/networks/sync/clients', { gatewayId, name: 'flight-0' })).status, 201);
    await until('its apply in flight', async () => applyCount(), (n) => n === before + 1);
    // Committed while that apply is in flight: not part of it.
    for (let i = 1; i <= 3; i++) assert.equal((await api.call('POST', '/networks/sync/clients', { gatewayId, name: `flight-${i}` })).status, 201);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(applyCount(), before + 1, 'no second command while one is in flight');
    for (const name of ['flight-0', 'flight-3']) assert.equal((await api.call('GET', `/networks/sync/clients/${name}`)).json.inEffect, false);
    api.stack.runner.setOnline(true);
    await until('all in effect', async () => (await api.call('GET', '/networks/sync/clients/flight-3')).json, (x) => x.inEffect);
    const sent = api.stack.runner.list().filter((c) => c.kind === 'apply').slice(before);
    assert.equal(sent.length, 2, `the one in flight, then one with everything that came meanwhile: ${sent.map((c) => `${c.result.status} ${c.result.reason ?? ''}`).join(', ')}`);
    assert.deepEqual(appliedPeers().slice(-2), [peersNow + 1, peersNow + 4]);
    // The second went out as soon as the first had its result: no pause.
    assert.ok(sent[1]!.sentAt - sent[0]!.finishedAt! < 1_000, `${sent[1]!.sentAt - sent[0]!.finishedAt!} ms between them`);
  });

  it('names each peer set by bucket and key only, and deletes it from the bucket once its result is recorded', async () => {
    const applies = api.stack.runner.list().filter((c) => c.kind === 'apply');
    assert.ok(applies.length >= 4);
    const s3 = createS3Client({ region: LOCAL_S3_REGION, endpoint: api.stack.s3Endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS });
    const bucket = new S3ObjectStore(s3, api.stack.bucket);
    // Which of the peer sets the runner was sent are still in the local S3 server.
    const listed = async () => {
      const keys = api.stack.runner.list().filter((c) => c.kind === 'apply').map((c) => c.parameters.peerSetKey!);
      const present = await Promise.all(keys.map(async (k) => ((await bucket.getObject(k)) === undefined ? undefined : k)));
      return present.filter((k) => k !== undefined);
    };
    try {
      // Every result is on record by now (the gateway is in sync): none of them is left.
      const left = await until('peer sets deleted', listed, (keys) => keys.length === 0);
      assert.deepEqual(left, []);
      for (const c of applies) {
        assert.equal(c.parameters.peerSetBucket, api.stack.bucket);
        assert.match(c.parameters.peerSetKey!, new RegExp(`^peer-sets/sync/${gatewayId}/\\d+-[0-9a-f]{16}\\.conf$`));
        assert.equal(c.result.status, 'success', `the runner downloaded it from the local S3 server while it was there: ${c.result.reason ?? ''}`);
        for (const v of Object.values(c.parameters)) assert.doesNotMatch(v, /X-Amz-Signature|:\/\/|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=/);
      }
      assert.equal(new Set(applies.map((c) => c.parameters.peerSetKey)).size, applies.length, 'one object per command');
      // A change after this: its peer set appears, is applied and is gone again.
      assert.equal((await api.call('POST', '/networks/sync/clients', { gatewayId, name: 'later' })).status, 201);
      await until('in effect', async () => (await api.call('GET', '/networks/sync/clients/later')).json, (x) => x.inEffect);
      await until('its peer set deleted', listed, (keys) => keys.length === 0);
    } finally {
      s3.destroy();
    }
  });

  it('sends the teardown document to the instance of a deleted gateway', async () => {
    await api.call('POST', '/networks', { name: 'gone', addressRange: '10.34.0.0/24' });
    const gw = await api.call('POST', '/networks/gone/gateways', { instanceId: 'i-0fedcba9876543210', endpoint: '192.0.2.34' });
    const ready = await until('ready', async () => (await api.call('GET', `/networks/gone/gateways/${gw.json.id}`)).json, (g) => g.status === 'ready');
    assert.equal((await api.call('DELETE', `/networks/gone/gateways/${gw.json.id}`)).status, 204);
    const teardown = await until(
      'teardown',
      async () => api.stack.runner.list().find((c) => c.kind === 'teardown' && c.instanceId === 'i-0fedcba9876543210'),
      (c) => c?.result.status === 'success',
    );
    assert.equal(teardown!.parameters.interfaceName, ready.interfaceName);
    assert.match(teardown!.result.stdout ?? '', /WG_INGRESS_TEARDOWN_OK/);
  });

  it("keeps one apply slot per gateway in the table: one claim wins, a sent record goes over its own claim only, a stale claim is taken over, a claim is given back", async () => {
    await api.call('POST', '/networks', { name: 'slot', addressRange: '10.35.0.0/24' });
    const gw = await api.call('POST', '/networks/slot/gateways', { instanceId: 'i-0aaaabbbbccccdddd', endpoint: '192.0.2.35' });
    const id = gw.json.id;
    await until('ready and in sync', async () => (await api.call('GET', `/networks/slot/gateways/${id}`)).json, (g) => g.status === 'ready' && g.lastSync?.outcome !== 'sent');
    await api.stack.setWorkerRunning(false); // the store alone, no worker reacting to its writes
    const db = createDocumentClient({ region: 'us-east-1', endpoint: api.stack.dynamoEndpoint, credentials: api.stack.dynamoCredentials });
    try {
      const store = new DynamoGatewayStore(db, api.stack.tableName, { tableName: api.stack.tableName, retentionDays: 1 });
      const before = (await store.get('slot', id))!;
      const generation = before.appliedGeneration + 1_000;
      const now = new Date().toISOString();
      const claim = (token: string, at = now) => ({ at, generation, outcome: 'sent' as const, claim: token });
      const longAgo = new Date(Date.now() - 3_600_000).toISOString();
      assert.equal(await store.claimApply('slot', id, claim('a'), longAgo), true);
      assert.equal(await store.claimApply('slot', id, claim('b'), longAgo), false, 'a fresh claim holds the slot');
      // b's sent record does not go over a's claim; a's does.
      await store.recordSync('slot', id, { ...claim('b'), commandId: 'cmd-b' });
      assert.equal((await store.get('slot', id))!.lastSync?.claim, 'a');
      await store.recordSync('slot', id, { ...claim('a'), commandId: 'cmd-a' });
      assert.equal((await store.get('slot', id))!.lastSync?.commandId, 'cmd-a');
      assert.equal(await store.claimApply('slot', id, claim('c'), new Date(Date.now() + 60_000).toISOString()), false, 'never over a command in flight, however old');
      // A claim with no command after the stale mark is taken over; a claim is given back with the record it replaced.
      await store.recordSync('slot', id, { at: now, generation, outcome: 'applied', commandId: 'cmd-a' });
      assert.equal(await store.claimApply('slot', id, claim('d', longAgo), longAgo), true);
      assert.equal(await store.claimApply('slot', id, claim('e'), now), true, 'd was written before the stale mark');
      await store.releaseApply('slot', id, 'd', undefined);
      assert.equal((await store.get('slot', id))!.lastSync?.claim, 'e', 'd no longer holds it: nothing given back');
      await store.releaseApply('slot', id, 'e', { at: now, generation, outcome: 'applied', commandId: 'cmd-a' });
      assert.deepEqual((await store.get('slot', id))!.lastSync, { at: now, generation, outcome: 'applied', commandId: 'cmd-a' });
      assert.equal(await store.claimApply('slot', id, { ...claim('f'), generation: before.appliedGeneration }, longAgo), false, 'not once that generation is applied');
    } finally {
      db.destroy();
      await api.stack.setWorkerRunning(true);
    }
  });
});
