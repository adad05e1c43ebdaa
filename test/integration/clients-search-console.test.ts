// The list route's namePrefix (a begins_with key condition on DynamoDB Local, paged with the same
// cursors), and local mode's /console/: the build, its config and the console's security headers.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useLocalApi } from '../support/local-api.js';

// A stand-in build: what is served is the folder's own files, whatever they hold.
const consoleDir = mkdtempSync(join(tmpdir(), 'wg-ingress-console-dir-'));
mkdirSync(join(consoleDir, 'assets'));
writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>c</title><script type="module" src="./assets/app-1.js"></script>');
writeFileSync(join(consoleDir, 'assets', 'app-1.js'), 'export {};');
after(() => rmSync(consoleDir, { recursive: true, force: true }));

const api = useLocalApi({ consoleDir });

describe('GET …/clients?namePrefix', () => {
  let gatewayId = '';
  before(async () => {
    assert.equal((await api.call('POST', '/networks', { name: 'search', addressRange: '10.60.0.0/24' })).status, 201);
    const gw = await api.call('POST', '/networks/search/gateways', { instanceId: 'i-0aaaaaaaaaaaaaaa1', endpoint: 'vpn.example.com' });
    gatewayId = gw.json.id;
    for (const name of ['alice-laptop', 'alice-phone', 'alicia', 'bob-phone', 'Alice-desk']) {
      assert.equal((await api.call('POST', '/networks/search/clients', { gatewayId, name })).status, 201);
    }
  });

  const names = (answer: { json: { items: { name: string }[] } }) => answer.json.items.map((c) => c.name);

  it('lists only the clients whose name starts with the prefix (case-sensitive, in name order)', async () => {
    assert.deepEqual(names(await api.call('GET', '/networks/search/clients?namePrefix=alice')), ['alice-laptop', 'alice-phone']);
    assert.deepEqual(names(await api.call('GET', '/networks/search/clients?namePrefix=ali')), ['alice-laptop', 'alice-phone', 'alicia']);
    assert.deepEqual(names(await api.call('GET', '/networks/search/clients?namePrefix=Alice')), ['Alice-desk']);
    assert.deepEqual(names(await api.call('GET', '/networks/search/clients?namePrefix=carol')), []);
    assert.deepEqual(names(await api.call('GET', `/networks/search/clients?namePrefix=bob&gatewayId=${gatewayId}`)), ['bob-phone']);
  });

  it('pages through the matches with the cursor, and refuses a cursor of another prefix', async () => {
    const first = await api.call('GET', '/networks/search/clients?namePrefix=ali&limit=2');
    assert.deepEqual(names(first), ['alice-laptop', 'alice-phone']);
    assert.ok(first.json.nextCursor);
    const cursor = encodeURIComponent(first.json.nextCursor);
    assert.deepEqual(names(await api.call('GET', `/networks/search/clients?namePrefix=ali&limit=2&cursor=${cursor}`)), ['alicia']);
    const other = await api.call('GET', `/networks/search/clients?namePrefix=bob&limit=2&cursor=${cursor}`);
    assert.equal(other.status, 400);
    assert.equal(other.json.error.field, 'cursor');
  });

  it('refuses a prefix outside the name grammar, naming namePrefix', async () => {
    for (const bad of ['', '-x', 'a b', 'x'.repeat(33), 'é']) {
      const res = await api.call('GET', `/networks/search/clients?namePrefix=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.json.error.field, 'namePrefix', bad);
      assert.match(res.json.error.message, /must match/);
    }
  });
});

describe('/console/ in local mode', () => {
  it('serves the build with the CSP and security headers, and its config names this API', async () => {
    const page = await fetch(`${api.stack.url}/console/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /app-1\.js/);
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.ok(csp.includes(`img-src 'self' data: ${new URL(api.stack.s3Endpoint).origin}`), csp);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const js = await fetch(`${api.stack.url}/console/assets/app-1.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(js.headers.get('cache-control')!, /immutable/);
    const config = await (await fetch(`${api.stack.url}/console/config.json`)).json();
    assert.deepEqual(config, { apiUrl: api.stack.url, auth: 'token' });
    const bare = await fetch(`${api.stack.url}/console`, { redirect: 'manual' });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), '/console/');
  });

  it('serves nothing but the build: no dot segments, encoded slashes or other files', async () => {
    for (const path of ['/console/../package.json', '/console/assets/..%2F..%2Fpackage.json', '/console/%2e%2e/package.json', '/console/.env', '/console/assets/missing.js']) {
      const res = await fetch(`${api.stack.url}${path}`);
      assert.notEqual(res.status, 200, path);
      assert.doesNotMatch(await res.text(), /"name": "wg-ingress"/, path);
    }
    assert.equal((await fetch(`${api.stack.url}/console/`, { method: 'POST' })).status, 405);
  });
});
