// Export: every client of a network as CSV or JSON, as the API answers clients (no private or
// preshared key ever: they live in the secrets table, which this path does not read). An export
// larger than one answer may carry goes to S3 and is answered with a signed URL minutes long.
import { clientsCsv, type ExportedClient } from '../domain/client-table.js';
import { NotFoundError } from '../domain/errors.js';
import type { Client, Gateway } from '../domain/model.js';
import { bucketPrefixes } from '../domain/object-keys.js';
import type { ExportClientsQuery } from '../domain/schemas.js';
import { view } from './clients.js';
import type { ClientStore, Clock, GatewayStore, NetworkReader, ObjectStore, RandomBytes } from './ports.js';

export interface ExportDeps {
  networks: NetworkReader;
  gateways: Pick<GatewayStore, 'list'>;
  clients: Pick<ClientStore, 'list'>;
  objects: Pick<ObjectStore, 'putObject' | 'signedGetUrl'>;
  clock: Clock;
  randomBytes: RandomBytes;
  /** Larger exports go to S3 (config EXPORT_INLINE_MAX_BYTES). */
  exportInlineMaxBytes: number;
}

export const EXPORT_URL_SECONDS = 300;
const PAGE = 1000;

export type ExportAnswer =
  | { kind: 'inline'; contentType: string; filename: string; body: string }
  | { kind: 'url'; url: string; expiresAt: string; filename: string; format: 'csv' | 'json'; count: number; bytes: number };

export async function exportClients(deps: ExportDeps, network: string, query: ExportClientsQuery): Promise<ExportAnswer> {
  const net = await deps.networks.get(network);
  if (!net) throw new NotFoundError('network', network);
  const clients = await everyClient(deps, network);
  const now = deps.clock.now();
  const filename = `${network}-clients.${query.format}`;
  const contentType = query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8';
  const body =
    query.format === 'csv' ? clientsCsv(clients) : JSON.stringify({ network, exportedAt: now.toISOString(), count: clients.length, clients });
  const bytes = Buffer.byteLength(body);
  if (bytes <= deps.exportInlineMaxBytes) return { kind: 'inline', contentType, filename, body };

  const key = `${bucketPrefixes.exports.prefix}${network}/${now.getTime()}-${deps.randomBytes(16).toString('hex')}.${query.format}`;
  await deps.objects.putObject(key, body, contentType);
  const url = await deps.objects.signedGetUrl(key, {
    expiresInSeconds: EXPORT_URL_SECONDS,
    contentDisposition: `attachment; filename="${filename}"`,
    contentType,
    cacheControl: 'no-store',
  });
  return {
    kind: 'url',
    url,
    expiresAt: new Date(now.getTime() + EXPORT_URL_SECONDS * 1000).toISOString(),
    filename,
    format: query.format,
    count: clients.length,
    bytes,
  };
}

/** Every client of the network in name order, each as the API shows it (inEffect included). */
async function everyClient(deps: ExportDeps, network: string): Promise<ExportedClient[]> {
  const gateways = new Map<string, Gateway>();
  let cursor: string | undefined;
  do {
    const page = await deps.gateways.list(network, 100, cursor);
    for (const g of page.items) gateways.set(g.id, g);
    cursor = page.nextCursor;
  } while (cursor);
  const clients: Client[] = [];
  do {
    const page = await deps.clients.list(network, { limit: PAGE, ...(cursor ? { cursor } : {}) });
    clients.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  // No status: an export is the clients' settings, not what a gateway last saw of them.
  return clients.map((c) => {
    const { status: _status, ...exported } = view(c, gateways.get(c.gatewayId), undefined, deps.clock.now());
    return exported;
  });
}
