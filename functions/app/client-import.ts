// Bulk import: up to MAX_IMPORT_CLIENTS clients for one gateway, each created or refused on its own
// by the single create's rules. Steps: check every item, refuse the later of two items that claim
// the same name, key or address, pick names, keys and addresses for the rest (never one another
// item chose), then write them as one batch (clients.ts reserveClientBatch / settleWithRestamp:
// every client under one stamp on one generation shard, which moves once at the end, so the
// gateway gets the whole import in one or two applies), several clients a transaction. A
// transaction is all or nothing, so an item whose claim fails takes nothing with it: it is
// dropped (or, when the claim was picked here, picked again) and the rest of its transaction goes again.
import {
  blockBounds,
  blockCount,
  checkChosenAddress,
  formatAddress,
  isUsableHost,
  leaseKey,
  parseLeaseKey,
  parseRange,
  randomHost,
  type AddressRange,
  type Family,
} from '../domain/address-pool.js';
import { AUDITED_FIELDS, auditRecord, changesBetween, type AuditContext } from '../domain/audit.js';
import { DomainError, NotFoundError } from '../domain/errors.js';
import { generateKeyPair } from '../domain/keys.js';
import type { Client, ClientSecrets, Network } from '../domain/model.js';
import { generateClientName } from '../domain/names.js';
import { describeIssue, ImportClientItem, type ImportClientsBody } from '../domain/schemas.js';
import { clientAnswer, reserveClientBatch, settleWithRestamp, type ClientDeps, type ClientView } from './clients.js';
import type { ClientBatch, ClientBatchWriter, ClientDraft, DraftConflict, Random } from './ports.js';
import { lostRace, retry } from './retry.js';

export type ImportDeps = ClientDeps & { batches: ClientBatchWriter };

export interface ItemError {
  code: string;
  message: string;
  /** The item's own field (`publicKey`, `address` …); the result's `index` says which item. */
  field?: string;
}

export type ImportItemResult = { index: number; status: 'created'; client: ClientView } | { index: number; status: 'failed'; error: ItemError };

export interface ImportResult {
  created: number;
  failed: number;
  results: ImportItemResult[];
}

// Leases read per query when picking addresses: a network of 10,000 clients is a few reads.
export const IMPORT_LEASE_BLOCK = 1024;
// Beyond this many blocks (large IPv6 ranges) a random pick practically never collides.
const MAX_WALKED_BLOCKS = 1n << 12n;
// A transaction goes again after lost races and redrafts; each round drops or redrafts at least one item.
const CHUNK_ATTEMPTS = 40;
// Transactions in flight at once: they share no item (the shard moves once, at the end).
export const IMPORT_CONCURRENCY = 4;

/** An item on its way in: what it asked for and what was picked for it. */
interface Pending {
  index: number;
  item: ImportClientItem;
  name: string;
  publicKey: string;
  secrets: ClientSecrets;
  address4: bigint;
  address6?: bigint;
}

class ItemFailure extends Error {
  constructor(readonly error: ItemError) {
    super(error.message);
  }
}

const fail = (code: string, message: string, field?: string) => new ItemFailure({ code, message, ...(field ? { field } : {}) });

