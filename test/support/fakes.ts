// In-memory stand-ins for every port in functions/app/ports.ts, for the use cases' unit tests.
// They keep the adapters' contracts (functions/adapters/*): each method does its checks and its
// writes with no await in between, so it is as atomic as the DynamoDB transaction it stands for,
// and a refused write changes nothing. One table holds everything, so a client create claims its
// leases and moves its gateway's generation together, exactly as the real transaction does.
//
// `faults` makes the next calls of a method fail (another writer won: WriteConflictError) or runs
// another writer's change just before them, so retries can be tested without an emulator.
import { createHash } from 'node:crypto';
import type { AuditDeps } from '../../functions/app/audit.js';
import type { ClientDeps } from '../../functions/app/clients.js';
import type { DownloadDeps } from '../../functions/app/downloads.js';
import type { SyncDeps } from '../../functions/app/gateway-sync.js';
import { createGateway, type GatewayDeps } from '../../functions/app/gateways.js';
import { createNetwork, type NetworkDeps } from '../../functions/app/networks.js';
import type {
  AuditQuery,
  AppliedRecord,
  AuditReader,
  ClientBatch,
  ClientChange,
  ClientStore,
  Clock,
  CreateOptions,
  GatewayCommandSender,
  GatewayReporter,
  GatewayStore,
  IdempotencyGuard,
  InitOutcome,
  LinkRecord,
  LinkStore,
  NetworkGuard,
  NetworkStore,
  ObjectStore,
  Page,
  Random,
  RandomBytes,
  SecretsReader,
  SignedGetUrlOptions,
  SpendOutcome,
  StatusSnapshotStore,
} from '../../functions/app/ports.js';
import type { AgentState, StatusSnapshot } from '../../functions/domain/gateway-report.js';
import {
  AddressTakenError,
  ConflictError,
  GenerationBehindError,
  IdempotencyInFlightError,
  IdempotencyKeyReusedError,
  NameTakenError,
  NetworkChangedError,
  NotFoundError,
  PublicKeyTakenError,
  ValidationError,
  WriteConflictError,
} from '../../functions/domain/errors.js';
import {
  validateCommandParameters,
  type CommandParameters,
  type CommandResult,
  type DocumentKind,
} from '../../functions/domain/gateway-commands.js';
import { auditRecord, type AuditContext, type AuditRecord } from '../../functions/domain/audit.js';
import { clientCountOf, desiredVector, GENERATION_SHARDS, generationStamp, isInSync, nextApplyGeneration, shardName } from '../../functions/domain/generation.js';
import { assertNoCredentialInParameters } from '../../infra/local/gateway-runner.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import type { Client, ClientSecrets, Gateway, GenerationShard, Network, SyncResult } from '../../functions/domain/model.js';

// --- failure injection -----------------------------------------------------------------------------

interface Ports {
  networks: NetworkStore;
  gateways: GatewayStore;
  clients: ClientStore;
  secrets: SecretsReader;
  links: LinkStore;
  audit: AuditReader;
  objects: ObjectStore;
  commands: GatewayCommandSender;
  idempotency: IdempotencyGuard;
}
/** 'clients.create', 'gateways.update', …: every method of every port. */
export type Method = { [P in keyof Ports]: `${P}.${Extract<keyof Ports[P], string>}` }[keyof Ports];
type ArgsOf<M extends Method> = M extends `${infer P extends keyof Ports}.${infer F}`
  ? F extends keyof Ports[P]
    ? Ports[P][F] extends (...args: infer A) => unknown
      ? A
      : never
    : never
  : never;
type Hook = (...args: never[]) => unknown;

export class Faults {
  private readonly hooks = new Map<Method, Hook[]>();
  private readonly counts = new Map<Method, number>();

  /** Runs `hook` before each of the next `times` calls of `method`: it may throw, or change the table (another writer's move). */
  before<M extends Method>(method: M, hook: (...args: ArgsOf<M>) => unknown, times = 1): void {
    const queue = this.hooks.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(hook as Hook);
    this.hooks.set(method, queue);
  }

  /** The next `times` calls of `method` fail with `error()` and change nothing (default: another writer won). */
  failNext(method: Method, times = 1, error: () => unknown = () => new WriteConflictError()): void {
    this.before(method, () => {
      throw error();
    }, times);
  }

  /** How often `method` was called (failed calls included). */
  calls(method: Method): number {
    return this.counts.get(method) ?? 0;
  }

  async enter(method: Method, args: unknown[]): Promise<void> {
    this.counts.set(method, this.calls(method) + 1);
    const hook = this.hooks.get(method)?.shift();
    if (hook) await (hook as (...a: unknown[]) => unknown)(...args);
  }
}

// --- clock and randomness --------------------------------------------------------------------------

export class FakeClock implements Clock {
  private ms: number;
  constructor(start = '2026-06-01T12:00:00.000Z') {
    this.ms = Date.parse(start);
  }
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** mulberry32: the same seed gives the same sequence, so every run picks the same names and addresses. */
export function seededRandom(seed = 1): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

let yearsAhead = 0;
/**
 * A generation larger than any stamp drawn so far in this process, as written by a process whose
 * clock runs ahead. Each call is a year further: the use cases' stampers remember their last stamp
 * across tests, so a fixed value could already be behind them.
 */
export function generationAhead(clock: Clock): number {
  return generationStamp(clock.now().getTime() + ++yearsAhead * 365 * 86_400_000);
}

/** Deterministic bytes, different on every call: SHA-256 of the seed and a counter. */
export function seededBytes(seed = 1): RandomBytes {
  let counter = 0;
  return (size) => {
    const chunks: Buffer[] = [];
    for (let n = 0; n < size; n += 32) chunks.push(createHash('sha256').update(`${seed}:${counter++}`).digest());
    return Buffer.concat(chunks).subarray(0, size);
  };
}

// --- the table -------------------------------------------------------------------------------------

const key = (network: string, id: string) => `${network}/${id}`;
const copy = <T>(value: T): T => structuredClone(value);

/** Everything the stores hold; tests may read it (and set it up) directly. */
export class MemoryTable {
  readonly networks = new Map<string, { network: Network; gatewayCount: number }>();
  readonly gateways = new Map<string, GatewayRow>();
  readonly clients = new Map<string, Client>();
  /** network → lease key → owner ('client:<name>' or 'gateway:<id>'). */
  readonly leases = new Map<string, Map<string, string>>();
  /** network → public key → owner ('client:<name>'): the adapter's KEY# claim items. */
  readonly publicKeys = new Map<string, Map<string, string>>();
  readonly secrets = new Map<string, ClientSecrets>();
  readonly links = new Map<string, LinkRecord & { spendId?: string }>();
  /** The audit records, in commit order: each written by the same store call as its change. */
  readonly audit: AuditRecord[] = [];
  readonly faults = new Faults();

