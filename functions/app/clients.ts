import {
  checkChosenAddress,
  formatAddress,
  leaseKey,
  leaseKeysOf,
  parseRange,
  randomHost,
  type AddressRange,
} from '../domain/address-pool.js';
import {
  AddressTakenError,
  ConflictError,
  GenerationBehindError,
  NameTakenError,
  NetworkChangedError,
  NotFoundError,
  PublicKeyTakenError,
  ValidationError,
} from '../domain/errors.js';
import { AUDITED_FIELDS, auditRecord, changesBetween, type AuditContext } from '../domain/audit.js';
import { changeApplied, createStamper, pickShard } from '../domain/generation.js';
import { generateKeyPair, generatePresharedKey } from '../domain/keys.js';
import type { Client, ClientSecrets, Gateway, Network, ShownClient } from '../domain/model.js';
import { generateClientName } from '../domain/names.js';
import type { CreateClientBody, ListClientsQuery, UpdateClientBody } from '../domain/schemas.js';
import { AddressPoolExhausted, pickCandidate } from './allocate-address.js';
import type { ClientStatus, SnapshotView } from '../domain/gateway-report.js';
import type { ClientBatch, ClientStore, Clock, GatewayStore, NetworkReader, Page, Random } from './ports.js';
import type { StatusReader } from './status-view.js';
import { GenerationFloor, isVersionConflict, lostRace, retry, type RetryDecision } from './retry.js';

const stamp = createStamper();

export interface ClientDeps {
  /** May be a cache (see network-cache.ts): creates check the ranges inside their transaction. */
  networks: NetworkReader;
  gateways: Pick<GatewayStore, 'get'>;
  clients: ClientStore;
  clock: Clock;
  random: Random;
  /** The gateways' report snapshots (status-view.ts); without it every status is null. */
  status?: Pick<StatusReader, 'view'>;
}

/**
 * A client as the API shows it: with whether its current state is in effect on the gateway, and
 * what the gateway last reported of it (null until it has reported the peer).
 */
/**
 * A client as the API answers it: the stored client without its bookkeeping (the generation shard
 * it is stamped on, when its links were last revoked), with whether it is in effect and its status.
 */
export type ClientView = ShownClient & { inEffect: boolean; status: ClientStatus | null };

export function clientAnswer(client: Client, inEffect: boolean, status: ClientStatus | null): ClientView {
  const { genShard: _shard, linksRevokedAt: _revoked, ...shown } = client;
  return { ...shown, inEffect, status };
}

// Address and name collisions are expected in a dense network and each costs one quick attempt.
const CREATE_ATTEMPTS = 40;
const CHANGE_ATTEMPTS = 10;

// --- create ------------------------------------------------------------------------------------

/** What a create learns from the attempts that lost, so the next one picks differently. */
interface CreateState {
  networkName: string;
  network: Network | undefined; // undefined: read it (again) before the next attempt
  name: string;
  /** The gateway's generation is at least this: the next stamp must be larger. */
  floor: GenerationFloor;
  /** Random picks without reading leases, until two in a row lose in this network. */
  blind: boolean;
  /** Blind picks of this create that lost. */
  blindLosses: number;
  avoid4: Set<bigint>;
  avoid6: Set<bigint>;
  tried?: { address4: bigint; address6?: bigint; leaseKeys: string[] };
  /** The key pair (or the client's own public key) and preshared key this attempt writes. */
  keys: { publicKey: string; secrets: ClientSecrets };
  /** The generation shard this client's changes move, picked once. */
  shard: number;
  /** Part of a batch: its stamp and shard are the batch's, and the shard moves once at its end. */
  batch?: ClientBatch;
}

const clientResource = (network: string, name: string) => ({ type: 'client' as const, network, id: name });

export async function createClient(deps: ClientDeps, network: string, body: CreateClientBody, audit: AuditContext): Promise<ClientView> {
  return createOne(deps, network, body, audit, await loadNetwork(deps, network));
}

