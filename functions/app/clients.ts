import {
  checkChosenAddress,
  formatAddress,
  leaseKey,
  parseAddress,
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
  ValidationError,
} from '../domain/errors.js';
import { createStamper } from '../domain/generation.js';
import { generateKeyPair, generatePresharedKey } from '../domain/keys.js';
import type { Client, ClientSecrets, Gateway } from '../domain/model.js';
import { generateClientName } from '../domain/names.js';
import type { CreateClientBody, ListClientsQuery, UpdateClientBody } from '../domain/schemas.js';
import { AddressPoolExhausted, pickCandidate } from './allocate-address.js';
import type { ClientStore, Clock, GatewayStore, NetworkStore, Page, Random } from './ports.js';
import { backoff, busy, isRetryable } from './retry.js';

const stamp = createStamper();

export interface ClientDeps {
  /** May be a cache (see network-cache.ts): creates check the ranges inside their transaction. */
  networks: Pick<NetworkStore, 'get'> & { forget?(name: string): void };
  gateways: GatewayStore;
  clients: ClientStore;
  clock: Clock;
  random: Random;
}

/** A client as the API shows it: with whether its current state is in effect on the gateway. */
export type ClientView = Client & { inEffect: boolean };

const MAX_CREATE_ATTEMPTS = 40;

export async function createClient(deps: ClientDeps, network: string, body: CreateClientBody): Promise<ClientView> {
  let net = await deps.networks.get(network);
  if (!net) throw new NotFoundError('network', network);

  const secrets: ClientSecrets = {};
  let publicKey: string;
  if (body.publicKey) {
    publicKey = body.publicKey;
  } else {
    const pair = generateKeyPair();
    publicKey = pair.publicKey;
    secrets.privateKey = pair.privateKey;
  }
  if (body.presharedKey === true) secrets.presharedKey = generatePresharedKey();
  else if (typeof body.presharedKey === 'string') secrets.presharedKey = body.presharedKey;

  const avoid4 = new Set<bigint>();
  const avoid6 = new Set<bigint>();
  let name = body.name ?? generateClientName(deps.random);
  let floor = 0;
  let blind = !denseNetworks.has(network);
  for (let attempt = 1; ; attempt++) {
    const range4 = parseRange(net.addressRange, 4);
    const range6 = net.addressRange6 ? parseRange(net.addressRange6, 6) : undefined;
    const chosen4 = body.address !== undefined ? checkChosenAddress(range4, body.address, 'address') : undefined;
    if (body.address6 !== undefined && !range6) {
      throw new ValidationError('address6', 'the network has no IPv6 range (addressRange6), so a client cannot have an IPv6 address');
    }
    const chosen6 = body.address6 !== undefined && range6 ? checkChosenAddress(range6, body.address6, 'address6') : undefined;
    // A blind random pick costs no read and almost always wins in a sparse network; once one
    // loses, this network is treated as dense and picks come from a read of a lease block.
    const address4 = chosen4 ?? (blind ? blindPick(range4, avoid4, deps.random) : await pick(deps, network, range4, avoid4, 'address'));
    const address6 = range6 ? (chosen6 ?? (blind || range6.size > 1n << 20n ? blindPick(range6, avoid6, deps.random) : await pick(deps, network, range6, avoid6, 'address6'))) : undefined;
    const now = deps.clock.now();
    const client: Client = {
      id: name,
      name,
      network,
      gatewayId: body.gatewayId,
      address: formatAddress(address4, 4),
      ...(address6 !== undefined ? { address6: formatAddress(address6, 6) } : {}),
      publicKey,
      dns: body.dns ?? [],
      enabled: true,
      hasPrivateKey: secrets.privateKey !== undefined,
      hasPresharedKey: secrets.presharedKey !== undefined,
      ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}),
      generation: stamp(now.getTime(), floor),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      version: 1,
    };
    const leases = [leaseKey(address4, 4), ...(address6 !== undefined ? [leaseKey(address6, 6)] : [])];
    try {
      await deps.clients.create({ client, leaseKeys: leases }, secrets, {
        name: network,
        addressRange: net.addressRange,
        ...(net.addressRange6 ? { addressRange6: net.addressRange6 } : {}),
      });
      return { ...client, inEffect: false };
    } catch (err) {
      if (err instanceof GenerationBehindError) {
        floor = err.current;
        continue; // not contention on this change: retry at once with a larger stamp
      }
      if (err instanceof NetworkChangedError) {
        deps.networks.forget?.(network);
        net = await deps.networks.get(network);
        if (!net) throw new NotFoundError('network', network);
        continue;
      } else if (err instanceof AddressTakenError) {
        const isV4 = err.leaseKey === leases[0];
        if (isV4 && chosen4 !== undefined) throw new ConflictError('address_taken', `address ${client.address} is already in use in network '${network}'`, 'address');
        if (!isV4 && chosen6 !== undefined) throw new ConflictError('address_taken', `address ${client.address6} is already in use in network '${network}'`, 'address6');
        (isV4 ? avoid4 : avoid6).add(isV4 ? address4 : address6!);
        if (blind) {
          blind = false;
          markDense(network);
        }
      } else if (err instanceof NameTakenError) {
        if (body.name !== undefined) throw new ConflictError('name_taken', `a client named '${name}' already exists in network '${network}'`, 'name');
        name = generateClientName(deps.random);
      } else if (!isRetryable(err)) {
        throw err;
      }
      if (attempt >= MAX_CREATE_ATTEMPTS) throw busy();
      await backoff(attempt, deps.random);
    }
  }
}

