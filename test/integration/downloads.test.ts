// Config downloads, QR codes, signed S3 URLs and one-time links, through the real API on the
// local stack (DynamoDB Local, the signature-checking S3 server, the same handlers as Lambda).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { GetCommand, ScanCommand, UpdateCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { DynamoClientStore } from '../../functions/adapters/dynamo/clients-repo.js';
import { DynamoGatewayStore } from '../../functions/adapters/dynamo/gateways-repo.js';
import { keys } from '../../functions/adapters/dynamo/table.js';
import { createS3Client, S3ObjectStore } from '../../functions/adapters/s3/object-store.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { PRIVATE_KEY_PLACEHOLDER, renderClientConfig } from '../../functions/domain/render-client-config.js';
import { localClient } from '../../infra/local/dynamodb.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION } from '../../infra/local/s3-server.js';
import { assertNoSecretLeaked, useLocalApi, type ApiAnswer, type TestApi } from '../support/local-api.js';
import { testAuditRecord } from '../support/fakes.js';

const api = useLocalApi();

const NET = 'dlnet';
const gatewayKey = generateKeyPair();
let gatewayId = '';
let pendingGatewayId = '';

/** Answers of POST …/links: the one place a token is meant to appear, left out of the leak scan. */
const linkAnswers = new Set<string>();

function db(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials));
}

async function withDb<T>(f: (d: DynamoDBDocumentClient) => Promise<T>): Promise<T> {
  const d = db();
  try {
    return await f(d);
  } finally {
    d.destroy();
  }
}

async function createClient(body: Record<string, unknown>): Promise<any> {
  const res = await api.call('POST', `/networks/${NET}/clients`, { gatewayId, ...body });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

async function expectedConfig(clientName: string): Promise<string> {
  const [client, gateway, network] = await Promise.all([
    api.call('GET', `/networks/${NET}/clients/${clientName}`),
    api.call('GET', `/networks/${NET}/gateways/${gatewayId}`),
    api.call('GET', `/networks/${NET}`),
  ]);
  const secrets = await withDb(async (d) =>
    (await d.send(new GetCommand({ TableName: api.stack.secretsTableName, Key: keys.secrets(NET, clientName) }))).Item ?? {},
  );
  return renderClientConfig({
    client: client.json,
    ...(secrets.privateKey ? { privateKey: secrets.privateKey as string } : {}),
    ...(secrets.presharedKey ? { presharedKey: secrets.presharedKey as string } : {}),
    gateway: gateway.json,
    network: network.json,
  });
}

async function newLink(clientName: string, body: Record<string, unknown> = {}): Promise<{ token: string; path: string; answer: ApiAnswer }> {
  const res = await api.call('POST', `/networks/${NET}/clients/${clientName}/links`, body);
  linkAnswers.add(res.text);
  assert.equal(res.status, 201, res.text);
  const url = new URL(res.json.url);
  const token = url.pathname.slice('/dl/'.length);
  api.rememberToken(token);
  return { token, path: url.pathname, answer: res };
}

const page = (path: string) => api.call('GET', path, undefined, { token: null });
/** What a browser sends when the landing page's form is submitted: an empty form body. */
const submit = (path: string) =>
  api.call('POST', path, undefined, { token: null, raw: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });

function reasonOf(res: ApiAnswer): string | undefined {
  return /<body data-reason="([a-z_]+)">/.exec(res.text)?.[1];
}

function decodeQr(png: Buffer): Buffer {
  const image = PNG.sync.read(png);
  const code = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  assert.ok(code, 'jsQR found no QR code');
  return Buffer.from(code.binaryData);
}

function pageUrls(text: string): { configUrl: string; qrUrl: string } {
  const unescape = (s: string) => s.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"');
  const configUrl = /<a class="button" href="([^"]+)"/.exec(text)?.[1];
  const qrUrl = /<img src="([^"]+)"/.exec(text)?.[1];
  assert.ok(configUrl && qrUrl, 'the page links the config and shows the QR');
  return { configUrl: unescape(configUrl), qrUrl: unescape(qrUrl) };
}