  /** The adapter's audit Put: part of the change's transaction, so only once the change's conditions held. */
  writeAudit(record: AuditRecord): void {
    if (this.audit.some((a) => a.id === record.id)) throw new Error('ConditionalCheckFailedException: audit record exists');
    this.audit.push(copy(record));
  }

  leasesOf(network: string): Map<string, string> {
    let map = this.leases.get(network);
    if (!map) this.leases.set(network, (map = new Map()));
    return map;
  }

  publicKeysOf(network: string): Map<string, string> {
    let map = this.publicKeys.get(network);
    if (!map) this.publicKeys.set(network, (map = new Map()));
    return map;
  }

  gatewayRow(network: string, id: string) {
    return this.gateways.get(key(network, id));
  }

  /** The adapter's shard condition: the gateway (its shard) exists and the shard's generation is smaller. */
  checkShard(network: string, gatewayId: string, shard: number | undefined, generation: number, below = true) {
    const row = this.gatewayRow(network, gatewayId);
    if (!row) throw new NotFoundError('gateway', gatewayId);
    const s = row.shards[shardName(shard ?? 0)]!;
    if (below && !(s.generation < generation)) throw new GenerationBehindError(s.generation);
    return { row, shard: s };
  }
}

/** A gateway item with its generation shards (the adapter's GWGEN# items). */
export class GatewayRow {
  /** Clients counted on the gateway item (before shards); the shards count the rest. */
  legacyCount = 0;
  readonly shards: Record<string, GenerationShard> = Object.fromEntries(
    Array.from({ length: GENERATION_SHARDS }, (_, k) => [shardName(k), { generation: 0, clientCount: 0 }]),
  );
  constructor(public gateway: Gateway) {}

  get clientCount(): number {
    return clientCountOf({ shards: this.shards }, this.legacyCount);
  }

  /** The gateway as the adapter's get answers it: with its shards. */
  read(): Gateway {
    return copy({ ...this.gateway, shards: this.shards });
  }

  expiring(shard: string, add?: string[], remove?: string[]): void {
    const s = this.shards[shard];
    if (!s) return;
    const names = new Set(s.expiring ?? []);
    for (const n of add ?? []) names.add(n);
    for (const n of remove ?? []) names.delete(n);
    if (names.size) s.expiring = [...names].sort();
    else delete s.expiring;
  }
}

/** DynamoDB pages: `limit` items in key order, and a cursor whenever the limit was reached. */
function page<T>(rows: [string, T][], scope: string, limit: number, cursor?: string): Page<T> {
  let after: string | undefined;
  if (cursor !== undefined) {
    const [s, k] = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
    if (s !== scope || k === undefined) throw new ValidationError('cursor', 'cursor must be a value returned as nextCursor by this list');
    after = k;
  }
  const sorted = rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).filter(([k]) => after === undefined || k > after);
  const items = sorted.slice(0, limit);
  const last = items.length === limit ? items[items.length - 1]![0] : undefined;
  return {
    items: items.map(([, v]) => copy(v)),
    ...(last !== undefined ? { nextCursor: Buffer.from(`${scope}\n${last}`).toString('base64url') } : {}),
  };
}

// --- networks, gateways, clients -------------------------------------------------------------------

export class MemoryNetworkStore implements NetworkStore {
  constructor(private readonly t: MemoryTable) {}

  async create(network: Network, audit: AuditRecord): Promise<void> {
    await this.t.faults.enter('networks.create', [network]);
    if (this.t.networks.has(network.name)) throw new ConflictError('name_taken', `a network named '${network.name}' already exists`, 'name');
    this.t.writeAudit(audit);
    this.t.networks.set(network.name, { network: copy(network), gatewayCount: 0 });
  }

  async get(name: string): Promise<Network | undefined> {
    await this.t.faults.enter('networks.get', [name]);
    const row = this.t.networks.get(name);
    return row && copy(row.network);
  }

  async list(limit: number, cursor?: string): Promise<Page<Network>> {
    await this.t.faults.enter('networks.list', [limit, cursor]);
    return page([...this.t.networks.values()].map((r) => [r.network.name, r.network]), 'networks', limit, cursor);
  }

  async updateDefaultDns(name: string, defaultDns: string[], expectedVersion: number, now: string, audit: AuditRecord): Promise<Network> {
    await this.t.faults.enter('networks.updateDefaultDns', [name, defaultDns, expectedVersion, now]);
    const row = this.t.networks.get(name);
    if (!row || row.network.version !== expectedVersion) {
      throw new ConflictError('version_conflict', `network '${name}' was changed meanwhile (expected version ${expectedVersion})`, 'version');
    }
    this.t.writeAudit(audit);
    row.network = { ...row.network, defaultDns: [...defaultDns], updatedAt: now, version: row.network.version + 1 };
    return copy(row.network);
  }