async function createOne(deps: ClientDeps, network: string, body: CreateClientBody, audit: AuditContext, loaded: Network, batch?: ClientBatch): Promise<ClientView> {
  const state: CreateState = {
    networkName: network,
    network: loaded,
    name: body.name ?? generateClientName(deps.random),
    floor: new GenerationFloor(),
    blind: !denseNetworks.has(network),
    blindLosses: 0,
    avoid4: new Set(),
    avoid6: new Set(),
    keys: keyMaterial(body),
    shard: batch?.shard ?? pickShard(deps.random),
    ...(batch ? { batch } : {}),
  };
  return retry(
    async () => {
      const net = (state.network ??= await loadNetwork(deps, network));
      const { publicKey, secrets } = state.keys;
      const client = await draftClient(deps, state, net, body, publicKey, secrets);
      const record = auditRecord(audit, client.createdAt, 'client.create', clientResource(network, client.name), changesBetween(undefined, client, AUDITED_FIELDS.client));
      await deps.clients.create({ client, leaseKeys: state.tried!.leaseKeys }, secrets, networkGuard(net), record, batch ? { batch: true } : {});
      return clientAnswer(client, false, null);
    },
    { attempts: CREATE_ATTEMPTS, retryOn: (err) => learnFromLostCreate(deps, state, body, err), random: deps.random },
  );
}

/** One item of a batch create: the client, or why it was not created (nothing of it is written). */
export type BatchCreateResult = { index: number; client: ClientView } | { index: number; error: unknown };

/**
 * How far ahead of the clock a batch's stamp is taken. Every client of a batch is written with the
 * batch's stamp, and its shard moves to that stamp once at the end, on the condition that it is
 * still below it: a single change on that shard during the batch stamps "now", below the batch's
 * stamp, and leaves that condition true. Only a batch that outlasts the lead (or another batch on
 * the same shard) can overtake it; then its clients are stamped again above (settleWithRestamp).
 */
export const BATCH_LEAD_MS = 15_000;

/**
 * Creates many clients on one gateway under one stamp on one shard, which moves once at the end:
 * the gateway's worker sees the whole batch as one change (an import reaches the gateway in one or
 * two applies). Each item follows the rules of a single create and succeeds or fails on its own.
 * Results are in the order of `bodies`.
 */
export async function createClientsBatch(
  deps: ClientDeps,
  network: string,
  gatewayId: string,
  bodies: Omit<CreateClientBody, 'gatewayId'>[],
  audit: AuditContext,
  options: { concurrency?: number } = {},
): Promise<BatchCreateResult[]> {
  const net = await loadNetwork(deps, network);
  if (bodies.length === 0) return [];
  const batch = await reserveClientBatch(deps, net, gatewayId, bodies.length);
  const results: BatchCreateResult[] = new Array(bodies.length);
  let next = 0;
  const work = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      try {
        results[i] = { index: i, client: await createOne(deps, network, { ...bodies[i]!, gatewayId }, audit, net, batch) };
      } catch (err) {
        results[i] = { index: i, error: err };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 16, bodies.length) }, work));
  } finally {
    const created = results.flatMap((r) => (r && 'client' in r ? [r.client] : []));
    await settleWithRestamp(deps, batch, created, bodies.length);
  }
  return results;
}

/** A batch's stamp and shard, with `count` clients reserved on the shard (the batch writers' start). */
export async function reserveClientBatch(deps: ClientDeps, net: Network, gatewayId: string, count: number): Promise<ClientBatch> {
  const floor = new GenerationFloor();
  const shard = pickShard(deps.random);
  return retry(
    async () => {
      const attempt: ClientBatch = { network: networkGuard(net), gatewayId, shard, generation: stamp(deps.clock.now().getTime() + BATCH_LEAD_MS, floor.value) };
      await deps.clients.reserveBatch(attempt, count);
      return attempt;
    },
    { attempts: CHANGE_ATTEMPTS, retryOn: (err) => floor.learn(err) ?? lostRace(err), random: deps.random },
  );
}

/** Moves the batch's shard to its stamp; if a change overtook it, stamps the batch again above. */
export async function settleWithRestamp(deps: ClientDeps, batch: ClientBatch, created: ClientView[], reserved: number): Promise<void> {
  const settled = { created: created.length, reserved, expiring: created.filter((c) => c.expiresAt !== undefined).map((c) => c.name) };
  let current = batch;
  for (let attempt = 0; ; attempt++) {
    try {
      await deps.clients.settleBatch(current, settled);
      for (const c of created) c.generation = current.generation;
      return;
    } catch (err) {
      if (!(err instanceof GenerationBehindError) || attempt >= CHANGE_ATTEMPTS) throw err;
      const generation = stamp(deps.clock.now().getTime(), err.current);
      await deps.clients.restamp(batch.network.name, created.map((c) => c.name), current.generation, generation);
      current = { ...current, generation };
    }
  }
}

