// What the admin and the end user download: a client's rendered config and its QR code, handed out
// as short-lived signed S3 URLs, directly (admin) or through a one-time link (end user).
import { createHash } from 'node:crypto';
import { auditRecord, type AuditContext } from '../domain/audit.js';
import { ConflictError, GoneError, NotFoundError, UnknownLinkError } from '../domain/errors.js';
import { isExpired, type Client, type Gateway, type Network } from '../domain/model.js';
import { renderQrPng } from '../domain/qr.js';
import { bucketPrefixes } from '../domain/object-keys.js';
import { attachmentDisposition, configFilename, renderClientConfig } from '../domain/render-client-config.js';
import { LINK_TTL_SECONDS, type CreateLinkBody } from '../domain/schemas.js';
import type { ClientStore, Clock, GatewayStore, LinkRecord, LinkStore, NetworkStore, ObjectStore, RandomBytes, SecretsReader } from './ports.js';

export interface DownloadDeps {
  networks: NetworkStore;
  gateways: GatewayStore;
  clients: ClientStore;
  secrets: SecretsReader;
  links: LinkStore;
  objects: ObjectStore;
  clock: Clock;
  randomBytes: RandomBytes;
  /** Where /dl/{token} is served, e.g. https://vpn-admin.example.com */
  publicBaseUrl: string;
}

/** The admin's signed URLs: long enough to click, short enough not to linger in a history. */
export const CONFIG_URL_SECONDS = 5 * 60;
/** The end user's signed URLs, on the page shown after a link is spent. */
export const PAGE_URL_SECONDS = 2 * 60;
const CONFIG_CONTENT_TYPE = 'text/plain; charset=utf-8';
const QR_CONTENT_TYPE = 'image/png';

export interface ConfigDownload {
  configUrl: string;
  qrUrl: string;
  filename: string;
  expiresAt: string;
}

export interface PageDownload extends ConfigDownload {
  network: string;
  client: string;
  /** Side of the square QR image in pixels, for the page's <img> size. */
  qrPixels: number;
  /** How long the signed URLs work. */
  expiresInSeconds: number;
  /** The client brought its own public key: the config carries a placeholder for the private key. */
  needsPrivateKey: boolean;
}

export interface LinkView {
  network: string;
  client: string;
  expiresAt: string;
}

interface Renderable {
  client: Client;
  gateway: Gateway & { publicKey: string };
  network: Network;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function getConfigDownload(deps: DownloadDeps, network: string, clientName: string): Promise<ConfigDownload> {
  const client = await deps.clients.get(network, clientName);
  if (!client) throw new NotFoundError('client', clientName);
  const now = deps.clock.now();
  if (!client.enabled) throw new ConflictError('client_disabled', `client '${clientName}' is disabled; enable it to download its config`);
  if (isExpired(client, now)) throw new ConflictError('client_expired', `client '${clientName}' expired at ${client.expiresAt}`);
  const parts = await loadRenderable(deps, client);
  const { configUrl, qrUrl, filename, expiresAt } = await publish(deps, parts, CONFIG_URL_SECONDS);
  return { configUrl, qrUrl, filename, expiresAt };
}

export async function createLink(
  deps: DownloadDeps,
  network: string,
  clientName: string,
  body: CreateLinkBody,
  audit: AuditContext,
): Promise<{ url: string; expiresAt: string }> {
  const client = await deps.clients.get(network, clientName);
  if (!client) throw new NotFoundError('client', clientName);
  const now = deps.clock.now();
  if (!client.enabled) throw new ConflictError('client_disabled', `client '${clientName}' is disabled; enable it before sending a link`);
  if (isExpired(client, now)) throw new ConflictError('client_expired', `client '${clientName}' expired at ${client.expiresAt}`);

  const token = deps.randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + (body.expiresInSeconds ?? LINK_TTL_SECONDS.default) * 1000).toISOString();
  // The record names the client and the expiry: never the token or its hash.
  const record = auditRecord(audit, now, 'link.create', linkResource(network, clientName), { expiresAt: { from: null, to: expiresAt } });
  await deps.links.create(
    {
      tokenHash: hashToken(token),
      network,
      client: clientName,
      clientCreatedAt: client.createdAt,
      clientVersion: client.version,
      createdAt: now.toISOString(),
      expiresAt,
    },
    record,
  );
  // The one answer that carries the token: it is what the admin sends to the end user.
  return { url: `${deps.publicBaseUrl.replace(/\/+$/, '')}/dl/${token}`, expiresAt };
}