  async delete(name: string, audit: AuditRecord): Promise<void> {
    await this.t.faults.enter('networks.delete', [name]);
    const row = this.t.networks.get(name);
    if (!row) throw new NotFoundError('network', name);
    if (row.gatewayCount !== 0) throw new ConflictError('network_not_empty', `network '${name}' still has gateways; delete them first`);
    this.t.writeAudit(audit);
    this.t.networks.delete(name);
  }
}

export class MemoryGatewayStore implements GatewayStore {
  constructor(private readonly t: MemoryTable) {}

  async create(gateway: Gateway, leaseKeys: string[], audit: AuditRecord, _network?: NetworkGuard): Promise<void> {
    await this.t.faults.enter('gateways.create', [gateway, leaseKeys]);
    const net = this.t.networks.get(gateway.network);
    if (!net) throw new NotFoundError('network', gateway.network);
    if (this.t.gatewayRow(gateway.network, gateway.id)) throw new ConflictError('id_taken', 'gateway id collision; retry');
    const leases = this.t.leasesOf(gateway.network);
    const taken = leaseKeys.find((k) => leases.has(k));
    if (taken) throw new AddressTakenError(taken);
    this.t.writeAudit(audit);
    net.gatewayCount++;
    this.t.gateways.set(key(gateway.network, gateway.id), new GatewayRow(copy(gateway)));
    for (const k of leaseKeys) leases.set(k, `gateway:${gateway.id}`);
  }

  async get(network: string, id: string): Promise<Gateway | undefined> {
    await this.t.faults.enter('gateways.get', [network, id]);
    return this.t.gatewayRow(network, id)?.read();
  }

  async list(network: string, limit: number, cursor?: string): Promise<Page<Gateway>> {
    await this.t.faults.enter('gateways.list', [network, limit, cursor]);
    const rows = [...this.t.gateways.values()].filter((r) => r.gateway.network === network);
    return page(rows.map((r) => [r.gateway.id, r.read()]), `gateways:${network}`, limit, cursor);
  }

  async listAll(limit: number, cursor?: string): Promise<Page<Gateway>> {
    await this.t.faults.enter('gateways.listAll', [limit, cursor]);
    return page([...this.t.gateways.values()].map((r) => [`${r.gateway.network}#${r.gateway.id}`, r.read()]), 'gateways', limit, cursor);
  }

  async update(gateway: Gateway, expectedVersion: number, generation: number | undefined, audit: AuditRecord): Promise<Gateway> {
    await this.t.faults.enter('gateways.update', [gateway, expectedVersion, generation]);
    const row = this.t.gatewayRow(gateway.network, gateway.id);
    if (!row) throw new NotFoundError('gateway', gateway.id);
    if (row.gateway.version !== expectedVersion) {
      throw new ConflictError('version_conflict', `gateway '${gateway.id}' was changed meanwhile (expected version ${expectedVersion})`, 'version');
    }
    // The version held but a client change moved the generation past the stamp: as the adapter says.
    if (generation !== undefined && !(row.gateway.desiredGeneration < generation)) throw new GenerationBehindError(row.gateway.desiredGeneration);
    this.t.writeAudit(audit);
    const next: Gateway = {
      ...row.gateway,
      endpoint: gateway.endpoint,
      listenPort: gateway.listenPort,
      routedRanges: [...gateway.routedRanges],
      fullTunnel: gateway.fullTunnel,
      dns: [...gateway.dns],
      status: gateway.status,
      updatedAt: gateway.updatedAt,
      version: expectedVersion + 1,
    };
    if (gateway.mtu === undefined) delete next.mtu;
    else next.mtu = gateway.mtu;
    if (gateway.persistentKeepalive === undefined) delete next.persistentKeepalive;
    else next.persistentKeepalive = gateway.persistentKeepalive;
    if (generation !== undefined) {
      next.desiredGeneration = generation;
      delete next.initCommand;
    }
    row.gateway = next;
    return row.read();
  }

  async delete(network: string, id: string, leaseKeys: string[], audit: AuditRecord): Promise<void> {
    await this.t.faults.enter('gateways.delete', [network, id, leaseKeys]);
    const row = this.t.gatewayRow(network, id);
    if (!row) throw new NotFoundError('gateway', id);
    if (row.clientCount > 0) throw new ConflictError('gateway_not_empty', `gateway '${id}' still has clients; delete them first`);
    if (!isInSync(row.read())) {
      throw new ConflictError('gateway_not_synced', `gateway '${id}' has changes not yet applied`);
    }
    const publicKeys = this.t.publicKeysOf(network);
    if (row.gateway.publicKey && publicKeys.get(row.gateway.publicKey) === `gateway:${id}`) publicKeys.delete(row.gateway.publicKey);
    this.t.writeAudit(audit);
    this.t.gateways.delete(key(network, id));
    const net = this.t.networks.get(network);
    if (net) net.gatewayCount--;
    for (const k of leaseKeys) this.t.leasesOf(network).delete(k);
  }

  async recordSync(network: string, id: string, result: SyncResult, applied?: AppliedRecord): Promise<void> {
    await this.t.faults.enter('gateways.recordSync', [network, id, result, applied]);
    const row = this.t.gatewayRow(network, id);
    if (!row) return;
    const g = row.gateway;
    if (result.outcome === 'sent') {
      if (g.lastSync?.claim !== undefined && g.lastSync.claim === result.claim) g.lastSync = copy(result);
      return;
    }
    if (applied !== undefined && g.appliedGeneration < applied.generation) {
      g.appliedGeneration = applied.generation;
      if (applied.vector) g.appliedShards = copy(applied.vector);
    }
    if (g.lastSync?.commandId === (result.commandId ?? '')) g.lastSync = copy(result);
  }