async function loadNetwork(deps: ClientDeps, name: string): Promise<Network> {
  const network = await deps.networks.get(name);
  if (!network) throw new NotFoundError('network', name);
  return network;
}

/** The client's key pair (generated unless it brought its own public key) and preshared key. */
function keyMaterial(body: CreateClientBody, presharedKey?: string): { publicKey: string; secrets: ClientSecrets } {
  const secrets: ClientSecrets = {};
  let publicKey = body.publicKey;
  if (publicKey === undefined) {
    const pair = generateKeyPair();
    publicKey = pair.publicKey;
    secrets.privateKey = pair.privateKey;
  }
  if (presharedKey !== undefined) secrets.presharedKey = presharedKey;
  else if (body.presharedKey === true) secrets.presharedKey = generatePresharedKey();
  else if (typeof body.presharedKey === 'string') secrets.presharedKey = body.presharedKey;
  return { publicKey, secrets };
}

/** The client record this attempt tries to write, with freshly picked addresses. */
async function draftClient(
  deps: ClientDeps,
  state: CreateState,
  net: Network,
  body: CreateClientBody,
  publicKey: string,
  secrets: ClientSecrets,
): Promise<Client> {
  const { address4, address6 } = await chooseAddresses(deps, state, net, body);
  state.tried = {
    address4,
    ...(address6 !== undefined ? { address6 } : {}),
    leaseKeys: [leaseKey(address4, 4), ...(address6 !== undefined ? [leaseKey(address6, 6)] : [])],
  };
  const now = deps.clock.now();
  return {
    id: state.name,
    name: state.name,
    network: state.networkName,
    gatewayId: body.gatewayId,
    address: formatAddress(address4, 4),
    ...(address6 !== undefined ? { address6: formatAddress(address6, 6) } : {}),
    publicKey,
    dns: body.dns ?? [],
    enabled: true,
    hasPrivateKey: secrets.privateKey !== undefined,
    hasPresharedKey: secrets.presharedKey !== undefined,
    ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}),
    generation: state.batch?.generation ?? stamp(now.getTime(), state.floor.value),
    genShard: state.shard,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    version: 1,
  };
}

async function chooseAddresses(
  deps: ClientDeps,
  state: CreateState,
  net: Network,
  body: CreateClientBody,
): Promise<{ address4: bigint; address6?: bigint }> {
  const range4 = parseRange(net.addressRange, 4);
  const range6 = net.addressRange6 ? parseRange(net.addressRange6, 6) : undefined;
  if (body.address6 !== undefined && !range6) {
    throw new ValidationError('address6', 'the network has no IPv6 range (addressRange6), so a client cannot have an IPv6 address');
  }
  // A blind random pick costs no read and almost always wins in a sparse network; once two in a
  // row lose, the network counts as dense and picks come from a read of a lease block.
  const address4 =
    body.address !== undefined
      ? checkChosenAddress(range4, body.address, 'address')
      : ((state.blind ? blindPick(range4, state.avoid4, deps.random) : undefined) ??
        (await pickFromLeases(deps, state.networkName, range4, state.avoid4, 'address')));
  if (!range6) return { address4 };
  const address6 =
    body.address6 !== undefined
      ? checkChosenAddress(range6, body.address6, 'address6')
      : ((state.blind || range6.size > 1n << 20n ? blindPick(range6, state.avoid6, deps.random) : undefined) ??
        (await pickFromLeases(deps, state.networkName, range6, state.avoid6, 'address6')));
  return { address4, address6 };
}

