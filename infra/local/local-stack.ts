// Everything `npm start` and the integration tests run: DynamoDB Local, a signature-checking S3
// server, and the same Lambda handlers behind a local HTTP server.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { SyncDeps } from '../../functions/app/gateway-sync.js';
import type { InitOptions } from '../../functions/domain/gateway-commands.js';
import type { Gateway } from '../../functions/domain/model.js';
import { startApiServer } from './api-server.js';
import { LocalGatewayRunner, type RunnerMode } from './gateway-runner.js';
import { startStreamPoller } from './stream-poller.js';
import { ensureTables, startDynamoDbLocal } from './dynamodb.js';
import { freePort } from './net.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from './s3-server.js';

export interface LocalStackOptions {
  port?: number; // 0 = any free port
  host?: string;
  /** Folder for DynamoDB and S3 data; undefined = in memory / temporary. */
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
}

export interface LocalStack {
  url: string;
  adminToken: string;
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableName: string;
  secretsTableName: string;
  bucket: string;
  runner: LocalGatewayRunner;
  /** Runs the sync worker as the schedule would, right now (serialised with the stream batches). */
  sweep(): Promise<void>;
  /** Stops (false) or restarts (true) the stream poller and the schedule. */
  setWorkerRunning(running: boolean): Promise<void>;
  stop(): Promise<void>;
}

export const LOCAL_TABLE = 'wg-ingress';
export const LOCAL_SECRETS_TABLE = 'wg-ingress-secrets';

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const dynamo = await startDynamoDbLocal({ dataDir: opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined });
    stops.push(dynamo.stop);
    await ensureTables(dynamo.endpoint, LOCAL_TABLE, LOCAL_SECRETS_TABLE);
    const s3 = await startLocalS3Server({ directory: opts.dataDir ? join(opts.dataDir, 's3') : undefined });
    stops.push(s3.stop);

    const port = opts.port === undefined || opts.port === 0 ? await freePort() : opts.port;
    const host = opts.host ?? '127.0.0.1';
    const adminToken = opts.adminToken ?? randomBytes(32).toString('base64url');
    // The handlers read their configuration from the environment once, as they do in Lambda.
    Object.assign(process.env, {
      TABLE_NAME: LOCAL_TABLE,
      SECRETS_TABLE_NAME: LOCAL_SECRETS_TABLE,
      BUCKET_NAME: s3.bucket,
      AWS_REGION: LOCAL_S3_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      AUTH_MODE: 'token',
      ADMIN_TOKEN: adminToken,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      PUBLIC_BASE_URL: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    });
    const api = await startApiServer(port, host);
    stops.push(api.stop);

    const gatewayDir = opts.dataDir ? join(opts.dataDir, 'gateways') : mkdtempSync(join(tmpdir(), 'wg-ingress-gw-'));
    const runner = new LocalGatewayRunner({ dataDir: gatewayDir, mode: opts.gatewayMode ?? 'record', namespaces: opts.namespaces });
    stops.push(async () => {
      await runner.close();
      if (!opts.dataDir) rmSync(gatewayDir, { recursive: true, force: true });
    });
    // Imported only now: the handlers read the environment set above when they load.
    const { createSyncHandler } = await import('../../functions/worker/sync-handler.js');
    const { stores, secretsReader, objectStore } = await import('../../functions/deps.js');
    const syncDeps = (): SyncDeps => ({
      ...stores(),
      secrets: secretsReader(),
      objects: objectStore(),
      commands: runner,
      pollIntervalMs: 20,
      initOptions: opts.initOptions,
    });
    const worker = createSyncHandler(syncDeps, { budgetMs: 60_000 });
    // One worker invocation at a time, like one stream shard plus a schedule that waits its turn.
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = chain.then(fn, fn);
      chain = next.catch(() => undefined);
      return next;
    };
    let poller: Awaited<ReturnType<typeof startStreamPoller>> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const setWorkerRunning = async (running: boolean) => {
      if (running && !poller) {
        poller = await startStreamPoller({
          endpoint: dynamo.endpoint,
          tableName: LOCAL_TABLE,
          onBatch: (event) => serial(() => worker(event)),
        });
        timer = setInterval(() => void serial(() => worker({ source: 'local.schedule' })).catch(() => undefined), opts.scheduleMs ?? 10_000);
      } else if (!running && poller) {
        clearInterval(timer);
        await poller.stop();
        poller = undefined;
        await chain;
      }
    };
    if (opts.worker !== false) await setWorkerRunning(true);
    stops.push(() => setWorkerRunning(false));
    return {
      url: api.url,
      adminToken,
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      tableName: LOCAL_TABLE,
      secretsTableName: LOCAL_SECRETS_TABLE,
      bucket: s3.bucket,
      runner,
      sweep: () => serial(async () => void (await worker({ source: 'local.schedule' }))),
      setWorkerRunning,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
