// What answers show of the gateways' reports: a client's `status`, a gateway's `health`, merged at
// read time from the one snapshot per gateway (gateway-reports.ts). A container keeps each parsed
// snapshot for a few seconds and then asks only whether it changed (its ETag), so a list page of
// 100 clients costs at most one small conditional read per gateway, and usually none.
import type { ClientStatus, GatewayHealth } from '../domain/gateway-report.js';
import { SnapshotView } from '../domain/gateway-report.js';
import type { Client, Gateway } from '../domain/model.js';
import type { Clock, StatusSnapshotStore } from './ports.js';

/** How long a container trusts a snapshot it read before it asks again (reports come every 10-60 s). */
export const SNAPSHOT_CACHE_MS = 5_000;
const MAX_CACHED = 500;

interface Cached {
  etag: string;
  view: SnapshotView;
}

/** The snapshots as answers read them, cached per container. */
export class StatusReader {
  private readonly cache = new Map<string, Cached | null>();
  private readonly checked = new Map<string, number>();

  constructor(
    private readonly store: Pick<StatusSnapshotStore, 'read'>,
    private readonly clock: Clock,
    private readonly ttlMs = SNAPSHOT_CACHE_MS,
  ) {}

  /** The gateway's snapshot, or undefined when it has never been written. */
  async view(network: string, gatewayId: string): Promise<SnapshotView | undefined> {
    const key = `${network}/${gatewayId}`;
    const now = this.clock.now().getTime();
    const cached = this.cache.get(key);
    if (cached !== undefined && now - (this.checked.get(key) ?? 0) < this.ttlMs) return cached?.view;
    let read: Awaited<ReturnType<StatusSnapshotStore['read']>>;
    try {
      read = await this.store.read(network, gatewayId, cached?.etag);
    } catch {
      // Status only adds to an answer: a snapshot that cannot be read now (the store down, an
      // object caught mid-write) leaves the last one read, or none, and is asked for again next time.
      return cached?.view;
    }
    this.checked.set(key, now);
    if (read === 'unchanged' && cached) return cached.view;
    const next = read === undefined || read === 'unchanged' ? null : { etag: read.etag, view: new SnapshotView(read.snapshot) };
    if (this.cache.size >= MAX_CACHED && !this.cache.has(key)) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.checked.delete(oldest);
    }
    this.cache.set(key, next);
    return next?.view;
  }

  async health(gateway: Pick<Gateway, 'network' | 'id'>): Promise<GatewayHealth | null> {
    return (await this.view(gateway.network, gateway.id))?.health(this.clock.now()) ?? null;
  }

  async clientStatus(client: Pick<Client, 'network' | 'gatewayId' | 'publicKey'>): Promise<ClientStatus | null> {
    return (await this.view(client.network, client.gatewayId))?.clientStatus(client.publicKey, this.clock.now()) ?? null;
  }
}

/** A gateway as the API shows it: with what its last report says (null until the first run saw it). */
export type GatewayView = Gateway & { health: GatewayHealth | null };

export async function withHealth(status: Pick<StatusReader, 'health'> | undefined, gateway: Gateway): Promise<GatewayView> {
  return { ...gateway, health: status ? await status.health(gateway) : null };
}

export async function pageWithHealth<P extends { items: Gateway[] }>(status: Pick<StatusReader, 'health'> | undefined, page: P): Promise<Omit<P, 'items'> & { items: GatewayView[] }> {
  const items: GatewayView[] = [];
  for (const g of page.items) items.push(await withHealth(status, g));
  return { ...page, items };
}
