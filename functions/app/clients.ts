import {
  checkChosenAddress,
  formatAddress,
  leaseKey,
  parseAddress,
  parseRange,
  type AddressRange,
} from '../domain/address-pool.js';
import {
  AddressTakenError,
  ConflictError,
  NameTakenError,
  NotFoundError,
  ValidationError,
} from '../domain/errors.js';
import { generateKeyPair, generatePresharedKey } from '../domain/keys.js';
import type { Client, ClientSecrets, Gateway } from '../domain/model.js';
import { generateClientName } from '../domain/names.js';
import type { CreateClientBody, ListClientsQuery, UpdateClientBody } from '../domain/schemas.js';
import { AddressPoolExhausted, pickCandidate } from './allocate-address.js';
import type { ClientStore, Clock, GatewayStore, NetworkStore, Page, Random } from './ports.js';

export interface ClientDeps {
  networks: NetworkStore;
  gateways: GatewayStore;
  clients: ClientStore;
  clock: Clock;
  random: Random;
}

/** A client as the API shows it: with whether its current state is in effect on the gateway. */
export type ClientView = Client & { inEffect: boolean };

const MAX_CREATE_ATTEMPTS = 40;

export async function createClient(deps: ClientDeps, network: string, body: CreateClientBody): Promise<ClientView> {
  const net = await deps.networks.get(network);
  if (!net) throw new NotFoundError('network', network);
  const gateway = await deps.gateways.get(network, body.gatewayId);
  if (!gateway) throw new NotFoundError('gateway', body.gatewayId);

  const range4 = parseRange(net.addressRange, 4);
  const range6 = net.addressRange6 ? parseRange(net.addressRange6, 6) : undefined;
  const chosen4 = body.address !== undefined ? checkChosenAddress(range4, body.address, 'address') : undefined;
  if (body.address6 !== undefined && !range6) {
    throw new ValidationError('address6', 'the network has no IPv6 range (addressRange6), so a client cannot have an IPv6 address');
  }
  const chosen6 = body.address6 !== undefined && range6 ? checkChosenAddress(range6, body.address6, 'address6') : undefined;

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
  for (let attempt = 1; ; attempt++) {
    const address4 = chosen4 ?? (await pick(deps, network, range4, avoid4, 'address'));
    const address6 = range6 ? (chosen6 ?? (await pick(deps, network, range6, avoid6, 'address6'))) : undefined;
    const now = deps.clock.now().toISOString();
    const client: Client = {
      id: name,
      name,
      network,
      gatewayId: gateway.id,
      address: formatAddress(address4, 4),
      ...(address6 !== undefined ? { address6: formatAddress(address6, 6) } : {}),
      publicKey,
      dns: body.dns ?? [],
      enabled: true,
      hasPrivateKey: secrets.privateKey !== undefined,
      hasPresharedKey: secrets.presharedKey !== undefined,
      ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}),
      generation: gateway.desiredGeneration + 1,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    const leases = [leaseKey(address4, 4), ...(address6 !== undefined ? [leaseKey(address6, 6)] : [])];
    try {
      await deps.clients.create({ client, leaseKeys: leases }, secrets, now);
      return view(client, gateway);
    } catch (err) {
      if (err instanceof AddressTakenError) {
        const isV4 = err.leaseKey === leases[0];
        if (isV4 && chosen4 !== undefined) throw new ConflictError('address_taken', `address ${client.address} is already in use in network '${network}'`, 'address');
        if (!isV4 && chosen6 !== undefined) throw new ConflictError('address_taken', `address ${client.address6} is already in use in network '${network}'`, 'address6');
        (isV4 ? avoid4 : avoid6).add(isV4 ? address4 : address6!);
      } else if (err instanceof NameTakenError) {
        if (body.name !== undefined) throw new ConflictError('name_taken', `a client named '${name}' already exists in network '${network}'`, 'name');
        name = generateClientName(deps.random);
      } else if (!isRetryable(err)) {
        throw err;
      }
      if (attempt >= MAX_CREATE_ATTEMPTS) throw new ConflictError('busy', 'too many concurrent changes in this network; try again');
      await backoff(attempt, deps.random);
    }
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
  for (let attempt = 1; ; attempt++) {
    const current = await deps.clients.get(network, name);
    if (!current) throw new NotFoundError('client', name);
    if (body.version !== undefined && body.version !== current.version) {
      throw new ConflictError('version_conflict', `client '${name}' is at version ${current.version}, not ${body.version}`, 'version');
    }
    const gateway = await deps.gateways.get(network, current.gatewayId);
    const now = deps.clock.now().toISOString();
    const enabled = body.enabled ?? current.enabled;
    const expiresAt = body.expiresAt === null ? undefined : (body.expiresAt ?? current.expiresAt);
    const peerSetChanged = enabled !== current.enabled || expiresAt !== current.expiresAt;
    const next: Client = {
      ...current,
      enabled,
      dns: body.dns ?? current.dns,
      updatedAt: now,
      version: current.version + 1,
      generation: peerSetChanged ? (gateway?.desiredGeneration ?? 0) + 1 : current.generation,
    };
    if (expiresAt === undefined) delete next.expiresAt;
    else next.expiresAt = expiresAt;
    try {
      await deps.clients.update(next, current.version, peerSetChanged, now);
      return view(next, gateway);
    } catch (err) {
      const lostRace = err instanceof ConflictError && err.code === 'version_conflict' && body.version === undefined;
      if (!(lostRace || isRetryable(err)) || attempt >= 10) throw err;
      await backoff(attempt, deps.random);
    }
  }
}

export async function deleteClient(deps: ClientDeps, network: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await deps.clients.get(network, name);
    if (!current) throw new NotFoundError('client', name);
    const leases = [
      leaseKey(parseAddress(current.address, 4), 4),
      ...(current.address6 ? [leaseKey(parseAddress(current.address6, 6), 6)] : []),
    ];
    try {
      await deps.clients.delete({ client: current, leaseKeys: leases }, current.version, deps.clock.now().toISOString());
      return;
    } catch (err) {
      const lostRace = err instanceof ConflictError && err.code === 'version_conflict';
      if (!(lostRace || isRetryable(err)) || attempt >= 10) throw err;
      await backoff(attempt, deps.random);
    }
  }
}

export function view(client: Client, gateway: Gateway | undefined): ClientView {
  return { ...client, inEffect: gateway !== undefined && gateway.appliedGeneration >= client.generation };
}

/** DynamoDB answers concurrent transactions on one item (the gateway's generation) with a conflict. */
export function isRetryable(err: unknown): boolean {
  const e = err as { name?: string; CancellationReasons?: { Code?: string }[] };
  if (e?.name === 'TransactionConflictException' || e?.name === 'ProvisionedThroughputExceededException' || e?.name === 'ThrottlingException') return true;
  if (e?.name === 'TransactionCanceledException') {
    return (e.CancellationReasons ?? []).some((r) => r.Code === 'TransactionConflict' || r.Code === 'ThrottlingError' || r.Code === 'ProvisionedThroughputExceeded');
  }
  return false;
}

export async function backoff(attempt: number, random: Random): Promise<void> {
  const capMs = Math.min(200, 5 * 2 ** Math.min(attempt, 6));
  await new Promise((r) => setTimeout(r, Math.floor(random() * capMs)));
}
