// Issue 11, item 5: a network with one gateway and 10,000 clients stays quick. Through the whole
// local stack (API, DynamoDB Local, the SigV4 S3 server, the worker):
//  - import: 10 requests of 1,000 clients each (names given; half bring their own key, half get a
//    generated one), one after another; goal ≤ 15 s in all. Also how many applies the gateway got
//    while the import ran, and the time until the last imported client is in effect; the CPU
//    this process (API, worker, runner) and DynamoDB Local's java used meanwhile; and, at the end,
//    the floor: the same items (client, lease, key claim, secret when generated, audit record)
//    written by bare TransactWriteItems calls, as many clients a call and as many calls at once as
//    the import, with no API, no checks and no picking. The floor runs last, on a warm DynamoDB
//    Local, in one stream of calls, and without the worker's applies of the growing peer set (each
//    reads every client of the gateway) that share DynamoDB Local with the import: so
//    import ÷ floor is our overhead plus that contention;
//  - list: every page of 100 (the whole network), p50 and p95; get one client: p50 of random ones;
//  - export: CSV and JSON, the API call plus the download of the signed URL (10,000 clients are
//    larger than one answer allows);
//  - apply (root + WireGuard tools: the namespace runner runs the real apply.sh): from the
//    10,000-peer network on, imports of 1,000 more clients (the ±1,000 transition of the issue 4
//    bench) and single clients toggled; the worker's applies through the document (runner start →
//    done) ÷ a bare `wg syncconf` of the same transition on a comparable wireguard-go interface in
//    the same namespace; goal ≤ 1.5× for the imports.
//   npx tsx test/bench/scale.ts   prints the numbers (BENCH_SCALE_CLIENTS, BENCH_SCALE_ROUNDS, BENCH_SCALE_IMPORT_ROUNDS)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoClientBatchWriter } from '../../functions/adapters/dynamo/client-batch.js';
import { createDocumentClient } from '../../functions/adapters/dynamo/table.js';
import { IMPORT_CONCURRENCY } from '../../functions/app/client-import.js';
import type { ClientDraft } from '../../functions/app/ports.js';
import { formatAddress, leaseKey } from '../../functions/domain/address-pool.js';
import { AUDITED_FIELDS, auditRecord, changesBetween } from '../../functions/domain/audit.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import type { Client } from '../../functions/domain/model.js';
import { startLocalStack, type LocalStack } from '../../infra/local/local-stack.js';
import { cpuSecondsOf, median, ms, quantile, sleep } from '../support/bench-stats.js';
import { addNamespaces, inNs, keyPair, netnsSkip, run, teardown } from '../support/netns.js';

export const IMPORT_GOAL_MS = 15_000;
export const APPLY_RATIO_GOAL = 1.5;
const CLIENTS = Number(process.env.BENCH_SCALE_CLIENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 6);
const IMPORT_ROUNDS = Number(process.env.BENCH_SCALE_IMPORT_ROUNDS ?? 3);
const PER_REQUEST = 1000;

const instanceId = () => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;

