// Idempotency-Key on the create routes (IETF httpapi idempotency draft), through the real API on
// DynamoDB Local: Powertools Idempotency with its DynamoDB persistence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { localClient } from '../../infra/local/dynamodb.js';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi({ scheduleMs: 500 });

/** Items of one kind in the network's partition (clients, gateways), read from the table itself. */
async function count(network: string, prefix: string): Promise<number> {
  const db = localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials);
  try {
    const out = await db.send(
      new QueryCommand({
        TableName: api.stack.tableName,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': { S: `NET#${network}` }, ':s': { S: prefix } },
        ConsistentRead: true,
      }),
    );
    return out.Count ?? 0;
  } finally {
    db.destroy();
  }
}

const key = (name: string) => ({ headers: { 'idempotency-key': `${name}-${Math.random().toString(36).slice(2)}` } });

describe('Idempotency-Key on creates', () => {
  let gatewayId = '';

  it('replays the first answer of a network create and creates nothing more', async () => {
    const k = key('net');
    const body = { name: 'idem', addressRange: '10.77.0.0/24' };
    const first = await api.call('POST', '/networks', body, k);
    assert.equal(first.status, 201);
    const again = await api.call('POST', '/networks', body, k);
    assert.equal(again.status, 201, 'a replay answers what the first request answered, not 409 name_taken');
    assert.deepEqual(again.json, first.json);
    // Without the key the same body is a new request, and the name is taken.
    assert.equal((await api.call('POST', '/networks', body)).status, 409);
  });

  it('replays a gateway registration: the same gateway id, one gateway', async () => {
    const k = key('gw');
    const body = { instanceId: 'i-0123456789abcdef0', endpoint: 'vpn.example.com' };
    const first = await api.call('POST', '/networks/idem/gateways', body, k);
    assert.equal(first.status, 202);
    const again = await api.call('POST', '/networks/idem/gateways', body, k);
    assert.equal(again.status, 202);
    assert.equal(again.json.id, first.json.id);
    assert.equal(await count('idem', 'GW#'), 1);
    gatewayId = first.json.id;
  });

  it('answers 422 naming the header when the same key comes with another body, and changes nothing', async () => {
    const k = key('client');
    const first = await api.call('POST', '/networks/idem/clients', { gatewayId, name: 'alice' }, k);
    assert.equal(first.status, 201);
    const other = await api.call('POST', '/networks/idem/clients', { gatewayId, name: 'bob' }, k);
    assert.equal(other.status, 422);
    assert.equal(other.json.error.field, 'Idempotency-Key');
    assert.equal(other.json.error.code, 'idempotency_key_reused');
    assert.equal((await api.call('GET', '/networks/idem/clients/bob')).status, 404);
    // The same body again is still the first answer, the generated key pair included.
    const replay = await api.call('POST', '/networks/idem/clients', { gatewayId, name: 'alice' }, k);
    assert.deepEqual(replay.json, first.json);
  });

  it('makes one client of 10 concurrent requests with one key; the others get its answer or 409 in flight', async () => {
    const k = key('burst');
    const before = await count('idem', 'CLIENT#');
    // No name: without the key each request would create a client of its own.
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.call('POST', '/networks/idem/clients', { gatewayId }, k)));
    assert.equal(await count('idem', 'CLIENT#'), before + 1, 'exactly one client');
    const created = answers.filter((a) => a.status === 201);
    assert.ok(created.length >= 1);
    for (const a of created) assert.equal(a.json.id, created[0]!.json.id);
    for (const a of answers.filter((x) => x.status !== 201)) {
      assert.equal(a.status, 409);
      assert.equal(a.json.error.code, 'idempotency_in_flight');
    }
    const replay = await api.call('POST', '/networks/idem/clients', { gatewayId }, k);
    assert.equal(replay.json.id, created[0]!.json.id);
  });

  it('leaves no record of a request that failed, and a key is scoped to its path: the same key creates on the right network', async () => {
    const k = key('retry');
    const missing = await api.call('POST', '/networks/nowhere/clients', { gatewayId, name: 'carol' }, k);
    assert.equal(missing.status, 404);
    const k2 = k.headers['idempotency-key'];
    const onReal = await api.call('POST', '/networks/idem/clients', { gatewayId, name: 'carol' }, { headers: { 'idempotency-key': k2 } });
    assert.equal(onReal.status, 201, 'another path is another scope, and a failed first try left nothing behind');
  });

  it('scopes a key to its route: on POST /networks the same key with another network is refused', async () => {
    const k = key('scope');
    assert.equal((await api.call('POST', '/networks', { name: 'idem-a', addressRange: '10.78.0.0/24' }, k)).status, 201);
    const b = await api.call('POST', '/networks', { name: 'idem-b', addressRange: '10.79.0.0/24' }, k);
    assert.equal(b.status, 422, 'one route, one key: another body is refused');
  });

  it('refuses a malformed key with 400 naming the header', async () => {
    const bad = await api.call('POST', '/networks', { name: 'idem-c', addressRange: '10.80.0.0/24' }, { headers: { 'idempotency-key': 'x'.repeat(256) } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, 'Idempotency-Key');
    assert.equal((await api.call('GET', '/networks/idem-c')).status, 404);
  });

  it('takes no key on one-time links: their answer carries a token that is never stored', async () => {
    for (let i = 0; i < 100 && (await api.call('GET', `/networks/idem/gateways/${gatewayId}`)).json.status !== 'ready'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const k = key('link');
    const first = await api.call('POST', '/networks/idem/clients/alice/links', {}, k);
    const second = await api.call('POST', '/networks/idem/clients/alice/links', {}, k);
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.notEqual(second.json.url, first.json.url, 'the header is ignored there: each call makes its own link');
    for (const a of [first, second]) api.rememberToken(a.json.url.split('/dl/')[1]);
  });

  it('documents the header and its answers in /openapi.json on exactly the three creates and the import', async () => {
    const doc = (await api.call('GET', '/openapi.json')).json;
    const withKey: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.parameters?.some((p) => p.in === 'header' && p.name === 'Idempotency-Key')) {
          withKey.push(`${method.toUpperCase()} ${path}`);
          assert.ok(op.responses['422'], `${method} ${path} documents 422`);
        }
      }
    }
    assert.deepEqual(withKey.sort(), ['POST /networks', 'POST /networks/{network}/clients', 'POST /networks/{network}/clients-import', 'POST /networks/{network}/gateways']);
  });

  it('lets a browser on another origin send the header: the preflight allows it, as API Gateway does', async () => {
    const res = await fetch(`${api.stack.url}/networks`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });
    assert.equal(res.status, 204);
    assert.ok(res.headers.get('access-control-allow-headers')?.split(',').includes('idempotency-key'));
    assert.ok(res.headers.get('access-control-allow-origin'));
  });
});
