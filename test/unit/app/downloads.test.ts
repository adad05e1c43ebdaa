import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient, deleteClient, updateClient } from '../../../functions/app/clients.js';
import {
  CONFIG_URL_SECONDS,
  PAGE_URL_SECONDS,
  createLink,
  getConfigDownload,
  hashToken,
  inspectLink,
  redeemLink,
  revokeLinks,
} from '../../../functions/app/downloads.js';
import { updateGateway } from '../../../functions/app/gateways.js';
import { ConflictError, GoneError, NotFoundError, UnknownLinkError } from '../../../functions/domain/errors.js';
import { attachmentDisposition, configFilename } from '../../../functions/domain/render-client-config.js';
import { TEST_AUDIT, testAuditRecord, fakeWorld, markReady, networkWithGateway } from '../../support/fakes.js';

const isCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof ConflictError || err instanceof GoneError || err instanceof NotFoundError, String(err));
  assert.equal(err.code, code);
  return true;
};
const gone = (code: string) => (err: unknown) => err instanceof GoneError && isCode(code)(err);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function setup(options: { ready?: boolean } = {}) {
  const w = fakeWorld();
  const { network, gateway } = await networkWithGateway(w, { ready: options.ready ?? true });
  const client = await createClient(w.deps, network.name, { gatewayId: gateway.id, name: 'alice', presharedKey: true }, TEST_AUDIT);
  const net = network.name;
  /** The token of a new link for alice. */
  const link = async (expiresInSeconds?: number) => {
    const { url } = await createLink(w.deps, net, 'alice', expiresInSeconds ? { expiresInSeconds } : {}, TEST_AUDIT);
    return url.slice(url.lastIndexOf('/') + 1);
  };
  const record = (token: string) => w.table.links.get(hashToken(token));
  return { w, net, gateway, client, link, record };
}

describe('getConfigDownload', () => {
  it('publishes the config and the QR under downloads/ and signs short-lived attachment URLs for them', async () => {
    const { w, net, client } = await setup();
    const download = await getConfigDownload(w.deps, net, 'alice');
    const filename = configFilename(net, 'alice');
    assert.equal(download.filename, filename);
    assert.equal(download.expiresAt, new Date(w.clock.now().getTime() + CONFIG_URL_SECONDS * 1000).toISOString());

    const [conf, png] = w.objects.signed;
    assert.match(conf!.key, new RegExp(`^downloads/${net}/alice/[0-9a-f]{32}\\.conf$`));
    assert.equal(png!.key, conf!.key.replace(/\.conf$/, '.png'));
    assert.deepEqual(conf!.options, { expiresInSeconds: CONFIG_URL_SECONDS, contentDisposition: attachmentDisposition(filename), contentType: 'text/plain; charset=utf-8', cacheControl: 'no-store' });
    assert.deepEqual(png!.options, { expiresInSeconds: CONFIG_URL_SECONDS, contentType: 'image/png', cacheControl: 'no-store' });
    assert.deepEqual([download.configUrl, download.qrUrl], [conf!.url, png!.url]);

    const text = w.objects.read(download.configUrl)!;
    const secrets = w.table.secrets.get(`${net}/alice`)!;
    assert.ok(text.includes(`PrivateKey = ${secrets.privateKey}`));
    assert.ok(text.includes(`PresharedKey = ${secrets.presharedKey}`));
    assert.ok(text.includes(`Address = ${client.address}/32`));
    assert.ok(w.objects.objects.get(png!.key)!.body.subarray(0, 8).equals(PNG_SIGNATURE));
  });

  it('puts every download under a fresh name, so an earlier URL never shows a later config', async () => {
    const { w, net } = await setup();
    const first = await getConfigDownload(w.deps, net, 'alice');
    const second = await getConfigDownload(w.deps, net, 'alice');
    assert.notEqual(first.configUrl, second.configUrl);
    assert.equal(w.objects.objects.size, 4);
  });

  it("answers 409 while the client's gateway is not ready, or the client is disabled or expired", async () => {
    const pending = await setup({ ready: false });
    await assert.rejects(getConfigDownload(pending.w.deps, pending.net, 'alice'), isCode('gateway_not_ready'));
    assert.equal(pending.w.objects.objects.size, 0);

    const { w, net, gateway } = await setup();
    await createClient(w.deps, net, { gatewayId: gateway.id, name: 'bob', expiresAt: '2026-06-01T13:00:00Z' }, TEST_AUDIT);
    await updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT);
    await assert.rejects(getConfigDownload(w.deps, net, 'alice'), isCode('client_disabled'));
    await getConfigDownload(w.deps, net, 'bob');
    w.clock.advance(3_600_000);
    await assert.rejects(getConfigDownload(w.deps, net, 'bob'), isCode('client_expired'));
  });

  it('answers 404 for a client that does not exist', async () => {
    const { w, net } = await setup();
    await assert.rejects(getConfigDownload(w.deps, net, 'nobody'), isCode('not_found'));
  });
});