export async function revokeLinks(deps: DownloadDeps, network: string, clientName: string, audit: AuditContext): Promise<number> {
  const client = await deps.clients.get(network, clientName);
  if (!client) throw new NotFoundError('client', clientName);
  const now = deps.clock.now().toISOString();
  const record = auditRecord(audit, now, 'link.revoke', linkResource(network, clientName), {
    linksRevokedAt: { from: client.linksRevokedAt ?? null, to: now },
  });
  // The mark covers a link created just before this call that the index query below cannot see
  // yet (gsi1 is only eventually consistent); the query makes each link say "revoked" by itself.
  await deps.clients.markLinksRevoked(network, clientName, now, record);
  return deps.links.revokeAll(network, clientName, now);
}

/** For the landing page: whether the link could be redeemed now. Reads only; spends nothing. */
export async function inspectLink(deps: DownloadDeps, token: string): Promise<LinkView> {
  const link = await deps.links.get(hashToken(token));
  const now = deps.clock.now();
  refuseClosedLink(link, now);
  const client = await usableClient(deps, link, now);
  const gateway = await deps.gateways.get(client.network, client.gatewayId);
  if (!isReady(gateway)) throw gatewayNotReady();
  return { network: link.network, client: link.client, expiresAt: link.expiresAt };
}

/**
 * Spends the link (exactly once, whatever the concurrency) and publishes the config and QR. The
 * spend writes the `link.redeem` record; a spend given back (release) removes it again.
 */
export async function redeemLink(deps: DownloadDeps, token: string, requestId: string): Promise<PageDownload> {
  const tokenHash = hashToken(token);
  const now = deps.clock.now();
  const spendId = deps.randomBytes(16).toString('hex');
  // Which link it is shows only once the spend returns it: the record needs the network and
  // client first, so the link is read (a stale read only names the record; the spend decides).
  const seen = await deps.links.get(tokenHash);
  if (!seen) throw new UnknownLinkError();
  const record = auditRecord(
    { actor: { type: 'link', id: `${seen.network}/${seen.client}` }, requestId },
    now,
    'link.redeem',
    linkResource(seen.network, seen.client),
    { usedAt: { from: null, to: now.toISOString() } },
  );
  const outcome = await deps.links.spend(tokenHash, now.toISOString(), spendId, record);
  if (!outcome.spent) {
    refuseClosedLink(outcome.link, now);
    // The condition failed but the record reads as open: the clocks disagree by a hair; still "expired".
    throw new GoneError('link_expired', 'this link has expired');
  }
  try {
    const client = await usableClient(deps, outcome.link, now);
    const parts = await loadRenderable(deps, client);
    return await publish(deps, parts, PAGE_URL_SECONDS);
  } catch (err) {
    // A disabled or deleted client keeps the link spent: the admin withdrew the access it was for.
    if (err instanceof GoneError) throw err;
    // Not the user's fault (gateway not ready yet, S3 or DynamoDB trouble): give the link back.
    await deps.links.release(tokenHash, spendId, record).catch(() => undefined);
    throw err;
  }
}

const linkResource = (network: string, client: string) => ({ type: 'link' as const, network, id: client });

function refuseClosedLink(link: LinkRecord | undefined, now: Date): asserts link is LinkRecord {
  if (!link) throw new UnknownLinkError();
  if (link.usedAt) throw new GoneError('link_used', 'this link has already been used');
  if (link.revokedAt) throw new GoneError('link_revoked', 'this link has been revoked');
  if (Date.parse(link.expiresAt) <= now.getTime()) throw new GoneError('link_expired', 'this link has expired');
}

