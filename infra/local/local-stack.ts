// Everything `npm start` and the integration tests run: DynamoDB Local, a signature-checking S3
// server, the same Lambda handlers behind a local HTTP server, the gateway-sync worker fed by the
// table's stream and a schedule, and the local gateway runner. The handlers get their dependencies
// from the composition root with a configuration made here: nothing goes through process.env.
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Context } from 'aws-lambda';
import type { InitOptions } from '../../functions/domain/gateway-commands.js';
import type { Gateway } from '../../functions/domain/model.js';
import { createDeps, type Deps } from '../../functions/compose/index.js';
import { httpOptions } from '../../functions/http/http-handler.js';
import { loadConfig, type Config } from '../../functions/config.js';
import { createSyncHandler, type SweepEvent } from '../../functions/worker/sync-handler.js';
import { startApiServer } from './api-server.js';
import { consoleDist } from '../../console/scripts/build-console.js';
import { LocalGatewayRunner, type ObjectReader, type ObjectWriter, type RunnerMode } from './gateway-runner.js';
import { createS3Client, S3ObjectStore } from '../../functions/adapters/s3/object-store.js';
import { startStreamPoller } from './stream-poller.js';
import { DYNAMO_KEY_FILE, ensureTables, localDynamoCredentials, startDynamoDbLocal, type LocalDynamoCredentials } from './dynamodb.js';
import { freePort } from './net.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from './s3-server.js';

export interface LocalStackOptions {
  port?: number; // 0 = any free port
  host?: string;
  /**
   * Folder for DynamoDB and S3 data and DynamoDB Local's key (`dynamodb-access-key`);
   * undefined = in memory / temporary, with a fresh key.
   */
  dataDir?: string;
  adminToken?: string;
  /** How the gateway documents run: 'record' (default) or 'netns' (real WireGuard, needs root). */
  gatewayMode?: RunnerMode;
  /** Network namespace per instance id, for netns mode. */
  namespaces?: Record<string, string>;
  initOptions?: (gateway: Gateway) => InitOptions;
  /** false: no stream poller and no schedule (a test drives the worker itself). */
  worker?: boolean;
  scheduleMs?: number;
  /** The console build served at /console/ (default console/dist). */
  consoleDir?: string;
  /** How often the worker asks the gateways for a report (`npm start`: WG_INGRESS_STATUS_INTERVAL_SECONDS); default 10. */
  statusIntervalSeconds?: number;
  /** Client exports larger than this go to S3 (EXPORT_INLINE_MAX_BYTES); tests make it small. */
  exportInlineMaxBytes?: number;
}

export interface LocalStack {
  url: string;
  adminToken: string;
  dynamoEndpoint: string;
  /** DynamoDB Local's java process (benches read its CPU time). */
  dynamoPid: number | undefined;
  /** The key of this stack's database in DynamoDB Local; any other key sees another (empty) one. */
  dynamoCredentials: LocalDynamoCredentials;
  s3Endpoint: string;
  tableName: string;
  secretsTableName: string;
  idempotencyTableName: string;
  bucket: string;
  /** The configuration the handlers and the worker run with. */
  config: Config;
  runner: LocalGatewayRunner;
  /** Runs the sync worker as the schedule would, right now (serialised with the stream batches). */
  sweep(): Promise<void>;
  /** Runs one report run as the report schedule would, right now (serialised with the scheduled ones). */
  report(): Promise<void>;
  /** Stops (false) or restarts (true) the stream poller and the schedule. */
  setWorkerRunning(running: boolean): Promise<void>;
  stop(): Promise<void>;
}

export const LOCAL_TABLE = 'wg-ingress';
/** The local report interval by default (AWS: the report schedule's rate, one minute). */
export const DEFAULT_STATUS_INTERVAL_SECONDS = 10;
export const LOCAL_SECRETS_TABLE = 'wg-ingress-secrets';
export const LOCAL_IDEMPOTENCY_TABLE = 'wg-ingress-idempotency';

