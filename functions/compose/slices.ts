// The composition root's slices: each function's dependencies (networkDeps …) built from the
// validated configuration. An entry imports only its slice, so its bundle holds only those
// adapters; index.ts builds them all at once for local mode and the tests.
import { randomBytes } from 'node:crypto';
import { DynamoAuditLog, type AuditTable } from '../adapters/dynamo/audit-log.js';
import { DynamoClientBatchWriter } from '../adapters/dynamo/client-batch.js';
import { DynamoClientStore } from '../adapters/dynamo/clients-repo.js';
import { DynamoGatewayStore } from '../adapters/dynamo/gateways-repo.js';
import { DynamoLeaseReader } from '../adapters/dynamo/leases.js';
import { DynamoLinkStore } from '../adapters/dynamo/links-repo.js';
import { DynamoNetworkStore } from '../adapters/dynamo/networks-repo.js';
import { DynamoSecretsReader } from '../adapters/dynamo/secrets-store.js';
import { createDocumentClient, type DocumentClientOptions } from '../adapters/dynamo/table.js';
import { createS3Client, S3ObjectStore } from '../adapters/s3/object-store.js';
import { S3StatusSnapshots } from '../adapters/s3/status-snapshots.js';
import { createSsmClient, SsmGatewayCommands } from '../adapters/ssm/gateway-commands.js';
import type { AuditDeps } from '../app/audit.js';
import type { ExportDeps } from '../app/client-export.js';
import type { ImportDeps } from '../app/client-import.js';
import type { ClientDeps } from '../app/clients.js';
import type { DownloadDeps } from '../app/downloads.js';
import type { SyncDeps } from '../app/gateway-sync.js';
import type { GatewayDeps } from '../app/gateways.js';
import type { ReportDeps } from '../app/gateway-reports.js';
import { StatusReader } from '../app/status-view.js';
import { NetworkCache } from '../app/network-cache.js';
import type { NetworkDeps } from '../app/networks.js';
import type { Clock, NetworkReader } from '../app/ports.js';
import type { Config } from '../config.js';
import { tracer } from '../observability.js';

export const systemClock: Clock = { now: () => new Date() };

// Clients are made once per process and configuration (module scope of a Lambda container).
const documentClients = new WeakMap<Config, ReturnType<typeof createDocumentClient>>();

export function dynamoOptions(config: Config): DocumentClientOptions {
  return {
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
    ...endpointCredentials(config.DYNAMODB_ACCESS_KEY_ID, config.DYNAMODB_SECRET_ACCESS_KEY),
    instrument: (client) => tracer.captureAWSv3Client(client),
  };
}

/** A local endpoint's own key (config.ts allows one only with its endpoint); in AWS, none. */
function endpointCredentials(accessKeyId?: string, secretAccessKey?: string): { credentials?: { accessKeyId: string; secretAccessKey: string } } {
  return accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {};
}

function documentClient(config: Config) {
  let db = documentClients.get(config);
  if (!db) {
    db = createDocumentClient(dynamoOptions(config));
    documentClients.set(config, db);
  }
  return db;
}

const basics = () => ({ clock: systemClock, random: Math.random, randomBytes });

/** Where every store writes the audit record of its change. */
function auditTable(config: Config): AuditTable {
  return { tableName: config.TABLE_NAME, retentionDays: config.AUDIT_RETENTION_DAYS };
}

export function networkDeps(config: Config) {
  return { networks: new DynamoNetworkStore(documentClient(config), config.TABLE_NAME, auditTable(config)), ...basics() } satisfies NetworkDeps;
}

/** Gateway creation reads leases, never the whole client store (the gateways bundle stays small). */
export function gatewayDeps(config: Config) {
  const db = documentClient(config);
  return {
    ...networkDeps(config),
    gateways: new DynamoGatewayStore(db, config.TABLE_NAME, auditTable(config)),
    leases: new DynamoLeaseReader(db, config.TABLE_NAME),
    status: statusReader(config),
  } satisfies GatewayDeps;
}

/** The gateways' report snapshots as answers read them (a cache per container, status-view.ts). */
function statusReader(config: Config): StatusReader {
  return new StatusReader(new S3StatusSnapshots(s3Client(config), config.BUCKET_NAME), systemClock);
}

export function clientDeps(config: Config) {
  const db = documentClient(config);
  const networks = new DynamoNetworkStore(db, config.TABLE_NAME, auditTable(config));
  return {
    networks,
    // Creates need only the network's ranges, which never change; reads and lists use the store.
    cachedNetworks: new NetworkCache(networks, systemClock),
    gateways: new DynamoGatewayStore(db, config.TABLE_NAME, auditTable(config)),
    clients: new DynamoClientStore(db, config.TABLE_NAME, config.SECRETS_TABLE_NAME, auditTable(config)),
    status: statusReader(config),
    // Imports write several clients a transaction; large exports go to S3 (exports/).
    batches: new DynamoClientBatchWriter(db, config.TABLE_NAME, config.SECRETS_TABLE_NAME, auditTable(config)),
    objects: objectStore(config),
    exportInlineMaxBytes: config.EXPORT_INLINE_MAX_BYTES,
    ...basics(),
  } satisfies ClientDeps & ImportDeps & ExportDeps & { cachedNetworks: NetworkReader };
}

const s3Clients = new WeakMap<Config, ReturnType<typeof createS3Client>>();

function s3Client(config: Config) {
  let s3 = s3Clients.get(config);
  if (!s3) {
    s3 = createS3Client({
      region: config.AWS_REGION,
      ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
      forcePathStyle: config.S3_FORCE_PATH_STYLE === 'true',
      ...endpointCredentials(config.S3_ACCESS_KEY_ID, config.S3_SECRET_ACCESS_KEY),
      instrument: (client) => tracer.captureAWSv3Client(client),
    });
    s3Clients.set(config, s3);
  }
  return s3;
}

function objectStore(config: Config): S3ObjectStore {
  return new S3ObjectStore(s3Client(config), config.BUCKET_NAME, config.OBJECTS_KMS_KEY_ID ? { kmsKeyId: config.OBJECTS_KMS_KEY_ID } : {});
}

export function downloadDeps(config: Config) {
  const db = documentClient(config);
  return {
    ...clientDeps(config),
    secrets: new DynamoSecretsReader(db, config.SECRETS_TABLE_NAME),
    links: new DynamoLinkStore(db, config.TABLE_NAME, auditTable(config)),
    publicBaseUrl: config.PUBLIC_BASE_URL,
  } satisfies DownloadDeps;
}

/** The audit log's reader: GET /audit reads the main table and writes nothing. */
export function auditDeps(config: Config) {
  return { audit: new DynamoAuditLog(documentClient(config), config.TABLE_NAME) } satisfies AuditDeps;
}

export function syncDeps(config: Config) {
  const ssm = createSsmClient({ region: config.AWS_REGION, instrument: (client) => tracer.captureAWSv3Client(client) });
  const commands = new SsmGatewayCommands(ssm, {
    initDocumentName: config.INIT_DOCUMENT_NAME,
    applyDocumentName: config.APPLY_DOCUMENT_NAME,
    teardownDocumentName: config.TEARDOWN_DOCUMENT_NAME,
    reportDocumentName: config.REPORT_DOCUMENT_NAME,
  });
  return {
    ...downloadDeps(config),
    commands,
    // The report schedule: SSM's report document and agent states, one snapshot per gateway.
    reporter: commands,
    snapshots: new S3StatusSnapshots(s3Client(config), config.BUCKET_NAME),
    pollIntervalMs: 1000,
  } satisfies SyncDeps & ReportDeps;
}