  async claimApply(network: string, id: string, claim: SyncResult, staleBefore: string): Promise<boolean> {
    await this.t.faults.enter('gateways.claimApply', [network, id, claim, staleBefore]);
    const row = this.t.gatewayRow(network, id);
    if (!row) return false;
    const g = row.gateway;
    const last = g.lastSync;
    const free = !last || last.outcome !== 'sent' || (last.commandId === undefined && last.at < staleBefore);
    if (!(g.appliedGeneration < claim.generation && free)) return false;
    g.lastSync = copy(claim);
    return true;
  }

  async releaseApply(network: string, id: string, token: string, previous: SyncResult | undefined): Promise<void> {
    await this.t.faults.enter('gateways.releaseApply', [network, id, token, previous]);
    const row = this.t.gatewayRow(network, id);
    if (!row || row.gateway.lastSync?.claim !== token) return;
    if (previous) row.gateway.lastSync = copy(previous);
    else delete row.gateway.lastSync;
  }

  async recordInit(network: string, id: string, outcome: InitOutcome): Promise<void> {
    await this.t.faults.enter('gateways.recordInit', [network, id, outcome]);
    const row = this.t.gatewayRow(network, id);
    if (!row) return;
    const g = row.gateway;
    if (outcome.commandId && !(g.status === 'pending' && g.initCommand?.commandId === outcome.commandId)) return;
    const next: Gateway = { ...g, status: outcome.status, updatedAt: outcome.at, version: g.version + 1 };
    if (outcome.publicKey) {
      next.publicKey = outcome.publicKey;
      // Its claim, unless a client holds the key (the worker then leaves that client out).
      const publicKeys = this.t.publicKeysOf(network);
      if (!publicKeys.has(outcome.publicKey)) publicKeys.set(outcome.publicKey, `gateway:${id}`);
      if (outcome.previousPublicKey && outcome.previousPublicKey !== outcome.publicKey && publicKeys.get(outcome.previousPublicKey) === `gateway:${id}`) {
        publicKeys.delete(outcome.previousPublicKey);
      }
    }
    if (outcome.reason) next.statusReason = outcome.reason;
    else delete next.statusReason;
    delete next.initCommand;
    row.gateway = next;
  }

  async markInitSent(network: string, id: string, command: { commandId: string; at: string }): Promise<void> {
    await this.t.faults.enter('gateways.markInitSent', [network, id, command]);
    const row = this.t.gatewayRow(network, id);
    if (!row) throw new NotFoundError('gateway', id);
    row.gateway.initCommand = copy(command);
  }

  async requestResync(network: string, id: string, generation: number, reinit: boolean, audit: AuditRecord): Promise<Gateway> {
    await this.t.faults.enter('gateways.requestResync', [network, id, generation, reinit]);
    const row = this.t.gatewayRow(network, id);
    if (!row) throw new NotFoundError('gateway', id);
    if (!(row.gateway.desiredGeneration < generation)) throw new GenerationBehindError(row.gateway.desiredGeneration);
    this.t.writeAudit(audit);
    const { lastSync: _s, initCommand: _c, ...rest } = row.gateway;
    row.gateway = { ...rest, desiredGeneration: generation, ...(reinit ? { status: 'pending' as const } : {}) };
    return row.read();
  }

  async markExpiring(network: string, id: string, change: { add?: Record<string, string[]>; remove?: Record<string, string[]>; clearLegacy?: boolean }): Promise<void> {
    await this.t.faults.enter('gateways.markExpiring', [network, id, change]);
    const row = this.t.gatewayRow(network, id);
    if (!row) return;
    for (const shard of new Set([...Object.keys(change.add ?? {}), ...Object.keys(change.remove ?? {})])) {
      const add = change.add?.[shard] ?? [];
      row.expiring(shard, add, (change.remove?.[shard] ?? []).filter((n) => !add.includes(n)));
    }
    if (change.clearLegacy) delete row.gateway.expiringClients;
  }
}

export class MemoryClientStore implements ClientStore {
  constructor(private readonly t: MemoryTable) {}

  async create(change: ClientChange, secrets: ClientSecrets, guard: NetworkGuard, audit: AuditRecord, options: CreateOptions = {}): Promise<void> {
    await this.t.faults.enter('clients.create', [change, secrets, guard]);
    const { client, leaseKeys } = change;
    // The transaction's conditions, in the order the adapter reads its cancellation reasons.
    if (this.t.clients.has(key(client.network, client.name))) throw new NameTakenError('client', client.name);
    const leases = this.t.leasesOf(client.network);
    const taken = leaseKeys.find((k) => leases.has(k));
    if (taken) throw new AddressTakenError(taken);
    const publicKeys = this.t.publicKeysOf(client.network);
    // The gateway's own key has its claim too (owner gateway:<id>).
    if (publicKeys.has(client.publicKey)) throw new PublicKeyTakenError(publicKeys.get(client.publicKey)!.startsWith('gateway:'));
    const { row, shard } = this.t.checkShard(client.network, client.gatewayId, client.genShard, client.generation, !options.batch);
    const net = this.t.networks.get(guard.name)?.network;
    if (!options.batch && (!net || net.addressRange !== guard.addressRange || net.addressRange6 !== guard.addressRange6)) throw new NetworkChangedError();
    this.t.writeAudit(audit);

    this.t.clients.set(key(client.network, client.name), copy(client));
    for (const k of leaseKeys) leases.set(k, `client:${client.name}`);
    publicKeys.set(client.publicKey, `client:${client.name}`);
    if (!options.batch) {
      shard.generation = client.generation;
      shard.clientCount++;
      if (client.expiresAt !== undefined) row.expiring(shardName(client.genShard!), [client.name]);
    }
    if (secrets.privateKey || secrets.presharedKey) this.t.secrets.set(key(client.network, client.name), copy(secrets));
  }

  async get(network: string, name: string): Promise<Client | undefined> {
    await this.t.faults.enter('clients.get', [network, name]);
    const client = this.t.clients.get(key(network, name));
    return client && copy(client);
  }

