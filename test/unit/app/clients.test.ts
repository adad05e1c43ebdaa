import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient, deleteClient, getClient, listClients, updateClient } from '../../../functions/app/clients.js';
import { contains, leaseKey, parseAddress, parseRange } from '../../../functions/domain/address-pool.js';
import { ConflictError, NotFoundError, ValidationError, WriteConflictError } from '../../../functions/domain/errors.js';
import { generateKeyPair, publicKeyFromPrivate } from '../../../functions/domain/keys.js';
import { answeredGenerations, shardName } from '../../../functions/domain/generation.js';
import { createGateway } from '../../../functions/app/gateways.js';
import { TEST_AUDIT, fakeWorld, generationAhead, markApplied, networkWithGateway, type FakeWorld } from '../../support/fakes.js';

const lease4 = (address: string) => leaseKey(parseAddress(address, 4), 4);
const lease6 = (address: string) => leaseKey(parseAddress(address, 6), 6);

const isCode = (code: string, field?: string) => (err: unknown) => {
  assert.ok(err instanceof ConflictError || err instanceof NotFoundError || err instanceof ValidationError, String(err));
  assert.equal(err.code, code);
  if (field !== undefined) assert.equal(err.field, field);
  return true;
};
const isBusy = (err: unknown) => err instanceof WriteConflictError && err.code === 'busy';

async function setup(options: { addressRange?: string; addressRange6?: string; random?: () => number } = {}) {
  const w = fakeWorld(options.random ? { random: options.random } : {});
  const { network, gateway } = await networkWithGateway(w, { ready: true, ...options });
  // The largest component of the gateway's generation vector (what the API answers).
  const desired = () => answeredGenerations(w.table.gatewayRow(network.name, gateway.id)!.read()).desiredGeneration;
  return { w, net: network.name, gatewayId: gateway.id, gateway, desired };
}

/** Every shard of the gateway is at `generation` (another writer got there first). */
function shardsAt(w: FakeWorld, net: string, gatewayId: string, generation: number): void {
  for (const shard of Object.values(w.table.gatewayRow(net, gatewayId)!.shards)) shard.generation = generation;
}

/** The clients' key claims (the gateway's own key has one too). */
const clientKeyClaims = (w: FakeWorld, net: string) => [...w.table.publicKeysOf(net)].filter(([, owner]) => owner.startsWith('client:'));
/** The names of the gateway's clients its shards list as expiring. */
const expiringListed = (w: FakeWorld, net: string, gatewayId: string) =>
  Object.values(w.table.gatewayRow(net, gatewayId)!.shards).flatMap((s) => s.expiring ?? []);

const clientsOf = (w: FakeWorld, net: string) => [...w.table.clients.values()].filter((c) => c.network === net);
/** The lease keys held by clients, not by the gateway. */
const clientLeases = (w: FakeWorld, net: string) => [...w.table.leasesOf(net)].filter(([, owner]) => owner.startsWith('client:'));

