// Generation shards on DynamoDB Local, through the API and the worker (runner in record mode):
// client writes of one gateway move its shards, not its item; a batch moves one shard once; a
// gateway made before shards gets them at its first client write and keeps working.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createClientsBatch } from '../../functions/app/clients.js';
import { createDocumentClient, keys } from '../../functions/adapters/dynamo/table.js';
import { clientDeps } from '../../functions/compose/slices.js';
import { GENERATION_SHARDS } from '../../functions/domain/generation.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { until } from '../support/until.js';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi({ scheduleMs: 3_600_000 });
const AUDIT = { actor: { type: 'admin' as const, id: 'test' }, requestId: 'test' };

const db = () => createDocumentClient({ region: 'us-east-1', endpoint: api.stack.dynamoEndpoint, credentials: api.stack.dynamoCredentials });

async function shardItems(network: string, gatewayId: string): Promise<Record<string, any>[]> {
  const client = db();
  try {
    const out = await client.send(
      new QueryCommand({
        TableName: api.stack.tableName,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': keys.networkPk(network), ':s': keys.generationShardPrefix(gatewayId) },
        ConsistentRead: true,
      }),
    );
    return out.Items ?? [];
  } finally {
    client.destroy();
  }
}

/** The shard a client is stamped on: stored with it, never answered. */
async function genShardOf(network: string, name: string): Promise<number> {
  const client = db();
  try {
    const item = (await client.send(new GetCommand({ TableName: api.stack.tableName, Key: keys.client(network, name), ConsistentRead: true }))).Item!;
    return Number(item.genShard);
  } finally {
    client.destroy();
  }
}

async function gatewayItem(network: string, gatewayId: string): Promise<Record<string, any>> {
  const client = db();
  try {
    return (await client.send(new GetCommand({ TableName: api.stack.tableName, Key: keys.gateway(network, gatewayId), ConsistentRead: true }))).Item!;
  } finally {
    client.destroy();
  }
}

async function readyGateway(network: string, range: string, instanceId: string): Promise<string> {
  assert.equal((await api.call('POST', '/networks', { name: network, addressRange: range })).status, 201);
  const gw = await api.call('POST', `/networks/${network}/gateways`, { instanceId, endpoint: '192.0.2.40' });
  await until('ready', async () => (await api.call('GET', `/networks/${network}/gateways/${gw.json.id}`)).json, (g) => g.status === 'ready');
  return gw.json.id;
}

const inSync = (network: string, id: string) =>
  until('in sync', async () => (await api.call('GET', `/networks/${network}/gateways/${id}`)).json, (g) => g.appliedGeneration === g.desiredGeneration && g.lastSync?.outcome === 'applied');

