import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listAudit } from '../../../functions/app/audit.js';
import { createClient, deleteClient, updateClient } from '../../../functions/app/clients.js';
import { createLink, hashToken, redeemLink, revokeLinks } from '../../../functions/app/downloads.js';
import { sweepGateways } from '../../../functions/app/gateway-worker.js';
import { createGateway, deleteGateway, requestResync, updateGateway } from '../../../functions/app/gateways.js';
import { createNetwork, deleteNetwork, updateNetwork } from '../../../functions/app/networks.js';
import type { AuditRecord } from '../../../functions/domain/audit.js';
import { ConflictError, ValidationError } from '../../../functions/domain/errors.js';
import { TEST_AUDIT, fakeWorld, freshNetworkName, markApplied, markReady, networkWithGateway, type FakeWorld } from '../../support/fakes.js';

/** The records written since `from` (an index into the table's records). */
const since = (w: FakeWorld, from: number) => w.table.audit.slice(from);

/** Runs `change` and answers the one record it wrote (failing unless it wrote exactly one). */
async function oneRecord(w: FakeWorld, change: () => Promise<unknown>): Promise<AuditRecord> {
  const before = w.table.audit.length;
  w.clock.advance(1000);
  await change();
  const written = since(w, before);
  assert.equal(written.length, 1, `exactly one record, not ${JSON.stringify(written)}`);
  const record = written[0]!;
  assert.equal(record.at, w.clock.now().toISOString());
  assert.equal(record.requestId, TEST_AUDIT.requestId);
  assert.match(record.id, /^[0-9a-f-]{36}$/);
  return record;
}

async function writesNone(w: FakeWorld, change: () => Promise<unknown>, rejects: (err: unknown) => boolean): Promise<void> {
  const before = w.table.audit.length;
  await assert.rejects(change(), rejects);
  assert.deepEqual(since(w, before), [], 'a failed change writes no record');
}

const admin = TEST_AUDIT.actor;

describe('audit records of networks', () => {
  it('create, update and delete each write one record with the changed fields', async () => {
    const w = fakeWorld();
    const name = freshNetworkName();
    const created = await oneRecord(w, () => createNetwork(w.deps, { name, addressRange: '10.1.0.0/24', defaultDns: ['10.1.0.53'] }, TEST_AUDIT));
    assert.deepEqual(created.actor, admin);
    assert.equal(created.action, 'network.create');
    assert.deepEqual(created.resource, { type: 'network', network: name, id: name });
    assert.deepEqual(created.changes, {
      name: { from: null, to: name },
      addressRange: { from: null, to: '10.1.0.0/24' },
      defaultDns: { from: null, to: ['10.1.0.53'] },
    });

    const updated = await oneRecord(w, () => updateNetwork(w.deps, name, { defaultDns: ['1.1.1.1'] }, TEST_AUDIT));
    assert.equal(updated.action, 'network.update');
    assert.deepEqual(updated.changes, { defaultDns: { from: ['10.1.0.53'], to: ['1.1.1.1'] } });

    const deleted = await oneRecord(w, () => deleteNetwork(w.deps, name, TEST_AUDIT));
    assert.equal(deleted.action, 'network.delete');
    assert.deepEqual(deleted.changes!.addressRange, { from: '10.1.0.0/24', to: null });
  });

  it('writes nothing for a change that fails, and one record for a change that won after retries', async () => {
    const w = fakeWorld();
    const { network } = await networkWithGateway(w);
    await writesNone(w, () => createNetwork(w.deps, { name: network.name, addressRange: '10.2.0.0/24' }, TEST_AUDIT), (e) => e instanceof ConflictError && e.code === 'name_taken');
    await writesNone(w, () => deleteNetwork(w.deps, network.name, TEST_AUDIT), (e) => e instanceof ConflictError && e.code === 'network_not_empty');
    await writesNone(w, () => updateNetwork(w.deps, network.name, { defaultDns: [], version: 7 }, TEST_AUDIT), (e) => e instanceof ConflictError);
    w.faults.failNext('networks.updateDefaultDns', 3);
    await oneRecord(w, () => updateNetwork(w.deps, network.name, { defaultDns: ['9.9.9.9'] }, TEST_AUDIT));
  });
});

