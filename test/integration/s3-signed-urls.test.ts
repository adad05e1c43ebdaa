// Signed download URLs against the local S3 server, through the real SDK and plain fetch.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createS3Client, S3ObjectStore } from '../../functions/adapters/s3/object-store.js';
import type { ObjectStore } from '../../functions/app/ports.js';
import { attachmentDisposition, configFilename, renderClientConfig } from '../../functions/domain/render-client-config.js';
import { renderQrPng } from '../../functions/domain/qr.js';
import { startLocalS3Server, type LocalS3Server } from '../../infra/local/s3-server.js';
import { configVariants } from '../unit/domain/fixtures.js';

const CONFIG_KEY = 'downloads/hq/alice-phone/config.conf';
const QR_KEY = 'downloads/hq/alice-phone/qr.png';
const config = renderClientConfig(configVariants['generated-key']!);
const filename = configFilename('hq', 'alice-phone');

let s3: LocalS3Server;
let store: ObjectStore;
let qr: Buffer;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Changes one character of one query parameter's value, keeping it well-formed. */
function tamper(url: string, param: string): string {
  const u = new URL(url);
  const value = u.searchParams.get(param);
  assert.ok(value, `no ${param} in ${url}`);
  const last = value.at(-1)!;
  u.searchParams.set(param, value.slice(0, -1) + (last === '0' ? '1' : '0'));
  return u.toString();
}

describe('signed S3 URLs on the local S3 server', () => {
  before(async () => {
    s3 = await startLocalS3Server();
    store = new S3ObjectStore(
      createS3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials }),
      s3.bucket,
    );
    qr = await renderQrPng(config);
    await store.putObject(CONFIG_KEY, config, 'text/plain; charset=utf-8');
    await store.putObject(QR_KEY, qr, 'image/png');
  });
  after(async () => {
    await s3?.stop();
    assert.ok(!existsSync(s3.directory), 'the temp folder is removed');
  });

  it('serves the config through a signed URL as an attachment with the safe filename', async () => {
    const url = await store.signedGetUrl(CONFIG_KEY, {
      expiresInSeconds: 300,
      contentDisposition: attachmentDisposition(filename),
      contentType: 'application/octet-stream',
      cacheControl: 'no-store',
    });
    assert.ok(url.startsWith(`${s3.endpoint}/${s3.bucket}/`), url);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="hq-alice-phone.conf"');
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(await res.text(), config);
  });

  it('serves the QR code as image/png, byte for byte', async () => {
    const url = await store.signedGetUrl(QR_KEY, { expiresInSeconds: 300, contentType: 'image/png' });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), qr);
  });

  it('refuses a URL with one changed character in the signature (403)', async () => {
    const url = await store.signedGetUrl(CONFIG_KEY, { expiresInSeconds: 300 });
    assert.equal((await fetch(url)).status, 200, 'the untouched URL works');
    const res = await fetch(tamper(url, 'X-Amz-Signature'));
    assert.equal(res.status, 403);
    assert.match(await res.text(), /SignatureDoesNotMatch/);
  });

  it('refuses a URL whose Content-Disposition or expiry was changed (403)', async () => {
    const url = await store.signedGetUrl(CONFIG_KEY, {
      expiresInSeconds: 300,
      contentDisposition: attachmentDisposition(filename),
    });
    const u = new URL(url);
    u.searchParams.set('response-content-disposition', 'inline');
    assert.equal((await fetch(u.toString())).status, 403);
    assert.equal((await fetch(tamper(url, 'X-Amz-Expires'))).status, 403);
  });

  it('refuses an expired URL (403)', async () => {
    const url = await store.signedGetUrl(CONFIG_KEY, { expiresInSeconds: 1 });
    // X-Amz-Date has whole seconds, so the URL dies between 1 and 2 s after signing.
    await sleep(2100);
    const res = await fetch(url);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Request has expired/);
  });

  it('refuses the same object without a signature (403): the bucket is private', async () => {
    const url = await store.signedGetUrl(CONFIG_KEY, { expiresInSeconds: 300 });
    const res = await fetch(url.split('?')[0]!);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /AccessDenied/);
    assert.equal((await fetch(`${s3.endpoint}/${s3.bucket}/x`, { method: 'PUT', body: 'anonymous' })).status, 403);
  });

  it('refuses requests signed with a wrong secret key (403)', async () => {
    const wrong = new S3ObjectStore(
      createS3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
      }),
      s3.bucket,
    );
    const url = await wrong.signedGetUrl(CONFIG_KEY, { expiresInSeconds: 300 });
    assert.equal((await fetch(url)).status, 403);
    await assert.rejects(wrong.getObject(CONFIG_KEY), (err: { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.$metadata?.httpStatusCode, 403);
      return true;
    });
  });

  it('reads back what it wrote, answers undefined for a missing object, and deletes', async () => {
    assert.equal((await store.getObject(CONFIG_KEY))?.toString('utf8'), config);
    assert.equal(await store.getObject('downloads/hq/nobody/config.conf'), undefined);
    await store.putObject('downloads/hq/temp/config.conf', 'x', 'text/plain');
    await store.deleteObject('downloads/hq/temp/config.conf');
    assert.equal(await store.getObject('downloads/hq/temp/config.conf'), undefined);
    await store.deleteObject('downloads/hq/temp/config.conf'); // a second delete is not an error
    const url = await store.signedGetUrl('downloads/hq/temp/config.conf', { expiresInSeconds: 60 });
    assert.equal((await fetch(url)).status, 404);
  });

  it('refuses unsafe keys, filenames and lifetimes before calling S3', async () => {
    await assert.rejects(store.getObject('../secret'));
    await assert.rejects(store.putObject('/downloads/x', 'x', 'text/plain'));
    await assert.rejects(store.signedGetUrl('downloads/a\nb', { expiresInSeconds: 60 }));
    await assert.rejects(store.signedGetUrl(CONFIG_KEY, { expiresInSeconds: 0 }));
    await assert.rejects(store.signedGetUrl(CONFIG_KEY, { expiresInSeconds: 8 * 24 * 3600 }));
    assert.throws(() => attachmentDisposition('a"b.conf'));
    assert.throws(() => attachmentDisposition('a\r\nSet-Cookie: x'));
  });
});
