// Issue 9 item 9, "local mode leaks": what another host on the network gets from `npm start`.
// DynamoDB Local listens on every interface and checks no signature; what keeps the stack's
// tables from anybody who reaches the port is that they live in the database of a random access
// key id kept with the data. The S3 server and the API server listen on loopback only.
// Requests go to a non-loopback address of this machine (as a host on the LAN would send them),
// with made-up credentials; over loopback with the stack's key the data is there, so the test
// fails if the key stopped separating the data.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListTablesCommand, ScanCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DYNAMO_KEY_FILE, LOCAL_DYNAMO_REGION, localClient, startDynamoDbLocal, type LocalDynamoCredentials } from '../../infra/local/dynamodb.js';
import { startLocalStack, type LocalStack } from '../../infra/local/local-stack.js';

/** Addresses of this machine other than loopback (IPv6 link-local needs a scope: left out). */
const outside = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a !== undefined && !a.internal && !(a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80')))
  .map((a) => a!.address);
const outsideV4 = outside.filter((a) => !a.includes(':'));
const skip = outsideV4.length === 0 ? 'this machine has no non-loopback IPv4 address to send requests to' : false;

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
const portOf = (url: string) => Number(new URL(url).port);

/** What a connection to ip:port meets: 'open', or the error code (ECONNREFUSED when nothing listens there). */
function tcpConnect(ip: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const madeUpKeys = (): LocalDynamoCredentials[] => [
  // What this project sent before, what the SDK docs suggest for DynamoDB Local, and a random one.
  { accessKeyId: 'local', secretAccessKey: 'local' },
  { accessKeyId: 'fakeMyKeyId', secretAccessKey: 'fakeSecretAccessKey' },
  { accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(20).toString('base64') },
];

async function api(stack: LocalStack, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function scan(client: DynamoDBClient, table: string) {
  return ((await client.send(new ScanCommand({ TableName: table }))).Items ?? []).map((i) => unmarshall(i));
}

describe('local mode: what another host on the network gets', { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wg-ingress-exposure-'));
  const adminToken = randomBytes(32).toString('base64url');
  let stack: LocalStack;
  let privateKey = '';

  before(async () => {
    stack = await startLocalStack({ port: 0, dataDir, adminToken, worker: false });
    assert.equal((await api(stack, 'POST', '/networks', { name: 'office', addressRange: '10.100.0.0/24' })).status, 201);
    const gw = await api(stack, 'POST', '/networks/office/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: 'vpn.example.com', routedRanges: ['192.168.10.0/24'] });
    assert.equal(gw.status, 202);
    assert.equal((await api(stack, 'POST', '/networks/office/clients', { gatewayId: gw.json.id, name: 'alice-laptop' })).status, 201);
  });
  after(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('over loopback with the stack key, the tables hold the data (a private key among it)', async () => {
    const db = localClient(stack.dynamoEndpoint, stack.dynamoCredentials);
    try {
      const tables = (await db.send(new ListTablesCommand({}))).TableNames ?? [];
      assert.deepEqual([...tables].sort(), [stack.tableName, stack.idempotencyTableName, stack.secretsTableName].sort());
      assert.ok((await scan(db, stack.tableName)).some((i) => i.pk === 'NET#office'), 'the network is in the main table');
      const secrets = await scan(db, stack.secretsTableName);
      privateKey = secrets.find((i) => i.sk === 'CLIENT#alice-laptop')?.privateKey;
      assert.match(privateKey, /^[A-Za-z0-9+/]{43}=$/, 'the client private key is in the secrets table');
    } finally {
      db.destroy();
    }
  });

  it('DynamoDB Local, reached at a non-loopback address with made-up keys, shows no table and no data', async () => {
    const port = portOf(stack.dynamoEndpoint);
    for (const ip of outside) {
      assert.equal(await tcpConnect(ip, port), 'open', `DynamoDB Local listens on ${ip} (it has no bind option): the key is what protects the data`);
      for (const key of madeUpKeys()) {
        const db = new DynamoDBClient({ endpoint: `http://${hostPort(ip, port)}`, region: LOCAL_DYNAMO_REGION, credentials: key, maxAttempts: 1 });
        try {
          assert.deepEqual((await db.send(new ListTablesCommand({}))).TableNames, [], `${ip} with key ${key.accessKeyId} lists no table`);
          for (const table of [stack.tableName, stack.secretsTableName]) {
            await assert.rejects(db.send(new ScanCommand({ TableName: table })), { name: 'ResourceNotFoundException' }, `${ip}: ${table} with ${key.accessKeyId}`);
          }
        } finally {
          db.destroy();
        }
      }
    }
  });

  it('the S3 server and the API server do not answer at a non-loopback address', async () => {
    for (const ip of outside) {
      assert.equal(await tcpConnect(ip, portOf(stack.s3Endpoint)), 'ECONNREFUSED', `S3 server at ${ip}`);
      assert.equal(await tcpConnect(ip, portOf(stack.url)), 'ECONNREFUSED', `API server at ${ip}`);
    }
    // Over loopback they do answer: the refusals above are about the address, not a dead server.
    assert.equal(await tcpConnect('127.0.0.1', portOf(stack.s3Endpoint)), 'open');
    assert.equal((await fetch(`${stack.url}/health`)).status, 200);
  });

  it('the S3 server refuses unsigned requests and SigV4 signed with a made-up key', async () => {
    const unsigned = await fetch(`${stack.s3Endpoint}/${stack.bucket}?list-type=2`);
    assert.equal(unsigned.status, 403);
    for (const key of madeUpKeys()) {
      const s3 = new S3Client({ endpoint: stack.s3Endpoint, region: LOCAL_DYNAMO_REGION, forcePathStyle: true, credentials: key, maxAttempts: 1 });
      try {
        await assert.rejects(s3.send(new ListObjectsV2Command({ Bucket: stack.bucket })), (err: any) => {
          assert.equal(err.$metadata?.httpStatusCode, 403, `${key.accessKeyId}: ${err.name}`);
          assert.equal(err.name, 'InvalidAccessKeyId');
          return true;
        });
        await assert.rejects(s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: 'downloads/office/alice-laptop/config.conf' })), { name: 'InvalidAccessKeyId' });
      } finally {
        s3.destroy();
      }
    }
  });

  it('keeps the key with the data (0600, folder 0700) and finds the data again after a restart', async () => {
    const keyFile = join(dataDir, DYNAMO_KEY_FILE);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'dynamodb')).mode & 0o777, 0o700, 'the database file names carry the key id');
    assert.deepEqual(JSON.parse(readFileSync(keyFile, 'utf8')), stack.dynamoCredentials);
    const before = stack.dynamoCredentials;
    await stack.stop();
    stack = await startLocalStack({ port: 0, dataDir, adminToken, worker: false });
    assert.deepEqual(stack.dynamoCredentials, before, 'the key file is reused');
    assert.equal((await api(stack, 'GET', '/networks/office')).status, 200);
    const db = localClient(stack.dynamoEndpoint, stack.dynamoCredentials);
    try {
      assert.ok((await scan(db, stack.secretsTableName)).some((i) => i.privateKey === privateKey));
    } finally {
      db.destroy();
    }
  });

  it('in memory, every stack gets a fresh key', async () => {
    const other = await startLocalStack({ port: 0, worker: false });
    try {
      assert.notEqual(other.dynamoCredentials.accessKeyId, stack.dynamoCredentials.accessKeyId);
      assert.match(other.dynamoCredentials.accessKeyId, /^LOCAL[0-9A-F]{32}$/);
    } finally {
      await other.stop();
    }
  });
});

describe('a data folder written with -sharedDb', () => {
  it('keeps its tables: the shared database becomes the one of the new key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-ingress-shareddb-'));
    try {
      const first = await startDynamoDbLocal({ dataDir: dir });
      const db = localClient(first.endpoint, first.credentials);
      await db.send(
        new CreateTableCommand({
          TableName: 'from-shared-db',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        }),
      );
      db.destroy();
      await first.stop();
      // What DynamoDB Local -sharedDb writes: one file for every key.
      renameSync(join(dir, `${first.credentials.accessKeyId}_${LOCAL_DYNAMO_REGION}.db`), join(dir, 'shared-local-instance.db'));
      const second = await startDynamoDbLocal({ dataDir: dir });
      const again = localClient(second.endpoint, second.credentials);
      try {
        assert.deepEqual((await again.send(new ListTablesCommand({}))).TableNames, ['from-shared-db']);
        assert.ok(!existsSync(join(dir, 'shared-local-instance.db')));
      } finally {
        again.destroy();
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
