// Issue 9, item 1: a repeated public key must neither be accepted nor stall a gateway. Through the
// real API on DynamoDB Local: the key claim of the create transaction, and the worker leaving a
// record it cannot render (planted straight into the table, as data written before the claim could
// be) out of the peer set while every other change still applies.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { parsePeerSet } from '../../functions/domain/peer-set.js';
import { localClient } from '../../infra/local/dynamodb.js';
import { until } from '../support/until.js';
import { useLocalApi } from '../support/local-api.js';

// A long schedule: the stream wakes the worker; tests sweep when they need it.
const api = useLocalApi({ scheduleMs: 3_600_000 });

async function withDb<T>(f: (db: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  const db = DynamoDBDocumentClient.from(localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials));
  try {
    return await f(db);
  } finally {
    db.destroy();
  }
}

/** Every item of a network's partition, keys only but for owner. */
const partition = (network: string) =>
  withDb(async (db) => {
    const out = await db.send(
      new QueryCommand({
        TableName: api.stack.tableName,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': `NET#${network}` },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((i) => ({ sk: i.sk as string, owner: i.owner as string | undefined }));
  });

async function readyGateway(network: string, addressRange: string, instanceId: string): Promise<{ id: string; publicKey: string; interfaceName: string }> {
  assert.equal((await api.call('POST', '/networks', { name: network, addressRange })).status, 201);
  const gw = await api.call('POST', `/networks/${network}/gateways`, { instanceId, endpoint: '192.0.2.40' });
  assert.equal(gw.status, 202);
  return until('ready', async () => (await api.call('GET', `/networks/${network}/gateways/${gw.json.id}`)).json, (g) => g.status === 'ready');
}

const gatewayOf = async (network: string, id: string) => (await api.call('GET', `/networks/${network}/gateways/${id}`)).json;

describe('public keys are unique in a network', () => {
  let gatewayId = '';
  let gatewayKey = '';
  const key = generateKeyPair().publicKey;

  it('refuses a second client with a public key already in use: 409 naming publicKey, nothing written', async () => {
    const gw = await readyGateway('keys', '10.40.0.0/24', 'i-0a0a0a0a0a0a0a0a0');
    gatewayId = gw.id;
    gatewayKey = gw.publicKey;
    const first = await api.call('POST', '/networks/keys/clients', { gatewayId, name: 'first', publicKey: key });
    assert.equal(first.status, 201);
    const itemsBefore = await partition('keys');
    assert.ok(itemsBefore.some((i) => i.sk === `KEY#${key}` && i.owner === 'client:first'), 'the key is claimed with the client');
    const gatewayBefore = await gatewayOf('keys', gatewayId);

    const second = await api.call('POST', '/networks/keys/clients', { gatewayId, name: 'second', publicKey: key, address: '10.40.0.77' });
    assert.equal(second.status, 409);
    assert.equal(second.json.error.code, 'public_key_taken');
    assert.equal(second.json.error.field, 'publicKey');

    assert.deepEqual(await partition('keys'), itemsBefore, 'no client, lease or claim of the refused create');
    assert.equal((await api.call('GET', '/networks/keys/clients/second')).status, 404);
    const intact = (await api.call('GET', '/networks/keys/clients/first')).json;
    assert.deepEqual([intact.publicKey, intact.address, intact.version], [key, first.json.address, 1]);
    const gatewayAfter = await gatewayOf('keys', gatewayId);
    assert.equal(gatewayAfter.desiredGeneration, gatewayBefore.desiredGeneration, "the gateway's generation did not move");
    // The name and the address are still free.
    const other = await api.call('POST', '/networks/keys/clients', { gatewayId, name: 'second', address: '10.40.0.77' });
    assert.equal(other.status, 201);
    assert.notEqual(other.json.publicKey, key);
  });

  it("refuses the gateway's own public key for a client", async () => {
    const res = await api.call('POST', '/networks/keys/clients', { gatewayId, name: 'mimic', publicKey: gatewayKey });
    assert.equal(res.status, 409);
    assert.deepEqual([res.json.error.code, res.json.error.field], ['public_key_taken', 'publicKey']);
    assert.equal((await api.call('GET', '/networks/keys/clients/mimic')).status, 404);
  });

  it('frees the key when its client is deleted, and lets another network use it meanwhile', async () => {
    const elsewhere = await readyGateway('keys-other', '10.41.0.0/24', 'i-0b0b0b0b0b0b0b0b0');
    assert.equal((await api.call('POST', '/networks/keys-other/clients', { gatewayId: elsewhere.id, name: 'first', publicKey: key })).status, 201);
    assert.equal((await api.call('DELETE', '/networks/keys/clients/first')).status, 204);
    assert.ok(!(await partition('keys')).some((i) => i.sk === `KEY#${key}`), 'the claim went with the client');
    const again = await api.call('POST', '/networks/keys/clients', { gatewayId, name: 'third', publicKey: key });
    assert.equal(again.status, 201);
    assert.ok((await partition('keys')).some((i) => i.sk === `KEY#${key}` && i.owner === 'client:third'));
    assert.ok((await partition('keys-other')).some((i) => i.sk === `KEY#${key}` && i.owner === 'client:first'), 'the other network kept its own claim');
  });
});

describe('a record the worker cannot render', () => {
  it('is left out and reported in lastSync, and every other change of the gateway still applies', async () => {
    const gw = await readyGateway('planted', '10.42.0.0/24', 'i-0c0c0c0c0c0c0c0c0');
    const call = (method: string, path: string, body?: unknown) => api.call(method, `/networks/planted${path}`, body);
    for (const name of ['alpha', 'beta', 'stolen']) assert.equal((await call('POST', '/clients', { gatewayId: gw.id, name })).status, 201);
    const beta = (await call('GET', '/clients/beta')).json;
    await until('in effect', async () => (await call('GET', '/clients/stolen')).json, (c) => c.inEffect);

    // Written as data from before the key claim could be: a twin of beta's key, a malformed key,
    // and a client with the gateway's own key.
    const planted = (name: string, address: string, publicKey: string) => ({
      pk: 'NET#planted',
      sk: `CLIENT#${name}`,
      type: 'client',
      gsi1pk: `GW#planted#${gw.id}`,
      gsi1sk: `CLIENT#${name}`,
      id: name,
      name,
      network: 'planted',
      gatewayId: gw.id,
      address,
      publicKey,
      dns: [],
      enabled: true,
      hasPrivateKey: false,
      hasPresharedKey: false,
      generation: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      version: 1,
    });
    await withDb(async (db) => {
      for (const item of [planted('twin', '10.42.0.200', beta.publicKey), planted('garbled', '10.42.0.201', 'not a key'), planted('mimic', '10.42.0.202', gw.publicKey)]) {
        await db.send(new PutCommand({ TableName: api.stack.tableName, Item: item }));
      }
    });

    // The changes that must not be held up: a stolen device disabled, a new client, a delete.
    assert.equal((await call('PATCH', '/clients/stolen', { enabled: false })).status, 200);
    assert.equal((await call('POST', '/clients', { gatewayId: gw.id, name: 'gamma' })).status, 201);
    assert.equal((await call('DELETE', '/clients/alpha')).status, 204);
    const desired = (await gatewayOf('planted', gw.id)).desiredGeneration;
    const synced = await until('applied', () => gatewayOf('planted', gw.id), (g) => g.appliedGeneration >= desired && g.lastSync?.outcome === 'applied');
    assert.equal(synced.appliedGeneration, synced.desiredGeneration);

    assert.deepEqual(
      synced.lastSync.skipped.map((s: { client: string; code: string }) => [s.client, s.code]),
      [
        ['beta', 'repeated_public_key'],
        ['garbled', 'invalid_public_key'],
        ['mimic', 'gateway_public_key'],
        ['twin', 'repeated_public_key'],
      ],
    );
    assert.equal(synced.lastSync.skippedCount, 4);
    assert.match(synced.lastSync.message, /4 clients left out of the peer set/);
    assert.match(synced.lastSync.skipped.find((s: { client: string }) => s.client === 'twin').reason, /'beta'/);

    // What the gateway runs: gamma only (alpha deleted, stolen disabled, the four left out).
    const gamma = (await call('GET', '/clients/gamma')).json;
    const file = join(api.stack.runner.dataDir, 'record', `i-0c0c0c0c0c0c0c0c0-${gw.interfaceName}.peers`);
    const peers = parsePeerSet(readFileSync(file, 'utf8'));
    assert.deepEqual(peers.map((p) => [p.publicKey, p.allowedIps]), [[gamma.publicKey, [`${gamma.address}/32`]]]);
    assert.equal(gamma.inEffect, true);
    assert.equal((await call('GET', '/clients/twin')).json.inEffect, false, 'a left-out client is not shown in effect');
    assert.equal((await call('GET', '/clients/stolen')).json.inEffect, true, 'the disable is in effect');
  });
});