describe('audit records of gateways', () => {
  it('create, update, resync and delete each write one record', async () => {
    const w = fakeWorld();
    const { network } = await networkWithGateway(w);
    const net = network.name;
    let id = '';
    const created = await oneRecord(w, async () => {
      id = (await createGateway(w.deps, net, { instanceId: 'i-0123456789abcdef1', endpoint: 'vpn.example.com' }, TEST_AUDIT)).id;
    });
    assert.equal(created.action, 'gateway.create');
    assert.deepEqual(created.resource, { type: 'gateway', network: net, id });
    assert.deepEqual(created.changes!.endpoint, { from: null, to: 'vpn.example.com' });
    assert.deepEqual(created.changes!.status, { from: null, to: 'pending' });
    await markReady(w, { network: net, id });

    const updated = await oneRecord(w, () => updateGateway(w.deps, net, id, { listenPort: 51821, mtu: 1380 }, TEST_AUDIT));
    assert.equal(updated.action, 'gateway.update');
    assert.deepEqual(updated.changes, {
      listenPort: { from: 51820, to: 51821 },
      mtu: { from: null, to: 1380 },
      status: { from: 'ready', to: 'pending' },
    });

    const before = (await w.gateways.get(net, id))!;
    const resync = await oneRecord(w, () => requestResync(w.deps, net, id, TEST_AUDIT));
    const after = (await w.gateways.get(net, id))!;
    assert.equal(resync.action, 'gateway.resync');
    assert.deepEqual(resync.changes!.desiredGeneration, { from: before.desiredGeneration, to: after.desiredGeneration });

    markApplied(w, { network: net, id });
    const deleted = await oneRecord(w, () => deleteGateway(w.deps, net, id, TEST_AUDIT));
    assert.equal(deleted.action, 'gateway.delete');
    assert.deepEqual(deleted.changes!.instanceId, { from: 'i-0123456789abcdef1', to: null });
  });

  it('writes nothing when a gateway with clients cannot be deleted', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    await createClient(w.deps, network.name, { gatewayId: gateway.id, name: 'alice' }, TEST_AUDIT);
    await writesNone(w, () => deleteGateway(w.deps, network.name, gateway.id, TEST_AUDIT), (e) => e instanceof ConflictError);
  });

  it("the worker's expiry enforcement writes gateway.resync as the system actor", async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    await createClient(w.deps, network.name, { gatewayId: gateway.id, name: 'leaves', expiresAt: '2026-06-01T12:30:00Z' }, TEST_AUDIT);
    markApplied(w, gateway);
    const before = w.table.audit.length;
    w.clock.advance(3_600_000);
    await sweepGateways(w.deps, 60_000, 'lambda-request-1');
    const written = since(w, before);
    assert.equal(written.length, 1);
    assert.deepEqual(written[0]!.actor, { type: 'system', id: 'gateway-sync' });
    assert.equal(written[0]!.action, 'gateway.resync');
    assert.equal(written[0]!.requestId, 'lambda-request-1');
    assert.deepEqual(written[0]!.changes!.expiredClients, { from: null, to: ['leaves'] });
  });
});

describe('audit records of clients', () => {
  it('create, update, disable, enable and delete each write one record, never a secret', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    const net = network.name;
    const created = await oneRecord(w, () => createClient(w.deps, net, { gatewayId: gateway.id, name: 'alice', presharedKey: true }, TEST_AUDIT));
    const client = (await w.clients.get(net, 'alice'))!;
    assert.equal(created.action, 'client.create');
    assert.deepEqual(created.resource, { type: 'client', network: net, id: 'alice' });
    assert.deepEqual(created.changes!.publicKey, { from: null, to: client.publicKey });
    assert.deepEqual(created.changes!.hasPrivateKey, { from: null, to: true });
    const secrets = w.table.secrets.get(`${net}/alice`)!;
    assert.ok(!JSON.stringify(created).includes(secrets.privateKey!), 'no private key');
    assert.ok(!JSON.stringify(created).includes(secrets.presharedKey!), 'no preshared key');

    const dns = await oneRecord(w, () => updateClient(w.deps, net, 'alice', { dns: ['10.0.0.53'] }, TEST_AUDIT));
    assert.equal(dns.action, 'client.update');
    assert.deepEqual(dns.changes, { dns: { from: [], to: ['10.0.0.53'] } });

    const disabled = await oneRecord(w, () => updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT));
    assert.equal(disabled.action, 'client.disable');
    assert.deepEqual(disabled.changes, { enabled: { from: true, to: false } });

    const enabled = await oneRecord(w, () => updateClient(w.deps, net, 'alice', { enabled: true }, TEST_AUDIT));
    assert.equal(enabled.action, 'client.enable');
    assert.deepEqual(enabled.changes, { enabled: { from: false, to: true } });

    const deleted = await oneRecord(w, () => deleteClient(w.deps, net, 'alice', TEST_AUDIT));
    assert.equal(deleted.action, 'client.delete');
    assert.deepEqual(deleted.changes!.address, { from: client.address, to: null });
    for (const record of w.table.audit) {
      assert.ok(!/privateKey|presharedKey/.test(Object.keys(record.changes ?? {}).join()), 'no secret field');
    }
  });

  it('writes nothing for a refused create or a stale update, and one record for a create that won after lost attempts', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    const net = network.name;
    await createClient(w.deps, net, { gatewayId: gateway.id, name: 'alice' }, TEST_AUDIT);
    await writesNone(w, () => createClient(w.deps, net, { gatewayId: gateway.id, name: 'alice' }, TEST_AUDIT), (e) => e instanceof ConflictError && e.code === 'name_taken');
    await writesNone(w, () => updateClient(w.deps, net, 'alice', { enabled: false, version: 9 }, TEST_AUDIT), (e) => e instanceof ConflictError && e.code === 'version_conflict');
    w.faults.failNext('clients.create', 3);
    await oneRecord(w, () => createClient(w.deps, net, { gatewayId: gateway.id, name: 'bob' }, TEST_AUDIT));
  });
});

