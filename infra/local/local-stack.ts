// Everything `npm start` and the integration tests run: DynamoDB Local, a signature-checking S3
// server, and the same Lambda handlers behind a local HTTP server.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startApiServer } from './api-server.js';
import { ensureTables, startDynamoDbLocal } from './dynamodb.js';
import { freePort } from './net.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION, startLocalS3Server } from './s3-server.js';

export interface LocalStackOptions {
  port?: number; // 0 = any free port
  host?: string;
  /** Folder for DynamoDB and S3 data; undefined = in memory / temporary. */
  dataDir?: string;
  adminToken?: string;
}

export interface LocalStack {
  url: string;
  adminToken: string;
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableName: string;
  secretsTableName: string;
  bucket: string;
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
    return {
      url: api.url,
      adminToken,
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      tableName: LOCAL_TABLE,
      secretsTableName: LOCAL_SECRETS_TABLE,
      bucket: s3.bucket,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