async function usableClient(deps: DownloadDeps, link: LinkRecord, now: Date): Promise<Client> {
  const client = await deps.clients.get(link.network, link.client);
  if (!client || client.createdAt !== link.clientCreatedAt) throw new GoneError('client_deleted', 'the client this link was made for has been deleted');
  if (client.linksRevokedAt !== undefined && link.createdAt <= client.linksRevokedAt) {
    throw new GoneError('link_revoked', 'this link has been revoked');
  }
  if (!client.enabled) throw new GoneError('client_disabled', 'the client this link was made for is disabled');
  if (isExpired(client, now)) throw new GoneError('client_expired', 'the client this link was made for has expired');
  return client;
}


function isReady(gateway: Gateway | undefined): gateway is Gateway & { publicKey: string } {
  return gateway !== undefined && gateway.status === 'ready' && typeof gateway.publicKey === 'string';
}

function gatewayNotReady(): ConflictError {
  return new ConflictError('gateway_not_ready', "the client's gateway is not ready yet (it has not reported its public key)");
}

async function loadRenderable(deps: DownloadDeps, client: Client): Promise<Renderable> {
  const [gateway, network] = await Promise.all([
    deps.gateways.get(client.network, client.gatewayId),
    deps.networks.get(client.network),
  ]);
  if (!isReady(gateway)) throw gatewayNotReady();
  if (!network) throw new NotFoundError('network', client.network);
  return { client, gateway, network };
}

async function publish(deps: DownloadDeps, { client, gateway, network }: Renderable, expiresInSeconds: number): Promise<PageDownload> {
  const secrets = await deps.secrets.get(client.network, client.name);
  // A generated key that went missing must not quietly turn into the bring-your-own placeholder.
  if (client.hasPrivateKey && !secrets.privateKey) throw new Error('client secrets are missing the private key');
  if (client.hasPresharedKey && !secrets.presharedKey) throw new Error('client secrets are missing the preshared key');
  const config = renderClientConfig({
    client,
    ...(secrets.privateKey !== undefined ? { privateKey: secrets.privateKey } : {}),
    ...(secrets.presharedKey !== undefined ? { presharedKey: secrets.presharedKey } : {}),
    gateway,
    network,
  });
  const qr = await renderQrPng(config);
  const filename = configFilename(client.network, client.name);

  // A fresh random name per download: a signed URL handed out earlier can never show a later
  // config, and the bucket's lifecycle rule on the prefix removes both files after a day.
  const base = `${bucketPrefixes.downloads.prefix}${client.network}/${client.name}/${deps.randomBytes(16).toString('hex')}`;
  await Promise.all([
    deps.objects.putObject(`${base}.conf`, config, CONFIG_CONTENT_TYPE),
    deps.objects.putObject(`${base}.png`, qr, QR_CONTENT_TYPE),
  ]);
  const expiresAt = new Date(deps.clock.now().getTime() + expiresInSeconds * 1000).toISOString();
  const [configUrl, qrUrl] = await Promise.all([
    deps.objects.signedGetUrl(`${base}.conf`, {
      expiresInSeconds,
      contentDisposition: attachmentDisposition(filename),
      contentType: CONFIG_CONTENT_TYPE,
      cacheControl: 'no-store',
    }),
    deps.objects.signedGetUrl(`${base}.png`, { expiresInSeconds, contentType: QR_CONTENT_TYPE, cacheControl: 'no-store' }),
  ]);
  return {
    configUrl,
    qrUrl,
    filename,
    expiresAt,
    network: client.network,
    client: client.name,
    qrPixels: qr.readUInt32BE(16), // the PNG's IHDR width
    expiresInSeconds,
    needsPrivateKey: secrets.privateKey === undefined,
  };
}