describe('audit records of one-time links', () => {
  async function setup() {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    await createClient(w.deps, network.name, { gatewayId: gateway.id, name: 'alice' }, TEST_AUDIT);
    return { w, net: network.name, gateway };
  }
  const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

  it('create, revoke and redeem each write one record without the token or its hash', async () => {
    const { w, net } = await setup();
    let url = '';
    const created = await oneRecord(w, async () => {
      ({ url } = await createLink(w.deps, net, 'alice', { expiresInSeconds: 3600 }, TEST_AUDIT));
    });
    assert.equal(created.action, 'link.create');
    assert.deepEqual(created.resource, { type: 'link', network: net, id: 'alice' });
    assert.deepEqual(created.changes, { expiresAt: { from: null, to: new Date(w.clock.now().getTime() + 3600_000).toISOString() } });

    const redeemed = await oneRecord(w, () => redeemLink(w.deps, tokenOf(url), TEST_AUDIT.requestId));
    assert.equal(redeemed.action, 'link.redeem');
    assert.deepEqual(redeemed.actor, { type: 'link', id: `${net}/alice` });
    assert.deepEqual(redeemed.changes, { usedAt: { from: null, to: w.clock.now().toISOString() } });

    const revoked = await oneRecord(w, () => revokeLinks(w.deps, net, 'alice', TEST_AUDIT));
    assert.equal(revoked.action, 'link.revoke');
    assert.deepEqual(revoked.changes, { linksRevokedAt: { from: null, to: w.clock.now().toISOString() } });

    const text = JSON.stringify(w.table.audit);
    assert.ok(!text.includes(tokenOf(url)), 'no token');
    assert.ok(!text.includes(hashToken(tokenOf(url))), 'no token hash');
  });

  it('a redemption that is refused or given back leaves no record', async () => {
    const { w, net, gateway } = await setup();
    const { url } = await createLink(w.deps, net, 'alice', {}, TEST_AUDIT);
    // The gateway is re-initialising: not the user's fault, so the spend is given back with its record.
    await updateGateway(w.deps, net, gateway.id, { listenPort: 51999 }, TEST_AUDIT);
    await writesNone(w, () => redeemLink(w.deps, tokenOf(url), 'r1'), (e) => e instanceof ConflictError && e.code === 'gateway_not_ready');
    assert.equal(w.table.links.get(hashToken(tokenOf(url)))!.usedAt, undefined, 'the link was given back');
    await markReady(w, gateway);
    await oneRecord(w, () => redeemLink(w.deps, tokenOf(url), TEST_AUDIT.requestId));
    await writesNone(w, () => redeemLink(w.deps, tokenOf(url), 'r2'), (e) => (e as { code?: string }).code === 'link_used');
  });
});

describe('listAudit', () => {
  it('answers a network’s records newest first, by kind or by resource, in pages', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    const net = network.name;
    for (const name of ['a', 'b', 'c']) {
      w.clock.advance(1000);
      await createClient(w.deps, net, { gatewayId: gateway.id, name }, TEST_AUDIT);
    }
    w.clock.advance(1000);
    await updateClient(w.deps, net, 'b', { enabled: false }, TEST_AUDIT);

    const all = await listAudit(w.deps, { network: net, limit: 50 });
    // The network and its gateway were made at the same instant (the fake clock stood still): any order.
    assert.deepEqual(all.items.slice(0, 4).map((r) => r.action), ['client.disable', 'client.create', 'client.create', 'client.create']);
    assert.deepEqual(all.items.slice(4).map((r) => r.action).sort(), ['gateway.create', 'network.create']);
    assert.equal(all.nextCursor, undefined);

    const first = await listAudit(w.deps, { network: net, limit: 4 });
    const second = await listAudit(w.deps, { network: net, limit: 4, cursor: first.nextCursor! });
    assert.deepEqual([...first.items, ...second.items], all.items);

    const clients = await listAudit(w.deps, { network: net, resourceType: 'client', limit: 50 });
    assert.deepEqual(clients.items.map((r) => r.resource.id), ['b', 'c', 'b', 'a']);
    const b = await listAudit(w.deps, { network: net, resourceType: 'client', resourceId: 'b', limit: 50 });
    assert.deepEqual(b.items.map((r) => r.action), ['client.disable', 'client.create']);

    assert.deepEqual((await listAudit(w.deps, { network: 'elsewhere', limit: 50 })).items, []);
    await assert.rejects(listAudit(w.deps, { network: net, resourceId: 'b', limit: 50 }), ValidationError);
    await assert.rejects(listAudit(w.deps, { network: net, limit: 4, cursor: 'bm90IGEgY3Vyc29y' }), ValidationError);
  });
});
