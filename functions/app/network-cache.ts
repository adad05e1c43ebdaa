// Per-container cache of networks for the create-client path. Safe because a network's ranges
// never change once created, and the create transaction checks the ranges it used against the
// gateway's generation shard, which holds the network's ranges as they were when the gateway was
// made (a deleted or re-created network makes it fail and the cache forget the entry).
import type { Network } from '../domain/model.js';
import type { Clock, NetworkStore } from './ports.js';

export class NetworkCache {
  private readonly entries = new Map<string, { network: Network; at: number }>();

  constructor(
    private readonly store: Pick<NetworkStore, 'get'>,
    private readonly clock: Clock,
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 1000,
  ) {}

  async get(name: string): Promise<Network | undefined> {
    const now = this.clock.now().getTime();
    const hit = this.entries.get(name);
    if (hit && now - hit.at < this.ttlMs) return hit.network;
    const network = await this.store.get(name);
    if (network) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(name, { network, at: now });
    } else {
      this.entries.delete(name);
    }
    return network;
  }

  forget(name: string): void {
    this.entries.delete(name);
  }
}