// Networks where a blind pick lost once (per container). Bounded so it cannot grow without limit.
const denseNetworks = new Set<string>();
function markDense(network: string): void {
  if (denseNetworks.size > 10_000) denseNetworks.clear();
  denseNetworks.add(network);
}

function blindPick(range: AddressRange, avoid: Set<bigint>, random: Random): bigint {
  for (;;) {
    const candidate = randomHost(range, random);
    if (!avoid.has(candidate)) return candidate;
  }
}

async function pick(deps: ClientDeps, network: string, range: AddressRange, avoid: Set<bigint>, field: string): Promise<bigint> {
  try {
    return await pickCandidate(deps.clients, network, range, avoid, deps.random);
  } catch (err) {
    if (err instanceof AddressPoolExhausted) {
      throw new ConflictError('address_pool_exhausted', `address pool exhausted: every address of ${range.text} is in use`, field);
    }
    throw err;
  }
}

export async function getClient(deps: ClientDeps, network: string, name: string): Promise<ClientView> {
  const client = await deps.clients.get(network, name);
  if (!client) throw new NotFoundError('client', name);
  const gateway = await deps.gateways.get(network, client.gatewayId);
  return view(client, gateway);
}

export async function listClients(deps: ClientDeps, network: string, query: ListClientsQuery): Promise<Page<ClientView>> {
  if (!(await deps.networks.get(network))) throw new NotFoundError('network', network);
  const page = await deps.clients.list(network, { gatewayId: query.gatewayId, limit: query.limit, cursor: query.cursor });
  const gateways = new Map<string, Gateway | undefined>();
  for (const c of page.items) {
    if (!gateways.has(c.gatewayId)) gateways.set(c.gatewayId, await deps.gateways.get(network, c.gatewayId));
  }
  return { ...page, items: page.items.map((c) => view(c, gateways.get(c.gatewayId))) };
}

export async function updateClient(deps: ClientDeps, network: string, name: string, body: UpdateClientBody): Promise<ClientView> {
  let floor = 0;
  for (let attempt = 1; ; attempt++) {
    const current = await deps.clients.get(network, name);
    if (!current) throw new NotFoundError('client', name);
    if (body.version !== undefined && body.version !== current.version) {
      throw new ConflictError('version_conflict', `client '${name}' is at version ${current.version}, not ${body.version}`, 'version');
    }
    const now = deps.clock.now();
    const enabled = body.enabled ?? current.enabled;
    const expiresAt = body.expiresAt === null ? undefined : (body.expiresAt ?? current.expiresAt);
    const peerSetChanged = enabled !== current.enabled || expiresAt !== current.expiresAt;
    const next: Client = {
      ...current,
      enabled,
      dns: body.dns ?? current.dns,
      updatedAt: now.toISOString(),
      version: current.version + 1,
      generation: peerSetChanged ? stamp(now.getTime(), Math.max(floor, current.generation)) : current.generation,
    };
    if (expiresAt === undefined) delete next.expiresAt;
    else next.expiresAt = expiresAt;
    try {
      await deps.clients.update(next, current.version, peerSetChanged);
      return view(next, await deps.gateways.get(network, current.gatewayId));
    } catch (err) {
      if (err instanceof GenerationBehindError) {
        floor = err.current;
        continue;
      }
      const lostRace = err instanceof ConflictError && err.code === 'version_conflict' && body.version === undefined;
      if (!(lostRace || isRetryable(err))) throw err;
      if (attempt >= 10) throw busy();
      await backoff(attempt, deps.random);
    }
  }
}

export async function deleteClient(deps: ClientDeps, network: string, name: string): Promise<void> {
  let floor = 0;
  for (let attempt = 1; ; attempt++) {
    const current = await deps.clients.get(network, name);
    if (!current) throw new NotFoundError('client', name);
    const leases = [
      leaseKey(parseAddress(current.address, 4), 4),
      ...(current.address6 ? [leaseKey(parseAddress(current.address6, 6), 6)] : []),
    ];
    try {
      const generation = stamp(deps.clock.now().getTime(), Math.max(floor, current.generation));
      await deps.clients.delete({ client: current, leaseKeys: leases }, current.version, generation);
      return;
    } catch (err) {
      if (err instanceof GenerationBehindError) {
        floor = err.current;
        continue;
      }
      const lostRace = err instanceof ConflictError && err.code === 'version_conflict';
      if (!(lostRace || isRetryable(err))) throw err;
      if (attempt >= 10) throw busy();
      await backoff(attempt, deps.random);
    }
  }
}

export function view(client: Client, gateway: Gateway | undefined): ClientView {
  return { ...client, inEffect: gateway !== undefined && gateway.appliedGeneration >= client.generation };
}