describe('createClient', () => {
  it('generates a name, an address and a key pair, and moves the gateway to the client generation in the same write', async () => {
    const { w, net, gatewayId, desired } = await setup();
    const client = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.match(client.name, /^[a-z]+-[a-z]+-\d{1,2}$/);
    assert.equal(client.id, client.name);
    assert.ok(contains(parseRange('10.0.0.0/24', 4), parseAddress(client.address, 4)));
    assert.notEqual(client.address, '10.0.0.1', "the gateway's own address");
    assert.deepEqual([client.enabled, client.version, client.hasPrivateKey, client.hasPresharedKey, client.inEffect], [true, 1, true, false, false]);
    const secrets = w.table.secrets.get(`${net}/${client.name}`)!;
    assert.equal(publicKeyFromPrivate(secrets.privateKey!), client.publicKey);
    assert.equal(desired(), client.generation);
    assert.equal(w.table.gatewayRow(net, gatewayId)!.clientCount, 1);
    assert.deepEqual(clientLeases(w, net), [[lease4(client.address), `client:${client.name}`]]);
    assert.ok(!('privateKey' in client), 'no secret in the answer');
  });

  it('uses the chosen name, addresses and DNS as given (in canonical form)', async () => {
    const { w, net, gatewayId } = await setup({ addressRange6: 'fd00:7::/112' });
    const client = await createClient(w.deps, net, { gatewayId, name: 'alice-phone', address: '10.0.0.42', address6: 'fd00:7:0::002a', dns: ['10.0.0.53'] }, TEST_AUDIT);
    assert.deepEqual([client.name, client.address, client.address6, client.dns], ['alice-phone', '10.0.0.42', 'fd00:7::2a', ['10.0.0.53']]);
    assert.deepEqual(clientLeases(w, net).map(([k]) => k).sort(), [lease4('10.0.0.42'), lease6('fd00:7::2a')].sort());
  });

  it('generates an IPv6 address too when the network has an IPv6 range', async () => {
    const { w, net, gatewayId } = await setup({ addressRange6: 'fd00:7::/112' });
    const client = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.ok(contains(parseRange('fd00:7::/112', 6), parseAddress(client.address6!, 6)));
    assert.equal(clientLeases(w, net).length, 2);
  });

  it('stores no private key for a client that brought its own public key, and a generated preshared key when asked', async () => {
    const { w, net, gatewayId } = await setup();
    const own = generateKeyPair().publicKey;
    const byo = await createClient(w.deps, net, { gatewayId, name: 'byo', publicKey: own }, TEST_AUDIT);
    assert.deepEqual([byo.publicKey, byo.hasPrivateKey], [own, false]);
    assert.equal(w.table.secrets.has(`${net}/byo`), false);
    const psk = await createClient(w.deps, net, { gatewayId, name: 'psk', publicKey: generateKeyPair().publicKey, presharedKey: true }, TEST_AUDIT);
    assert.equal(psk.hasPresharedKey, true);
    assert.deepEqual(Object.keys(w.table.secrets.get(`${net}/psk`)!), ['presharedKey']);
  });

  it("lists a client with an expiry on its shard for the schedule, and writes one shard, not the gateway item", async () => {
    const { w, net, gatewayId } = await setup();
    const gatewayBefore = structuredClone(w.table.gatewayRow(net, gatewayId)!.gateway);
    const plain = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.deepEqual(expiringListed(w, net, gatewayId), []);
    const expiring = await createClient(w.deps, net, { gatewayId, expiresAt: '2026-07-01T00:00:00Z' }, TEST_AUDIT);
    assert.deepEqual(expiringListed(w, net, gatewayId), [expiring.name]);
    assert.deepEqual(w.table.gatewayRow(net, gatewayId)!.gateway, gatewayBefore, 'the gateway item is not written');
    const shards = w.table.gatewayRow(net, gatewayId)!.shards;
    // The shard a client is stamped on is bookkeeping: stored, not answered.
    assert.equal('genShard' in plain, false);
    const shardOf = async (name: string) => shardName((await w.deps.clients.get(net, name))!.genShard!);
    assert.equal(shards[await shardOf(plain.name)]!.generation >= plain.generation, true);
    assert.equal(shards[await shardOf(expiring.name)]!.generation, expiring.generation);
  });

  it('answers 409 address_taken naming the field for a chosen address that is in use', async () => {
    const { w, net, gatewayId } = await setup({ addressRange6: 'fd00:7::/112' });
    await createClient(w.deps, net, { gatewayId, name: 'first', address: '10.0.0.42', address6: 'fd00:7::2a' }, TEST_AUDIT);
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'second', address: '10.0.0.42' }, TEST_AUDIT), isCode('address_taken', 'address'));
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'third', address6: 'fd00:7::2a' }, TEST_AUDIT), isCode('address_taken', 'address6'));
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'fourth', address: '10.0.0.1' }, TEST_AUDIT), isCode('address_taken', 'address'), "the gateway's address");
    assert.deepEqual(clientsOf(w, net).map((c) => c.name), ['first']);
    assert.equal(clientLeases(w, net).length, 2, 'the losers claimed nothing');
  });

  it('answers 409 name_taken for a chosen name that is in use', async () => {
    const { w, net, gatewayId } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT), isCode('name_taken', 'name'));
    assert.equal(clientsOf(w, net).length, 1);
  });

  it('answers 409 public_key_taken for a public key another client of the network has, and writes nothing', async () => {
    const { w, net, gatewayId, desired } = await setup();
    const key = generateKeyPair().publicKey;
    const first = await createClient(w.deps, net, { gatewayId, name: 'first', publicKey: key }, TEST_AUDIT);
    const before = { desired: desired(), leases: clientLeases(w, net), count: w.table.gatewayRow(net, gatewayId)!.clientCount };
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'second', publicKey: key }, TEST_AUDIT), isCode('public_key_taken', 'publicKey'));
    assert.equal(w.faults.calls('clients.create'), 2, 'a key the caller chose is not retried');
    assert.deepEqual(clientsOf(w, net).map((c) => c.name), ['first']);
    assert.deepEqual((await getClient(w.deps, net, 'first')).publicKey, first.publicKey);
    assert.deepEqual({ desired: desired(), leases: clientLeases(w, net), count: w.table.gatewayRow(net, gatewayId)!.clientCount }, before);
    assert.deepEqual(clientKeyClaims(w, net), [[key, 'client:first']]);
    // The name was not taken by the refused create.
    const second = await createClient(w.deps, net, { gatewayId, name: 'second' }, TEST_AUDIT);
    assert.notEqual(second.publicKey, key);
  });

  it('lets another network use the same public key, and frees a key when its client is deleted', async () => {
    const { w, net, gatewayId } = await setup();
    const other = await networkWithGateway(w, { ready: true, addressRange: '10.9.0.0/24', instanceId: 'i-0123456789abcdef1' });
    const key = generateKeyPair().publicKey;
    await createClient(w.deps, net, { gatewayId, name: 'a', publicKey: key }, TEST_AUDIT);
    await createClient(w.deps, other.network.name, { gatewayId: other.gateway.id, name: 'a', publicKey: key }, TEST_AUDIT);
    await deleteClient(w.deps, net, 'a', TEST_AUDIT);
    assert.equal(clientKeyClaims(w, net).length, 0);
    const again = await createClient(w.deps, net, { gatewayId, name: 'b', publicKey: key }, TEST_AUDIT);
    assert.equal(again.publicKey, key);
    assert.deepEqual(clientKeyClaims(w, net), [[key, 'client:b']]);
  });

  it("refuses the gateway's own public key as a client's (409 public_key_taken)", async () => {
    const { w, net, gatewayId, desired } = await setup();
    const gatewayKey = w.table.gatewayRow(net, gatewayId)!.gateway.publicKey!;
    const before = desired();
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'mimic', publicKey: gatewayKey }, TEST_AUDIT), (err: unknown) => {
      isCode('public_key_taken', 'publicKey')(err);
      assert.match((err as Error).message, /gateway's own key/);
      return true;
    });
    assert.deepEqual([clientsOf(w, net).length, clientKeyClaims(w, net).length, desired()], [0, 0, before]);
  });

  it('makes a new key pair when a generated public key is taken (and keeps the preshared key)', async () => {
    const { w, net, gatewayId } = await setup();
    let taken = '';
    w.faults.before('clients.create', async (change) => {
      taken = change.client.publicKey;
      await createClient(w.deps, net, { gatewayId, name: 'holder', publicKey: taken }, TEST_AUDIT);
    });
    const client = await createClient(w.deps, net, { gatewayId, name: 'fresh', presharedKey: true }, TEST_AUDIT);
    assert.notEqual(client.publicKey, taken);
    const secrets = w.table.secrets.get(`${net}/fresh`)!;
    assert.equal(publicKeyFromPrivate(secrets.privateKey!), client.publicKey, 'the stored private key is the new pair');
    assert.ok(secrets.presharedKey);
    assert.deepEqual(clientKeyClaims(w, net).sort(), [[client.publicKey, 'client:fresh'], [taken, 'client:holder']].sort());
  });

  it("deleting a client written before keys were claimed leaves another client's claim on the same key alone", async () => {
    const { w, net, gatewayId } = await setup();
    const key = generateKeyPair().publicKey;
    await createClient(w.deps, net, { gatewayId, name: 'legacy', publicKey: key }, TEST_AUDIT);
    w.table.publicKeysOf(net).delete(key); // as written before this rule
    await createClient(w.deps, net, { gatewayId, name: 'holder', publicKey: key }, TEST_AUDIT);
    await deleteClient(w.deps, net, 'legacy', TEST_AUDIT);
    assert.deepEqual(clientKeyClaims(w, net), [[key, 'client:holder']]);
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'third', publicKey: key }, TEST_AUDIT), isCode('public_key_taken', 'publicKey'));
  });

  it('picks another name when the generated one is taken', async () => {
    const { w, net, gatewayId } = await setup();
    let taken = '';
    w.faults.before('clients.create', async (change) => {
      taken = change.client.name;
      await createClient(w.deps, net, { gatewayId, name: taken }, TEST_AUDIT);
    });
    const client = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.notEqual(client.name, taken);
    assert.deepEqual(clientsOf(w, net).map((c) => c.name).sort(), [client.name, taken].sort());
  });

  it('picks blindly again after one lost address, and reads the leases from then on after two in a row', async (t) => {
    const { w, net, gatewayId } = await setup();
    const lost: string[] = [];
    const loseOne = (change: { leaseKeys: string[] }) => {
      lost.push(change.leaseKeys[0]!);
      w.table.leasesOf(net).set(change.leaseKeys[0]!, 'client:someone-else');
    };
    w.faults.before('clients.create', loseOne);
    const reads = w.faults.calls('clients.leasesBetween'); // the gateway's registration read some
    const timers = t.mock.method(globalThis, 'setTimeout');
    const first = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.notEqual(lease4(first.address), lost[0]);
    assert.equal(w.faults.calls('clients.create'), 2);
    assert.equal(timers.mock.callCount(), 1, 'a lost address waits a little: another allocator is busy here');
    assert.equal(w.faults.calls('clients.leasesBetween'), reads, 'one loss in a sparse network: still a blind pick');
    // Two losses in a row: the network is full enough to read its leases.
    w.faults.before('clients.create', loseOne, 2);
    const second = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.ok(!lost.includes(lease4(second.address)));
    assert.equal(w.faults.calls('clients.leasesBetween'), reads + 1, 'the third pick read a block of leases');
    await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.equal(w.faults.calls('clients.leasesBetween'), reads + 2, 'the network now counts as dense');
  });

  it('answers 409 address_pool_exhausted once every address is taken', async () => {
    const { w, net, gatewayId } = await setup({ addressRange: '10.0.0.0/30' });
    const only = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.equal(only.address, '10.0.0.2');
    await assert.rejects(createClient(w.deps, net, { gatewayId }, TEST_AUDIT), isCode('address_pool_exhausted', 'address'));
    assert.equal(clientsOf(w, net).length, 1);
  });

  it("goes again at once with a larger stamp when the gateway's generation is ahead", async (t) => {
    const { w, net, gatewayId, desired } = await setup();
    const ahead = generationAhead(w.clock);
    shardsAt(w, net, gatewayId, ahead);
    const timers = t.mock.method(globalThis, 'setTimeout');
    const client = await createClient(w.deps, net, { gatewayId }, TEST_AUDIT);
    assert.ok(client.generation > ahead);
    assert.equal(desired(), client.generation);
    assert.equal(w.faults.calls('clients.create'), 2);
    assert.equal(timers.mock.callCount(), 0);
  });

  it('retries a create that lost to another writer after a pause and creates exactly one client', async (t) => {
    const { w, net, gatewayId } = await setup();
    w.faults.failNext('clients.create', 3);
    const timers = t.mock.method(globalThis, 'setTimeout');
    const client = await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    assert.equal(w.faults.calls('clients.create'), 4);
    assert.equal(timers.mock.callCount(), 3);
    assert.ok(timers.mock.calls.every((c) => (c.arguments[1] as number) < 5 * 2 ** 3));
    assert.deepEqual(clientsOf(w, net).map((c) => c.name), ['alice']);
    assert.deepEqual(clientLeases(w, net), [[lease4(client.address), 'client:alice']]);
    assert.equal(w.table.gatewayRow(net, gatewayId)!.clientCount, 1);
  });

  it('answers busy (409) and leaves nothing behind when every attempt loses', async () => {
    const { w, net, gatewayId, desired } = await setup({ random: () => 0 });
    const before = desired();
    w.faults.failNext('clients.create', 40);
    await assert.rejects(createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT), isBusy);
    assert.equal(w.faults.calls('clients.create'), 40);
    assert.deepEqual([clientsOf(w, net).length, clientLeases(w, net).length, w.table.secrets.size, desired()], [0, 0, 0, before]);
    assert.equal((await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT)).name, 'alice', 'the caller may simply try again');
  });

  it('answers 404 for a gateway or a network that does not exist, without retrying', async () => {
    const { w, net } = await setup();
    await assert.rejects(createClient(w.deps, net, { gatewayId: 'gw-0000000000' }, TEST_AUDIT), isCode('not_found'));
    assert.equal(w.faults.calls('clients.create'), 1);
    await assert.rejects(createClient(w.deps, 'nowhere', { gatewayId: 'gw-0000000000' }, TEST_AUDIT), isCode('not_found'));
  });

  it('refuses an IPv6 address on a network without an IPv6 range, and one outside the range', async () => {
    const { w, net, gatewayId } = await setup();
    await assert.rejects(createClient(w.deps, net, { gatewayId, address6: 'fd00::5' }, TEST_AUDIT), isCode('validation_failed', 'address6'));
    await assert.rejects(createClient(w.deps, net, { gatewayId, address: '10.9.0.5' }, TEST_AUDIT), isCode('validation_failed', 'address'));
    assert.equal(w.faults.calls('clients.create'), 0);
  });
});

