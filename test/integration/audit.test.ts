// The audit log through the real API on the local stack: every change of a sequence answers
// exactly one record of GET /audit, newest first, with who, what, the changed fields and the
// request id, and never a secret.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoGatewayStore } from '../../functions/adapters/dynamo/gateways-repo.js';
import { keys } from '../../functions/adapters/dynamo/table.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { localClient } from '../../infra/local/dynamodb.js';
import { useLocalApi } from '../support/local-api.js';

// No worker: nothing but the requests below changes anything (the test marks the gateway ready).
const api = useLocalApi({ worker: false });
const NET = 'auditnet';

async function withDb<T>(f: (d: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  const d = DynamoDBDocumentClient.from(localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials));
  try {
    return await f(d);
  } finally {
    d.destroy();
  }
}

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const res = await api.call(method, path, body);
  assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
  return res;
}

const audit = (query: string) => api.call('GET', `/audit?${query}`);

describe('GET /audit after a sequence of changes', () => {
  let gatewayId = '';
  const tokens: string[] = [];
  /** The actions in the order they were made. */
  const made: string[] = [];

  it('records every change', async () => {
    await ok('POST', '/networks', { name: NET, addressRange: '10.77.0.0/24' }, 201);
    made.push('network.create');
    await ok('PATCH', `/networks/${NET}`, { defaultDns: ['10.77.0.53'] });
    made.push('network.update');
    gatewayId = (await ok('POST', `/networks/${NET}/gateways`, { instanceId: 'i-0123456789abcdef0', endpoint: 'vpn.example.com' }, 202)).json.id;
    made.push('gateway.create');
    // What the worker records once init reports the gateway's key: bookkeeping, not an audited change.
    await withDb((d) =>
      new DynamoGatewayStore(d, api.stack.tableName, { tableName: api.stack.tableName, retentionDays: 400 }).recordInit(NET, gatewayId, {
        status: 'ready',
        publicKey: generateKeyPair().publicKey,
        at: new Date().toISOString(),
      }),
    );
    await ok('POST', `/networks/${NET}/gateways/${gatewayId}/sync`, undefined, 202);
    made.push('gateway.resync');
    await ok('POST', `/networks/${NET}/clients`, { gatewayId, name: 'alice', presharedKey: true }, 201);
    made.push('client.create');
    await ok('PATCH', `/networks/${NET}/clients/alice`, { enabled: false });
    made.push('client.disable');
    await ok('PATCH', `/networks/${NET}/clients/alice`, { enabled: true });
    made.push('client.enable');
    for (let i = 0; i < 2; i++) {
      const link = await ok('POST', `/networks/${NET}/clients/alice/links`, {}, 201);
      const token = new URL(link.json.url).pathname.slice('/dl/'.length);
      api.rememberToken(token);
      tokens.push(token);
      made.push('link.create');
      if (i === 0) {
        await ok('DELETE', `/networks/${NET}/clients/alice/links`, undefined, 204);
        made.push('link.revoke');
      }
    }
    const redeemed = await api.call('POST', `/dl/${tokens[1]}`, undefined, {
      token: null,
      raw: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(redeemed.status, 200, redeemed.text.slice(0, 300));
    made.push('link.redeem');
    // A refused change (a used link, a stale version) records nothing.
    const again = await api.call('POST', `/dl/${tokens[1]}`, undefined, { token: null, raw: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(again.status, 410);
    assert.equal((await api.call('PATCH', `/networks/${NET}/clients/alice`, { enabled: false, version: 1 })).status, 409);
    await api.snapshotSecrets(); // alice's keys, for the leak check, before the delete removes them
    await ok('DELETE', `/networks/${NET}/clients/alice`, undefined, 204);
    made.push('client.delete');
  });

  it('answers exactly one record per change, newest first, with actor, changes and request id', async () => {
    const res = await audit(`network=${NET}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.nextCursor, undefined);
    const items = res.json.items as any[];
    assert.deepEqual(items.map((r) => r.action), [...made].reverse());
    const ats = items.map((r) => r.at as string);
    assert.deepEqual([...ats].sort().reverse(), ats, 'newest first');
    assert.equal(new Set(items.map((r) => r.id)).size, items.length);
    assert.equal(new Set(items.map((r) => r.requestId)).size, items.length, 'one request each');
    for (const r of items) {
      assert.deepEqual(Object.keys(r).sort(), [...(r.changes ? ['changes'] : []), 'action', 'actor', 'at', 'id', 'requestId', 'resource'].sort());
      assert.equal(typeof r.requestId, 'string');
      assert.ok(r.requestId.length > 0);
      assert.equal(r.resource.network, NET);
      if (r.action === 'link.redeem') assert.deepEqual(r.actor, { type: 'link', id: `${NET}/alice` });
      else assert.deepEqual(r.actor, { type: 'admin', id: 'local-admin' });
    }
    const byAction = (a: string) => items.find((r) => r.action === a);
    assert.deepEqual(byAction('network.update').changes, { defaultDns: { from: [], to: ['10.77.0.53'] } });
    assert.deepEqual(byAction('client.disable').changes, { enabled: { from: true, to: false } });
    assert.deepEqual(byAction('client.enable').changes, { enabled: { from: false, to: true } });
    assert.deepEqual(byAction('client.create').changes.hasPresharedKey, { from: null, to: true });
    assert.deepEqual(byAction('gateway.create').resource, { type: 'gateway', network: NET, id: gatewayId });
    assert.ok(byAction('gateway.resync').changes.desiredGeneration);
    assert.deepEqual(byAction('link.redeem').resource, { type: 'link', network: NET, id: 'alice' });

    // No secret: no key, no token, no token hash (the leak check after the suite scans every answer too).
    for (const secret of await api.secrets()) assert.ok(!res.text.includes(secret), 'a secret in the audit log');
    for (const token of tokens) {
      assert.ok(!res.text.includes(token), 'a link token in the audit log');
      assert.ok(!res.text.includes(createHash('sha256').update(token).digest('hex')), "a link token's hash in the audit log");
    }
    assert.doesNotMatch(res.text, /privateKey|presharedKey"|tokenHash/);
  });

  it('expires records through the table TTL, 400 days after the change by default', async () => {
    const items = await withDb(async (d) =>
      (await d.send(new QueryCommand({ TableName: api.stack.tableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': keys.auditPk(NET) } }))).Items ?? [],
    );
    assert.equal(items.length, made.length);
    for (const item of items) assert.equal(item.ttl, Math.floor(Date.parse(item.at as string) / 1000) + 400 * 86_400);
  });

  it('pages by cursor', async () => {
    const all = (await audit(`network=${NET}`)).json.items as any[];
    const seen: any[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await audit(`network=${NET}&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.json.items.length <= 5);
      seen.push(...res.json.items);
      cursor = res.json.nextCursor;
      pages++;
    } while (cursor);
    assert.ok(pages >= 3);
    assert.deepEqual(seen, all);
  });

  it('filters by resourceType, and by resourceType and resourceId', async () => {
    const clients = await audit(`network=${NET}&resourceType=client&resourceId=alice`);
    assert.equal(clients.status, 200, clients.text);
    assert.deepEqual(clients.json.items.map((r: any) => r.action), ['client.delete', 'client.enable', 'client.disable', 'client.create']);

    const links = await audit(`network=${NET}&resourceType=link`);
    assert.deepEqual(links.json.items.map((r: any) => r.action), ['link.redeem', 'link.create', 'link.revoke', 'link.create']);

    const gateway = await audit(`network=${NET}&resourceType=gateway&resourceId=${gatewayId}`);
    assert.deepEqual(gateway.json.items.map((r: any) => r.action), ['gateway.resync', 'gateway.create']);

    // Paging a filtered list by resource works the same way.
    const first = await audit(`network=${NET}&resourceType=client&resourceId=alice&limit=3`);
    const rest = await audit(`network=${NET}&resourceType=client&resourceId=alice&limit=3&cursor=${encodeURIComponent(first.json.nextCursor)}`);
    assert.deepEqual([...first.json.items, ...rest.json.items], clients.json.items);

    assert.deepEqual((await audit('network=othernet')).json, { items: [] });
  });

  it('refuses bad queries and cursors that do not belong to the list', async () => {
    const noNetwork = await api.call('GET', '/audit');
    assert.equal(noNetwork.status, 400);
    assert.equal(noNetwork.json.error.field, 'network');
    const idWithoutType = await audit(`network=${NET}&resourceId=alice`);
    assert.equal(idWithoutType.status, 400);
    assert.equal(idWithoutType.json.error.field, 'resourceId');
    assert.equal((await audit(`network=${NET}&resourceType=router`)).status, 400);
    assert.equal((await audit(`network=${NET}&cursor=garbage`)).json.error.field, 'cursor');
    // A cursor of this network's list does not continue another network's, nor a resource's list.
    const cursor = (await audit(`network=${NET}&limit=2`)).json.nextCursor;
    assert.equal((await audit(`network=othernet&cursor=${encodeURIComponent(cursor)}`)).status, 400);
    assert.equal((await audit(`network=${NET}&resourceType=client&resourceId=alice&cursor=${encodeURIComponent(cursor)}`)).status, 400);
    assert.equal((await api.call('GET', `/audit?network=${NET}`, undefined, { token: null })).status, 401);
  });
});
