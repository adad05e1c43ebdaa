// Issue 10's numbers, for a gateway with 10,000 peers:
//  - the AWS calls of one report run, and what they cost a month at list prices with a report every
//    60 s (goal: ≤ $1 per gateway and month);
//  - parse + merge time of a 10,000-peer report (goal: p50 ≤ 200 ms);
//  - what status adds to a 100-client list page (goal: ≤ +20 % over the same page without it).
// The run goes through the real code against the local emulators (DynamoDB Local, the SigV4 S3
// server): the report script runs for real with bash over a generated 10,000-peer `wg show dump`
// (through stand-ins for `wg` and `ip`, as test/unit/domain/gateway-report.test.ts does), and its
// stdout is put where the SSM agent writes it; the report runs, the snapshot store and the API
// handlers are the ones Lambda runs.
//   npx tsx test/bench/status.ts
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoGatewayStore } from '../../functions/adapters/dynamo/gateways-repo.js';
import { createDocumentClient } from '../../functions/adapters/dynamo/table.js';
import { createS3Client, S3ObjectStore } from '../../functions/adapters/s3/object-store.js';
import { runReports, type ReportDeps, type ReportRun } from '../../functions/app/gateway-reports.js';
import type { GatewayReporter } from '../../functions/app/ports.js';
import { createDeps } from '../../functions/compose/index.js';
import { parseReportOutput, SnapshotView, type StatusSnapshot } from '../../functions/domain/gateway-report.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { REPORT_STEP_NAME, reportStdoutKey } from '../../functions/domain/object-keys.js';
import { httpOptions } from '../../functions/http/http-handler.js';
import { startApiServer } from '../../infra/local/api-server.js';
import { startLocalStack, type LocalStack } from '../../infra/local/local-stack.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION } from '../../infra/local/s3-server.js';
import { renderScript } from '../../infra/ssm/documents.js';
import { median } from '../support/bench-stats.js';

const PEERS = Number(process.env.BENCH_STATUS_PEERS ?? 10_000);
const PAGE = 100;
const PARSE_RUNS = Number(process.env.BENCH_STATUS_PARSE_RUNS ?? 15);
const PAGE_RUNS = Number(process.env.BENCH_STATUS_PAGE_RUNS ?? 150);
const CYCLES = 5;
export const GOALS = { monthlyUsdPerGateway: 1, parseMergeP50Ms: 200, listOverheadPct: 20 };

// List prices (us-east-1), as the pages below state them.
const PRICES = {
  s3PutPer1k: 0.005, // https://aws.amazon.com/s3/pricing/ (S3 Standard, PUT, COPY, POST, LIST per 1,000)
  s3GetPer1k: 0.0004, // https://aws.amazon.com/s3/pricing/ (GET, SELECT and all other requests per 1,000; DELETE is free)
  dynamoReadPerMillionRru: 0.25, // https://aws.amazon.com/dynamodb/pricing/on-demand/
  lambdaPerMillionRequests: 0.2, // https://aws.amazon.com/lambda/pricing/
  lambdaArmPerGbSecond: 0.0000133334, // https://aws.amazon.com/lambda/pricing/ (Arm)
  logIngestionPerGb: 0.5, // https://aws.amazon.com/cloudwatch/pricing/ (Logs, collect)
  kmsPer10k: 0.03, // https://aws.amazon.com/kms/pricing/
  customMetricMonth: 0.3, // https://aws.amazon.com/cloudwatch/pricing/ (first 10,000 metrics)
};
const CYCLES_PER_MONTH = 30 * 24 * 60; // a report every 60 s
const WORKER_MEMORY_GB = 256 / 1024; // the worker's memory (infra/lib/house-function.ts default)
// Lambda's own lines per invocation (START, END, REPORT) and the worker's 'gateway reports' line.
const PLATFORM_LOG_BYTES = 350;

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const usd = (x: number) => round(x, 4);

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/** A `wg show dump` of `count` peers: `known` keys first (the API's clients), the rest made up; half of them connected. */
function wgDump(count: number, known: string[]): string {
  const now = Math.floor(Date.now() / 1000);
  const lines = [`${generateKeyPair().privateKey}\t${generateKeyPair().publicKey}\t51820\toff`];
  for (let i = 0; i < count; i++) {
    const key = known[i] ?? randomBytes(32).toString('base64');
    const connected = i % 2 === 0;
    const endpoint = connected ? `198.51.${(i >> 8) & 255}.${i & 255}:${40000 + (i % 20000)}` : '(none)';
    const psk = i % 3 === 0 ? randomBytes(32).toString('base64') : '(none)';
    const address = `10.80.${(i >> 8) & 255}.${i & 255}/32`;
    lines.push(`${key}\t${psk}\t${endpoint}\t${address}\t${connected ? now - (i % 170) : 0}\t${connected ? 1_000_000 + i : 0}\t${connected ? 2_000_000 + i : 0}\toff`);
  }
  return lines.join('\n') + '\n';
}