describe('reading clients', () => {
  it('shows a client in effect once the gateway has applied its generation', async () => {
    const { w, net, gatewayId, gateway } = await setup();
    const client = await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    assert.equal((await getClient(w.deps, net, 'alice')).inEffect, false);
    markApplied(w, gateway);
    const read = await getClient(w.deps, net, 'alice');
    assert.equal(read.inEffect, true);
    assert.deepEqual({ ...read, inEffect: false }, client);
  });

  it('does not show a client in effect that the worker left out of the peer set', async () => {
    const { w, net, gatewayId, gateway } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    await createClient(w.deps, net, { gatewayId, name: 'bob' }, TEST_AUDIT);
    markApplied(w, gateway);
    const row = w.table.gatewayRow(net, gatewayId)!.gateway;
    row.lastSync = { at: '', generation: row.desiredGeneration, outcome: 'applied', skipped: [{ client: 'bob', code: 'repeated_public_key', reason: 'r' }], skippedCount: 1 };
    assert.equal((await getClient(w.deps, net, 'alice')).inEffect, true);
    assert.equal((await getClient(w.deps, net, 'bob')).inEffect, false);
    const listed = await listClients(w.deps, net, { limit: 10 });
    assert.deepEqual(listed.items.map((c) => [c.name, c.inEffect]), [['alice', true], ['bob', false]]);
  });

  it('answers 404 for a client that does not exist', async () => {
    const { w, net } = await setup();
    await assert.rejects(getClient(w.deps, net, 'nobody'), isCode('not_found'));
  });

  it("lists one gateway's clients page by page, each with whether it is in effect", async () => {
    const { w, net, gatewayId, gateway } = await setup();
    const other = await createGateway(w.deps, net, { instanceId: 'i-0123456789abcdef1', endpoint: '192.0.2.2' }, TEST_AUDIT);
    for (const name of ['a', 'b', 'c']) await createClient(w.deps, net, { gatewayId, name }, TEST_AUDIT);
    await createClient(w.deps, net, { gatewayId: other.id, name: 'elsewhere' }, TEST_AUDIT);
    markApplied(w, gateway);
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listClients(w.deps, net, { gatewayId, limit: 2, ...(cursor ? { cursor } : {}) });
      assert.ok(page.items.every((c) => c.inEffect && c.gatewayId === gatewayId));
      names.push(...page.items.map((c) => c.name));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(names, ['a', 'b', 'c']);
    assert.equal((await listClients(w.deps, net, { limit: 10 })).items.length, 4);
  });

  it('answers 404 when listing the clients of a network that does not exist', async () => {
    await assert.rejects(listClients(fakeWorld().deps, 'nowhere', { limit: 10 }), isCode('not_found'));
  });
});

