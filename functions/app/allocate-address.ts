// Picks a free address for a new lease. The pick is only a candidate: the lease is claimed by a
// conditional write in the caller's transaction, so two allocators racing for the same address
// cannot both win; the loser picks again.
import {
  blockBounds,
  blockCount,
  leaseKey,
  parseLeaseKey,
  pickFree,
  randomHost,
  type AddressRange,
} from '../domain/address-pool.js';
import type { ClientStore, Random } from './ports.js';

export const LEASE_BLOCK_SIZE = 64;
// Beyond this many blocks (IPv6 ranges) collisions are so unlikely that a blind random pick wins.
const MAX_WALKABLE_BLOCKS = 1n << 16n;

export class AddressPoolExhausted extends Error {}

/**
 * A free-looking address of the range, avoiding `avoid` (candidates that already lost a race).
 * Reads one block of leases at a time, starting at a random block, so concurrent allocators spread
 * out instead of all fighting over the lowest free address.
 */
export async function pickCandidate(
  store: Pick<ClientStore, 'leasesBetween'>,
  network: string,
  range: AddressRange,
  avoid: ReadonlySet<bigint>,
  random: Random,
): Promise<bigint> {
  const blocks = blockCount(range, LEASE_BLOCK_SIZE);
  if (blocks > MAX_WALKABLE_BLOCKS) {
    for (let i = 0; i < 8; i++) {
      const candidate = randomHost(range, random);
      if (!avoid.has(candidate)) return candidate;
    }
  }
  const start = BigInt(Math.floor(random() * Number(blocks < MAX_WALKABLE_BLOCKS ? blocks : MAX_WALKABLE_BLOCKS)));
  for (let step = 0n; step < blocks; step++) {
    const index = (start + step) % blocks;
    const bounds = blockBounds(range, index, LEASE_BLOCK_SIZE);
    if (!bounds) continue;
    const taken = await store.leasesBetween(
      network,
      leaseKey(bounds.first, range.family),
      leaseKey(bounds.last, range.family),
    );
    const used = new Set<bigint>(avoid);
    for (const key of taken) used.add(parseLeaseKey(key).address);
    const candidate = pickFree(range, index, LEASE_BLOCK_SIZE, used, random);
    if (candidate !== undefined) return candidate;
  }
  throw new AddressPoolExhausted(`no free address left in ${range.text}`);
}
