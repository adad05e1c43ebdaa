import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient, deleteClient } from '../../../functions/app/clients.js';
import { createGateway, deleteGateway } from '../../../functions/app/gateways.js';
import { NetworkCache } from '../../../functions/app/network-cache.js';
import { createNetwork, deleteNetwork } from '../../../functions/app/networks.js';
import { contains, parseAddress, parseRange } from '../../../functions/domain/address-pool.js';
import { NotFoundError } from '../../../functions/domain/errors.js';
import { TEST_AUDIT, fakeWorld, freshNetworkName, markApplied, networkWithGateway } from '../../support/fakes.js';

describe('NetworkCache', () => {
  it('serves a network from memory for five minutes, then reads it again', async () => {
    const w = fakeWorld();
    const { network } = await networkWithGateway(w);
    const cache = new NetworkCache(w.networks, w.clock);
    const reads = w.faults.calls('networks.get');
    assert.deepEqual(await cache.get(network.name), network);
    await cache.get(network.name);
    w.clock.advance(5 * 60_000 - 1);
    await cache.get(network.name);
    assert.equal(w.faults.calls('networks.get'), reads + 1);
    w.clock.advance(1);
    await cache.get(network.name);
    assert.equal(w.faults.calls('networks.get'), reads + 2);
  });

  it('reads again after forget, and never remembers a network that does not exist', async () => {
    const w = fakeWorld();
    const cache = new NetworkCache(w.networks, w.clock);
    const name = freshNetworkName();
    assert.equal(await cache.get(name), undefined);
    await createNetwork(w.deps, { name, addressRange: '10.0.0.0/24' }, TEST_AUDIT);
    assert.equal((await cache.get(name))?.name, name, 'the miss was not cached');
    await deleteNetwork(w.deps, name, TEST_AUDIT);
    assert.equal((await cache.get(name))?.name, name, 'still cached');
    cache.forget(name);
    assert.equal(await cache.get(name), undefined);
  });

  it('is forgotten by a client create that finds the network re-created with other ranges', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { addressRange: '10.1.0.0/24' });
    const cache = new NetworkCache(w.networks, w.clock);
    const deps = { ...w.deps, networks: cache };
    const first = await createClient(deps, network.name, { gatewayId: gateway.id }, TEST_AUDIT); // the cache now holds 10.1.0.0/24
    // Meanwhile, elsewhere: the client, the gateway and the network go; the name comes back with another range.
    await deleteClient(w.deps, network.name, first.name, TEST_AUDIT);
    markApplied(w, gateway);
    await deleteGateway(w.deps, network.name, gateway.id, TEST_AUDIT);
    await deleteNetwork(w.deps, network.name, TEST_AUDIT);
    await createNetwork(w.deps, { name: network.name, addressRange: '10.2.0.0/24' }, TEST_AUDIT);
    const fresh = await createGateway(w.deps, network.name, { instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.1' }, TEST_AUDIT);

    const attempts = w.faults.calls('clients.create');
    const client = await createClient(deps, network.name, { gatewayId: fresh.id }, TEST_AUDIT);
    assert.equal(w.faults.calls('clients.create') - attempts, 2, 'the first attempt used the cached range and was refused');
    assert.ok(contains(parseRange('10.2.0.0/24', 4), parseAddress(client.address, 4)), client.address);
    assert.equal((await cache.get(network.name))?.addressRange, '10.2.0.0/24', 'the cache holds the new network');
  });

  it('makes a create answer 404 once the cached network is gone', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w);
    const cache = new NetworkCache(w.networks, w.clock);
    await cache.get(network.name);
    w.table.networks.delete(network.name); // deleted behind the cache's back (the gateway record lingers)
    await assert.rejects(createClient({ ...w.deps, networks: cache }, network.name, { gatewayId: gateway.id }, TEST_AUDIT), (err) => err instanceof NotFoundError && /network/.test(err.message));
    assert.equal(w.table.clients.size, 0);
  });
});