  async list(network: string, opts: { gatewayId?: string; namePrefix?: string; limit: number; cursor?: string }): Promise<Page<Client>> {
    await this.t.faults.enter('clients.list', [network, opts]);
    const rows = [...this.t.clients.values()].filter(
      (c) => c.network === network && (opts.gatewayId === undefined || c.gatewayId === opts.gatewayId) && c.name.startsWith(opts.namePrefix ?? ''),
    );
    return page(rows.map((c) => [c.name, c]), `clients:${network}:${opts.gatewayId ?? ''}:${opts.namePrefix ?? ''}`, opts.limit, opts.cursor);
  }

  async update(client: Client, expectedVersion: number, peerSetChanged: boolean, audit: AuditRecord): Promise<Client> {
    await this.t.faults.enter('clients.update', [client, expectedVersion, peerSetChanged]);
    const current = this.t.clients.get(key(client.network, client.name));
    if (!current || current.version !== expectedVersion) {
      throw new ConflictError('version_conflict', `client '${client.name}' was changed meanwhile (expected version ${expectedVersion})`, 'version');
    }
    const moved = peerSetChanged ? this.t.checkShard(client.network, client.gatewayId, client.genShard, client.generation) : undefined;
    this.t.writeAudit(audit);
    this.t.clients.set(key(client.network, client.name), copy(client));
    if (moved) {
      moved.shard.generation = client.generation;
      const name = shardName(client.genShard!);
      if (client.expiresAt !== undefined) moved.row.expiring(name, [client.name]);
      else moved.row.expiring(name, undefined, [client.name]);
    }
    return copy(client);
  }

  async delete(change: ClientChange, expectedVersion: number, generation: number, audit: AuditRecord): Promise<void> {
    await this.t.faults.enter('clients.delete', [change, expectedVersion, generation]);
    const { client, leaseKeys } = change;
    const current = this.t.clients.get(key(client.network, client.name));
    if (!current || current.version !== expectedVersion) {
      throw new ConflictError('version_conflict', `client '${client.name}' was changed meanwhile`, 'version');
    }
    const moved = this.t.checkShard(client.network, client.gatewayId, client.genShard, generation);
    this.t.writeAudit(audit);
    this.t.clients.delete(key(client.network, client.name));
    moved.shard.generation = generation;
    moved.shard.clientCount--;
    moved.row.expiring(shardName(client.genShard!), undefined, [client.name]);
    this.t.secrets.delete(key(client.network, client.name));
    for (const k of leaseKeys) this.t.leasesOf(client.network).delete(k);
    // Only its own claim: a client written before keys were claimed may share its key with one that holds it.
    const publicKeys = this.t.publicKeysOf(client.network);
    if (publicKeys.get(client.publicKey) === `client:${client.name}`) publicKeys.delete(client.publicKey);
  }

  async markLinksRevoked(network: string, name: string, at: string, audit: AuditRecord): Promise<void> {
    await this.t.faults.enter('clients.markLinksRevoked', [network, name, at]);
    const current = this.t.clients.get(key(network, name));
    if (!current) throw new NotFoundError('client', name);
    this.t.writeAudit(audit);
    this.t.clients.set(key(network, name), { ...current, linksRevokedAt: at, version: current.version + 1 });
  }

  async leasesBetween(network: string, fromKey: string, toKey: string): Promise<Set<string>> {
    await this.t.faults.enter('clients.leasesBetween', [network, fromKey, toKey]);
    return new Set([...this.t.leasesOf(network).keys()].filter((k) => k >= fromKey && k <= toKey));
  }

  async reserveBatch(batch: ClientBatch, reserve: number): Promise<void> {
    await this.t.faults.enter('clients.reserveBatch', [batch, reserve]);
    const { shard } = this.t.checkShard(batch.network.name, batch.gatewayId, batch.shard, batch.generation);
    shard.clientCount += reserve;
  }

  async settleBatch(batch: ClientBatch, settled: { created: number; reserved: number; expiring: string[] }): Promise<void> {
    await this.t.faults.enter('clients.settleBatch', [batch, settled]);
    const { row, shard } = this.t.checkShard(batch.network.name, batch.gatewayId, batch.shard, batch.generation);
    shard.generation = batch.generation;
    shard.clientCount += settled.created - settled.reserved;
    row.expiring(shardName(batch.shard), settled.expiring);
  }

  async restamp(network: string, names: string[], from: number, to: number): Promise<void> {
    await this.t.faults.enter('clients.restamp', [network, names, from, to]);
    for (const name of names) {
      const c = this.t.clients.get(key(network, name));
      if (c?.generation === from) c.generation = to;
    }
  }

  async getMany(network: string, names: string[]): Promise<Client[]> {
    await this.t.faults.enter('clients.getMany', [network, names]);
    return names.flatMap((n) => {
      const c = this.t.clients.get(key(network, n));
      return c ? [copy(c)] : [];
    });
  }

  async allOfGateway(network: string, gatewayId: string): Promise<Client[]> {
    await this.t.faults.enter('clients.allOfGateway', [network, gatewayId]);
    return [...this.t.clients.values()].filter((c) => c.network === network && c.gatewayId === gatewayId).map(copy);
  }
}

export class MemorySecretsReader implements SecretsReader {
  constructor(private readonly t: MemoryTable) {}

  async get(network: string, client: string): Promise<ClientSecrets> {
    await this.t.faults.enter('secrets.get', [network, client]);
    return copy(this.t.secrets.get(key(network, client)) ?? {});
  }

  async getMany(network: string, clients: string[]): Promise<Map<string, ClientSecrets>> {
    await this.t.faults.enter('secrets.getMany', [network, clients]);
    const found = new Map<string, ClientSecrets>();
    for (const c of clients) {
      const s = this.t.secrets.get(key(network, c));
      if (s) found.set(c, copy(s));
    }
    return found;
  }
}