describe('createLink', () => {
  it('answers a one-time URL whose token is stored only as its hash, with the default expiry of a day', async () => {
    const { w, net, client } = await setup();
    const { url, expiresAt } = await createLink(w.deps, net, 'alice', {}, TEST_AUDIT);
    const token = url.slice('https://vpn.example.com/dl/'.length);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
    assert.equal(expiresAt, '2026-06-02T12:00:00.000Z');
    assert.deepEqual([...w.table.links.keys()], [hashToken(token)]);
    const stored = w.table.links.get(hashToken(token))!;
    assert.deepEqual(stored, { tokenHash: hashToken(token), network: net, client: 'alice', clientCreatedAt: client.createdAt, clientVersion: 1, createdAt: '2026-06-01T12:00:00.000Z', expiresAt });
    assert.ok(!JSON.stringify(stored).includes(token));
    const custom = await createLink(w.deps, net, 'alice', { expiresInSeconds: 600 }, TEST_AUDIT);
    assert.equal(custom.expiresAt, '2026-06-01T12:10:00.000Z');
    assert.notEqual(custom.url, url);
  });

  it('refuses a link for a disabled client (409) and stores none', async () => {
    const { w, net } = await setup();
    await updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT);
    await assert.rejects(createLink(w.deps, net, 'alice', {}, TEST_AUDIT), isCode('client_disabled'));
    assert.equal(w.table.links.size, 0);
  });

  it('answers 404 for a client that does not exist', async () => {
    const { w, net } = await setup();
    await assert.rejects(createLink(w.deps, net, 'nobody', {}, TEST_AUDIT), isCode('not_found'));
  });
});