/** The real report script over that dump, for one interface in a state folder. */
function reportScriptOutput(iface: string, dump: string): { stdout: string; ms: number } {
  const dir = mkdtempSync(join(tmpdir(), 'wgi-bench-report-'));
  try {
    const stateDir = join(dir, 'state');
    const bin = join(dir, 'bin');
    mkdirSync(stateDir);
    mkdirSync(bin);
    writeFileSync(join(stateDir, `${iface}.interface`), '[Interface]\n');
    writeFileSync(join(dir, 'dump'), dump);
    writeFileSync(join(bin, 'wg'), `#!/bin/bash\nexec cat "${dir}/dump"\n`);
    writeFileSync(join(bin, 'ip'), `#!/bin/bash\necho "3: ${iface}: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 state UNKNOWN"\n`);
    chmodSync(join(bin, 'wg'), 0o755);
    chmodSync(join(bin, 'ip'), 0o755);
    writeFileSync(join(dir, 'report.sh'), renderScript('report', { stateDir }));
    const t = performance.now();
    const r = spawnSync('bash', [join(dir, 'report.sh')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { PATH: `${bin}:/usr/bin:/bin` } });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`report.sh failed: ${r.stderr}`);
    return { stdout: r.stdout, ms };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SSM's side of a report run: the command id handed out, and the agent state (online). */
class BenchReporter implements GatewayReporter {
  sent: { commandId: string; instanceIds: string[]; keyPrefix: string }[] = [];
  async sendReport(instanceIds: string[], _params: unknown, output: { bucket: string; keyPrefix: string }) {
    const commandId = `bench-${this.sent.length + 1}`;
    this.sent.push({ commandId, instanceIds, keyPrefix: output.keyPrefix });
    return { commandId };
  }
  async agentStates(instanceIds: string[]) {
    return new Map(instanceIds.map((id) => [id, 'online' as const]));
  }
}

async function call(stack: LocalStack, base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Bytes of the EMF documents one report run writes for one gateway (what log ingestion bills). */
function emfBytesPerRun(): number {
  const doc = (build: (m: Metrics) => void) => {
    const m = new Metrics({ namespace: 'WgIngress', serviceName: 'wg-ingress' });
    build(m);
    return JSON.stringify(m.serializeMetrics()).length + 1;
  };
  const perGateway = doc((m) => {
    m.addDimension('gateway', 'office/gw-0123456789');
    m.addMetadata('request_id', '00000000-0000-0000-0000-000000000000');
    for (const name of ['PeersConfigured', 'ClientsOnline', 'ReportAgeSeconds', 'SyncLagSeconds']) m.addMetric(name, MetricUnit.Count, 10_000);
  });
  const fleet = doc((m) => {
    m.addMetadata('request_id', '00000000-0000-0000-0000-000000000000');
    for (const name of ['ReportAgeSeconds', 'SyncLagSeconds', 'StaleGateways', 'GatewaysOutOfSync', 'ClientsOnline', 'PeersConfigured', 'CommandsSent']) m.addMetric(name, MetricUnit.Count, 1);
  });
  return perGateway + fleet;
}

export async function benchStatus(): Promise<Record<string, unknown>> {
  const stack = await startLocalStack({ port: 0, worker: false });
  let plain: Awaited<ReturnType<typeof startApiServer>> | undefined;
  try {
    const api = (method: string, path: string, body?: unknown) => call(stack, stack.url, method, path, body);
    await api('POST', '/networks', { name: 'bench', addressRange: '10.80.0.0/16' });
    const gw = await api('POST', '/networks/bench/gateways', { instanceId: 'i-0a0a0a0a0a0a0a0a0', endpoint: 'vpn.bench.example' });
    const db = createDocumentClient({ region: 'us-east-1', endpoint: stack.dynamoEndpoint, credentials: stack.dynamoCredentials });
    await new DynamoGatewayStore(db, stack.tableName, { tableName: stack.tableName, retentionDays: 400 }).recordInit('bench', gw.id, { status: 'ready', publicKey: generateKeyPair().publicKey, at: new Date().toISOString() });
    db.destroy();
    const known: string[] = [];
    for (let i = 0; i < PAGE; i++) known.push((await api('POST', '/networks/bench/clients', { gatewayId: gw.id, name: `c${String(i).padStart(3, '0')}` })).publicKey);

    // The gateway's report: the real script over a 10,000-peer dump.
    const dump = wgDump(PEERS, known);
    const script = reportScriptOutput(gw.interfaceName, dump);
    const outputBytes = Buffer.byteLength(script.stdout);

    // Report runs as the schedule makes them, the agent's write between two runs.
    const reporter = new BenchReporter();
    const deps: ReportDeps = { ...createDeps(stack.config, { reporter }), reporter };
    const agent = new S3ObjectStore(createS3Client({ region: LOCAL_S3_REGION, endpoint: stack.s3Endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS }), stack.bucket);
    await runReports(deps); // the first run only asks
    const runs: { ms: number; value: ReportRun }[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const last = reporter.sent.at(-1)!;
      await agent.putObject(reportStdoutKey(last.keyPrefix, last.commandId, gw.instanceId, REPORT_STEP_NAME), script.stdout, 'text/plain');
      runs.push(await timed(() => runReports(deps)));
    }
    const run = runs.at(-1)!.value;
    if (run.gateways[0]?.peers !== PEERS) throw new Error(`the snapshot has ${run.gateways[0]?.peers} peers, not ${PEERS}`);
    const cycleMs = median(runs.map((r) => r.ms));
    const snapshotBytes = (await agent.getObject(`status/bench/${gw.id}.json`))!.length;

    // Parse + merge: the worker reads the output into a snapshot; an answer reads the snapshot
    // and merges every one of the 10,000 peers' status and the gateway's health.
    const parseMerge: number[] = [];
    for (let i = 0; i < PARSE_RUNS + 2; i++) {
      const { ms } = await timed(() => {
        const report = parseReportOutput(script.stdout);
        const peers = report.interfaces.get(gw.interfaceName)!.peers;
        const text = JSON.stringify({ version: 1, report: { at: new Date(report.at * 1000).toISOString(), interfaceUp: true, peers } });
        const view = new SnapshotView(JSON.parse(text) as StatusSnapshot);
        const now = new Date();
        let online = 0;
        for (const p of peers) if (view.clientStatus(p[0], now)?.online) online++;
        return online + (view.health(now).peersOnline ?? 0);
      });
      if (i >= 2) parseMerge.push(ms); // two warm-up rounds (JIT)
    }

    // A 100-client list page with status (the stack's own API) and the same page without it (a
    // second API server on the same stores, without the snapshot reader).
    const bare = createDeps(stack.config, { commands: stack.runner, reporter: stack.runner, status: undefined });
    plain = await startApiServer({ port: 0, deps: bare, http: httpOptions(stack.config, bare.idempotency) });
    const pagePath = `/networks/bench/clients?gatewayId=${gw.id}&limit=${PAGE}`;
    const withStatus = (await api('GET', pagePath)).items;
    if (withStatus.length !== PAGE || withStatus.filter((c: any) => c.status?.online).length !== PAGE / 2) throw new Error('the page does not carry the reported status');
    const withMs: number[] = [];
    const withoutMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      await api('GET', pagePath);
      await call(stack, plain.url, 'GET', pagePath);
    }
    for (let i = 0; i < PAGE_RUNS; i++) {
      // Alternating, so drift on a shared machine hits both alike.
      withMs.push((await timed(() => api('GET', pagePath))).ms);
      withoutMs.push((await timed(() => call(stack, plain!.url, 'GET', pagePath))).ms);
    }
    // After a new report: the first page that reads and parses the new snapshot.
    const fresh: number[] = [];
    for (let i = 0; i < 5; i++) {
      const last = reporter.sent.at(-1)!;
      await agent.putObject(reportStdoutKey(last.keyPrefix, last.commandId, gw.instanceId, REPORT_STEP_NAME), script.stdout, 'text/plain');
      await runReports(deps);
      await new Promise((r) => setTimeout(r, 5_100)); // past the reader's cache
      fresh.push((await timed(() => api('GET', pagePath))).ms);
    }

    // What one report run costs, every call counted and priced; for one gateway all of the run's
    // shared calls (the gateway query, the invocation) are its own: the worst case.
    const c = run.calls;
    const perCycle = {
      s3Puts: 1 /* the agent's stdout */ + c.snapshotWrites,
      s3Gets: c.snapshotReads + c.outputReads,
      s3Deletes: c.outputDeletes,
      dynamoQueries: c.gatewayPages,
      ssmCalls: c.reportCommands + c.agentLookups,
      lambdaInvocations: 1,
    };
    const month = (n: number) => n * CYCLES_PER_MONTH;
    const logBytes = emfBytesPerRun() + PLATFORM_LOG_BYTES;
    const cost = {
      s3: (month(perCycle.s3Puts) / 1000) * PRICES.s3PutPer1k + (month(perCycle.s3Gets) / 1000) * PRICES.s3GetPer1k,
      // A gateway page item is well under 4 KB: 0.5 RRU per eventually consistent query.
      dynamo: (month(perCycle.dynamoQueries * 0.5) / 1e6) * PRICES.dynamoReadPerMillionRru,
      lambda: (month(1) / 1e6) * PRICES.lambdaPerMillionRequests + month(cycleMs / 1000) * WORKER_MEMORY_GB * PRICES.lambdaArmPerGbSecond,
      logs: (month(logBytes) / 1e9) * PRICES.logIngestionPerGb,
      // The bucket's S3 Bucket Key: S3 asks KMS for a bucket-level key now and then instead of once
      // per object (AWS: up to 99 % fewer requests); counted as 1 % of one request per object.
      kms: (month((perCycle.s3Puts + perCycle.s3Gets) * 0.01) / 1e4) * PRICES.kmsPer10k,
      ssm: 0, // Run Command and DescribeInstanceInformation: no charge
    };
    const monthly = Object.values(cost).reduce((a, b) => a + b, 0);
    const with50 = median(withMs);
    const without50 = median(withoutMs);
    const overheadPct = ((with50 - without50) / without50) * 100;
    const p50 = median(parseMerge);
    return {
      bench: 'status',
      peers: PEERS,
      reportScriptMs: round(script.ms),
      reportOutputBytes: outputBytes,
      snapshotBytes,
      reportRunMedianMs: round(cycleMs),
      callsPerRun: JSON.stringify(perCycle),
      usdS3: usd(cost.s3),
      usdDynamo: usd(cost.dynamo),
      usdLambda: usd(cost.lambda),
      usdLogs: usd(cost.logs),
      usdKms: usd(cost.kms),
      monthlyUsdPerGateway: usd(monthly),
      monthlyGoalUsd: GOALS.monthlyUsdPerGateway,
      monthlyOk: monthly <= GOALS.monthlyUsdPerGateway,
      // Not a request cost: the four per-gateway EMF metrics are custom metrics (stored per month).
      customMetricsUsdPerGateway: round(4 * PRICES.customMetricMonth),
      parseMergeP50Ms: round(p50),
      parseMergeGoalMs: GOALS.parseMergeP50Ms,
      parseMergeOk: p50 <= GOALS.parseMergeP50Ms,
      listWithStatusMs: round(with50),
      listWithoutStatusMs: round(without50),
      listOverheadPct: round(overheadPct, 1),
      listOverheadGoalPct: GOALS.listOverheadPct,
      listOverheadOk: overheadPct <= GOALS.listOverheadPct,
      listFirstAfterNewReportMedianMs: round(median(fresh)),
    };
  } finally {
    await plain?.stop();
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const row = await benchStatus();
  console.table(Object.entries(row).map(([metric, value]) => ({ metric, value })));
  if (row.monthlyOk === false || row.parseMergeOk === false || row.listOverheadOk === false) process.exitCode = 1;
}
