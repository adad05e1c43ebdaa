import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient, deleteClient } from '../../../functions/app/clients.js';
import { createGateway, deleteGateway, getGateway, listGateways, requestResync, updateGateway } from '../../../functions/app/gateways.js';
import { createNetwork, deleteNetwork } from '../../../functions/app/networks.js';
import { leaseKey, parseAddress } from '../../../functions/domain/address-pool.js';
import { ConflictError, NotFoundError, WriteConflictError } from '../../../functions/domain/errors.js';
import { GatewayRow, TEST_AUDIT, fakeWorld, freshNetworkName, generationAhead, markApplied, markReady, networkWithGateway, type FakeWorld } from '../../support/fakes.js';

const body = { instanceId: 'i-0123456789abcdef0', endpoint: 'vpn.example.com' };
const lease4 = (address: string) => leaseKey(parseAddress(address, 4), 4);

const isCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof ConflictError || err instanceof NotFoundError, String(err));
  assert.equal(err.code, code);
  return true;
};

async function network(w: FakeWorld, addressRange = '10.0.0.0/24', addressRange6?: string) {
  return createNetwork(w.deps, { name: freshNetworkName(), addressRange, ...(addressRange6 ? { addressRange6 } : {}) }, TEST_AUDIT);
}

describe('createGateway', () => {
  it("registers a pending gateway on the network's first usable addresses, claiming their leases", async () => {
    const w = fakeWorld();
    const net = await network(w, '10.0.0.0/24', 'fd00:1::/112');
    const gateway = await createGateway(w.deps, net.name, body, TEST_AUDIT);
    assert.match(gateway.id, /^gw-[a-z0-9]{10}$/);
    assert.equal(gateway.interfaceName, `wgi-${gateway.id.slice(3)}`);
    assert.equal(gateway.address, '10.0.0.1');
    assert.equal(gateway.address6, 'fd00:1::1');
    assert.equal(gateway.status, 'pending');
    assert.equal(gateway.listenPort, 51820);
    assert.deepEqual([gateway.desiredGeneration, gateway.appliedGeneration, gateway.version], [0, 0, 1]);
    assert.deepEqual(await getGateway(w.deps, net.name, gateway.id), gateway);
    const leases = w.table.leasesOf(net.name);
    assert.equal(leases.get(lease4('10.0.0.1')), `gateway:${gateway.id}`);
    assert.equal(leases.size, 2);
    assert.equal(w.table.networks.get(net.name)!.gatewayCount, 1);
  });

  it('gives a second gateway of the network another address', async () => {
    const w = fakeWorld();
    const net = await network(w);
    const first = await createGateway(w.deps, net.name, body, TEST_AUDIT);
    const second = await createGateway(w.deps, net.name, { ...body, instanceId: 'i-0123456789abcdef1' }, TEST_AUDIT);
    assert.notEqual(second.id, first.id);
    assert.notEqual(second.address, first.address);
    assert.equal(w.table.leasesOf(net.name).get(lease4(second.address)), `gateway:${second.id}`);
  });

  it('picks another address when another writer claims the chosen one first, and registers exactly one gateway', async () => {
    const w = fakeWorld();
    const net = await network(w);
    w.faults.before('gateways.create', (_gateway, leaseKeys) => void w.table.leasesOf(net.name).set(leaseKeys[0]!, 'client:someone'));
    const gateway = await createGateway(w.deps, net.name, body, TEST_AUDIT);
    assert.notEqual(gateway.address, '10.0.0.1');
    assert.equal(w.faults.calls('gateways.create'), 2);
    assert.equal((await listGateways(w.deps, net.name, { limit: 10 })).items.length, 1);
    assert.equal(w.table.leasesOf(net.name).get(lease4('10.0.0.1')), 'client:someone');
  });

  it('draws a new id when the generated one is already taken', async () => {
    const w = fakeWorld();
    const net = await network(w);
    let clashed = '';
    w.faults.before('gateways.create', (gateway) => {
      clashed = gateway.id;
      w.table.gateways.set(`${net.name}/${gateway.id}`, new GatewayRow({ ...gateway, address: '10.0.0.200' }));
    });
    const gateway = await createGateway(w.deps, net.name, body, TEST_AUDIT);
    assert.notEqual(gateway.id, clashed);
    assert.equal(gateway.address, '10.0.0.1');
  });

  it('answers 409 address_pool_exhausted once every address of the range is taken', async () => {
    const w = fakeWorld();
    const net = await network(w, '10.0.0.0/30');
    await createGateway(w.deps, net.name, body, TEST_AUDIT);
    await createGateway(w.deps, net.name, body, TEST_AUDIT);
    await assert.rejects(createGateway(w.deps, net.name, body, TEST_AUDIT), isCode('address_pool_exhausted'));
    assert.equal(w.table.networks.get(net.name)!.gatewayCount, 2);
  });

  it('answers 404 for a network that does not exist', async () => {
    await assert.rejects(createGateway(fakeWorld().deps, 'nowhere', body, TEST_AUDIT), isCode('not_found'));
  });
});

