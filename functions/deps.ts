// AWS clients and stores, created once per Lambda container from the validated configuration.
import { randomBytes } from 'node:crypto';
import { createDocumentClient } from './adapters/dynamo/table.js';
import { DynamoClientStore } from './adapters/dynamo/clients-repo.js';
import { DynamoGatewayStore } from './adapters/dynamo/gateways-repo.js';
import { DynamoNetworkStore } from './adapters/dynamo/networks-repo.js';
import { DynamoLeaseReader } from './adapters/dynamo/leases.js';
import { DynamoLinkStore } from './adapters/dynamo/links-repo.js';
import { DynamoSecretsReader } from './adapters/dynamo/secrets-store.js';
import { createS3Client, S3ObjectStore } from './adapters/s3/object-store.js';
import type { DownloadDeps } from './app/downloads.js';
import type { Clock } from './app/ports.js';
import { config } from './config.js';

export const systemClock: Clock = { now: () => new Date() };

let db: ReturnType<typeof createDocumentClient> | undefined;

export function documentClient() {
  const c = config();
  db ??= createDocumentClient({ region: c.AWS_REGION, endpoint: c.DYNAMODB_ENDPOINT });
  return db;
}

export function stores() {
  const c = config();
  const client = documentClient();
  return {
    networks: new DynamoNetworkStore(client, c.TABLE_NAME),
    gateways: new DynamoGatewayStore(client, c.TABLE_NAME),
    clients: new DynamoClientStore(client, c.TABLE_NAME, c.SECRETS_TABLE_NAME),
    clock: systemClock,
    random: Math.random,
  };
}

/** The gateways function's needs: lease reads, not the whole client store. */
export function gatewayStores() {
  const c = config();
  const client = documentClient();
  return {
    networks: new DynamoNetworkStore(client, c.TABLE_NAME),
    gateways: new DynamoGatewayStore(client, c.TABLE_NAME),
    clients: new DynamoLeaseReader(client, c.TABLE_NAME),
    clock: systemClock,
    random: Math.random,
  };
}

/** The networks function's needs: the other stores would only add to its bundle. */
export function networkStores() {
  return { networks: new DynamoNetworkStore(documentClient(), config().TABLE_NAME), clock: systemClock };
}

export function secretsReader() {
  return new DynamoSecretsReader(documentClient(), config().SECRETS_TABLE_NAME);
}

let s3: ReturnType<typeof createS3Client> | undefined;

export function objectStore() {
  const c = config();
  s3 ??= createS3Client({
    region: c.AWS_REGION,
    ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
    forcePathStyle: c.S3_FORCE_PATH_STYLE === 'true',
  });
  return new S3ObjectStore(s3, c.BUCKET_NAME);
}

/** Everything the config download, link and download-page use cases need. */
export function downloadDeps(): DownloadDeps {
  const c = config();
  return {
    ...stores(),
    secrets: secretsReader(),
    links: new DynamoLinkStore(documentClient(), c.TABLE_NAME),
    objects: objectStore(),
    randomBytes,
    publicBaseUrl: c.PUBLIC_BASE_URL,
  };
}
