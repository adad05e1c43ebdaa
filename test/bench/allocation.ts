// Issue 2's and 11's numbers, from one run on DynamoDB Local:
//  - conditional-write attempts per address allocation at 90 % utilisation of a /20
//  - create-client latency through the local API ÷ the bare DynamoDB transaction of the same
//    items, p50 at 1 and at 32 concurrent requests (goal <= 1.3)
//  - creates per second at 32 concurrent on one gateway ÷ the same spread over 32 gateways (no hot
//    item: goal >= 0.8)
//   npx tsx test/bench/allocation.ts
import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteCommand, TransactWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createClient } from '../../functions/app/clients.js';
import type { ClientStore } from '../../functions/app/ports.js';
import { DynamoClientStore } from '../../functions/adapters/dynamo/clients-repo.js';
import { DynamoGatewayStore } from '../../functions/adapters/dynamo/gateways-repo.js';
import { DynamoNetworkStore } from '../../functions/adapters/dynamo/networks-repo.js';
import { cancellationDetails, createDocumentClient, keys, numberAttribute } from '../../functions/adapters/dynamo/table.js';
import { putAudit } from '../../functions/adapters/dynamo/audit-log.js';
import { moveShard } from '../../functions/adapters/dynamo/generation-shards.js';
import { createStamper, pickShard } from '../../functions/domain/generation.js';
import { leaseKey, parseRange, usableBounds } from '../../functions/domain/address-pool.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { startLocalStack } from '../../infra/local/local-stack.js';

const BENCH_AUDIT = { actor: { type: 'admin' as const, id: 'bench' }, requestId: 'bench' };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Runs `total` calls with `concurrency` in flight and returns each call's latency. */
async function load(total: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        latencies.push(await timed(() => fn(i)));
      }
    }),
  );
  return latencies;
}