// --- one-time links --------------------------------------------------------------------------------

export class MemoryLinkStore implements LinkStore {
  constructor(private readonly t: MemoryTable) {}

  async create(link: LinkRecord, audit: AuditRecord): Promise<void> {
    await this.t.faults.enter('links.create', [link]);
    if (this.t.links.has(link.tokenHash)) throw new Error('ConditionalCheckFailedException: link exists');
    this.t.writeAudit(audit);
    const { usedAt: _u, revokedAt: _r, ...fresh } = link;
    this.t.links.set(link.tokenHash, copy(fresh));
  }

  async get(tokenHash: string): Promise<LinkRecord | undefined> {
    await this.t.faults.enter('links.get', [tokenHash]);
    return this.read(tokenHash);
  }

  async spend(tokenHash: string, now: string, spendId: string, audit: AuditRecord): Promise<SpendOutcome> {
    await this.t.faults.enter('links.spend', [tokenHash, now, spendId]);
    const link = this.t.links.get(tokenHash);
    // ISO strings, compared as strings: what DynamoDB's `expiresAt > :now` does.
    if (!link || link.usedAt || link.revokedAt || !(link.expiresAt > now)) {
      const seen = this.read(tokenHash);
      return seen ? { spent: false, link: seen } : { spent: false };
    }
    this.t.writeAudit(audit);
    link.usedAt = now;
    link.spendId = spendId;
    return { spent: true, link: this.read(tokenHash)! };
  }

  async release(tokenHash: string, spendId: string, audit: AuditRecord): Promise<void> {
    await this.t.faults.enter('links.release', [tokenHash, spendId]);
    const link = this.t.links.get(tokenHash);
    if (link && link.spendId === spendId && !link.revokedAt) {
      // The link.redeem record goes with the spend, in the same transaction.
      const at = this.t.audit.findIndex((a) => a.id === audit.id);
      if (at >= 0) this.t.audit.splice(at, 1);
      delete link.usedAt;
      delete link.spendId;
    }
  }

  async revokeAll(network: string, client: string, now: string): Promise<number> {
    await this.t.faults.enter('links.revokeAll', [network, client, now]);
    let revoked = 0;
    for (const link of this.t.links.values()) {
      if (link.network === network && link.client === client && !link.usedAt && !link.revokedAt && link.expiresAt > now) {
        link.revokedAt = now;
        revoked++;
      }
    }
    return revoked;
  }

  private read(tokenHash: string): LinkRecord | undefined {
    const link = this.t.links.get(tokenHash);
    if (!link) return undefined;
    const { spendId: _s, ...record } = link;
    return copy(record);
  }
}

// --- audit log -------------------------------------------------------------------------------------

/** GET /audit over the table's records: newest first, per network, per kind or per resource. */
export class MemoryAuditLog implements AuditReader {
  constructor(private readonly t: MemoryTable) {}

  async list(query: AuditQuery): Promise<Page<AuditRecord>> {
    await this.t.faults.enter('audit.list', [query]);
    const rows = this.t.audit.filter(
      (a) =>
        a.resource.network === query.network &&
        (query.resourceType === undefined || a.resource.type === query.resourceType) &&
        (query.resourceId === undefined || a.resource.id === query.resourceId),
    );
    // Newest first: the adapter's sk `<at>#<id>` read backwards. `page` sorts ascending, so the
    // keys are inverted (each character's code from 0xffff).
    const inverted = (k: string) => [...k].map((c) => String.fromCharCode(0xffff - c.charCodeAt(0))).join('');
    const scope = `audit:${query.network}:${query.resourceType ?? ''}:${query.resourceId ?? ''}`;
    return page(rows.map((a) => [inverted(`${a.at}#${a.id}`), a]), scope, query.limit, query.cursor);
  }
}

// --- objects ---------------------------------------------------------------------------------------

export class MemoryObjectStore implements ObjectStore {
  readonly bucket = 'wg-ingress-test';
  readonly objects = new Map<string, { body: Buffer; contentType: string }>();
  /** Every URL signed, with what it was signed for. */
  readonly signed: { key: string; options: SignedGetUrlOptions; url: string }[] = [];

  constructor(private readonly faults: Faults) {}

  async putObject(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    await this.faults.enter('objects.putObject', [key, body, contentType]);
    this.objects.set(key, { body: Buffer.from(body), contentType });
    this.history.set(key, Buffer.from(body));
  }

  /** Every object ever written, deleted ones included (a peer set goes once its apply is recorded). */
  readonly history = new Map<string, Buffer>();

  /** What was written under a key, even if it is gone since. */
  written(key: string): string | undefined {
    return this.history.get(key)?.toString('utf8');
  }

  async getObject(key: string): Promise<Buffer | undefined> {
    await this.faults.enter('objects.getObject', [key]);
    const o = this.objects.get(key);
    return o && Buffer.from(o.body);
  }

  async deleteObject(key: string): Promise<void> {
    await this.faults.enter('objects.deleteObject', [key]);
    this.objects.delete(key);
  }

  async signedGetUrl(key: string, options: SignedGetUrlOptions): Promise<string> {
    await this.faults.enter('objects.signedGetUrl', [key, options]);
    const query = new URLSearchParams({ 'X-Amz-Expires': String(options.expiresInSeconds), 'X-Amz-Signature': 'fake' });
    if (options.contentDisposition) query.set('response-content-disposition', options.contentDisposition);
    const url = `https://bucket.example.com/${key}?${query.toString().replace(/\+/g, '%20')}`;
    this.signed.push({ key, options: copy(options), url });
    return url;
  }

  /** The object a signed URL of this store points at. */
  read(url: string): string | undefined {
    return this.objects.get(decodeURIComponent(new URL(url).pathname.slice(1)))?.body.toString('utf8');
  }