export async function benchScale(): Promise<Record<string, unknown>> {
  const skip = netnsSkip();
  const sfx = randomBytes(3).toString('hex');
  const ns = `wgb-scl-${sfx}`;
  const workDir = mkdtempSync(join(tmpdir(), 'wgb-scale-'));
  const interfaces: [string, string][] = [];
  const instance = instanceId();
  let stack: LocalStack | undefined;
  const cleanup = () => teardown({ interfaces, namespaces: skip ? [] : [ns], paths: [workDir] });
  try {
    if (!skip) addNamespaces([ns]);
    stack = await startLocalStack({
      port: 0,
      ...(skip
        ? {}
        : {
            gatewayMode: 'netns' as const,
            namespaces: { [instance]: ns },
            initOptions: () => ({ egressInterface: '', stateDir: join(workDir, 'gateway-state') }),
          }),
    });
    const s = stack;
    const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> => {
      const res = await fetch(`${s.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${s.adminToken}`, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`), { status: res.status });
      return res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text;
    };
    /** An import as a client should send one: with an Idempotency-Key, sent again after a lost connection. */
    const importClients = async (clients: Record<string, unknown>[]): Promise<any> => {
      const key = { 'idempotency-key': `scale-${randomBytes(8).toString('hex')}` };
      for (let attempt = 1; ; attempt++) {
        try {
          return await call('POST', `/networks/${net}/clients-import`, { gatewayId: gw.id, clients }, key);
        } catch (err) {
          const status = (err as { status?: number }).status;
          if (attempt >= 5 || (status !== undefined && status !== 409)) throw err;
          await sleep(1000); // a lost connection, or the first attempt still running (409 in flight)
        }
      }
    };
    const until = async (what: string, probe: () => Promise<boolean>, intervalMs: number, timeoutMs = 300_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await probe())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(intervalMs);
      }
    };

    const net = 'scale';
    await call('POST', '/networks', { name: net, addressRange: '10.128.0.0/16' });
    const gw = await call('POST', `/networks/${net}/gateways`, { instanceId: instance, endpoint: '198.18.128.1', listenPort: 54000 });
    interfaces.push([ns, gw.interfaceName]);
    const gatewayOf = () => call('GET', `/networks/${net}/gateways/${gw.id}`);
    await until('gateway ready', async () => {
      const g = await gatewayOf();
      if (g.status === 'error') throw new Error(`init failed: ${g.statusReason}`);
      return g.status === 'ready';
    }, 50);
    const settled = async () => {
      const g = await gatewayOf();
      return g.appliedGeneration >= g.desiredGeneration && g.lastSync?.outcome !== 'sent';
    };
    await until('gateway settled', settled, 50);

    // --- import -------------------------------------------------------------------------------------
    const names = Array.from({ length: CLIENTS }, (_, i) => `s-${String(i).padStart(5, '0')}`);
    const requests: Record<string, unknown>[][] = [];
    for (let i = 0; i < CLIENTS; i += PER_REQUEST) {
      requests.push(names.slice(i, i + PER_REQUEST).map((name, j) => (j % 2 === 0 ? { name, publicKey: generateKeyPair().publicKey } : { name })));
    }
    const appliesBefore = s.runner.list().filter((c) => c.kind === 'apply').length;
    const importMs: number[] = [];
    const dynamoCpu = () => (s.dynamoPid ? cpuSecondsOf(s.dynamoPid) : NaN);
    const cpu0 = { node: process.cpuUsage(), dynamo: dynamoCpu() };
    const t0 = performance.now();
    for (const clients of requests) {
      const t = performance.now();
      const answer = await importClients(clients);
      importMs.push(performance.now() - t);
      if (answer.created !== clients.length) throw new Error(`import created ${answer.created} of ${clients.length}: ${JSON.stringify(answer.results.find((r: any) => r.status === 'failed'))}`);
    }
    const importTotal = performance.now() - t0;
    const nodeCpu = process.cpuUsage(cpu0.node);
    const importCpu = `${((nodeCpu.user + nodeCpu.system) / 1e6).toFixed(1)} / ${(dynamoCpu() - cpu0.dynamo).toFixed(1)}`;
    await until('import in effect', settled, 50);
    const inEffectAfter = performance.now() - t0;
    const importApplies = s.runner.list().filter((c) => c.kind === 'apply').length - appliesBefore;

    // --- list and get --------------------------------------------------------------------------------
    const pageMs: number[] = [];
    let cursor: string | undefined;
    let listed = 0;
    do {
      const t = performance.now();
      const page = await call('GET', `/networks/${net}/clients?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      pageMs.push(performance.now() - t);
      listed += page.items.length;
      cursor = page.nextCursor;
    } while (cursor);
    if (listed !== CLIENTS) throw new Error(`listed ${listed} clients, not ${CLIENTS}`);
    const getMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await call('GET', `/networks/${net}/clients/${names[Math.floor(Math.random() * names.length)]}`);
      getMs.push(performance.now() - t);
    }

    // --- export --------------------------------------------------------------------------------------
    const exported: Record<string, { ms: number; bytes: number; via: string }> = {};
    for (const format of ['csv', 'json'] as const) {
      const t = performance.now();
      const answer = await call('GET', `/networks/${net}/clients-export?format=${format}`);
      let bytes: number;
      let via = 'inline';
      if (typeof answer === 'object' && 'url' in answer) {
        const file = await fetch(answer.url);
        bytes = Buffer.byteLength(await file.text());
        via = 'S3 signed URL';
      } else {
        bytes = Buffer.byteLength(typeof answer === 'string' ? answer : JSON.stringify(answer));
      }
      exported[format] = { ms: performance.now() - t, bytes, via };
    }

    const result: Record<string, unknown> = {
      clients: `${CLIENTS} in one network, one gateway`,
      'import requests': `${requests.length} × ${PER_REQUEST}`,
      'import total ms': ms(importTotal),
      'import per request ms (p50 / max)': `${ms(median(importMs))} / ${ms(Math.max(...importMs))}`,
      'import goal ms': IMPORT_GOAL_MS,
      'import ok': importTotal <= IMPORT_GOAL_MS,
      'import CPU s (this process / DynamoDB Local)': importCpu,
      'applies while importing (to all in effect)': importApplies,
      'import start → all in effect ms': ms(inEffectAfter),
      'list page of 100 p50 / p95 ms': `${ms(quantile(pageMs, 0.5))} / ${ms(quantile(pageMs, 0.95))} (${pageMs.length} pages)`,
      'get one client p50 / p95 ms': `${ms(quantile(getMs, 0.5))} / ${ms(quantile(getMs, 0.95))}`,
      'export csv ms (bytes, how)': `${ms(exported.csv!.ms)} (${exported.csv!.bytes}, ${exported.csv!.via})`,
      'export json ms (bytes, how)': `${ms(exported.json!.ms)} (${exported.json!.bytes}, ${exported.json!.via})`,
    };
    /** The import's floor on this DynamoDB Local (see the head of the file); run last, so it slows nothing above. */
    const withFloor = async (rows: Record<string, unknown>) => {
      const floor = await bareImportFloor(s, gw.id, CLIENTS);
      return { ...rows, 'same items by bare transactions ms (import ÷ bare)': `${ms(floor)} (${(importTotal / floor).toFixed(2)})` };
    };
    if (skip) return await withFloor({ ...result, 'apply vs bare': `skipped: ${skip}` });

    // --- apply of the 10,000-peer set vs bare wg syncconf ---------------------------------------------
    const bareIface = `wgbs${sfx}`;
    interfaces.push([ns, bareIface]);
    const bareKey = keyPair().privateKey;
    const bareConf = join(workDir, `${bareIface}.conf`);
    writeFileSync(bareConf, `[Interface]\nPrivateKey = ${bareKey}\nListenPort = 54001\nAddress = 10.128.0.2/16\nTable = off\n`, { mode: 0o600 });
    inNs(ns, 'wg-quick', 'up', bareConf);
    let fileNo = 0;
    /** The gateway's peers as they are now, loaded onto the bare interface; the time of that syncconf. */
    const bareFollows = (): number => {
      const shown = inNs(ns, 'wg', 'showconf', gw.interfaceName);
      const peers = shown.slice(shown.indexOf('[Peer]'));
      const file = join(workDir, `bare-${fileNo++}.conf`);
      writeFileSync(file, `[Interface]\nPrivateKey = ${bareKey}\nListenPort = 54001\n\n${peers}`, { mode: 0o600 });
      const t = performance.now();
      run('ip', ['netns', 'exec', ns, 'wg', 'syncconf', bareIface, file]);
      return performance.now() - t;
    };
    const peerCount = (iface: string) => inNs(ns, 'wg', 'show', iface, 'peers').split('\n').filter(Boolean).length;
    const firstBare = bareFollows(); // 10,000 new peers: a setconf, not timed against anything
    /** One change through the API until in effect: the worker's applies for it (runner start → done, summed) and the bare syncconf of the same transition. */
    const transition = async (change: () => Promise<void>): Promise<{ apply: number; bare: number; applies: number }> => {
      const since = Date.now();
      await change();
      await until('change in effect', settled, 50);
      const applies = s.runner.list().filter((c) => c.kind === 'apply' && c.sentAt >= since);
      if (applies.length === 0 || applies.some((c) => c.finishedAt === undefined || c.result.status !== 'success')) throw new Error('an apply did not succeed');
      const apply = applies.reduce((sum, c) => sum + (c.finishedAt! - c.startedAt!), 0);
      const bare = bareFollows();
      if (peerCount(bareIface) !== peerCount(gw.interfaceName)) throw new Error('the two interfaces differ');
      return { apply, bare, applies: applies.length };
    };
    // One client disabled, then enabled again: the peer set changes by one peer.
    const toggles: { apply: number; bare: number; applies: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const client = names[(Math.floor(r / 2) * 997) % names.length]!;
      toggles.push(await transition(() => call('PATCH', `/networks/${net}/clients/${client}`, { enabled: r % 2 === 1 })));
    }
    // 1,000 more clients by one import: the ±1,000 transition of the issue 4 bench, from 10,000 peers on.
    const imports: { apply: number; bare: number; applies: number }[] = [];
    for (let r = 0; r < IMPORT_ROUNDS; r++) {
      const clients = Array.from({ length: PER_REQUEST }, (_, j) => ({ name: `x${r}-${String(j).padStart(4, '0')}` }));
      imports.push(await transition(() => importClients(clients)));
    }
    const ratioOf = (xs: { apply: number; bare: number }[]) => median(xs.map((x) => x.apply)) / median(xs.map((x) => x.bare));
    const ratio = ratioOf(imports);
    const runs = (xs: { apply: number; bare: number; applies: number }[]) => xs.map((x) => `${ms(x.apply)}/${ms(x.bare)}${x.applies > 1 ? ` (${x.applies} applies)` : ''}`).join(', ');
    return await withFloor({
      ...result,
      'apply: +1,000 peers by one import, from 10,000 on: document / bare ms': runs(imports),
      'apply / bare ratio (+1,000 peers, median)': Math.round(ratio * 100) / 100,
      'apply / bare goal': APPLY_RATIO_GOAL,
      'apply ok': ratio <= APPLY_RATIO_GOAL,
      'apply: one client toggled in 10,000: document / bare ms': runs(toggles),
      'apply / bare ratio (one peer, median)': Math.round(ratioOf(toggles) * 100) / 100,
      'first load of the peers on the bare interface ms': ms(firstBare),
    });
  } finally {
    await stack?.stop();
    cleanup();
  }
}