describe('updateGateway', () => {
  it('changes what only client configs carry without moving the generation or the status', async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w, { ready: true });
    const updated = await updateGateway(w.deps, net.name, gateway.id, { endpoint: '198.51.100.7', dns: ['10.0.0.53'], mtu: 1380 }, TEST_AUDIT);
    assert.equal(updated.endpoint, '198.51.100.7');
    assert.deepEqual(updated.dns, ['10.0.0.53']);
    assert.equal(updated.mtu, 1380);
    assert.equal(updated.status, 'ready');
    assert.equal(updated.desiredGeneration, gateway.desiredGeneration);
    assert.equal(updated.version, gateway.version + 1);
    const cleared = await updateGateway(w.deps, net.name, gateway.id, { mtu: null }, TEST_AUDIT);
    assert.equal(cleared.mtu, undefined);
  });

  it('runs init again when the listen port or routed ranges change: pending, with a new generation', async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w, { ready: true });
    w.table.gatewayRow(net.name, gateway.id)!.gateway.initCommand = { commandId: 'old', at: '' };
    const updated = await updateGateway(w.deps, net.name, gateway.id, { listenPort: 51821 }, TEST_AUDIT);
    assert.equal(updated.status, 'pending');
    assert.ok(updated.desiredGeneration > gateway.desiredGeneration);
    assert.equal(updated.initCommand, undefined, 'the old init no longer counts');
    const routed = await updateGateway(w.deps, net.name, gateway.id, { routedRanges: ['192.168.0.0/16'] }, TEST_AUDIT);
    assert.ok(routed.desiredGeneration > updated.desiredGeneration);
  });

  it("runs init again when a DNS change opens or closes a port of the gateway's firewall (its own address, the VPC resolver)", async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w, { ready: true });
    const own = await updateGateway(w.deps, net.name, gateway.id, { dns: [gateway.address] }, TEST_AUDIT);
    assert.equal(own.status, 'pending');
    assert.ok(own.desiredGeneration > gateway.desiredGeneration);
    const resolver = await updateGateway(w.deps, net.name, gateway.id, { dns: ['169.254.169.253'] }, TEST_AUDIT);
    assert.ok(resolver.desiredGeneration > own.desiredGeneration);
    w.table.gatewayRow(net.name, gateway.id)!.gateway.status = 'ready';
    const same = await updateGateway(w.deps, net.name, gateway.id, { dns: ['169.254.169.253', '10.0.0.53'] }, TEST_AUDIT);
    assert.equal(same.status, 'ready', 'a DNS server the firewall has nothing to do with changes only client configs');
    assert.equal(same.desiredGeneration, resolver.desiredGeneration);
  });

  it('refuses a stale version (409 version_conflict) without writing', async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w);
    await updateGateway(w.deps, net.name, gateway.id, { dns: ['10.0.0.53'] }, TEST_AUDIT);
    await assert.rejects(updateGateway(w.deps, net.name, gateway.id, { dns: [], version: gateway.version }, TEST_AUDIT), isCode('version_conflict'));
    assert.equal(w.faults.calls('gateways.update'), 1);
  });

  it('re-reads and applies a change without a version that lost a race', async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w);
    w.faults.before('gateways.update', () => updateGateway(w.deps, net.name, gateway.id, { dns: ['10.0.0.53'] }, TEST_AUDIT));
    const updated = await updateGateway(w.deps, net.name, gateway.id, { endpoint: '198.51.100.7' }, TEST_AUDIT);
    assert.deepEqual([updated.endpoint, updated.dns, updated.version], ['198.51.100.7', ['10.0.0.53'], 3]);
  });

  it(
    'applies a re-init made against the current version although a client change moved the generation meanwhile',
    async () => {
      const w = fakeWorld();
      const { network: net, gateway } = await networkWithGateway(w, { ready: true });
      w.faults.before('gateways.update', async () => {
        w.clock.advance(1); // the client's stamp is then larger than the one the update drew
        await createClient(w.deps, net.name, { gatewayId: gateway.id }, TEST_AUDIT);
      });
      const updated = await updateGateway(w.deps, net.name, gateway.id, { listenPort: 51821, version: gateway.version }, TEST_AUDIT);
      assert.equal(updated.listenPort, 51821);
    },
  );
});