  /** An object by its key (what an apply command names). */
  text(key: string): string | undefined {
    return this.objects.get(key)?.body.toString('utf8');
  }
}

// --- gateways' commands ----------------------------------------------------------------------------

/** What a document answers: one result, or several (the answers to successive polls; the last one stays). */
export type CommandScript = (params: Record<string, string>, instanceId: string) => CommandResult | CommandResult[] | Error;

export interface SentCommand {
  kind: DocumentKind;
  instanceId: string;
  params: Record<string, string>;
  commandId: string;
}

/**
 * SSM Run Command and the gateway scripts, in memory: parameters are checked against the
 * documents' patterns (as SSM does), and by default each document answers what the real script
 * prints on success. An apply of a generation not newer than the applied one is skipped, as on a gateway.
 */
export class FakeGatewayCommands implements GatewayCommandSender {
  readonly sent: SentCommand[] = [];
  /** Per instance: the public key its init reports and the generation it applied last. */
  readonly instances = new Map<string, { publicKey: string; applied: number }>();
  private readonly scripts = new Map<string, CommandScript>();
  private readonly results = new Map<string, CommandResult[]>();

  constructor(private readonly faults: Faults) {}

  /** From now on, `kind` on `instanceId` answers what `script` says (an Error: the send itself fails). */
  script(instanceId: string, kind: DocumentKind, script: CommandScript): void {
    this.scripts.set(`${instanceId}/${kind}`, script);
  }

  sentTo(instanceId: string, kind?: DocumentKind): SentCommand[] {
    return this.sent.filter((c) => c.instanceId === instanceId && (kind === undefined || c.kind === kind));
  }

  async sendInit(instanceId: string, params: CommandParameters) {
    await this.faults.enter('commands.sendInit', [instanceId, params]);
    return this.send('init', instanceId, params);
  }

  async sendApply(instanceId: string, params: CommandParameters) {
    await this.faults.enter('commands.sendApply', [instanceId, params]);
    return this.send('apply', instanceId, params);
  }

  async sendTeardown(instanceId: string, params: CommandParameters) {
    await this.faults.enter('commands.sendTeardown', [instanceId, params]);
    return this.send('teardown', instanceId, params);
  }

  async getResult(commandId: string, instanceId: string): Promise<CommandResult> {
    await this.faults.enter('commands.getResult', [commandId, instanceId]);
    const queue = this.results.get(commandId);
    // SSM's InvocationDoesNotExist, which the adapter reads as "not there yet".
    if (!queue) return { status: 'pending', reason: 'InvocationDoesNotExist' };
    return copy(queue.length > 1 ? queue.shift()! : queue[0]!);
  }

  private send(kind: DocumentKind, instanceId: string, raw: CommandParameters): { commandId: string } {
    // The local runner's rule in every suite: no signed URL, no URL, no key in a parameter.
    assertNoCredentialInParameters(kind, raw);
    const params = validateCommandParameters(kind, raw);
    const answer = (this.scripts.get(`${instanceId}/${kind}`) ?? this.succeed(kind))(params, instanceId);
    if (answer instanceof Error) throw answer;
    const commandId = `cmd-${this.sent.length + 1}`;
    this.sent.push({ kind, instanceId, params, commandId });
    this.results.set(commandId, Array.isArray(answer) ? [...answer] : [answer]);
    return { commandId };
  }

  private instance(instanceId: string) {
    let state = this.instances.get(instanceId);
    if (!state) this.instances.set(instanceId, (state = { publicKey: generateKeyPair().publicKey, applied: 0 }));
    return state;
  }

  private succeed(kind: DocumentKind): CommandScript {
    return (params, instanceId) => {
      const state = this.instance(instanceId);
      if (kind === 'init') return { status: 'success', stdout: `WG_INGRESS_PUBLIC_KEY=${state.publicKey}\nWG_INGRESS_INIT_OK\n` };
      if (kind === 'teardown') return { status: 'success', stdout: 'WG_INGRESS_TEARDOWN_OK\n' };
      const generation = Number(params.generation);
      if (generation <= state.applied) {
        return { status: 'success', stdout: `WG_INGRESS_APPLY_SKIPPED generation=${generation} applied=${state.applied}\n` };
      }
      state.applied = generation;
      return { status: 'success', stdout: `WG_INGRESS_APPLIED generation=${generation} peers=0\n` };
    };
  }
}

// --- idempotency -----------------------------------------------------------------------------------

/** The guard's contract: same key + same payload → the first answer (as JSON keeps it); a failed run leaves nothing. */
export class MemoryIdempotencyGuard implements IdempotencyGuard {
  private readonly records = new Map<string, { payload: string; result?: string }>();

  constructor(private readonly faults: Faults) {}

  async once<T extends object>(key: string, payload: unknown, run: () => Promise<T>): Promise<T> {
    await this.faults.enter('idempotency.once', [key, payload, run]);
    const seen = this.records.get(key);
    const json = JSON.stringify(payload);
    if (seen) {
      if (seen.payload !== json) throw new IdempotencyKeyReusedError();
      if (seen.result === undefined) throw new IdempotencyInFlightError();
      return JSON.parse(seen.result) as T;
    }
    const record: { payload: string; result?: string } = { payload: json };
    this.records.set(key, record);
    try {
      const result = await run();
      record.result = JSON.stringify(result);
      return JSON.parse(record.result) as T;
    } catch (err) {
      this.records.delete(key);
      throw err;
    }
  }
}

// --- a whole world ---------------------------------------------------------------------------------

export type AllDeps = NetworkDeps & GatewayDeps & ClientDeps & DownloadDeps & SyncDeps & AuditDeps;

/** An admin's request, as the HTTP stack hands it to the use cases. */
export const TEST_AUDIT: AuditContext = { actor: { type: 'admin', id: 'test-admin', name: 'tester' }, requestId: 'test-request' };

