import { randomBytes } from 'node:crypto';
import { formatAddress, leaseKey, parseAddress, parseRange, usableBounds, type AddressRange } from '../domain/address-pool.js';
import { AddressTakenError, ConflictError, GenerationBehindError, NotFoundError } from '../domain/errors.js';
import { createStamper } from '../domain/generation.js';
import type { Gateway } from '../domain/model.js';
import { validateEndpoint } from '../domain/patterns.js';
import type { CreateGatewayBody, ListQuery, UpdateGatewayBody } from '../domain/schemas.js';
import { AddressPoolExhausted, pickCandidate } from './allocate-address.js';
import { backoff, busy, isRetryable } from './retry.js';
import type { ClientStore, Clock, GatewayStore, NetworkStore, Page, Random } from './ports.js';

const stamp = createStamper();

export interface GatewayDeps {
  networks: NetworkStore;
  gateways: GatewayStore;
  clients: Pick<ClientStore, 'leasesBetween'>;
  clock: Clock;
  random: Random;
}

export const DEFAULT_LISTEN_PORT = 51820;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function newGatewayId(): string {
  const bytes = randomBytes(10);
  return `gw-${[...bytes].map((b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('')}`;
}

export async function createGateway(deps: GatewayDeps, network: string, body: CreateGatewayBody): Promise<Gateway> {
  const net = await deps.networks.get(network);
  if (!net) throw new NotFoundError('network', network);
  const range4 = parseRange(net.addressRange, 4);
  const range6 = net.addressRange6 ? parseRange(net.addressRange6, 6) : undefined;
  const avoid4 = new Set<bigint>();
  const avoid6 = new Set<bigint>();
  for (let attempt = 1; ; attempt++) {
    const id = newGatewayId();
    // The gateway takes the first usable address when it is free: the conventional ".1".
    const address4 = await gatewayAddress(deps, network, range4, avoid4);
    const address6 = range6 ? await gatewayAddress(deps, network, range6, avoid6) : undefined;
    const now = deps.clock.now().toISOString();
    const gateway: Gateway = {
      id,
      network,
      instanceId: body.instanceId,
      endpoint: validateEndpoint(body.endpoint),
      listenPort: body.listenPort ?? DEFAULT_LISTEN_PORT,
      interfaceName: `wgi-${id.slice(3)}`,
      address: formatAddress(address4, 4),
      ...(address6 !== undefined ? { address6: formatAddress(address6, 6) } : {}),
      routedRanges: (body.routedRanges ?? []).map((r) => parseRangeText(r)),
      fullTunnel: body.fullTunnel ?? false,
      dns: body.dns ?? [],
      ...(body.mtu !== undefined ? { mtu: body.mtu } : {}),
      ...(body.persistentKeepalive !== undefined ? { persistentKeepalive: body.persistentKeepalive } : {}),
      status: 'pending',
      desiredGeneration: 0,
      appliedGeneration: 0,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    const leases = [leaseKey(address4, 4), ...(address6 !== undefined ? [leaseKey(address6, 6)] : [])];
    try {
      await deps.gateways.create(gateway, leases);
      return gateway;
    } catch (err) {
      if (err instanceof AddressTakenError) {
        if (err.leaseKey === leases[0]) avoid4.add(address4);
        else avoid6.add(address6!);
      } else if (!(isRetryable(err) || (err instanceof ConflictError && err.code === 'id_taken'))) {
        throw err;
      }
      if (attempt >= 20) throw busy();
      await backoff(attempt, deps.random);
    }
  }
}

function parseRangeText(text: string): string {
  return text.includes(':') ? parseRange(text, 6, 'routedRanges').text : parseRange(text, 4, 'routedRanges').text;
}

async function gatewayAddress(deps: GatewayDeps, network: string, range: AddressRange, avoid: Set<bigint>): Promise<bigint> {
  const first = usableBounds(range).first;
  if (!avoid.has(first)) {
    const taken = await deps.clients.leasesBetween(network, leaseKey(first, range.family), leaseKey(first, range.family));
    if (taken.size === 0) return first;
    avoid.add(first);
  }
  try {
    return await pickCandidate(deps.clients, network, range, avoid, deps.random);
  } catch (err) {
    if (err instanceof AddressPoolExhausted) {
      throw new ConflictError('address_pool_exhausted', `address pool exhausted: every address of ${range.text} is in use`);
    }
    throw err;
  }
}

export async function getGateway(deps: Pick<GatewayDeps, 'gateways'>, network: string, id: string): Promise<Gateway> {
  const gateway = await deps.gateways.get(network, id);
  if (!gateway) throw new NotFoundError('gateway', id);
  return gateway;
}

export async function listGateways(deps: GatewayDeps, network: string, query: ListQuery): Promise<Page<Gateway>> {
  if (!(await deps.networks.get(network))) throw new NotFoundError('network', network);
  return deps.gateways.list(network, query.limit, query.cursor);
}

export async function updateGateway(deps: GatewayDeps, network: string, id: string, body: UpdateGatewayBody): Promise<Gateway> {
  for (let attempt = 1; ; attempt++) {
    const current = await getGateway(deps, network, id);
    if (body.version !== undefined && body.version !== current.version) {
      throw new ConflictError('version_conflict', `gateway '${id}' is at version ${current.version}, not ${body.version}`, 'version');
    }
    const now = deps.clock.now();
    const next: Gateway = {
      ...current,
      endpoint: body.endpoint !== undefined ? validateEndpoint(body.endpoint) : current.endpoint,
      listenPort: body.listenPort ?? current.listenPort,
      routedRanges: body.routedRanges ? body.routedRanges.map(parseRangeText) : current.routedRanges,
      fullTunnel: body.fullTunnel ?? current.fullTunnel,
      dns: body.dns ?? current.dns,
      updatedAt: now.toISOString(),
    };
    if (body.mtu === null) delete next.mtu;
    else if (body.mtu !== undefined) next.mtu = body.mtu;
    if (body.persistentKeepalive === null) delete next.persistentKeepalive;
    else if (body.persistentKeepalive !== undefined) next.persistentKeepalive = body.persistentKeepalive;
    // A new listen port or forwarded ranges change the gateway's own setup: init runs again.
    const reinit =
      next.listenPort !== current.listenPort ||
      next.routedRanges.join() !== current.routedRanges.join() ||
      next.fullTunnel !== current.fullTunnel;
    if (reinit) next.status = 'pending';
    try {
      return await deps.gateways.update(next, current.version, reinit ? stamp(now.getTime(), current.desiredGeneration) : undefined);
    } catch (err) {
      // Without an explicit version the caller wants its change applied: re-read and retry.
      const lost = err instanceof ConflictError && err.code === 'version_conflict' && body.version === undefined;
      if (!(lost || isRetryable(err))) throw err;
      if (attempt >= 10) throw busy();
      await backoff(attempt, deps.random);
    }
  }
}

export async function deleteGateway(deps: GatewayDeps, network: string, id: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await getGateway(deps, network, id);
    const leases = [
      leaseKey(parseAddress(current.address, 4), 4),
      ...(current.address6 ? [leaseKey(parseAddress(current.address6, 6), 6)] : []),
    ];
    try {
      await deps.gateways.delete(network, id, leases);
      return;
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= 10) throw busy();
      await backoff(attempt, deps.random);
    }
  }
}

export async function requestResync(deps: Pick<GatewayDeps, 'gateways' | 'clock'>, network: string, id: string): Promise<Gateway> {
  const gateway = await getGateway(deps, network, id);
  let floor = gateway.desiredGeneration;
  for (;;) {
    try {
      // A gateway whose init failed runs init again; a ready one keeps serving while it resyncs.
      return await deps.gateways.requestResync(network, id, stamp(deps.clock.now().getTime(), floor), gateway.status !== 'ready');
    } catch (err) {
      if (!(err instanceof GenerationBehindError)) throw err;
      floor = err.current;
    }
  }
}