export async function importClients(deps: ImportDeps, network: string, body: ImportClientsBody, audit: AuditContext): Promise<ImportResult> {
  const net = await deps.networks.get(network);
  if (!net) throw new NotFoundError('network', network);
  const gateway = await deps.gateways.get(network, body.gatewayId);
  if (!gateway) throw new NotFoundError('gateway', body.gatewayId);

  const results = new Map<number, ImportItemResult>();
  const refuse = (index: number, error: ItemError) => results.set(index, { index, status: 'failed', error });
  const ranges = { 4: parseRange(net.addressRange, 4), 6: net.addressRange6 ? parseRange(net.addressRange6, 6) : undefined };
  const claims = new ImportClaims();

  // 1. Each item by the single create's rules, and against the items before it.
  const checked: { index: number; item: ImportClientItem; address4?: bigint; address6?: bigint }[] = [];
  body.clients.forEach((raw, index) => {
    try {
      const item = parseItem(raw);
      if (item.publicKey !== undefined && item.publicKey === gateway.publicKey) {
        throw fail('public_key_taken', "this public key is the gateway's own key; a client needs a key of its own", 'publicKey');
      }
      const address4 = item.address !== undefined ? checkChosenAddress(ranges[4], item.address, 'address') : undefined;
      if (item.address6 !== undefined && !ranges[6]) {
        throw fail('validation_failed', 'the network has no IPv6 range (addressRange6), so a client cannot have an IPv6 address', 'address6');
      }
      const address6 = item.address6 !== undefined ? checkChosenAddress(ranges[6]!, item.address6, 'address6') : undefined;
      claims.claim(index, item, address4, address6);
      checked.push({ index, item, ...(address4 !== undefined ? { address4 } : {}), ...(address6 !== undefined ? { address6 } : {}) });
    } catch (err) {
      refuse(index, itemError(err));
    }
  });

  // 2. Names, keys and addresses for what the items left open.
  const pickers = {
    4: new AddressPicker(deps, network, ranges[4], claims.addresses[4]),
    6: ranges[6] ? new AddressPicker(deps, network, ranges[6], claims.addresses[6]) : undefined,
  };
  const pending: Pending[] = [];
  for (const { index, item, address4, address6 } of checked) {
    try {
      const keys = item.publicKey !== undefined ? { publicKey: item.publicKey, secrets: {} } : freshKeys();
      pending.push({
        index,
        item,
        name: item.name ?? claims.freshName(deps.random),
        ...keys,
        address4: address4 ?? (await pickers[4].next('address')),
        ...(pickers[6] ? { address6: address6 ?? (await pickers[6].next('address6')) } : {}),
      });
    } catch (err) {
      refuse(index, itemError(err));
    }
  }

  // 3. One batch: reserved on a shard, written a transaction at a time (a few at once), settled.
  if (pending.length === 0) return ordered(results);
  const batch = await reserveClientBatch(deps, net, body.gatewayId, pending.length);
  const chunks: Pending[][] = [];
  for (let i = 0; i < pending.length; i += deps.batches.maxDrafts) chunks.push(pending.slice(i, i + deps.batches.maxDrafts));
  const created: ClientView[] = [];
  let stopped: { err: unknown; error?: ItemError } | undefined;
  const writeChunk = async (first: Pending[]) => {
    let chunk = first;
    await retry(
      async () => {
        if (chunk.length === 0) return;
        const drafts = chunk.map((p) => draft(p, net, batch, deps.clock.now(), audit));
        const conflicts = await deps.batches.createMany(drafts);
        if (conflicts.length === 0) {
          drafts.forEach((d, i) => {
            const client = clientAnswer(d.client, false, null);
            created.push(client);
            results.set(chunk[i]!.index, { index: chunk[i]!.index, status: 'created', client });
          });
          return;
        }
        chunk = await learnFromConflicts(chunk, conflicts, network, claims, pickers, deps.random, refuse);
        throw new ChunkAgain();
      },
      { attempts: CHUNK_ATTEMPTS, retryOn: (err) => (err instanceof ChunkAgain ? 'now' : lostRace(err)), random: deps.random },
    );
  };
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(IMPORT_CONCURRENCY, chunks.length) }, async () => {
        while (next < chunks.length && !stopped) {
          const chunk = chunks[next++]!;
          try {
            await writeChunk(chunk);
          } catch (err) {
            stopped ??= { err, ...(err instanceof DomainError ? { error: itemError(err) } : {}) };
          }
        }
      }),
    );
  } finally {
    // The shard moves once for the whole import (its count: what was created).
    await settleWithRestamp(deps, batch, created, pending.length);
  }
  if (stopped) {
    // Nothing written: the request fails as a whole (and its Idempotency-Key stays free).
    // Otherwise what is written stays, and every item not written says why.
    const { err, error } = stopped;
    if (!error || ![...results.values()].some((r) => r.status === 'created')) throw err;
    for (const p of pending) if (!results.has(p.index)) refuse(p.index, error);
  }

  return ordered(results);
}

function ordered(results: Map<number, ImportItemResult>): ImportResult {
  const all = [...results.values()].sort((a, b) => a.index - b.index);
  const created = all.filter((r) => r.status === 'created').length;
  return { created, failed: all.length - created, results: all };
}