/** A record for a test that calls a store directly (what a use case would have built). */
export function testAuditRecord(network: string, id = 'test', action = 'client.update'): AuditRecord {
  return auditRecord(TEST_AUDIT, new Date(), action, { type: 'client', network, id }, undefined);
}

export interface FakeWorld {
  table: MemoryTable;
  faults: Faults;
  clock: FakeClock;
  networks: MemoryNetworkStore;
  gateways: MemoryGatewayStore;
  clients: MemoryClientStore;
  secrets: MemorySecretsReader;
  links: MemoryLinkStore;
  audit: MemoryAuditLog;
  objects: MemoryObjectStore;
  commands: FakeGatewayCommands;
  idempotency: MemoryIdempotencyGuard;
  /** What the use cases take; `sleep` moves the fake clock instead of waiting. */
  deps: AllDeps;
}

export function fakeWorld(options: { seed?: number; now?: string; random?: Random } = {}): FakeWorld {
  const table = new MemoryTable();
  const faults = table.faults;
  const clock = new FakeClock(options.now);
  const world = {
    table,
    faults,
    clock,
    networks: new MemoryNetworkStore(table),
    gateways: new MemoryGatewayStore(table),
    clients: new MemoryClientStore(table),
    secrets: new MemorySecretsReader(table),
    links: new MemoryLinkStore(table),
    audit: new MemoryAuditLog(table),
    objects: new MemoryObjectStore(faults),
    commands: new FakeGatewayCommands(faults),
    idempotency: new MemoryIdempotencyGuard(faults),
  };
  const deps: AllDeps = {
    ...world,
    leases: world.clients,
    clock,
    random: options.random ?? seededRandom(options.seed),
    randomBytes: seededBytes(options.seed),
    publicBaseUrl: 'https://vpn.example.com/',
    pollIntervalMs: 1000,
    sleep: async (ms) => clock.advance(ms),
  };
  return { ...world, deps };
}

let networkCounter = 0;
/** A name no other test of this process used (clients.ts remembers dense networks by name). */
export const freshNetworkName = (prefix = 'net') => `${prefix}-${++networkCounter}`;

/** A network and one gateway on it, made through the use cases; `ready`: its init has reported a key. */
export async function networkWithGateway(
  world: FakeWorld,
  options: { name?: string; addressRange?: string; addressRange6?: string; ready?: boolean; instanceId?: string } = {},
): Promise<{ network: Network; gateway: Gateway }> {
  const network = await createNetwork(
    world.deps,
    {
      name: options.name ?? freshNetworkName(),
      addressRange: options.addressRange ?? '10.0.0.0/24',
      ...(options.addressRange6 ? { addressRange6: options.addressRange6 } : {}),
    },
    TEST_AUDIT,
  );
  const created = await createGateway(world.deps, network.name, { instanceId: options.instanceId ?? 'i-0123456789abcdef0', endpoint: '192.0.2.1' }, TEST_AUDIT);
  if (options.ready) await markReady(world, created);
  return { network, gateway: (await world.gateways.get(network.name, created.id))! };
}

/** The gateway's init reported its public key. */
export async function markReady(world: FakeWorld, gateway: Pick<Gateway, 'network' | 'id'>): Promise<void> {
  const publicKey = generateKeyPair().publicKey;
  await world.gateways.recordInit(gateway.network, gateway.id, { status: 'ready', publicKey, at: world.clock.now().toISOString() });
}

/** The gateway has applied everything asked of it so far. */
export function markApplied(world: FakeWorld, gateway: Pick<Gateway, 'network' | 'id'>): void {
  const row = world.table.gatewayRow(gateway.network, gateway.id)!;
  const read = row.read();
  row.gateway.appliedShards = desiredVector(read);
  row.gateway.appliedGeneration = nextApplyGeneration(read);
}

/** The status snapshots in memory, with an ETag per write (what S3 answers a conditional GET with). */
export class MemoryStatusSnapshots implements StatusSnapshotStore {
  readonly stored = new Map<string, { etag: string; body: string }>();
  reads = 0;
  private writes = 0;

  async read(network: string, gatewayId: string, knownEtag?: string) {
    this.reads++;
    const s = this.stored.get(`${network}/${gatewayId}`);
    if (!s) return undefined;
    if (knownEtag === s.etag) return 'unchanged' as const;
    return { etag: s.etag, snapshot: JSON.parse(s.body) as StatusSnapshot };
  }

  async write(snapshot: StatusSnapshot): Promise<void> {
    this.stored.set(`${snapshot.network}/${snapshot.gatewayId}`, { etag: `"${++this.writes}"`, body: JSON.stringify(snapshot) });
  }

  get(network: string, gatewayId: string): StatusSnapshot | undefined {
    const s = this.stored.get(`${network}/${gatewayId}`);
    return s && (JSON.parse(s.body) as StatusSnapshot);
  }
}

/** SSM's report side: records each report command and answers agent states from a table. */
export class FakeReporter implements GatewayReporter {
  readonly sent: { commandId: string; instanceIds: string[]; params: CommandParameters; output: { bucket: string; keyPrefix: string } }[] = [];
  readonly agents = new Map<string, AgentState>();
  agentLookups = 0;

  async sendReport(instanceIds: string[], params: CommandParameters, output: { bucket: string; keyPrefix: string }) {
    if (instanceIds.length < 1 || instanceIds.length > 50) throw new Error(`a report goes to 1 to 50 instances, not ${instanceIds.length}`);
    const commandId = `report-${this.sent.length + 1}`;
    this.sent.push({ commandId, instanceIds, params, output });
    return { commandId };
  }

  async agentStates(instanceIds: string[]) {
    if (instanceIds.length > 50) throw new Error('DescribeInstanceInformation takes 50 instance ids at most');
    this.agentLookups++;
    return new Map(instanceIds.map((id) => [id, this.agents.get(id) ?? ('online' as AgentState)]));
  }
}