/** What a lost create attempt teaches the next one; throws the answer when nothing can be done. */
function learnFromLostCreate(deps: ClientDeps, state: CreateState, body: CreateClientBody, err: unknown): RetryDecision {
  const behind = state.floor.learn(err);
  if (behind) return behind;
  if (err instanceof NetworkChangedError) {
    deps.networks.forget?.(state.networkName);
    state.network = undefined;
    return 'now';
  }
  if (err instanceof AddressTakenError) {
    const tried = state.tried!;
    const isV4 = err.leaseKey === tried.leaseKeys[0];
    const field = isV4 ? 'address' : 'address6';
    if ((isV4 ? body.address : body.address6) !== undefined) {
      const address = isV4 ? formatAddress(tried.address4, 4) : formatAddress(tried.address6!, 6);
      throw new ConflictError('address_taken', `address ${address} is already in use in network '${state.networkName}'`, field);
    }
    (isV4 ? state.avoid4 : state.avoid6).add(isV4 ? tried.address4 : tried.address6!);
    // One blind pick that loses says little (hundreds of clients in a /16 meet by the birthday
    // rule); two in a row say the network is full enough to read the leases from now on.
    if (state.blind && ++state.blindLosses >= 2) {
      state.blind = false;
      markDense(state.networkName);
    }
    return 'later';
  }
  if (err instanceof PublicKeyTakenError) {
    // A key the caller brought is theirs to change; a generated one that collides (practically
    // never) is simply made again.
    if (body.publicKey !== undefined) return false;
    state.keys = keyMaterial(body, state.keys.secrets.presharedKey);
    return 'now';
  }
  if (err instanceof NameTakenError) {
    if (body.name !== undefined) {
      throw new ConflictError('name_taken', `a client named '${state.name}' already exists in network '${state.networkName}'`, 'name');
    }
    state.name = generateClientName(deps.random);
    return 'now';
  }
  return lostRace(err);
}

function networkGuard(net: Network) {
  return { name: net.name, addressRange: net.addressRange, ...(net.addressRange6 ? { addressRange6: net.addressRange6 } : {}) };
}

// Networks where a blind pick lost once (per container). Bounded so it cannot grow without limit.
const denseNetworks = new Set<string>();
function markDense(network: string): void {
  if (denseNetworks.size > 10_000) denseNetworks.clear();
  denseNetworks.add(network);
}

/** A random host not in `avoid`; undefined when random picks keep hitting it (then read the leases). */
function blindPick(range: AddressRange, avoid: Set<bigint>, random: Random): bigint | undefined {
  for (let i = 0; i < 32; i++) {
    const candidate = randomHost(range, random);
    if (!avoid.has(candidate)) return candidate;
  }
  return undefined;
}

async function pickFromLeases(deps: ClientDeps, network: string, range: AddressRange, avoid: Set<bigint>, field: string): Promise<bigint> {
  try {
    return await pickCandidate(deps.clients, network, range, avoid, deps.random);
  } catch (err) {
    if (err instanceof AddressPoolExhausted) {
      throw new ConflictError('address_pool_exhausted', `address pool exhausted: every address of ${range.text} is in use`, field);
    }
    throw err;
  }
}

// --- read ------------------------------------------------------------------------------------------

export async function getClient(deps: ClientDeps, network: string, name: string): Promise<ClientView> {
  const client = await deps.clients.get(network, name);
  if (!client) throw new NotFoundError('client', name);
  const gateway = await deps.gateways.get(network, client.gatewayId);
  return view(client, gateway, await snapshotOf(deps, network, client.gatewayId), deps.clock.now());
}

export async function listClients(deps: ClientDeps, network: string, query: ListClientsQuery): Promise<Page<ClientView>> {
  await loadNetwork(deps, network);
  const page = await deps.clients.list(network, { gatewayId: query.gatewayId, namePrefix: query.namePrefix, limit: query.limit, cursor: query.cursor });
  const gateways = new Map<string, Gateway | undefined>();
  const snapshots = new Map<string, SnapshotView | undefined>();
  for (const c of page.items) {
    if (gateways.has(c.gatewayId)) continue;
    gateways.set(c.gatewayId, await deps.gateways.get(network, c.gatewayId));
    snapshots.set(c.gatewayId, await snapshotOf(deps, network, c.gatewayId));
  }
  const now = deps.clock.now();
  return { ...page, items: page.items.map((c) => view(c, gateways.get(c.gatewayId), snapshots.get(c.gatewayId), now)) };
}

/** The gateway's report snapshot, when there is one (and a reader). */
function snapshotOf(deps: ClientDeps, network: string, gatewayId: string): Promise<SnapshotView | undefined> {
  return deps.status ? deps.status.view(network, gatewayId) : Promise.resolve(undefined);
}