function assertPageHeaders(res: ApiAnswer, imageOrigin?: string): void {
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.match(res.headers.get('x-robots-tag') ?? '', /\bnoindex\b/);
  assert.equal(res.headers.get('cross-origin-embedder-policy'), null, 'require-corp would block the QR image from S3');
  const csp = res.headers.get('content-security-policy') ?? '';
  const directives = new Map(csp.split(/;\s*/).map((d) => [d.split(' ')[0]!, d.split(' ').slice(1).join(' ')]));
  assert.equal(directives.get('default-src'), "'none'");
  assert.equal(directives.get('form-action'), "'self'");
  assert.equal(directives.get('base-uri'), "'none'");
  assert.equal(directives.get('frame-ancestors'), "'none'");
  assert.equal(directives.get('img-src'), imageOrigin ?? "'none'");
  assert.equal(directives.has('script-src'), false);
  const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)?.[1];
  assert.ok(style !== undefined, 'one style block');
  const hash = createHash('sha256').update(style, 'utf8').digest('base64');
  assert.equal(directives.get('style-src'), `'sha256-${hash}'`, 'the CSP allows exactly the page style');
  assert.doesNotMatch(res.text, /<script|\son[a-z]+=|style="/i, 'no script, no event handlers, no inline style attributes');
  assert.match(res.text, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
}

type MaybeRunner = { runner?: { setOnline(online: boolean): void } };

describe('config downloads and one-time links', () => {
  // Deliver what the offline runner queued, so the worker is idle when the stack stops.
  after(() => (api.stack as MaybeRunner).runner?.setOnline(true));

  it('answers 409 gateway_not_ready for the config of a client whose gateway has no key yet', async () => {
    // With a local gateway runner behind the stack, keep its gateways offline: they stay pending
    // until this file records their init the way the gateway-sync worker does.
    (api.stack as MaybeRunner).runner?.setOnline(false);
    const net = await api.call('POST', '/networks', { name: NET, addressRange: '10.60.0.0/24', addressRange6: 'fd00:60::/112', defaultDns: ['10.60.0.53'] });
    assert.equal(net.status, 201, net.text);
    const gw = await api.call('POST', `/networks/${NET}/gateways`, { instanceId: 'i-0a1b2c3d4e5f60718', endpoint: 'vpn.example.net', routedRanges: ['192.168.60.0/24'], persistentKeepalive: 25 });
    assert.equal(gw.status, 202, gw.text);
    gatewayId = gw.json.id;
    const other = await api.call('POST', `/networks/${NET}/gateways`, { instanceId: 'i-0a1b2c3d4e5f60719', endpoint: '2001:db8::60' });
    assert.equal(other.status, 202, other.text);
    pendingGatewayId = other.json.id;

    await createClient({ name: 'gen' });
    const res = await api.call('GET', `/networks/${NET}/clients/gen/config`);
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'gateway_not_ready');

    // What the gateway-sync worker records when the init document reports the gateway's key.
    await withDb((d) => new DynamoGatewayStore(d, api.stack.tableName, { tableName: api.stack.tableName, retentionDays: 400 }).recordInit(NET, gatewayId, { status: 'ready', publicKey: gatewayKey.publicKey, at: new Date().toISOString() }));
  });

  it('hands out signed URLs of a generated-key config and its QR code that read back byte for byte', async () => {
    const before = Date.now();
    const res = await api.call('GET', `/networks/${NET}/clients/gen/config`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.json).sort(), ['configUrl', 'expiresAt', 'filename', 'qrUrl']);
    assert.equal(res.json.filename, 'dlnet-gen.conf');
    const lifetime = Date.parse(res.json.expiresAt) - before;
    assert.ok(lifetime > 290_000 && lifetime < 310_000, `URLs last 5 minutes, not ${lifetime} ms`);
    for (const url of [res.json.configUrl, res.json.qrUrl]) {
      assert.ok(url.startsWith(`${api.stack.s3Endpoint}/${api.stack.bucket}/downloads/${NET}/gen/`), url);
      assert.equal(new URL(url).searchParams.get('X-Amz-Expires'), '300');
    }

    const expected = await expectedConfig('gen');
    assert.match(expected, /^PrivateKey = [A-Za-z0-9+/]{43}=$/m);
    const conf = await fetch(res.json.configUrl);
    assert.equal(conf.status, 200);
    assert.equal(conf.headers.get('content-disposition'), 'attachment; filename="dlnet-gen.conf"');
    assert.equal(conf.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(conf.headers.get('cache-control'), 'no-store');
    assert.equal(await conf.text(), expected);

    const qr = await fetch(res.json.qrUrl);
    assert.equal(qr.status, 200);
    assert.equal(qr.headers.get('content-type'), 'image/png');
    assert.deepEqual(decodeQr(Buffer.from(await qr.arrayBuffer())), Buffer.from(expected, 'utf8'));

    const again = await api.call('GET', `/networks/${NET}/clients/gen/config`);
    assert.notEqual(new URL(again.json.configUrl).pathname, new URL(res.json.configUrl).pathname, 'every download gets fresh object names');
  });

  it('refuses a signed URL with one changed character (403) and an expired one (403)', async () => {
    const res = await api.call('GET', `/networks/${NET}/clients/gen/config`);
    const url = new URL(res.json.configUrl);
    const signature = url.searchParams.get('X-Amz-Signature')!;
    url.searchParams.set('X-Amz-Signature', (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
    assert.equal((await fetch(url)).status, 403);
    const key = new URL(res.json.configUrl).pathname.slice(`/${api.stack.bucket}/`.length);
    const path = new URL(res.json.configUrl);
    path.pathname = path.pathname.replace(/\.conf$/, '.cong');
    assert.equal((await fetch(path)).status, 403, 'the signature covers the object name');

    const store = new S3ObjectStore(
      createS3Client({ region: LOCAL_S3_REGION, endpoint: api.stack.s3Endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS }),
      api.stack.bucket,
    );
    const shortLived = await store.signedGetUrl(key, { expiresInSeconds: 1 });
    assert.equal((await fetch(shortLived)).status, 200);
    await sleep(2100); // X-Amz-Date has whole seconds
    assert.equal((await fetch(shortLived)).status, 403);
  });

  it('renders a bring-your-own-key config with the placeholder and no private key', async () => {
    const own = generateKeyPair();
    await createClient({ name: 'byo', publicKey: own.publicKey, presharedKey: true });
    const res = await api.call('GET', `/networks/${NET}/clients/byo/config`);
    assert.equal(res.status, 200, res.text);
    const text = await (await fetch(res.json.configUrl)).text();
    assert.equal(text, await expectedConfig('byo'));
    const privateKeyLines = text.split('\n').filter((l) => l.startsWith('PrivateKey'));
    assert.deepEqual(privateKeyLines, [`PrivateKey = ${PRIVATE_KEY_PLACEHOLDER}`]);
    assert.equal(text.includes(own.privateKey), false);
    assert.match(text, /^PresharedKey = /m);
  });

  it('creates a link that stores only the token hash, with expiry and TTL', async () => {
    const before = Date.now();
    const { token, answer } = await newLink('gen');
    assert.deepEqual(Object.keys(answer.json).sort(), ['expiresAt', 'url']);
    assert.match(answer.json.url, new RegExp(`^${api.stack.url}/dl/[A-Za-z0-9_-]{43}$`));
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    const lifetime = Date.parse(answer.json.expiresAt) - before;
    assert.ok(Math.abs(lifetime - 24 * 3600_000) < 10_000, 'a day by default');

    const hash = createHash('sha256').update(token).digest('hex');
    const item = await withDb(async (d) => (await d.send(new GetCommand({ TableName: api.stack.tableName, Key: keys.link(hash) }))).Item);
    assert.ok(item);
    assert.equal(item.network, NET);
    assert.equal(item.client, 'gen');
    assert.equal(item.expiresAt, answer.json.expiresAt);
    assert.equal(item.gsi1pk, keys.linksOfClientGsiPk(NET, 'gen'));
    assert.equal(typeof item.ttl, 'number');
    assert.ok(item.ttl * 1000 >= Date.parse(item.expiresAt), 'TTL never removes a link before it expires');
    const everything = await withDb(async (d) => JSON.stringify((await d.send(new ScanCommand({ TableName: api.stack.tableName }))).Items));
    assert.equal(everything.includes(token), false, 'the token itself is stored nowhere');

    const short = await newLink('gen', { expiresInSeconds: 600 });
    assert.ok(Math.abs(Date.parse(short.answer.json.expiresAt) - Date.now() - 600_000) < 10_000);
    const tooShort = await api.call('POST', `/networks/${NET}/clients/gen/links`, { expiresInSeconds: 10 });
    assert.equal(tooShort.status, 400);
    const tooLong = await api.call('POST', `/networks/${NET}/clients/gen/links`, { expiresInSeconds: 8 * 24 * 3600 });
    assert.equal(tooLong.status, 400);
    const nobody = await api.call('POST', `/networks/${NET}/clients/nobody/links`, {});
    assert.equal(nobody.status, 404);
    const noAuth = await api.call('POST', `/networks/${NET}/clients/gen/links`, {}, { token: null });
    assert.equal(noAuth.status, 401);
  });

  it('spends nothing on GETs, then lets exactly one of 50 concurrent POSTs redeem the link', async () => {
    const { token, path } = await newLink('gen');
    for (let i = 0; i < 10; i++) {
      const landing = await page(path);
      assert.equal(landing.status, 200, landing.text);
      assert.equal(reasonOf(landing), 'ready');
      assert.match(landing.text, /<form method="post"><button type="submit">/, 'a plain form: works without JavaScript');
      assert.equal(landing.text.includes(token), false);
      assertPageHeaders(landing);
    }

    const answers = await Promise.all(Array.from({ length: 50 }, () => submit(path)));
    const won = answers.filter((a) => a.status === 200);
    const lost = answers.filter((a) => a.status === 410);
    assert.equal(won.length, 1, `statuses: ${answers.map((a) => a.status).join(',')}`);
    assert.equal(lost.length, 49);
    for (const l of lost) assert.equal(reasonOf(l), 'link_used');

    const winner = won[0]!;
    assert.equal(reasonOf(winner), 'spent');
    assert.equal(winner.text.includes(token), false);
    const { configUrl, qrUrl } = pageUrls(winner.text);
    assertPageHeaders(winner, new URL(qrUrl).origin);
    for (const url of [configUrl, qrUrl]) assert.equal(new URL(url).searchParams.get('X-Amz-Expires'), '120');
    const expected = await expectedConfig('gen');
    const conf = await fetch(configUrl);
    assert.equal(conf.headers.get('content-disposition'), 'attachment; filename="dlnet-gen.conf"');
    assert.equal(await conf.text(), expected);
    assert.deepEqual(decodeQr(Buffer.from(await (await fetch(qrUrl)).arrayBuffer())), Buffer.from(expected));

    const after = await page(path);
    assert.equal(after.status, 410);
    assert.equal(reasonOf(after), 'link_used');
    assertPageHeaders(after);
  });

  it('revokes every open link of a client (410 revoked), and a used link stays "used"', async () => {
    const a = await newLink('gen');
    const b = await newLink('gen');
    const used = await newLink('gen');
    assert.equal((await submit(used.path)).status, 200);
    const other = await newLink('byo');

    const res = await api.call('DELETE', `/networks/${NET}/clients/gen/links`);
    assert.equal(res.status, 204);
    for (const l of [a, b]) {
      const get = await page(l.path);
      assert.equal(get.status, 410);
      assert.equal(reasonOf(get), 'link_revoked');
      const post = await submit(l.path);
      assert.equal(post.status, 410);
      assert.equal(reasonOf(post), 'link_revoked');
    }
    assert.equal(reasonOf(await page(used.path)), 'link_used');
    assert.equal((await page(other.path)).status, 200, "another client's links are untouched");
    assert.equal((await api.call('DELETE', `/networks/${NET}/clients/nobody/links`)).status, 404);
  });

  it('revokes a link that the index query could not see yet (gsi1 is eventually consistent)', async () => {
    const late = await newLink('gen');
    // What DELETE …/links does first; the per-link updates that follow rely on the index.
    await withDb((d) => new DynamoClientStore(d, api.stack.tableName, api.stack.secretsTableName, { tableName: api.stack.tableName, retentionDays: 400 }).markLinksRevoked(NET, 'gen', new Date().toISOString(), testAuditRecord(NET, 'gen')));
    const post = await submit(late.path);
    assert.equal(post.status, 410);
    assert.equal(reasonOf(post), 'link_revoked');
    await new Promise((r) => setTimeout(r, 5));
    const fresh = await newLink('gen');
    assert.equal((await submit(fresh.path)).status, 200, 'a link made after the revocation works');
  });

  it('checks the expiry itself (TTL deletes late): 410 expired', async () => {
    const { token, path } = await newLink('gen');
    const hash = createHash('sha256').update(token).digest('hex');
    await withDb((d) =>
      d.send(
        new UpdateCommand({
          TableName: api.stack.tableName,
          Key: keys.link(hash),
          UpdateExpression: 'SET expiresAt = :past',
          ExpressionAttributeValues: { ':past': new Date(Date.now() - 1000).toISOString() },
        }),
      ),
    );
    for (const res of [await page(path), await submit(path)]) {
      assert.equal(res.status, 410);
      assert.equal(reasonOf(res), 'link_expired');
      assert.match(res.text, /This link has expired/);
    }
  });

  it("answers 410 for a disabled client's link; after re-enabling, a new link works", async () => {
    await createClient({ name: 'toggle' });
    const { path } = await newLink('toggle');
    assert.equal((await api.call('PATCH', `/networks/${NET}/clients/toggle`, { enabled: false })).status, 200);

    const get = await page(path);
    assert.equal(get.status, 410);
    assert.equal(reasonOf(get), 'client_disabled');
    const post = await submit(path);
    assert.equal(post.status, 410);
    assert.equal(reasonOf(post), 'client_disabled');
    const link = await api.call('POST', `/networks/${NET}/clients/toggle/links`, {});
    assert.equal(link.status, 409);
    assert.equal(link.json.error.code, 'client_disabled');
    const config = await api.call('GET', `/networks/${NET}/clients/toggle/config`);
    assert.equal(config.status, 409);
    assert.equal(config.json.error.code, 'client_disabled');

    assert.equal((await api.call('PATCH', `/networks/${NET}/clients/toggle`, { enabled: true })).status, 200);
    const fresh = await newLink('toggle');
    const redeemed = await submit(fresh.path);
    assert.equal(redeemed.status, 200, redeemed.text);
    assert.equal(await (await fetch(pageUrls(redeemed.text).configUrl)).text(), await expectedConfig('toggle'));
  });

  it("answers 410 for a deleted client's link, also once the name is taken again", async () => {
    await createClient({ name: 'temp' });
    const first = await newLink('temp');
    const second = await newLink('temp');
    await api.snapshotSecrets();
    assert.equal((await api.call('DELETE', `/networks/${NET}/clients/temp`)).status, 204);
    const post = await submit(first.path);
    assert.equal(post.status, 410);
    assert.equal(reasonOf(post), 'client_deleted');

    await createClient({ name: 'temp' });
    for (const res of [await page(second.path), await submit(second.path)]) {
      assert.equal(res.status, 410);
      assert.equal(reasonOf(res), 'client_deleted', 'a link never hands out the config of a different client with the same name');
    }
  });

  it('keeps a link unspent while the gateway is not ready, and lets it work once it is', async () => {
    const res = await api.call('POST', `/networks/${NET}/clients`, { gatewayId: pendingGatewayId, name: 'early' });
    assert.equal(res.status, 201, res.text);
    const { path } = await newLink('early');
    const get = await page(path);
    assert.equal(get.status, 409);
    assert.equal(reasonOf(get), 'gateway_not_ready');
    const post = await submit(path);
    assert.equal(post.status, 409);
    assert.equal(reasonOf(post), 'gateway_not_ready');

    await withDb((d) => new DynamoGatewayStore(d, api.stack.tableName, { tableName: api.stack.tableName, retentionDays: 400 }).recordInit(NET, pendingGatewayId, { status: 'ready', publicKey: generateKeyPair().publicKey, at: new Date().toISOString() }));
    const redeemed = await submit(path);
    assert.equal(redeemed.status, 200, redeemed.text);
    assert.match(await (await fetch(pageUrls(redeemed.text).configUrl)).text(), /^Endpoint = \[2001:db8::60\]:51820$/m);
  });

  it('answers a malformed or unknown token with a 404 page that does not repeat it', async () => {
    const unknown = randomBytes(32).toString('base64url');
    for (const token of ['short-token', `${'A'.repeat(42)}!`, 'x'.repeat(44), unknown]) {
      for (const res of [await page(`/dl/${encodeURIComponent(token)}`), await submit(`/dl/${encodeURIComponent(token)}`)]) {
        assert.equal(res.status, 404, `${token}: ${res.text.slice(0, 80)}`);
        assert.equal(reasonOf(res), 'not_found');
        assert.match(res.text, /This link is not valid/);
        assert.equal(res.text.includes(token), false);
        assertPageHeaders(res);
      }
    }
    const nothing = await api.call('GET', '/dl/', undefined, { token: null });
    assert.equal(nothing.status, 404);
  });

  it('ignores whatever body the form POST carries and does not spend a link on a malformed request', async () => {
    const { path } = await newLink('gen');
    const badJson = await api.call('POST', path, undefined, { token: null, raw: '{nope', headers: { 'content-type': 'application/json' } });
    assert.equal(badJson.status, 400);
    assert.equal(reasonOf(badJson), 'bad_request');
    assertPageHeaders(badJson);
    assert.equal((await page(path)).status, 200, 'still unspent');
    const withFields = await api.call('POST', path, undefined, { token: null, raw: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(withFields.status, 200, withFields.text);
  });

  it('lets no private key, preshared key or link token into any log line or JSON answer', async () => {
    for (const text of linkAnswers) {
      const json = JSON.parse(text);
      if (json.url) assert.deepEqual(Object.keys(json).sort(), ['expiresAt', 'url'], 'a link answer carries nothing but the link');
    }
    // The answers of POST …/links are left out: handing the token to the admin is what they are for.
    const scanned: TestApi = {
      ...api,
      stack: api.stack,
      answers: () => api.answers().filter((a) => !linkAnswers.has(a)),
    };
    const count = await assertNoSecretLeaked(scanned);
    assert.ok(count >= 20, `checked ${count} secrets`);
  });
});