class ChunkAgain extends Error {}

function parseItem(raw: unknown): ImportClientItem {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail('validation_failed', 'each client must be a JSON object');
  const parsed = ImportClientItem.safeParse(raw);
  if (!parsed.success) {
    const { field, message } = describeIssue(parsed.error.issues[0]!);
    throw fail('validation_failed', message, field || undefined);
  }
  return parsed.data;
}

function itemError(err: unknown): ItemError {
  if (err instanceof ItemFailure) return err.error;
  if (err instanceof DomainError) return { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
  throw err;
}

function freshKeys(): { publicKey: string; secrets: ClientSecrets } {
  const pair = generateKeyPair();
  return { publicKey: pair.publicKey, secrets: { privateKey: pair.privateKey } };
}

function draft(p: Pending, net: Network, batch: ClientBatch, now: Date, audit: AuditContext): ClientDraft {
  const client: Client = {
    id: p.name,
    name: p.name,
    network: net.name,
    gatewayId: batch.gatewayId,
    address: formatAddress(p.address4, 4),
    ...(p.address6 !== undefined ? { address6: formatAddress(p.address6, 6) } : {}),
    publicKey: p.publicKey,
    dns: p.item.dns ?? [],
    enabled: true,
    hasPrivateKey: p.secrets.privateKey !== undefined,
    hasPresharedKey: false,
    ...(p.item.expiresAt ? { expiresAt: p.item.expiresAt } : {}),
    generation: batch.generation,
    genShard: batch.shard,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    version: 1,
  };
  return {
    client,
    leaseKeys: [leaseKey(p.address4, 4), ...(p.address6 !== undefined ? [leaseKey(p.address6, 6)] : [])],
    secrets: p.secrets,
    audit: auditRecord(audit, now, 'client.create', { type: 'client', network: net.name, id: p.name }, changesBetween(undefined, client, AUDITED_FIELDS.client)),
  };
}

/**
 * The transaction's items for its next round: an item whose own (asked-for) claim is taken is
 * refused, by its first lost claim; generated names and keys and picked addresses that lost are
 * picked again.
 */
async function learnFromConflicts(
  chunk: Pending[],
  conflicts: DraftConflict[],
  network: string,
  claims: ImportClaims,
  pickers: { 4: AddressPicker; 6?: AddressPicker },
  random: Random,
  refuse: (index: number, error: ItemError) => void,
): Promise<Pending[]> {
  const dropped = new Set<number>();
  for (const conflict of conflicts) {
    if (dropped.has(conflict.draft)) continue;
    const p = chunk[conflict.draft]!;
    try {
      switch (conflict.kind) {
        case 'name':
          if (p.item.name !== undefined) throw fail('name_taken', `a client named '${p.name}' already exists in network '${network}'`, 'name');
          p.name = claims.freshName(random);
          break;
        case 'publicKey':
        case 'gatewayPublicKey':
          if (p.item.publicKey !== undefined) {
            throw fail(
              'public_key_taken',
              conflict.kind === 'gatewayPublicKey'
                ? "this public key is the gateway's own key; a client needs a key of its own"
                : 'this public key is already used by another client in this network',
              'publicKey',
            );
          }
          Object.assign(p, freshKeys());
          break;
        case 'lease': {
          const { family, address } = parseLeaseKey(conflict.leaseKey);
          const field = family === 4 ? 'address' : 'address6';
          if ((family === 4 ? p.item.address : p.item.address6) !== undefined) {
            throw fail('address_taken', `address ${formatAddress(address, family)} is already in use in network '${network}'`, field);
          }
          if (family === 4) p.address4 = await pickers[4].next(field);
          else p.address6 = await pickers[6]!.next(field);
          break;
        }
      }
    } catch (err) {
      refuse(p.index, itemError(err));
      dropped.add(conflict.draft);
    }
  }
  return chunk.filter((_p, i) => !dropped.has(i));
}

/** What the items of this import claim among themselves: a later item may not take an earlier one's. */
class ImportClaims {
  readonly names = new Map<string, number>();
  readonly publicKeys = new Map<string, number>();
  readonly addresses: Record<Family, Set<bigint>> = { 4: new Set(), 6: new Set() };
  private readonly addressOwners = new Map<string, number>();

  claim(index: number, item: ImportClientItem, address4: bigint | undefined, address6: bigint | undefined): void {
    const earlier = (what: string, other: number) => `${what} is also item ${other} of this import (the first one keeps it)`;
    if (item.name !== undefined && this.names.has(item.name)) {
      throw fail('name_taken', earlier(`the name '${item.name}'`, this.names.get(item.name)!), 'name');
    }
    if (item.publicKey !== undefined && this.publicKeys.has(item.publicKey)) {
      throw fail('public_key_taken', earlier('this public key', this.publicKeys.get(item.publicKey)!), 'publicKey');
    }
    for (const [address, family, field] of [[address4, 4, 'address'], [address6, 6, 'address6']] as const) {
      const other = address !== undefined ? this.addressOwners.get(`${family}/${address}`) : undefined;
      if (other !== undefined) throw fail('address_taken', earlier(`address ${formatAddress(address!, family)}`, other), field);
    }
    if (item.name !== undefined) this.names.set(item.name, index);
    if (item.publicKey !== undefined) this.publicKeys.set(item.publicKey, index);
    for (const [address, family] of [[address4, 4], [address6, 6]] as const) {
      if (address === undefined) continue;
      this.addresses[family].add(address);
      this.addressOwners.set(`${family}/${address}`, index);
    }
  }

  /** A generated name no item of this import has. */
  freshName(random: Random): string {
    for (;;) {
      const name = generateClientName(random);
      if (!this.names.has(name)) {
        this.names.set(name, -1);
        return name;
      }
    }
  }

}

/**
 * Free addresses for the items that did not choose one. Reads the range's leases a block at a
 * time from a random block on (so concurrent imports and creates spread out), and hands out each
 * free address once; an address another writer takes meanwhile makes its batch pick again.
 */
class AddressPicker {
  private readonly blocks: bigint;
  private readonly blind: boolean;
  private readonly startBlock: bigint;
  private visited = 0n;
  private free: bigint[] = [];

  constructor(
    private readonly deps: Pick<ImportDeps, 'clients' | 'random'>,
    readonly network: string,
    private readonly range: AddressRange,
    /** Addresses the import's items chose or were given: never handed out again. */
    private readonly used: Set<bigint>,
  ) {
    this.blocks = blockCount(range, IMPORT_LEASE_BLOCK);
    this.blind = this.blocks > MAX_WALKED_BLOCKS;
    this.startBlock = BigInt(Math.floor(deps.random() * Number(this.blind ? 1n : this.blocks)));
  }

  /** One pick at a time: batches learning from their conflicts may ask at once. */
  next(field: string): Promise<bigint> {
    const pick = this.queue.then(() => this.pick(field));
    this.queue = pick.then(
      () => undefined,
      () => undefined,
    );
    return pick;
  }

  private queue: Promise<void> = Promise.resolve();

  private async pick(field: string): Promise<bigint> {
    if (this.blind) {
      for (;;) {
        const candidate = randomHost(this.range, this.deps.random);
        if (!this.used.has(candidate)) return this.take(candidate);
      }
    }
    for (;;) {
      const candidate = this.free.pop();
      if (candidate !== undefined) {
        if (!this.used.has(candidate)) return this.take(candidate);
        continue;
      }
      if (this.visited >= this.blocks) {
        throw fail('address_pool_exhausted', `address pool exhausted: every address of ${this.range.text} is in use`, field);
      }
      await this.readBlock((this.startBlock + this.visited++) % this.blocks);
    }
  }

  private take(address: bigint): bigint {
    this.used.add(address);
    return address;
  }

  private async readBlock(index: bigint): Promise<void> {
    const bounds = blockBounds(this.range, index, IMPORT_LEASE_BLOCK);
    if (!bounds) return;
    const family = this.range.family;
    const taken = await this.deps.clients.leasesBetween(this.network, leaseKey(bounds.first, family), leaseKey(bounds.last, family));
    const free: bigint[] = [];
    for (let a = bounds.last; a >= bounds.first; a--) {
      if (isUsableHost(this.range, a) && !taken.has(leaseKey(a, family)) && !this.used.has(a)) free.push(a);
    }
    // pop() hands out the lowest first.
    this.free = free;
  }
}