type Stops = (() => Promise<void>)[];

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: Stops = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const { dynamoEndpoint, dynamoCredentials, dynamoPid, s3 } = await startEmulators(opts, stops);
    const port = opts.port === undefined || opts.port === 0 ? await freePort() : opts.port;
    const host = opts.host ?? '127.0.0.1';
    const adminToken = opts.adminToken ?? randomBytes(32).toString('base64url');
    const config = localConfig({
      dynamoEndpoint,
      dynamoCredentials,
      s3Endpoint: s3.endpoint,
      bucket: s3.bucket,
      adminToken,
      publicBaseUrl: `http://${loopbackName(host)}:${port}`,
      ...(opts.exportInlineMaxBytes !== undefined ? { exportInlineMaxBytes: opts.exportInlineMaxBytes } : {}),
    });
    const instance = instanceObjects(config);
    const runner = startRunner(opts, stops, instance);
    const deps = createDeps(config, {
      commands: runner,
      reporter: runner,
      pollIntervalMs: 20,
      ...(opts.initOptions ? { initOptions: opts.initOptions } : {}),
    });
    const api = await startApiServer({
      port,
      host,
      deps,
      http: httpOptions(config, deps.idempotency),
      console: { dir: opts.consoleDir ?? consoleDist, objectsOrigin: new URL(s3.endpoint).origin },
    });
    stops.push(api.stop);
    const worker = localWorker(deps, { endpoint: dynamoEndpoint, credentials: dynamoCredentials }, {
      scheduleMs: opts.scheduleMs ?? 10_000,
      reportMs: (opts.statusIntervalSeconds ?? DEFAULT_STATUS_INTERVAL_SECONDS) * 1000,
    });
    if (opts.worker !== false) await worker.setRunning(true);
    stops.push(() => worker.setRunning(false));
    return {
      url: api.url,
      adminToken,
      dynamoEndpoint,
      dynamoPid,
      dynamoCredentials,
      s3Endpoint: s3.endpoint,
      tableName: LOCAL_TABLE,
      secretsTableName: LOCAL_SECRETS_TABLE,
      idempotencyTableName: LOCAL_IDEMPOTENCY_TABLE,
      bucket: s3.bucket,
      config,
      runner,
      sweep: worker.sweep,
      report: worker.report,
      setWorkerRunning: worker.setRunning,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

const loopbackName = (host: string) => (host === '0.0.0.0' ? '127.0.0.1' : host);

/**
 * DynamoDB Local with the project's tables in the database of the data folder's key, and the
 * signature-checking S3 server (loopback only).
 */
async function startEmulators(opts: LocalStackOptions, stops: Stops) {
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const credentials = localDynamoCredentials(opts.dataDir ? join(opts.dataDir, DYNAMO_KEY_FILE) : undefined);
  const dynamo = await startDynamoDbLocal({ dataDir: opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined, credentials });
  stops.push(dynamo.stop);
  await ensureTables(dynamo.endpoint, credentials, { table: LOCAL_TABLE, secretsTable: LOCAL_SECRETS_TABLE, idempotencyTable: LOCAL_IDEMPOTENCY_TABLE });
  const s3 = await startLocalS3Server({ directory: opts.dataDir ? join(opts.dataDir, 's3') : undefined });
  stops.push(s3.stop);
  return { dynamoEndpoint: dynamo.endpoint, dynamoCredentials: credentials, dynamoPid: dynamo.pid, s3 };
}

/** The configuration a deployed function reads from its environment, for the local services. */
export function localConfig(local: {
  dynamoEndpoint: string;
  dynamoCredentials: LocalDynamoCredentials;
  s3Endpoint: string;
  bucket: string;
  adminToken: string;
  publicBaseUrl: string;
  exportInlineMaxBytes?: number;
}): Config {
  return loadConfig({
    TABLE_NAME: LOCAL_TABLE,
    SECRETS_TABLE_NAME: LOCAL_SECRETS_TABLE,
    IDEMPOTENCY_TABLE_NAME: LOCAL_IDEMPOTENCY_TABLE,
    BUCKET_NAME: local.bucket,
    AWS_REGION: LOCAL_S3_REGION,
    AUTH_MODE: 'token',
    ADMIN_TOKEN: local.adminToken,
    DYNAMODB_ENDPOINT: local.dynamoEndpoint,
    S3_ENDPOINT: local.s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    // DynamoDB Local takes any key but keeps a database per key id: this stack's is its own key.
    DYNAMODB_ACCESS_KEY_ID: local.dynamoCredentials.accessKeyId,
    DYNAMODB_SECRET_ACCESS_KEY: local.dynamoCredentials.secretAccessKey,
    // The S3 server checks signatures against its one built-in pair.
    S3_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    PUBLIC_BASE_URL: local.publicBaseUrl,
    ...(local.exportInlineMaxBytes !== undefined ? { EXPORT_INLINE_MAX_BYTES: String(local.exportInlineMaxBytes) } : {}),
  });
}

/**
 * What the gateway's role is in AWS, for the runner's stand-ins of the apply document's download
 * step and of the agent writing a report's output: the local S3 server, signed with the stack's
 * own credentials, whatever bucket is named.
 */
function instanceObjects(config: Config): { objects: ObjectReader; outputs: ObjectWriter } {
  const client = createS3Client({
    region: config.AWS_REGION,
    endpoint: config.S3_ENDPOINT!,
    forcePathStyle: true,
    credentials: { accessKeyId: config.S3_ACCESS_KEY_ID!, secretAccessKey: config.S3_SECRET_ACCESS_KEY! },
  });
  return {
    objects: (bucket, key) => new S3ObjectStore(client, bucket).getObject(key),
    outputs: (bucket, key, body) => new S3ObjectStore(client, bucket).putObject(key, body, 'text/plain; charset=utf-8'),
  };
}

/** The stand-in for SSM Run Command, with its data folder (removed at stop when temporary). */
function startRunner(opts: LocalStackOptions, stops: Stops, instance: { objects: ObjectReader; outputs: ObjectWriter }): LocalGatewayRunner {
  const gatewayDir = opts.dataDir ? join(opts.dataDir, 'gateways') : mkdtempSync(join(tmpdir(), 'wg-ingress-gw-'));
  const runner = new LocalGatewayRunner({ dataDir: gatewayDir, mode: opts.gatewayMode ?? 'record', namespaces: opts.namespaces, ...instance });
  stops.push(async () => {
    await runner.close();
    if (!opts.dataDir) rmSync(gatewayDir, { recursive: true, force: true });
  });
  return runner;
}

/** What Lambda would hand the worker; the request id is what every log line of the run carries. */
const workerContext = (): Context =>
  ({
    functionName: 'wg-ingress-gateway-sync',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:wg-ingress-gateway-sync',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => 300_000,
    callbackWaitsForEmptyEventLoop: false,
  }) as unknown as Context;

/**
 * The worker as Lambda runs it: one invocation at a time (one stream shard plus a schedule that
 * waits its turn), fed by the table's stream and a timer; the report schedule is a rule of its own
 * in AWS, so its runs take their own turns here (a sync waiting for an apply never delays a report).
 */
function localWorker(deps: Deps, dynamo: { endpoint: string; credentials: LocalDynamoCredentials }, timing: { scheduleMs: number; reportMs: number }) {
  const handler = createSyncHandler(deps, { budgetMs: 60_000 });
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const sweepEvent: SweepEvent = { source: 'local.schedule' };
  const reportEvent: SweepEvent = { source: 'local.schedule', kind: 'report' };
  const invoke = (event: Parameters<typeof handler>[0]) => handler(event, workerContext());
  const sweep = () => serial(async () => void (await invoke(sweepEvent)));
  let reports: Promise<unknown> = Promise.resolve();
  let reportsQueued = 0;
  const report = () => {
    reportsQueued++;
    const next = reports.then(() => invoke(reportEvent)).finally(() => reportsQueued--);
    reports = next.catch(() => undefined);
    return next.then(() => undefined);
  };
  // A run still going when the timer fires again: skip this turn rather than queue runs up.
  const scheduledReport = () => (reportsQueued === 0 ? void report().catch(() => undefined) : undefined);
  let poller: Awaited<ReturnType<typeof startStreamPoller>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reportTimer: NodeJS.Timeout | undefined;
  const setRunning = async (running: boolean) => {
    if (running && !poller) {
      poller = await startStreamPoller({
        endpoint: dynamo.endpoint,
        credentials: dynamo.credentials,
        tableName: LOCAL_TABLE,
        onBatch: (event) => serial(() => invoke(event)),
      });
      timer = setInterval(() => void sweep().catch(() => undefined), timing.scheduleMs);
      reportTimer = setInterval(scheduledReport, timing.reportMs);
    } else if (!running && poller) {
      clearInterval(timer);
      clearInterval(reportTimer);
      await poller.stop();
      poller = undefined;
      await chain;
      await reports;
    }
  };
  return { sweep, report, setRunning };
}
