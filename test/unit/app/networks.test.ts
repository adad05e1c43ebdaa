import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deleteGateway } from '../../../functions/app/gateways.js';
import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork } from '../../../functions/app/networks.js';
import { ConflictError, NotFoundError, ValidationError, WriteConflictError } from '../../../functions/domain/errors.js';
import { TEST_AUDIT, fakeWorld, freshNetworkName, networkWithGateway } from '../../support/fakes.js';

const isCode = (code: string, field?: string) => (err: unknown) => {
  assert.ok(err instanceof ConflictError || err instanceof NotFoundError || err instanceof ValidationError, String(err));
  assert.equal(err.code, code);
  if (field !== undefined) assert.equal(err.field, field);
  return true;
};

describe('createNetwork', () => {
  it('stores the network with canonical ranges, version 1 and no default DNS', async () => {
    const w = fakeWorld();
    const network = await createNetwork(w.deps, { name: 'office', addressRange: '10.8.0.0/16', addressRange6: 'fd00:0:0:0::/112' }, TEST_AUDIT);
    assert.deepEqual(network, {
      id: 'office',
      name: 'office',
      addressRange: '10.8.0.0/16',
      addressRange6: 'fd00::/112',
      defaultDns: [],
      createdAt: '2026-06-01T12:00:00.000Z',
      updatedAt: '2026-06-01T12:00:00.000Z',
      version: 1,
    });
    assert.deepEqual(await getNetwork(w.deps, 'office'), network);
  });

  it('refuses a second network of the same name (409 name_taken) and keeps the first', async () => {
    const w = fakeWorld();
    await createNetwork(w.deps, { name: 'office', addressRange: '10.8.0.0/16' }, TEST_AUDIT);
    await assert.rejects(createNetwork(w.deps, { name: 'office', addressRange: '10.9.0.0/16' }, TEST_AUDIT), isCode('name_taken', 'name'));
    assert.equal((await getNetwork(w.deps, 'office')).addressRange, '10.8.0.0/16');
  });

  it('refuses a range with host bits set, naming the field, and stores nothing', async () => {
    const w = fakeWorld();
    await assert.rejects(createNetwork(w.deps, { name: 'office', addressRange: '10.8.0.1/16' }, TEST_AUDIT), isCode('validation_failed', 'addressRange'));
    await assert.rejects(createNetwork(w.deps, { name: 'office', addressRange: '10.8.0.0/16', addressRange6: 'fd00::1/112' }, TEST_AUDIT), isCode('validation_failed', 'addressRange6'));
    assert.equal(w.table.networks.size, 0);
  });
});

describe('reading networks', () => {
  it('answers 404 for a network that does not exist', async () => {
    await assert.rejects(getNetwork(fakeWorld().deps, 'nowhere'), isCode('not_found'));
  });

  it('lists every network once, page by page', async () => {
    const w = fakeWorld();
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of [...names].reverse()) await createNetwork(w.deps, { name, addressRange: '10.0.0.0/24' }, TEST_AUDIT);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listNetworks(w.deps, { limit: 2, ...(cursor ? { cursor } : {}) });
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((n) => n.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, names);
    assert.equal(pages, 3);
  });
});