/**
 * In effect: the gateway applied a generation at least as new as the client's last change, and the
 * worker did not leave the client out of its latest peer set because it cannot be rendered.
 */
export function view(client: Client, gateway: Gateway | undefined, snapshot: SnapshotView | undefined, now: Date): ClientView {
  const leftOut = gateway?.lastSync?.skipped?.some((s) => s.client === client.name) ?? false;
  return clientAnswer(client, gateway !== undefined && changeApplied(gateway, client) && !leftOut, snapshot?.clientStatus(client.publicKey, now) ?? null);
}

// --- change ----------------------------------------------------------------------------------------

export async function updateClient(deps: ClientDeps, network: string, name: string, body: UpdateClientBody, audit: AuditContext): Promise<ClientView> {
  const floor = new GenerationFloor();
  return retry(
    async () => {
      const current = await deps.clients.get(network, name);
      if (!current) throw new NotFoundError('client', name);
      if (body.version !== undefined && body.version !== current.version) {
        throw new ConflictError('version_conflict', `client '${name}' is at version ${current.version}, not ${body.version}`, 'version');
      }
      const { next, peerSetChanged } = applyChange(current, body, deps.clock.now(), floor.value, deps.random);
      // Enabling and disabling are actions of their own; any other change is an update.
      const action = next.enabled === current.enabled ? 'client.update' : next.enabled ? 'client.enable' : 'client.disable';
      const record = auditRecord(audit, next.updatedAt, action, clientResource(network, name), changesBetween(current, next, AUDITED_FIELDS.client));
      await deps.clients.update(next, current.version, peerSetChanged, record);
      return view(next, await deps.gateways.get(network, current.gatewayId), await snapshotOf(deps, network, current.gatewayId), deps.clock.now());
    },
    {
      attempts: CHANGE_ATTEMPTS,
      retryOn: (err) => {
        const behind = floor.learn(err);
        if (behind) return behind;
        // Without an explicit version the caller wants its change applied: re-read and try again.
        if (body.version === undefined && isVersionConflict(err)) return 'later';
        return lostRace(err);
      },
      random: deps.random,
    },
  );
}

/** The client after the change, and whether the gateway's peer set changes with it. */
function applyChange(current: Client, body: UpdateClientBody, now: Date, floor: number, random: Random): { next: Client; peerSetChanged: boolean } {
  const enabled = body.enabled ?? current.enabled;
  const expiresAt = body.expiresAt === null ? undefined : (body.expiresAt ?? current.expiresAt);
  const peerSetChanged = enabled !== current.enabled || expiresAt !== current.expiresAt;
  const { expiresAt: _old, ...rest } = current;
  const next: Client = {
    ...rest,
    enabled,
    dns: body.dns ?? current.dns,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    updatedAt: now.toISOString(),
    version: current.version + 1,
    generation: peerSetChanged ? stamp(now.getTime(), Math.max(floor, current.generation)) : current.generation,
    // A client from before shards moves a shard from its first change on (then it is in effect by
    // that shard's applied stamp).
    ...(peerSetChanged && current.genShard === undefined ? { genShard: pickShard(random) } : {}),
  };
  return { next, peerSetChanged };
}

export async function deleteClient(deps: ClientDeps, network: string, name: string, audit: AuditContext): Promise<void> {
  const floor = new GenerationFloor();
  await retry(
    async () => {
      const current = await deps.clients.get(network, name);
      if (!current) throw new NotFoundError('client', name);
      const leases = leaseKeysOf(current);
      const now = deps.clock.now();
      const generation = stamp(now.getTime(), Math.max(floor.value, current.generation));
      const record = auditRecord(audit, now, 'client.delete', clientResource(network, name), changesBetween(current, undefined, AUDITED_FIELDS.client));
      const client = current.genShard === undefined ? { ...current, genShard: pickShard(deps.random) } : current;
      await deps.clients.delete({ client, leaseKeys: leases }, current.version, generation, record);
    },
    {
      attempts: CHANGE_ATTEMPTS,
      retryOn: (err) => {
        const behind = floor.learn(err);
        if (behind) return behind;
        return isVersionConflict(err) ? 'later' : lostRace(err);
      },
      random: deps.random,
    },
  );
}