export async function benchAllocation(): Promise<Record<string, unknown>> {
  const stack = await startLocalStack({ port: 0, worker: false });
  try {
    const db = createDocumentClient({ region: 'us-east-1', endpoint: stack.dynamoEndpoint, credentials: stack.dynamoCredentials });
    const audit = { tableName: stack.tableName, retentionDays: 400 };
    const networks = new DynamoNetworkStore(db, stack.tableName, audit);
    const gateways = new DynamoGatewayStore(db, stack.tableName, audit);
    const clients = new DynamoClientStore(db, stack.tableName, stack.secretsTableName, audit);
    const H = { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' };
    const post = async (path: string, body: unknown) => {
      const res = await fetch(stack.url + path, { method: 'POST', headers: H, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, any>>;
    };

    // --- attempts at 90 % of a /20 ---------------------------------------------------------
    await post('/networks', { name: 'big', addressRange: '10.80.0.0/20' });
    const gw = await post('/networks/big/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.1' });
    const range = parseRange('10.80.0.0/20', 4);
    const { first, last } = usableBounds(range);
    const usable = Number(last - first + 1n);
    const target = Math.floor(usable * 0.9);
    // Fill with leases scattered at random, as months of creates and deletes leave them.
    const all: bigint[] = [];
    for (let a = first; a <= last; a++) if (a !== first) all.push(a); // first is the gateway's
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    const fill = all.slice(0, target - 1);
    for (let i = 0; i < fill.length; i += 25) {
      await db.send(
        new BatchWriteCommand({
          RequestItems: {
            [stack.tableName]: fill.slice(i, i + 25).map((a) => ({ PutRequest: { Item: { ...keys.lease('big', leaseKey(a, 4)), type: 'lease', owner: 'bench' } } })),
          },
        }),
      );
    }
    const attemptsPerAllocation: number[] = [];
    const counting = (counter: { n: number }): ClientStore => {
      const wrapped = Object.create(clients) as ClientStore;
      wrapped.create = async (...args) => {
        counter.n++;
        return clients.create(...args);
      };
      return wrapped;
    };
    const deps = (counter: { n: number }) => ({ networks, gateways, clients: counting(counter), clock: { now: () => new Date() }, random: Math.random });
    for (let i = 0; i < 60; i++) {
      const counter = { n: 0 };
      await createClient(deps(counter), 'big', { gatewayId: gw.id }, BENCH_AUDIT);
      attemptsPerAllocation.push(counter.n);
    }
    const concurrentAttempts: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < 4; i++) {
          const counter = { n: 0 };
          await createClient(deps(counter), 'big', { gatewayId: gw.id }, BENCH_AUDIT);
          concurrentAttempts.push(counter.n);
        }
      }),
    );

    // --- latency: API vs bare transaction -------------------------------------------------
    await post('/networks', { name: 'lat', addressRange: '10.90.0.0/16', addressRange6: 'fd00:90::/112' });
    const lgw = await post('/networks/lat/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.1' });
    // The same items the create's transaction writes (clients-repo.ts create): the client, its two
    // leases, its key claim, its generation shard (a random one of the gateway's), its secrets and
    // its audit record, each with the same conditions; only nothing is read or retried around it.
    // A stamp that lost to a larger one on its shard is taken again above it, as any writer must.
    const stamper = createStamper();
    let bareRetries = 0;
    const bare = async (i: number, floor = 0): Promise<void> => {
      const name = `bare-${i}-${randomBytes(3).toString('hex')}`;
      const pair = generateKeyPair();
      const now = new Date().toISOString();
      const stamp = stamper(Date.now(), floor);
      const shard = moveShard(stack.tableName, {
        network: 'lat',
        ranges: { name: 'lat', addressRange: '10.90.0.0/16', addressRange6: 'fd00:90::/112' },
        gatewayId: lgw.id,
        shard: pickShard(Math.random),
        generation: stamp,
        clientDelta: 1,
      });
      try {
        await send(name, pair, now, stamp, shard, i);
      } catch (err) {
        const behind = cancellationDetails(err)?.[4];
        if (behind?.code !== 'ConditionalCheckFailed') throw err;
        bareRetries++;
        await bare(i + 500_000, numberAttribute(behind.item?.generation) ?? stamp);
      }
    };
    const send = async (name: string, pair: { publicKey: string; privateKey: string }, now: string, stamp: number, shard: ReturnType<typeof moveShard>, i: number) => {
      await db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: stack.tableName, Item: { ...keys.client('lat', name), type: 'client', gsi1pk: keys.clientsOfGatewayGsiPk('lat', lgw.id), gsi1sk: `CLIENT#${name}`, id: name, name, network: 'lat', gatewayId: lgw.id, publicKey: pair.publicKey, address: `10.91.${i >> 8}.${i & 255}`, dns: [], enabled: true, generation: stamp, createdAt: now, updatedAt: now, version: 1 }, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: stack.tableName, Item: { ...keys.lease('lat', `IP4#bare${i}`), type: 'lease', owner: `client:${name}` }, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: stack.tableName, Item: { ...keys.lease('lat', `IP6#bare${i}`), type: 'lease', owner: `client:${name}` }, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: stack.tableName, Item: { ...keys.publicKey('lat', pair.publicKey), type: 'publicKey', owner: `client:${name}` }, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
            shard,
            { Put: { TableName: stack.secretsTableName, Item: { ...keys.secrets('lat', name), privateKey: pair.privateKey } } },
            putAudit(audit, { id: randomUUID(), at: now, actor: BENCH_AUDIT.actor, action: 'client.create', resource: { type: 'client', network: 'lat', id: name }, requestId: 'bench' }),
          ],
        }),
      );
    };
    const api = (i: number) => post('/networks/lat/clients', { gatewayId: lgw.id, name: `api-${i}-${randomBytes(3).toString('hex')}` });
    // Warm both paths (JIT, connection pools, emulator caches) before measuring.
    await load(40, 4, (i) => bare(100_000 + i));
    await load(40, 4, api);
    const result: Record<string, unknown> = {
      'allocation attempts p50 (90% of /20, sequential)': median(attemptsPerAllocation),
      'allocation attempts max (sequential)': Math.max(...attemptsPerAllocation),
      'allocation attempts p50 (90% of /20, 16 concurrent)': median(concurrentAttempts),
      'allocation attempts p95 (16 concurrent)': quantile(concurrentAttempts, 0.95),
      'allocation attempts goal': '<= 3',
    };
    for (const concurrency of [1, 32]) {
      const n = concurrency === 1 ? 100 : 320;
      const bareLat = await load(n, concurrency, (i) => bare(concurrency * 10_000 + i));
      const apiLat = await load(n, concurrency, (i) => api(concurrency * 10_000 + i));
      result[`create-client p50 ms @${concurrency} (API / bare transaction)`] = `${median(apiLat).toFixed(1)} / ${median(bareLat).toFixed(1)}`;
      result[`create-client ratio @${concurrency}`] = Number((median(apiLat) / median(bareLat)).toFixed(2));
      result[`bare transactions retried above a larger shard stamp @${concurrency}`] = bareRetries;
      bareRetries = 0;
    }
    result['create-client ratio goal'] = '<= 1.3';

    // --- no hot item: one gateway vs 32 ---------------------------------------------------
    await post('/networks', { name: 'hot', addressRange: '10.100.0.0/16' });
    const hotGateways: string[] = [];
    for (let g = 0; g < 32; g++) {
      hotGateways.push((await post('/networks/hot/gateways', { instanceId: `i-0123456789abcd${String(g).padStart(3, '0')}`, endpoint: '192.0.2.1' })).id);
    }
    const rate = async (pick: (i: number) => string, label: string) => {
      const n = 640;
      const t = performance.now();
      await load(n, 32, (i) => post('/networks/hot/clients', { gatewayId: pick(i), name: `${label}-${i}` }));
      return n / ((performance.now() - t) / 1000);
    };
    await rate((i) => hotGateways[i % 32]!, 'warm');
    // Alternate the order, so neither side gets the emulator's warmer half.
    const one: number[] = [];
    const spread: number[] = [];
    for (let round = 0; round < 2; round++) {
      one.push(await rate(() => hotGateways[0]!, `one${round}`));
      spread.push(await rate((i) => hotGateways[i % 32]!, `spread${round}`));
    }
    const oneRate = one.reduce((a, b) => a + b) / one.length;
    const spreadRate = spread.reduce((a, b) => a + b) / spread.length;
    result['creates/s @32 concurrent (one gateway / 32 gateways)'] = `${oneRate.toFixed(0)} / ${spreadRate.toFixed(0)}`;
    result['creates/s ratio one gateway ÷ 32 gateways'] = Number((oneRate / spreadRate).toFixed(2));
    result['creates/s ratio goal'] = '>= 0.8';
    db.destroy();
    return result;
  } finally {
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchAllocation());
}