describe('updateNetwork', () => {
  it('replaces the default DNS and moves the version', async () => {
    const w = fakeWorld();
    await createNetwork(w.deps, { name: 'office', addressRange: '10.0.0.0/24' }, TEST_AUDIT);
    w.clock.advance(1000);
    const updated = await updateNetwork(w.deps, 'office', { defaultDns: ['10.0.0.53'] }, TEST_AUDIT);
    assert.deepEqual(updated.defaultDns, ['10.0.0.53']);
    assert.equal(updated.version, 2);
    assert.equal(updated.updatedAt, '2026-06-01T12:00:01.000Z');
    assert.equal(updated.createdAt, '2026-06-01T12:00:00.000Z');
  });

  it('refuses a stale version (409 version_conflict) without writing', async () => {
    const w = fakeWorld();
    await createNetwork(w.deps, { name: 'office', addressRange: '10.0.0.0/24' }, TEST_AUDIT);
    await updateNetwork(w.deps, 'office', { defaultDns: ['10.0.0.53'] }, TEST_AUDIT);
    const writes = w.faults.calls('networks.updateDefaultDns');
    await assert.rejects(updateNetwork(w.deps, 'office', { defaultDns: ['1.1.1.1'], version: 1 }, TEST_AUDIT), isCode('version_conflict', 'version'));
    assert.equal(w.faults.calls('networks.updateDefaultDns'), writes);
    assert.deepEqual((await getNetwork(w.deps, 'office')).defaultDns, ['10.0.0.53']);
  });

  it('does not retry a change made against a version another writer moved meanwhile', async () => {
    const w = fakeWorld();
    await createNetwork(w.deps, { name: 'office', addressRange: '10.0.0.0/24' }, TEST_AUDIT);
    w.faults.before('networks.updateDefaultDns', () => updateNetwork(w.deps, 'office', { defaultDns: ['9.9.9.9'] }, TEST_AUDIT));
    await assert.rejects(updateNetwork(w.deps, 'office', { defaultDns: ['1.1.1.1'], version: 1 }, TEST_AUDIT), isCode('version_conflict', 'version'));
    assert.equal(w.faults.calls('networks.updateDefaultDns'), 2, 'the other writer and one attempt of ours');
    assert.deepEqual((await getNetwork(w.deps, 'office')).defaultDns, ['9.9.9.9']);
  });

  it('re-reads and applies a change without a version that lost a race', async () => {
    const w = fakeWorld();
    await createNetwork(w.deps, { name: 'office', addressRange: '10.0.0.0/24' }, TEST_AUDIT);
    w.faults.before('networks.updateDefaultDns', () => updateNetwork(w.deps, 'office', { defaultDns: ['9.9.9.9'] }, TEST_AUDIT));
    const updated = await updateNetwork(w.deps, 'office', { defaultDns: ['1.1.1.1'] }, TEST_AUDIT);
    assert.deepEqual(updated.defaultDns, ['1.1.1.1']);
    assert.equal(updated.version, 3);
  });

  it('retries a write that lost to another writer, and answers busy once its attempts run out', async () => {
    const w = fakeWorld({ random: () => 0 });
    await createNetwork(w.deps, { name: 'office', addressRange: '10.0.0.0/24' }, TEST_AUDIT);
    w.faults.failNext('networks.updateDefaultDns', 4);
    assert.equal((await updateNetwork(w.deps, 'office', { defaultDns: ['1.1.1.1'] }, TEST_AUDIT)).version, 2);
    w.faults.failNext('networks.updateDefaultDns', 5);
    await assert.rejects(updateNetwork(w.deps, 'office', { defaultDns: ['8.8.8.8'] }, TEST_AUDIT), (err) => err instanceof WriteConflictError && err.code === 'busy');
    assert.deepEqual((await getNetwork(w.deps, 'office')).defaultDns, ['1.1.1.1']);
  });

  it('answers 404 for a network that does not exist', async () => {
    await assert.rejects(updateNetwork(fakeWorld().deps, 'nowhere', { defaultDns: [] }, TEST_AUDIT), isCode('not_found'));
  });
});

describe('deleteNetwork', () => {
  it('refuses while a gateway exists (409 network_not_empty), and deletes once it is gone', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { name: freshNetworkName() });
    await assert.rejects(deleteNetwork(w.deps, network.name, TEST_AUDIT), isCode('network_not_empty'));
    await deleteGateway(w.deps, network.name, gateway.id, TEST_AUDIT);
    await deleteNetwork(w.deps, network.name, TEST_AUDIT);
    await assert.rejects(getNetwork(w.deps, network.name), isCode('not_found'));
  });

  it('answers 404 for a network that does not exist', async () => {
    await assert.rejects(deleteNetwork(fakeWorld().deps, 'nowhere', TEST_AUDIT), isCode('not_found'));
  });
});
