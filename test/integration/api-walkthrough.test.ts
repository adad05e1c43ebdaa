import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localClient } from '../../infra/local/dynamodb.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { assertNoSecretLeaked, useLocalApi } from '../support/local-api.js';

const api = useLocalApi();

async function secretsOf(network: string, client: string) {
  const db = DynamoDBDocumentClient.from(localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials));
  const out = await db.send(new GetCommand({ TableName: api.stack.secretsTableName, Key: { pk: `NET#${network}`, sk: `CLIENT#${client}` } }));
  db.destroy();
  return out.Item;
}

describe('the README walk-through through the real API', () => {
  let gatewayId = '';

  it('serves /health without a token', async () => {
    const res = await api.call('GET', '/health', undefined, { token: null });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ok' });
  });

  it('refuses every non-public route without the admin token', async () => {
    for (const [method, path] of [
      ['GET', '/networks'],
      ['POST', '/networks'],
      ['GET', '/networks/office/clients'],
      ['DELETE', '/networks/office'],
    ] as const) {
      const none = await api.call(method, path, undefined, { token: null });
      assert.equal(none.status, 401, `${method} ${path}`);
      assert.equal(none.json.error.code, 'unauthorized');
      const wrong = await api.call(method, path, undefined, { token: 'x'.repeat(43) });
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
    }
  });

  it('creates a network and a gateway that stays pending until it reports its key', async () => {
    const net = await api.call('POST', '/networks', { name: 'office', addressRange: '10.100.0.0/24', addressRange6: 'fd00:100::/112', defaultDns: ['10.100.0.53'] });
    assert.equal(net.status, 201);
    assert.equal(net.json.id, 'office');
    assert.equal(net.json.addressRange, '10.100.0.0/24');
    const gw = await api.call('POST', '/networks/office/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: 'VPN.Example.com', routedRanges: ['192.168.10.0/24'] });
    assert.equal(gw.status, 202);
    assert.equal(gw.json.status, 'pending');
    assert.equal(gw.json.endpoint, 'vpn.example.com');
    assert.equal(gw.json.address, '10.100.0.1', 'the gateway takes the first usable address');
    assert.equal(gw.json.address6, 'fd00:100::1');
    assert.equal(gw.json.desiredGeneration, 0);
    assert.equal(gw.json.appliedGeneration, 0);
    gatewayId = gw.json.id;
    const again = await api.call('GET', `/networks/office/gateways/${gatewayId}`);
    assert.equal(again.status, 200);
    assert.equal(again.json.status, 'pending');
  });

  it('creates three clients: chosen address, own public key, fully generated', async () => {
    const chosen = await api.call('POST', '/networks/office/clients', { gatewayId, name: 'alice-laptop', address: '10.100.0.10' });
    assert.equal(chosen.status, 201, chosen.text);
    assert.equal(chosen.json.address, '10.100.0.10');
    assert.match(chosen.json.address6, /^fd00:100::/);
    assert.equal(chosen.json.hasPrivateKey, true);
    assert.equal(chosen.json.inEffect, false);

    const own = generateKeyPair();
    const byo = await api.call('POST', '/networks/office/clients', { gatewayId, name: 'bob-phone', publicKey: own.publicKey, presharedKey: true });
    assert.equal(byo.status, 201, byo.text);
    assert.equal(byo.json.publicKey, own.publicKey);
    assert.equal(byo.json.hasPrivateKey, false);
    assert.equal(byo.json.hasPresharedKey, true);

    const generated = await api.call('POST', '/networks/office/clients', { gatewayId });
    assert.equal(generated.status, 201, generated.text);
    assert.match(generated.json.name, /^[a-z]+-[a-z]+-\d{1,2}$/);
    assert.match(generated.json.address, /^10\.100\.0\.\d+$/);
    assert.notEqual(generated.json.address, '10.100.0.10');
    assert.notEqual(generated.json.address, '10.100.0.1');
    for (const answer of [chosen, byo, generated]) {
      assert.equal('privateKey' in answer.json, false);
      assert.equal('presharedKey' in answer.json, false);
    }
    const gw = await api.call('GET', `/networks/office/gateways/${gatewayId}`);
    assert.equal(gw.json.desiredGeneration, generated.json.generation, 'the last change wrote its exact generation');
    assert.ok(chosen.json.generation < byo.json.generation && byo.json.generation < generated.json.generation, 'generations grow in commit order');
  });

  it('lists clients page by page with a cursor', async () => {
    const first = await api.call('GET', '/networks/office/clients?limit=2');
    assert.equal(first.status, 200);
    assert.equal(first.json.items.length, 2);
    assert.ok(first.json.nextCursor);
    const second = await api.call('GET', `/networks/office/clients?limit=2&cursor=${encodeURIComponent(first.json.nextCursor)}`);
    assert.equal(second.status, 200);
    const names = [...first.json.items, ...second.json.items].map((c: { id: string }) => c.id);
    assert.equal(new Set(names).size, 3);
    assert.ok(names.includes('alice-laptop') && names.includes('bob-phone'));
    const byGateway = await api.call('GET', `/networks/office/clients?gatewayId=${gatewayId}&limit=10`);
    assert.equal(byGateway.json.items.length, 3);
  });

  it('disables and re-enables a client without touching its keys or address', async () => {
    const before = await api.call('GET', '/networks/office/clients/alice-laptop');
    const secretsBefore = await secretsOf('office', 'alice-laptop');
    const off = await api.call('PATCH', '/networks/office/clients/alice-laptop', { enabled: false });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.enabled, false);
    assert.equal(off.json.version, before.json.version + 1);
    const on = await api.call('PATCH', '/networks/office/clients/alice-laptop', { enabled: true });
    assert.equal(on.json.enabled, true);
    for (const field of ['address', 'address6', 'publicKey', 'dns', 'gatewayId', 'createdAt']) {
      assert.deepEqual(on.json[field], before.json[field], field);
    }
    assert.deepEqual(await secretsOf('office', 'alice-laptop'), secretsBefore);
    const gw = await api.call('GET', `/networks/office/gateways/${gatewayId}`);
    assert.equal(gw.json.desiredGeneration, on.json.generation);
    assert.ok(on.json.generation > off.json.generation && off.json.generation > before.json.generation);
  });

  it('refuses a change made against a stale version', async () => {
    const current = await api.call('GET', '/networks/office/clients/alice-laptop');
    const stale = await api.call('PATCH', '/networks/office/clients/alice-laptop', { dns: ['1.1.1.1'], version: current.json.version - 1 });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, 'version_conflict');
    const fresh = await api.call('PATCH', '/networks/office/clients/alice-laptop', { dns: ['1.1.1.1'], version: current.json.version });
    assert.equal(fresh.status, 200);
    assert.deepEqual(fresh.json.dns, ['1.1.1.1']);
  });

  it('deletes a client: its address is free again and its secrets are gone', async () => {
    assert.ok(await secretsOf('office', 'alice-laptop'));
    await api.snapshotSecrets();
    const del = await api.call('DELETE', '/networks/office/clients/alice-laptop');
    assert.equal(del.status, 204);
    assert.equal((await api.call('GET', '/networks/office/clients/alice-laptop')).status, 404);
    assert.equal(await secretsOf('office', 'alice-laptop'), undefined);
    const reuse = await api.call('POST', '/networks/office/clients', { gatewayId, name: 'carol', address: '10.100.0.10' });
    assert.equal(reuse.status, 201, reuse.text);
  });

  it('answers conflicts with 409 naming the field', async () => {
    const name = await api.call('POST', '/networks/office/clients', { gatewayId, name: 'carol' });
    assert.equal(name.status, 409);
    assert.equal(name.json.error.field, 'name');
    const address = await api.call('POST', '/networks/office/clients', { gatewayId, name: 'dave', address: '10.100.0.10' });
    assert.equal(address.status, 409);
    assert.equal(address.json.error.field, 'address');
    const gwAddress = await api.call('POST', '/networks/office/clients', { gatewayId, name: 'erin', address: '10.100.0.1' });
    assert.equal(gwAddress.status, 409, 'the gateway address is leased like any other');
    const netDup = await api.call('POST', '/networks', { name: 'office', addressRange: '10.1.0.0/24' });
    assert.equal(netDup.status, 409);
    const netBusy = await api.call('DELETE', '/networks/office');
    assert.equal(netBusy.status, 409);
    assert.equal(netBusy.json.error.code, 'network_not_empty');
    const gwBusy = await api.call('DELETE', `/networks/office/gateways/${gatewayId}`);
    assert.equal(gwBusy.status, 409);
    assert.equal(gwBusy.json.error.code, 'gateway_not_empty');
  });

  it("changes a network's default DNS with optimistic locking", async () => {
    const net = await api.call('GET', '/networks/office');
    const changed = await api.call('PATCH', '/networks/office', { defaultDns: ['10.100.0.54', 'fd00:100::53'] });
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.json.defaultDns, ['10.100.0.54', 'fd00:100::53']);
    assert.equal(changed.json.version, net.json.version + 1);
    const stale = await api.call('PATCH', '/networks/office', { defaultDns: ['1.1.1.1'], version: net.json.version });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.field, 'version');
    assert.deepEqual((await api.call('GET', '/networks/office')).json.defaultDns, ['10.100.0.54', 'fd00:100::53']);
  });

  it('answers 404 for what does not exist', async () => {
    assert.equal((await api.call('GET', '/networks/nope')).status, 404);
    assert.equal((await api.call('GET', '/networks/office/clients/nope')).status, 404);
    assert.equal((await api.call('GET', '/networks/office/gateways/gw-0000000000')).status, 404);
    assert.equal((await api.call('GET', '/networks/office/gateways/not-an-id')).status, 404);
    const create = await api.call('POST', '/networks/office/clients', { gatewayId: 'gw-0000000000' });
    assert.equal(create.status, 404);
    assert.equal((await api.call('GET', '/no/such/route')).status, 404);
  });

  it('tears down in order: clients, then gateway, then network', async () => {
    await api.snapshotSecrets();
    const list = await api.call('GET', '/networks/office/clients?limit=100');
    for (const c of list.json.items) assert.equal((await api.call('DELETE', `/networks/office/clients/${c.id}`)).status, 204);
    // The gateway goes only once the removal of its last clients has been applied on it.
    let deleted = false;
    for (let i = 0; i < 300 && !deleted; i++) {
      const res = await api.call('DELETE', `/networks/office/gateways/${gatewayId}`);
      if (res.status === 204) deleted = true;
      else {
        assert.equal(res.status, 409);
        assert.equal(res.json.error.code, 'gateway_not_synced');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.ok(deleted, 'the gateway could be deleted once in sync');
    assert.equal((await api.call('DELETE', '/networks/office')).status, 204);
    assert.equal((await api.call('GET', '/networks/office')).status, 404);
  });

  it('serves an OpenAPI 3.1 document built from the same schemas', async () => {
    const doc = await api.call('GET', '/openapi.json', undefined, { token: null });
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, '3.1.0');
    const createClient = doc.json.paths['/networks/{network}/clients'].post;
    const schema = createClient.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.required, ['gatewayId']);
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.properties.publicKey);
    assert.equal(doc.json.paths['/dl/{token}'].get.security.length, 0, 'the download page is public');
    assert.equal(doc.json.paths['/networks'].get.security, undefined, 'admin routes inherit bearer security');
  });

  it('never shows a private or preshared key in an answer or a log line', async () => {
    const checked = await assertNoSecretLeaked(api);
    assert.ok(checked >= 4, `checked ${checked} secrets`);
  });
});