describe('redeeming a link', () => {
  it('shows the landing page without spending the link', async () => {
    const { w, net, link, record } = await setup();
    const token = await link();
    assert.deepEqual(await inspectLink(w.deps, token), { network: net, client: 'alice', expiresAt: '2026-06-02T12:00:00.000Z' });
    await inspectLink(w.deps, token);
    assert.equal(record(token)!.usedAt, undefined);
  });

  it('spends the link once and publishes the config for minutes; a second redemption is gone (410 link_used)', async () => {
    const { w, net, link, record } = await setup();
    const token = await link();
    const page = await redeemLink(w.deps, token, 'test-request');
    assert.deepEqual([page.network, page.client, page.expiresInSeconds, page.needsPrivateKey], [net, 'alice', PAGE_URL_SECONDS, false]);
    assert.ok(page.qrPixels > 0);
    assert.ok(w.objects.read(page.configUrl)!.includes('[Peer]'));
    assert.ok(w.objects.signed.every((s) => s.key.startsWith('downloads/') && s.options.expiresInSeconds === PAGE_URL_SECONDS));
    assert.equal(w.objects.signed[0]!.options.contentDisposition, attachmentDisposition(page.filename));
    assert.equal(record(token)!.usedAt, w.clock.now().toISOString());
    await assert.rejects(redeemLink(w.deps, token, 'test-request'), gone('link_used'));
    await assert.rejects(inspectLink(w.deps, token), gone('link_used'));
    assert.equal(w.objects.objects.size, 2, 'nothing published for the refused one');
  });

  it('lets exactly one of many concurrent redemptions win', async () => {
    const { w, link } = await setup();
    const token = await link();
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => redeemLink(w.deps, token, 'test-request')));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(gone('link_used')(o.reason));
  });

  it('answers 404 for a token that was never issued', async () => {
    const { w } = await setup();
    const unknown = 'A'.repeat(43);
    await assert.rejects(redeemLink(w.deps, unknown, 'test-request'), (err) => err instanceof UnknownLinkError && !err.message.includes(unknown));
    await assert.rejects(inspectLink(w.deps, unknown), UnknownLinkError);
  });

  it('refuses an expired link (410 link_expired) and leaves it unspent', async () => {
    const { w, link, record } = await setup();
    const token = await link(600);
    w.clock.advance(600_000);
    await assert.rejects(inspectLink(w.deps, token), gone('link_expired'));
    await assert.rejects(redeemLink(w.deps, token, 'test-request'), gone('link_expired'));
    assert.equal(record(token)!.usedAt, undefined);
  });

  it('refuses revoked links (410 link_revoked), counting only the open ones; a used link stays used', async () => {
    const { w, net, link } = await setup();
    const used = await link();
    await redeemLink(w.deps, used, 'test-request');
    const open = [await link(), await link()];
    w.clock.advance(1);
    assert.equal(await revokeLinks(w.deps, net, 'alice', TEST_AUDIT), 2);
    for (const token of open) {
      await assert.rejects(inspectLink(w.deps, token), gone('link_revoked'));
      await assert.rejects(redeemLink(w.deps, token, 'test-request'), gone('link_revoked'));
    }
    await assert.rejects(redeemLink(w.deps, used, 'test-request'), gone('link_used'));
  });

  it("refuses a link created before the client's revocation mark even if the revoking query missed it", async () => {
    const { w, net, link, record } = await setup();
    const missed = await link();
    w.clock.advance(1);
    await w.clients.markLinksRevoked(net, 'alice', w.clock.now().toISOString(), testAuditRecord(net, 'alice')); // revokeAll did not see `missed` (gsi1 lags)
    await assert.rejects(redeemLink(w.deps, missed, 'test-request'), gone('link_revoked'));
    assert.ok(record(missed)!.usedAt, 'the link stays spent');
    w.clock.advance(1);
    await redeemLink(w.deps, await link(), 'test-request');
  });

  it("refuses a disabled client's link (410 client_disabled) and keeps it spent, also once re-enabled", async () => {
    const { w, net, link, record } = await setup();
    const token = await link();
    await updateClient(w.deps, net, 'alice', { enabled: false }, TEST_AUDIT);
    await assert.rejects(redeemLink(w.deps, token, 'test-request'), gone('client_disabled'));
    assert.ok(record(token)!.usedAt);
    await updateClient(w.deps, net, 'alice', { enabled: true }, TEST_AUDIT);
    await assert.rejects(redeemLink(w.deps, token, 'test-request'), gone('link_used'));
    await redeemLink(w.deps, await link(), 'test-request');
  });

  it('refuses the link of a deleted client (410 client_deleted), also once the name is taken again', async () => {
    const { w, net, gateway, link } = await setup();
    const token = await link();
    await deleteClient(w.deps, net, 'alice', TEST_AUDIT);
    w.clock.advance(1);
    await createClient(w.deps, net, { gatewayId: gateway.id, name: 'alice' }, TEST_AUDIT);
    await assert.rejects(inspectLink(w.deps, token), gone('client_deleted'));
    await assert.rejects(redeemLink(w.deps, token, 'test-request'), gone('client_deleted'));
  });

  it('gives the link back when the gateway is not ready (409), so it works once the gateway is', async () => {
    const { w, net, gateway, link, record } = await setup({ ready: false });
    const token = await link();
    await assert.rejects(inspectLink(w.deps, token), isCode('gateway_not_ready'));
    await assert.rejects(redeemLink(w.deps, token, 'test-request'), isCode('gateway_not_ready'));
    assert.equal(record(token)!.usedAt, undefined);
    await markReady(w, gateway);
    assert.equal((await redeemLink(w.deps, token, 'test-request')).client, 'alice');
    await updateGateway(w.deps, net, gateway.id, { listenPort: 51821 }, TEST_AUDIT); // pending again: init reruns
    await assert.rejects(getConfigDownload(w.deps, net, 'alice'), isCode('gateway_not_ready'));
  });

  it('gives the link back when publishing fails, so the user can simply try again', async () => {
    const { w, link, record } = await setup();
    const token = await link();
    w.faults.failNext('objects.putObject', 1, () => new Error('S3 is having a bad day'));
    await assert.rejects(redeemLink(w.deps, token, 'test-request'), /bad day/);
    assert.equal(record(token)!.usedAt, undefined);
    assert.equal((await redeemLink(w.deps, token, 'test-request')).client, 'alice');
  });

  it('renders a bring-your-own-key config with the placeholder', async () => {
    const { w, net, gateway } = await setup();
    await createClient(w.deps, net, { gatewayId: gateway.id, name: 'byo', publicKey: 'xeHiecIGuuLrOEnyn2ydO0POUA+hD8HRQtdb1FHkkX4=' }, TEST_AUDIT);
    const { url } = await createLink(w.deps, net, 'byo', {}, TEST_AUDIT);
    const page = await redeemLink(w.deps, url.slice(url.lastIndexOf('/') + 1), 'test-request');
    assert.equal(page.needsPrivateKey, true);
    assert.match(w.objects.read(page.configUrl)!, /^PrivateKey = <paste your private key here>$/m);
  });
});
