// Issue 11, items 3 and 4: bulk import and export through the real API on DynamoDB Local and the
// SigV4-checking S3 server. An import of 1,000 clients with planted bad items creates exactly the
// good ones and writes nothing of the bad ones (read from the table itself); the export (CSV and
// JSON) goes back through the import into a second network; a large export is a signed URL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { decodeCsv } from '../../functions/domain/csv.js';
import { EXPORT_COLUMNS, importItemOf } from '../../functions/domain/client-table.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { localClient } from '../../infra/local/dynamodb.js';
import { until } from '../support/until.js';
import { useLocalApi } from '../support/local-api.js';

// A long schedule: the stream wakes the worker. Exports over 100 kB go to S3, so the 1,000-client
// network takes that path and a small one the inline one.
const api = useLocalApi({ scheduleMs: 3_600_000, exportInlineMaxBytes: 100_000 });

/** Every item of a partition, read from the table (consistent, all pages). */
async function partition(table: string, pk: string): Promise<Record<string, any>[]> {
  const db = DynamoDBDocumentClient.from(localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials));
  try {
    const items: Record<string, any>[] = [];
    let start: Record<string, any> | undefined;
    do {
      const out = await db.send(
        new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': pk }, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  } finally {
    db.destroy();
  }
}

async function network(name: string, addressRange: string, addressRange6: string, instanceId: string): Promise<string> {
  assert.equal((await api.call('POST', '/networks', { name, addressRange, addressRange6 })).status, 201);
  const gw = await api.call('POST', `/networks/${name}/gateways`, { instanceId, endpoint: '192.0.2.41' });
  assert.equal(gw.status, 202);
  await until('ready', async () => (await api.call('GET', `/networks/${name}/gateways/${gw.json.id}`)).json, (g) => g.status === 'ready');
  return gw.json.id as string;
}

const importKey = `import-${Math.random().toString(36).slice(2)}`;
const name = (i: number) => `c-${String(i).padStart(4, '0')}`;

describe('bulk import and export of clients', () => {
  let gatewayId = '';
  let takenKey = '';
  const items: Record<string, unknown>[] = [];
  // index → the field and code the answer must name
  const planted = new Map<number, { field: string; code: string }>();
  let answer: any;
  let importStartedAt = 0;

  it('imports 1,000 clients: exactly the good ones, each bad one reported by index and field', async () => {
    gatewayId = await network('bulk', '10.60.0.0/20', 'fd00:60::/112', 'i-0b0000000000000a1');
    takenKey = generateKeyPair().publicKey;
    assert.equal((await api.call('POST', '/networks/bulk/clients', { gatewayId, name: 'taken-name' })).status, 201);
    assert.equal((await api.call('POST', '/networks/bulk/clients', { gatewayId, name: 'holder', address: '10.60.0.9', publicKey: takenKey })).status, 201);

    for (let i = 0; i < 1000; i++) {
      const item: Record<string, unknown> = { name: name(i) };
      if (i % 2 === 0) item.publicKey = generateKeyPair().publicKey;
      if (i % 7 === 0) item.dns = ['10.60.0.53', 'fd00:60::53'];
      if (i % 11 === 0) item.expiresAt = '2031-01-01T00:00:00.000Z';
      if (i % 13 === 0) item.address = `10.60.8.${i % 250 + 1}`;
      items.push(item);
    }
    const plant = (i: number, change: Record<string, unknown>, field: string, code: string) => {
      Object.assign(items[i]!, change);
      planted.set(i, { field, code });
    };
    plant(10, { publicKey: 'not-a-key' }, 'publicKey', 'validation_failed');
    plant(20, { address: '10.60.0.9' }, 'address', 'address_taken'); // taken in the table
    plant(30, { name: name(5) }, 'name', 'name_taken'); // an earlier item of this import
    plant(40, { name: 'taken-name' }, 'name', 'name_taken'); // taken in the table
    plant(50, { publicKey: takenKey }, 'publicKey', 'public_key_taken');
    plant(60, { address: '10.61.0.1' }, 'address', 'validation_failed'); // outside the range
    plant(70, { publicKey: items[2]!.publicKey }, 'publicKey', 'public_key_taken'); // an earlier item's key
    plant(80, { address: items[13]!.address }, 'address', 'address_taken'); // an earlier item's address
    plant(90, { color: 'red' }, 'color', 'validation_failed');

    // Quiet before the import: what the gateway is sent from here on is the import's.
    await until('settled', async () => (await api.call('GET', `/networks/bulk/gateways/${gatewayId}`)).json, (g) => g.appliedGeneration >= g.desiredGeneration && g.lastSync?.outcome === 'applied');
    importStartedAt = Date.now();
    const started = Date.now();
    const res = await api.call('POST', '/networks/bulk/clients-import', { gatewayId, clients: items }, { headers: { 'idempotency-key': importKey } });
    const ms = Date.now() - started;
    process.stdout.write(`# import of 1,000 clients: ${ms} ms\n`);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    answer = res.json;
    assert.equal(answer.created, 1000 - planted.size);
    assert.equal(answer.failed, planted.size);
    assert.deepEqual(answer.results.map((r: any) => r.index), [...Array(1000).keys()]);
    for (const r of answer.results) {
      const bad = planted.get(r.index);
      if (bad) {
        assert.equal(r.status, 'failed', `item ${r.index}`);
        assert.equal(r.error.field, bad.field, `item ${r.index}: ${r.error.message}`);
        assert.equal(r.error.code, bad.code, `item ${r.index}: ${r.error.message}`);
        assert.ok(!('client' in r));
      } else {
        assert.equal(r.status, 'created', `item ${r.index}: ${JSON.stringify(r.error)}`);
        assert.equal(r.client.name, items[r.index]!.name);
        if (items[r.index]!.publicKey) assert.equal(r.client.publicKey, items[r.index]!.publicKey);
        if (items[r.index]!.address) assert.equal(r.client.address, items[r.index]!.address);
        assert.equal(r.client.hasPrivateKey, items[r.index]!.publicKey === undefined);
        assert.ok(r.client.address6.startsWith('fd00:60::'));
      }
    }
    const created = answer.results.filter((r: any) => r.status === 'created').map((r: any) => r.client);
    assert.equal(new Set(created.map((c: any) => c.address)).size, created.length, 'distinct IPv4 addresses');
    assert.equal(new Set(created.map((c: any) => c.address6)).size, created.length, 'distinct IPv6 addresses');
    assert.ok(!created.some((c: any) => ['10.60.0.9', '10.60.0.1'].includes(c.address)), 'never a taken or the gateway address');
  });

  it('wrote nothing of a bad item: no client, lease, key claim, secret or audit record (read from the table)', async () => {
    const items = await partition(api.stack.tableName, 'NET#bulk');
    const clients = items.filter((i) => i.sk.startsWith('CLIENT#'));
    assert.equal(clients.length, 1000 - planted.size + 2);
    const owners = new Map<string, number>();
    for (const i of items) if (i.owner) owners.set(i.owner, (owners.get(i.owner) ?? 0) + 1);
    // Bad items whose names are their own (not taken by another): nothing anywhere names them.
    for (const i of [10, 20, 50, 60, 70, 80, 90]) {
      assert.ok(!clients.some((c) => c.sk === `CLIENT#${name(i)}`), `no client ${name(i)}`);
      assert.equal(owners.get(`client:${name(i)}`), undefined, `no lease or key claim of ${name(i)}`);
    }
    // Every created client holds exactly its two leases and its key claim; the earlier holders keep theirs.
    for (const c of clients) assert.equal(owners.get(`client:${c.name}`), 3, `claims of ${c.name}`);
    assert.equal(items.find((i) => i.sk === 'IP4#0a3c0009')?.owner, 'client:holder');
    assert.equal(items.find((i) => i.sk === `KEY#${takenKey}`)?.owner, 'client:holder');
    const secrets = await partition(api.stack.secretsTableName, 'NET#bulk');
    const generated = clients.filter((c) => c.hasPrivateKey).map((c) => `CLIENT#${c.name}`);
    assert.deepEqual(secrets.map((s) => s.sk).sort(), generated.sort(), 'secrets exactly for the clients with generated keys');
    const audit = await partition(api.stack.tableName, 'AUDIT#bulk');
    const creates = audit.filter((a) => a.action === 'client.create');
    assert.equal(creates.length, clients.length, 'one client.create record per created client');
    assert.deepEqual(new Set(creates.map((a) => a.resource.id)), new Set(clients.map((c) => c.name)));
    // The gateway's client count lives on its generation shards.
    const counted = items.filter((i) => i.sk.startsWith(`GWGEN#${gatewayId}#`)).reduce((n, i) => n + Number(i.clientCount), 0);
    assert.equal(counted, clients.length);
  });

  it('answers a replay with the same key with the first answer and creates nothing new', async () => {
    const before = (await partition(api.stack.tableName, 'NET#bulk')).length;
    const res = await api.call('POST', '/networks/bulk/clients-import', { gatewayId, clients: items }, { headers: { 'idempotency-key': importKey } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, answer);
    assert.equal((await partition(api.stack.tableName, 'NET#bulk')).length, before);
    // Without the key, the same body finds every name taken and creates nothing either.
    const again = await api.call('POST', '/networks/bulk/clients-import', { gatewayId, clients: items.slice(0, 40) });
    assert.equal(again.status, 200);
    assert.equal(again.json.created, 0);
    assert.ok(again.json.results.every((r: any) => r.status === 'failed'));
    assert.equal((await partition(api.stack.tableName, 'NET#bulk')).length, before);
  });

  it('the gateway gets the whole import in one or two applies', async () => {
    const gw = await until(
      'applied',
      async () => (await api.call('GET', `/networks/bulk/gateways/${gatewayId}`)).json,
      (g) => g.appliedGeneration >= g.desiredGeneration && g.lastSync?.outcome === 'applied',
    );
    const applies = api.stack.runner.list().filter((c) => c.kind === 'apply' && c.instanceId === 'i-0b0000000000000a1' && c.sentAt >= importStartedAt);
    assert.ok(applies.length >= 1 && applies.length <= 2, `${applies.length} applies for one import`);
    let cursor: string | undefined;
    let seen = 0;
    do {
      const page = await api.call('GET', `/networks/bulk/clients?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const c of page.json.items) assert.ok(c.inEffect, `${c.name} in effect at generation ${gw.appliedGeneration}`);
      seen += page.json.items.length;
      cursor = page.json.nextCursor;
    } while (cursor);
    assert.equal(seen, 1000 - planted.size + 2);
  });

  it('exports a large network as a signed URL to an S3 object, CSV and JSON, and feeds both back into another network', async () => {
    // Networks are address spaces of their own: the same ranges take the same addresses.
    const csvGateway = await network('bulk-csv', '10.60.0.0/20', 'fd00:60::/112', 'i-0b0000000000000a2');
    const jsonGateway = await network('bulk-json', '10.60.0.0/20', 'fd00:60::/112', 'i-0b0000000000000a3');
    const source = (await partition(api.stack.tableName, 'NET#bulk')).filter((i) => i.sk.startsWith('CLIENT#'));

    const csvLink = await api.call('GET', '/networks/bulk/clients-export?format=csv');
    assert.equal(csvLink.status, 200);
    assert.equal(csvLink.json.count, source.length);
    assert.ok(csvLink.json.bytes > 100_000);
    assert.match(new URL(csvLink.json.url).pathname, /\/exports\/bulk\/\d+-[0-9a-f]{32}\.csv$/);
    const csvFile = await fetch(csvLink.json.url);
    assert.equal(csvFile.status, 200);
    assert.match(csvFile.headers.get('content-disposition') ?? '', /attachment; filename="bulk-clients.csv"/);
    const csv = await csvFile.text();
    const rows = decodeCsv(csv);
    assert.deepEqual(rows[0], [...EXPORT_COLUMNS]);
    assert.equal(rows.length, source.length + 1);
    // The URL is signed: without its signature the S3 server refuses it.
    assert.equal((await fetch(csvLink.json.url.split('?')[0])).status, 403);

    const jsonLink = await api.call('GET', '/networks/bulk/clients-export?format=json');
    assert.equal(jsonLink.status, 200);
    const exported = (await (await fetch(jsonLink.json.url)).json()) as { network: string; count: number; clients: any[] };
    assert.equal(exported.count, source.length);
    assert.ok(exported.clients.every((c) => !('privateKey' in c) && !('presharedKey' in c)));
    // The client answer's fields and nothing else (no bookkeeping such as the generation shard).
    const documented = new Set<string>(EXPORT_COLUMNS);
    assert.deepEqual([...new Set(exported.clients.flatMap((c) => Object.keys(c)))].filter((k) => !documented.has(k)), []);

    // CSV straight back in (text/csv body, the gateway in the query), in chunks of at most 1,000 rows.
    const header = csv.slice(0, csv.indexOf('\r\n') + 2);
    const lines = csv.slice(header.length).split('\r\n').filter((l) => l !== '');
    let createdFromCsv = 0;
    for (let i = 0; i < lines.length; i += 1000) {
      const res = await api.call('POST', `/networks/bulk-csv/clients-import?gatewayId=${csvGateway}`, undefined, {
        raw: header + lines.slice(i, i + 1000).join('\r\n') + '\r\n',
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      createdFromCsv += res.json.created;
    }
    assert.equal(createdFromCsv, source.length);
    // JSON: the fields an import takes, from each exported client.
    const clients = exported.clients.map(importItemOf);
    let createdFromJson = 0;
    for (let i = 0; i < clients.length; i += 1000) {
      const res = await api.call('POST', '/networks/bulk-json/clients-import', { gatewayId: jsonGateway, clients: clients.slice(i, i + 1000) });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      createdFromJson += res.json.created;
    }
    assert.equal(createdFromJson, source.length);

    const same = (c: any) => JSON.stringify([c.name, c.publicKey, c.address, c.address6, c.dns, c.expiresAt ?? null]);
    const expected = source.map(same).sort();
    for (const target of ['bulk-csv', 'bulk-json']) {
      const copies = (await partition(api.stack.tableName, `NET#${target}`)).filter((i) => i.sk.startsWith('CLIENT#'));
      assert.deepEqual(copies.map(same).sort(), expected, target);
    }
  });

  it('exports a small network inline: CSV with a header row and RFC 4180 quoting, and JSON', async () => {
    const gw = await network('small', '10.62.0.0/24', 'fd00:62::/112', 'i-0b0000000000000a4');
    assert.equal((await api.call('POST', '/networks/small/clients', { gatewayId: gw, name: 'a', dns: ['10.62.0.53', '10.62.0.54'] })).status, 201);
    assert.equal((await api.call('POST', '/networks/small/clients', { gatewayId: gw, name: 'b' })).status, 201);
    const csv = await api.call('GET', '/networks/small/clients-export?format=csv');
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /filename="small-clients.csv"/);
    const rows = decodeCsv(csv.text);
    assert.equal(rows.length, 3);
    assert.equal(rows[1]![EXPORT_COLUMNS.indexOf('dns')], '10.62.0.53 10.62.0.54');
    assert.equal(rows[2]![EXPORT_COLUMNS.indexOf('name')], 'b');
    const json = await api.call('GET', '/networks/small/clients-export');
    assert.equal(json.status, 200);
    assert.equal(json.json.count, 2);
    assert.deepEqual(json.json.clients.map((c: any) => c.name), ['a', 'b']);
  });

  it('refuses a malformed import as a whole, naming the field, and changes nothing', async () => {
    const before = (await partition(api.stack.tableName, 'NET#small')).length;
    const over = await api.call('POST', '/networks/small/clients-import', { gatewayId, clients: Array.from({ length: 1001 }, () => ({})) });
    assert.equal(over.status, 400);
    assert.equal(over.json.error.field, 'clients');
    const notArray = await api.call('POST', '/networks/small/clients-import', { gatewayId, clients: {} });
    assert.equal(notArray.status, 400);
    assert.equal(notArray.json.error.field, 'clients');
    const empty = await api.call('POST', '/networks/small/clients-import', { gatewayId, clients: [] });
    assert.equal(empty.status, 400);
    const noGateway = await api.call('POST', '/networks/small/clients-import', undefined, { raw: 'name\r\nx\r\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(noGateway.status, 400);
    assert.equal(noGateway.json.error.field, 'gatewayId');
    const badColumn = await api.call('POST', `/networks/small/clients-import?gatewayId=${gatewayId}`, undefined, { raw: 'name,colour\r\nx,red\r\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(badColumn.status, 400);
    assert.match(badColumn.json.error.message, /colour/);
    const unknownGateway = await api.call('POST', '/networks/small/clients-import', { gatewayId: 'gw-0000000000', clients: [{}] });
    assert.equal(unknownGateway.status, 404);
    assert.equal((await partition(api.stack.tableName, 'NET#small')).length, before);
  });
});