describe('updateClient', () => {
  it("moves the gateway's generation when the peer set changes: enabled, expiresAt set or removed", async () => {
    const { w, net, gatewayId, desired } = await setup();
    const client = await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    const disabled = await updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT);
    assert.deepEqual([disabled.enabled, disabled.version, disabled.inEffect], [false, 2, false]);
    assert.ok(disabled.generation > client.generation);
    assert.equal(desired(), disabled.generation);
    const expiring = await updateClient(w.deps, net, 'alice', { expiresAt: '2026-07-01T00:00:00Z' }, TEST_AUDIT);
    assert.ok(expiring.generation > disabled.generation);
    assert.deepEqual(expiringListed(w, net, gatewayId), ['alice']);
    const forever = await updateClient(w.deps, net, 'alice', { expiresAt: null }, TEST_AUDIT);
    assert.deepEqual(expiringListed(w, net, gatewayId), [], 'no expiry, no longer listed');
    assert.equal(forever.expiresAt, undefined);
    assert.ok(forever.generation > expiring.generation);
    assert.equal(desired(), forever.generation);
  });

  it("leaves the gateway's generation alone for a DNS-only change or one that changes nothing", async () => {
    const { w, net, gatewayId, desired } = await setup();
    const client = await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    const updated = await updateClient(w.deps, net, 'alice', { dns: ['10.0.0.53'], enabled: true }, TEST_AUDIT);
    assert.deepEqual([updated.dns, updated.version, updated.generation], [['10.0.0.53'], 2, client.generation]);
    assert.equal(desired(), client.generation);
  });

  it('refuses a stale version (409 version_conflict) without writing', async () => {
    const { w, net, gatewayId } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    await updateClient(w.deps, net, 'alice', { dns: ['10.0.0.53'] }, TEST_AUDIT);
    await assert.rejects(updateClient(w.deps, net, 'alice', { enabled: false, version: 1 }, TEST_AUDIT), isCode('version_conflict', 'version'));
    assert.equal(w.faults.calls('clients.update'), 1);
    assert.equal((await getClient(w.deps, net, 'alice')).enabled, true);
  });

  it('does not retry a change whose version another writer moved between the read and the write', async () => {
    const { w, net, gatewayId } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    w.faults.before('clients.update', () => updateClient(w.deps, net, 'alice', { dns: ['9.9.9.9'] }, TEST_AUDIT));
    await assert.rejects(updateClient(w.deps, net, 'alice', { enabled: false, version: 1 }, TEST_AUDIT), isCode('version_conflict', 'version'));
    assert.equal(w.faults.calls('clients.update'), 2, 'the other writer and one attempt');
    assert.equal((await getClient(w.deps, net, 'alice')).enabled, true);
  });

  it('re-reads and applies a change without a version that lost a race, keeping the other change', async () => {
    const { w, net, gatewayId } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    w.faults.before('clients.update', () => updateClient(w.deps, net, 'alice', { dns: ['9.9.9.9'] }, TEST_AUDIT));
    const updated = await updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT);
    assert.deepEqual([updated.enabled, updated.dns, updated.version], [false, ['9.9.9.9'], 3]);
  });

  it("goes again at once with a larger stamp when the gateway's generation is ahead", async (t) => {
    const { w, net, gatewayId, desired } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    const ahead = generationAhead(w.clock);
    shardsAt(w, net, gatewayId, ahead);
    const timers = t.mock.method(globalThis, 'setTimeout');
    const updated = await updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT);
    assert.ok(updated.generation > ahead);
    assert.equal(desired(), updated.generation);
    assert.equal(timers.mock.callCount(), 0);
  });

  it('answers busy (409) when every attempt loses to another writer', async () => {
    const { w, net, gatewayId } = await setup({ random: () => 0 });
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    w.faults.failNext('clients.update', 10);
    await assert.rejects(updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT), isBusy);
    assert.equal((await getClient(w.deps, net, 'alice')).enabled, true);
  });

  it('answers 404 for a client that does not exist', async () => {
    const { w, net } = await setup();
    await assert.rejects(updateClient(w.deps, net, 'nobody', { enabled: false }, TEST_AUDIT), isCode('not_found'));
  });
});