describe('generation shards', () => {
  it('spreads concurrent creates of one gateway over its shards and leaves the gateway item alone', async () => {
    const id = await readyGateway('shards', '10.41.0.0/20', 'i-0123456789abcd041');
    const before = await gatewayItem('shards', id);
    const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => api.call('POST', '/networks/shards/clients', { gatewayId: id, name: `c-${i}` })));
    assert.deepEqual(answers.map((a) => a.status), Array(32).fill(201));
    const shards = await shardItems('shards', id);
    assert.equal(shards.length, GENERATION_SHARDS);
    assert.equal(shards.reduce((n, s) => n + Number(s.clientCount), 0), 32);
    assert.ok(shards.filter((s) => Number(s.clientCount) > 0).length > 4, 'spread, not all on one');
    const after = await gatewayItem('shards', id);
    assert.deepEqual([after.version, after.desiredGeneration, after.clientCount], [before.version, before.desiredGeneration, before.clientCount]);
    for (const a of answers) {
      assert.equal('genShard' in a.json, false, 'bookkeeping, not answered');
      const shard = await genShardOf('shards', a.json.name);
      assert.equal(shards.find((s) => s.sk.endsWith(`#${String(shard).padStart(2, '0')}`))!.generation >= a.json.generation, true);
    }
    await inSync('shards', id);
    const listed = await api.call('GET', `/networks/shards/clients?gatewayId=${id}&limit=100`);
    assert.ok(listed.json.items.every((c: { inEffect: boolean }) => c.inEffect));
    const gw = (await api.call('GET', `/networks/shards/gateways/${id}`)).json;
    assert.equal(gw.shards, undefined, 'the answer shows no shards');
    assert.equal(gw.appliedShards, undefined);
    // The gateway's own key is claimed: a client cannot take it.
    const mimic = await api.call('POST', '/networks/shards/clients', { gatewayId: id, name: 'mimic', publicKey: gw.publicKey });
    assert.equal(mimic.status, 409);
    assert.equal(mimic.json.error.field, 'publicKey');
    assert.match(mimic.json.error.message, /gateway's own key/);
  });

  it('refuses to delete a gateway whose shards still count clients, and deletes it with its shards once empty and applied', async () => {
    const id = await readyGateway('shards-del', '10.42.0.0/24', 'i-0123456789abcd042');
    assert.equal((await api.call('POST', '/networks/shards-del/clients', { gatewayId: id, name: 'only' })).status, 201);
    const busy = await api.call('DELETE', `/networks/shards-del/gateways/${id}`);
    assert.equal(busy.status, 409);
    assert.equal(busy.json.error.code, 'gateway_not_empty');
    await api.stack.setWorkerRunning(false);
    try {
      assert.equal((await api.call('DELETE', '/networks/shards-del/clients/only')).status, 204);
      const unsynced = await api.call('DELETE', `/networks/shards-del/gateways/${id}`);
      assert.equal(unsynced.status, 409);
      assert.equal(unsynced.json.error.code, 'gateway_not_synced', 'the removal has not reached the instance');
    } finally {
      await api.stack.setWorkerRunning(true);
    }
    await api.stack.sweep();
    await inSync('shards-del', id);
    assert.equal((await api.call('DELETE', `/networks/shards-del/gateways/${id}`)).status, 204);
    assert.deepEqual(await shardItems('shards-del', id), []);
  });

  it('writes a batch under one stamp on one shard, moved once, and the gateway gets it in at most two applies', async () => {
    const id = await readyGateway('batch', '10.43.0.0/20', 'i-0123456789abcd043');
    const taken = await api.call('POST', '/networks/batch/clients', { gatewayId: id, name: 'taken', address: '10.43.1.1' });
    assert.equal(taken.status, 201);
    await inSync('batch', id);
    const applies = () => api.stack.runner.list().filter((c) => c.kind === 'apply' && c.instanceId === 'i-0123456789abcd043').length;
    const sentBefore = applies();
    const bodies = Array.from({ length: 300 }, (_, i) => ({ name: `b-${i}` })) as { name: string; address?: string }[];
    bodies[10] = { name: 'b-dup' };
    bodies[11] = { name: 'b-dup' };
    bodies[12] = { name: 'b-addr', address: '10.43.1.1' };
    bodies[13] = { name: 'taken' };
    const deps = clientDeps(api.stack.config);
    const results = await createClientsBatch({ ...deps, networks: deps.cachedNetworks }, 'batch', id, bodies, AUDIT);
    const failed = results.filter((r) => 'error' in r).map((r) => [r.index, (r as { error: { code: string } }).error.code]);
    // One of the two items named b-dup wins (they run side by side); the other fails on its own.
    const dup = failed.find(([i]) => i === 10 || i === 11);
    assert.deepEqual(dup?.[1], 'name_taken');
    assert.deepEqual(failed.filter((f) => f !== dup).sort((a, b) => Number(a[0]) - Number(b[0])), [[12, 'address_taken'], [13, 'name_taken']]);
    assert.equal(failed.length, 3);
    const created = results.flatMap((r) => ('client' in r ? [r.client] : []));
    assert.equal(created.length, 297);
    assert.equal(new Set(created.map((c) => c.address)).size, 297, 'distinct addresses');
    assert.equal(new Set(created.map((c) => c.generation)).size, 1);
    const shardNo = await genShardOf('batch', created[0]!.name);
    const shard = (await shardItems('batch', id)).find((s) => s.sk.endsWith(`#${String(shardNo).padStart(2, '0')}`))!;
    assert.equal(shard.generation, created[0]!.generation);
    assert.equal((await shardItems('batch', id)).reduce((n, s) => n + Number(s.clientCount), 0), 298, 'taken + the 297');
    await until('batch in effect', async () => (await api.call('GET', '/networks/batch/clients/b-299')).json, (c) => c.inEffect);
    await inSync('batch', id);
    assert.ok(applies() - sentBefore <= 2, `${applies() - sentBefore} applies for the batch`);
    const last = api.stack.runner.list().filter((c) => c.kind === 'apply' && c.instanceId === 'i-0123456789abcd043').at(-1)!;
    assert.match(last.result.stdout ?? '', /peers=298\b/);
  });

  it('gives a gateway made before shards its shards and key claim at its first client write, and judges its older clients by its own generation', async () => {
    const id = await readyGateway('legacy', '10.44.0.0/24', 'i-0123456789abcd044');
    const gw = (await api.call('GET', `/networks/legacy/gateways/${id}`)).json;
    const client = db();
    try {
      // As an earlier version left it: no shards, no key claim, the count on the item, and a
      // client whose stamp went to the gateway's own desiredGeneration (applied already).
      for (const s of await shardItems('legacy', id)) await client.send(new DeleteCommand({ TableName: api.stack.tableName, Key: { pk: s.pk, sk: s.sk } }));
      await client.send(new DeleteCommand({ TableName: api.stack.tableName, Key: keys.publicKey('legacy', gw.publicKey) }));
      const old = 1_700_000_000_000_00;
      await client.send(
        new PutCommand({
          TableName: api.stack.tableName,
          Item: {
            ...keys.client('legacy', 'elder'), type: 'client', gsi1pk: keys.clientsOfGatewayGsiPk('legacy', id), gsi1sk: 'CLIENT#elder',
            id: 'elder', name: 'elder', network: 'legacy', gatewayId: id, address: '10.44.0.9', publicKey: generateKeyPair().publicKey,
            dns: [], enabled: true, hasPrivateKey: false, hasPresharedKey: false, generation: old, createdAt: '2024-01-01T00:00:00Z', updatedAt: '2024-01-01T00:00:00Z', version: 1,
          },
        }),
      );
      await client.send(new PutCommand({ TableName: api.stack.tableName, Item: { ...keys.lease('legacy', 'IP4#0a2c0009'), type: 'lease', owner: 'client:elder' } }));
      await client.send(
        new UpdateCommand({
          TableName: api.stack.tableName,
          Key: keys.gateway('legacy', id),
          UpdateExpression: 'SET clientCount = :one, desiredGeneration = :g, appliedGeneration = :g REMOVE appliedShards',
          ExpressionAttributeValues: { ':one': 1, ':g': old },
        }),
      );
    } finally {
      client.destroy();
    }
    assert.equal((await api.call('GET', '/networks/legacy/clients/elder')).json.inEffect, true, 'applied by the own component');
    assert.equal((await api.call('POST', '/networks/legacy/clients', { gatewayId: id, name: 'newer' })).status, 201);
    assert.equal((await shardItems('legacy', id)).length, GENERATION_SHARDS, 'made at the first client write');
    const mimic = await api.call('POST', '/networks/legacy/clients', { gatewayId: id, name: 'mimic', publicKey: gw.publicKey });
    assert.equal(mimic.status, 409, "the gateway's key was claimed with them");
    await until('newer in effect', async () => (await api.call('GET', '/networks/legacy/clients/newer')).json, (c) => c.inEffect);
    assert.equal((await api.call('GET', '/networks/legacy/clients/elder')).json.inEffect, true);
    // Its first change gives the older client a shard; the gateway's count stays right.
    assert.equal((await api.call('PATCH', '/networks/legacy/clients/elder', { enabled: false })).status, 200);
    assert.equal(Number.isInteger(await genShardOf('legacy', 'elder')), true);
    await until('elder disabled in effect', async () => (await api.call('GET', '/networks/legacy/clients/elder')).json, (c) => c.inEffect && !c.enabled);
    for (const name of ['elder', 'newer']) assert.equal((await api.call('DELETE', `/networks/legacy/clients/${name}`)).status, 204);
    await inSync('legacy', id);
    assert.equal((await api.call('DELETE', `/networks/legacy/gateways/${id}`)).status, 204, 'the item count and the shards both reach 0');
  });
});