/**
 * The import's items for `count` clients of another network (half with a generated key, so a
 * secret, as in the import above), written with bare TransactWriteItems calls: the import's
 * transaction size and the import's calls in flight. Keys and records are made before the clock starts.
 */
async function bareImportFloor(s: LocalStack, gatewayId: string, count: number): Promise<number> {
  const db = createDocumentClient({ region: 'us-east-1', endpoint: s.dynamoEndpoint, credentials: s.dynamoCredentials });
  const writer = new DynamoClientBatchWriter(db, s.tableName, s.secretsTableName, { tableName: s.tableName, retentionDays: s.config.AUDIT_RETENTION_DAYS });
  const network = 'scale-floor';
  const now = new Date();
  const context = { actor: { type: 'admin' as const, id: 'bench' }, requestId: 'bench' };
  const drafts: ClientDraft[] = Array.from({ length: count }, (_, i) => {
    const keys = generateKeyPair();
    const address = 0x0a800000n + BigInt(i + 2);
    const client: Client = {
      id: `f-${i}`,
      name: `f-${i}`,
      network,
      gatewayId,
      address: formatAddress(address, 4),
      publicKey: keys.publicKey,
      dns: [],
      enabled: true,
      hasPrivateKey: i % 2 === 1,
      hasPresharedKey: false,
      generation: 1,
      genShard: 0,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      version: 1,
    };
    return {
      client,
      leaseKeys: [leaseKey(address, 4)],
      secrets: i % 2 === 1 ? { privateKey: keys.privateKey } : {},
      audit: auditRecord(context, now, 'client.create', { type: 'client', network, id: client.name }, changesBetween(undefined, client, AUDITED_FIELDS.client)),
    };
  });
  const calls: ClientDraft[][] = [];
  for (let i = 0; i < drafts.length; i += writer.maxDrafts) calls.push(drafts.slice(i, i + writer.maxDrafts));
  let next = 0;
  let failed = false;
  const t = performance.now();
  try {
    await Promise.all(
      Array.from({ length: IMPORT_CONCURRENCY }, async () => {
        while (next < calls.length && !failed) {
          const conflicts = await writer.createMany(calls[next++]!).catch((err) => {
            failed = true;
            throw err;
          });
          if (conflicts.length) {
            failed = true;
            throw new Error(`the floor's own items conflict: ${JSON.stringify(conflicts[0])}`);
          }
        }
      }),
    );
    return performance.now() - t;
  } finally {
    db.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchScale());
  process.exit(0);
}