describe('deleteClient', () => {
  it('removes the client with its secrets and address leases and moves the generation, so the address can be chosen again', async () => {
    const { w, net, gatewayId, desired } = await setup({ addressRange6: 'fd00:7::/112' });
    const client = await createClient(w.deps, net, { gatewayId, name: 'alice', address: '10.0.0.42', address6: 'fd00:7::2a' }, TEST_AUDIT);
    await deleteClient(w.deps, net, 'alice', TEST_AUDIT);
    await assert.rejects(getClient(w.deps, net, 'alice'), isCode('not_found'));
    assert.deepEqual([clientLeases(w, net).length, w.table.secrets.size, w.table.gatewayRow(net, gatewayId)!.clientCount], [0, 0, 0]);
    assert.ok(desired() > client.generation, 'the gateway must take the peer off');
    const again = await createClient(w.deps, net, { gatewayId, name: 'bob', address: '10.0.0.42', address6: 'fd00:7::2a' }, TEST_AUDIT);
    assert.equal(again.address, '10.0.0.42');
  });

  it('deletes a client that another writer changed meanwhile', async () => {
    const { w, net, gatewayId } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    w.faults.before('clients.delete', () => updateClient(w.deps, net, 'alice', { dns: ['9.9.9.9'] }, TEST_AUDIT));
    await deleteClient(w.deps, net, 'alice', TEST_AUDIT);
    assert.equal(clientsOf(w, net).length, 0);
    assert.equal(w.faults.calls('clients.delete'), 2);
  });

  it("goes again at once with a larger stamp when the gateway's generation is ahead", async (t) => {
    const { w, net, gatewayId, desired } = await setup();
    await createClient(w.deps, net, { gatewayId, name: 'alice' }, TEST_AUDIT);
    const ahead = generationAhead(w.clock);
    shardsAt(w, net, gatewayId, ahead);
    const timers = t.mock.method(globalThis, 'setTimeout');
    await deleteClient(w.deps, net, 'alice', TEST_AUDIT);
    assert.ok(desired() > ahead);
    assert.equal(timers.mock.callCount(), 0);
  });

  it('answers 404 for a client that does not exist', async () => {
    const { w, net } = await setup();
    await assert.rejects(deleteClient(w.deps, net, 'nobody', TEST_AUDIT), isCode('not_found'));
  });
});