describe('deleteGateway', () => {
  it("refuses while clients remain, then while their removal is not applied, then frees the gateway's leases", async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w, { ready: true });
    const client = await createClient(w.deps, net.name, { gatewayId: gateway.id }, TEST_AUDIT);
    await assert.rejects(deleteGateway(w.deps, net.name, gateway.id, TEST_AUDIT), isCode('gateway_not_empty'));
    await deleteClient(w.deps, net.name, client.name, TEST_AUDIT);
    await assert.rejects(deleteGateway(w.deps, net.name, gateway.id, TEST_AUDIT), isCode('gateway_not_synced'));
    markApplied(w, gateway);
    await deleteGateway(w.deps, net.name, gateway.id, TEST_AUDIT);
    await assert.rejects(getGateway(w.deps, net.name, gateway.id), isCode('not_found'));
    assert.equal(w.table.leasesOf(net.name).size, 0);
    await deleteNetwork(w.deps, net.name, TEST_AUDIT);
  });

  it('retries a delete that lost to another writer', async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w);
    w.faults.failNext('gateways.delete', 2);
    await deleteGateway(w.deps, net.name, gateway.id, TEST_AUDIT);
    assert.equal(w.table.gatewayRow(net.name, gateway.id), undefined);
    assert.equal(w.faults.calls('gateways.delete'), 3);
  });

  it('answers 404 for a gateway that does not exist', async () => {
    const w = fakeWorld();
    const net = await network(w);
    await assert.rejects(deleteGateway(w.deps, net.name, 'gw-0000000000', TEST_AUDIT), isCode('not_found'));
  });
});

describe('requestResync', () => {
  it('moves the generation forward and forgets the last command', async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w, { ready: true });
    w.table.gatewayRow(net.name, gateway.id)!.gateway.lastSync = { at: '', generation: 1, outcome: 'failed', commandId: 'c' };
    const resynced = await requestResync(w.deps, net.name, gateway.id, TEST_AUDIT);
    assert.ok(resynced.desiredGeneration > gateway.desiredGeneration);
    assert.equal(resynced.lastSync, undefined);
    assert.equal(resynced.status, 'ready', 'a ready gateway keeps serving while it resyncs');
  });

  it('goes again at once with a larger stamp when the generation is already ahead of this clock', async (t) => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w, { ready: true });
    const ahead = generationAhead(w.clock);
    w.table.gatewayRow(net.name, gateway.id)!.gateway.desiredGeneration = ahead;
    w.faults.before('gateways.requestResync', () => {
      w.table.gatewayRow(net.name, gateway.id)!.gateway.desiredGeneration = ahead + 500; // and another writer moves it again
    });
    const timers = t.mock.method(globalThis, 'setTimeout');
    const resynced = await requestResync(w.deps, net.name, gateway.id, TEST_AUDIT);
    assert.ok(resynced.desiredGeneration > ahead + 500);
    assert.equal(w.faults.calls('gateways.requestResync'), 2);
    assert.equal(timers.mock.callCount(), 0, 'no pause before the second attempt');
  });

  it('sends a gateway whose init failed back to pending so init runs again', async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w);
    await w.gateways.recordInit(net.name, gateway.id, { status: 'error', reason: 'Undeliverable', at: '' });
    assert.equal((await requestResync(w.deps, net.name, gateway.id, TEST_AUDIT)).status, 'pending');
  });
});

describe('listGateways', () => {
  it("lists the network's gateways only", async () => {
    const w = fakeWorld();
    const { network: net, gateway } = await networkWithGateway(w);
    await networkWithGateway(w);
    await markReady(w, gateway);
    assert.deepEqual((await listGateways(w.deps, net.name, { limit: 10 })).items.map((g) => g.id), [gateway.id]);
  });

  it('answers 404 for a network that does not exist', async () => {
    await assert.rejects(listGateways(fakeWorld().deps, 'nowhere', { limit: 10 }), isCode('not_found'));
  });
});

describe('gateway writes that run out of attempts', () => {
  it('answers busy (409) when every attempt of an update loses to another writer', async () => {
    const w = fakeWorld({ random: () => 0 });
    const { network: net, gateway } = await networkWithGateway(w);
    w.faults.failNext('gateways.update', 10);
    await assert.rejects(updateGateway(w.deps, net.name, gateway.id, { dns: ['10.0.0.53'] }, TEST_AUDIT), (err) => err instanceof WriteConflictError && err.code === 'busy');
    assert.deepEqual((await getGateway(w.deps, net.name, gateway.id)).dns, []);
  });
});
