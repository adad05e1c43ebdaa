import { formatAddress, leaseKey, leaseKeysOf, parseRange, usableBounds, type AddressRange } from '../domain/address-pool.js';
import { AUDITED_FIELDS, auditRecord, changesBetween, type AuditChanges, type AuditContext } from '../domain/audit.js';
import { AddressTakenError, ConflictError, NotFoundError } from '../domain/errors.js';
import { createStamper, gatewayAnswer } from '../domain/generation.js';
import type { Gateway } from '../domain/model.js';
import { dnsFirewall } from '../domain/gateway-commands.js';
import { validateEndpoint } from '../domain/patterns.js';
import type { CreateGatewayBody, ListQuery, UpdateGatewayBody } from '../domain/schemas.js';
import { AddressPoolExhausted, pickCandidate } from './allocate-address.js';
import type { Clock, GatewayStore, LeaseReader, NetworkStore, Page, Random, RandomBytes } from './ports.js';
import { GenerationFloor, isVersionConflict, lostRace, retry } from './retry.js';
import type { StatusReader } from './status-view.js';

const stamp = createStamper();

export interface GatewayDeps {
  networks: NetworkStore;
  gateways: GatewayStore;
  leases: LeaseReader;
  clock: Clock;
  random: Random;
  randomBytes: RandomBytes;
  /** The gateways' report snapshots (status-view.ts): answers carry `health`; without it, null. */
  status?: StatusReader;
}

export const DEFAULT_LISTEN_PORT = 51820;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function newGatewayId(randomBytes: RandomBytes): string {
  const bytes = randomBytes(10);
  return `gw-${[...bytes].map((b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('')}`;
}

const gatewayResource = (network: string, id: string) => ({ type: 'gateway' as const, network, id });

export async function createGateway(deps: GatewayDeps, network: string, body: CreateGatewayBody, audit: AuditContext): Promise<Gateway> {
  const net = await deps.networks.get(network);
  if (!net) throw new NotFoundError('network', network);
  const range4 = parseRange(net.addressRange, 4);
  const range6 = net.addressRange6 ? parseRange(net.addressRange6, 6) : undefined;
  const avoid4 = new Set<bigint>();
  const avoid6 = new Set<bigint>();
  let tried: { address4: bigint; address6?: bigint; leaseKeys: string[] } | undefined;
  return retry(
    async () => {
      // The gateway takes the first usable address when it is free: the conventional ".1".
      const address4 = await gatewayAddress(deps, network, range4, avoid4);
      const address6 = range6 ? await gatewayAddress(deps, network, range6, avoid6) : undefined;
      const gateway = draftGateway(deps, network, body, address4, address6);
      tried = { address4, ...(address6 !== undefined ? { address6 } : {}), leaseKeys: [leaseKey(address4, 4), ...(address6 !== undefined ? [leaseKey(address6, 6)] : [])] };
      const record = auditRecord(audit, gateway.createdAt, 'gateway.create', gatewayResource(network, gateway.id), changesBetween(undefined, gateway, AUDITED_FIELDS.gateway));
      await deps.gateways.create(gateway, tried.leaseKeys, record, {
        name: net.name,
        addressRange: net.addressRange,
        ...(net.addressRange6 ? { addressRange6: net.addressRange6 } : {}),
      });
      return gatewayAnswer(gateway);
    },
    {
      attempts: 20,
      retryOn: (err) => {
        if (err instanceof AddressTakenError) {
          if (err.leaseKey === tried!.leaseKeys[0]) avoid4.add(tried!.address4);
          else avoid6.add(tried!.address6!);
          return 'later';
        }
        if (err instanceof ConflictError && err.code === 'id_taken') return 'now';
        return lostRace(err);
      },
      random: deps.random,
    },
  );
}

function draftGateway(deps: GatewayDeps, network: string, body: CreateGatewayBody, address4: bigint, address6: bigint | undefined): Gateway {
  const id = newGatewayId(deps.randomBytes);
  const now = deps.clock.now().toISOString();
  return {
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
}

function parseRangeText(text: string): string {
  return text.includes(':') ? parseRange(text, 6, 'routedRanges').text : parseRange(text, 4, 'routedRanges').text;
}

async function gatewayAddress(deps: GatewayDeps, network: string, range: AddressRange, avoid: Set<bigint>): Promise<bigint> {
  const first = usableBounds(range).first;
  if (!avoid.has(first)) {
    const taken = await deps.leases.leasesBetween(network, leaseKey(first, range.family), leaseKey(first, range.family));
    if (taken.size === 0) return first;
    avoid.add(first);
  }
  try {
    return await pickCandidate(deps.leases, network, range, avoid, deps.random);
  } catch (err) {
    if (err instanceof AddressPoolExhausted) {
      throw new ConflictError('address_pool_exhausted', `address pool exhausted: every address of ${range.text} is in use`);
    }
    throw err;
  }
}

/** The gateway as stored, with its shards (what the use cases work from). */
async function loadGateway(deps: Pick<GatewayDeps, 'gateways'>, network: string, id: string): Promise<Gateway> {
  const gateway = await deps.gateways.get(network, id);
  if (!gateway) throw new NotFoundError('gateway', id);
  return gateway;
}

export async function getGateway(deps: Pick<GatewayDeps, 'gateways'>, network: string, id: string): Promise<Gateway> {
  return gatewayAnswer(await loadGateway(deps, network, id));
}

export async function listGateways(deps: GatewayDeps, network: string, query: ListQuery): Promise<Page<Gateway>> {
  if (!(await deps.networks.get(network))) throw new NotFoundError('network', network);
  const page = await deps.gateways.list(network, query.limit, query.cursor);
  return { ...page, items: page.items.map(gatewayAnswer) };
}

export async function updateGateway(deps: GatewayDeps, network: string, id: string, body: UpdateGatewayBody, audit: AuditContext): Promise<Gateway> {
  const floor = new GenerationFloor();
  return retry(
    async () => {
      const current = await loadGateway(deps, network, id);
      if (body.version !== undefined && body.version !== current.version) {
        throw new ConflictError('version_conflict', `gateway '${id}' is at version ${current.version}, not ${body.version}`, 'version');
      }
      const now = deps.clock.now();
      const { next, reinit } = applyGatewayChange(current, body, now);
      const generation = reinit ? stamp(now.getTime(), Math.max(floor.value, current.desiredGeneration)) : undefined;
      const record = auditRecord(audit, now, 'gateway.update', gatewayResource(network, id), changesBetween(current, next, AUDITED_FIELDS.gateway));
      return gatewayAnswer(await deps.gateways.update(next, current.version, generation, record));
    },
    {
      attempts: 10,
      retryOn: (err) => {
        // A client change moved the generation meanwhile: stamp again above it, at once.
        const behind = floor.learn(err);
        if (behind) return behind;
        // Without an explicit version the caller wants its change applied: re-read and try again.
        return body.version === undefined && isVersionConflict(err) ? 'later' : lostRace(err);
      },
      random: deps.random,
    },
  );
}

/** The gateway after the change, and whether it changes the gateway's own setup (init runs again). */
function applyGatewayChange(current: Gateway, body: UpdateGatewayBody, now: Date): { next: Gateway; reinit: boolean } {
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
  // A new listen port or forwarded ranges change the gateway's own setup.
  // So does a DNS change that opens or closes a port of the gateway's firewall (its own DNS, the VPC resolver).
  const reinit =
    next.listenPort !== current.listenPort ||
    next.routedRanges.join() !== current.routedRanges.join() ||
    next.fullTunnel !== current.fullTunnel ||
    JSON.stringify(dnsFirewall(next)) !== JSON.stringify(dnsFirewall(current));
  if (reinit) next.status = 'pending';
  return { next, reinit };
}

export async function deleteGateway(deps: GatewayDeps, network: string, id: string, audit: AuditContext): Promise<void> {
  await retry(
    async () => {
      const current = await loadGateway(deps, network, id);
      const leases = leaseKeysOf(current);
      const record = auditRecord(audit, deps.clock.now(), 'gateway.delete', gatewayResource(network, id), changesBetween(current, undefined, AUDITED_FIELDS.gateway));
      await deps.gateways.delete(network, id, leases, record);
    },
    { attempts: 10, retryOn: lostRace, random: deps.random },
  );
}

export async function requestResync(
  deps: Pick<GatewayDeps, 'gateways' | 'clock' | 'random'>,
  network: string,
  id: string,
  audit: AuditContext,
): Promise<Gateway> {
  const gateway = await loadGateway(deps, network, id);
  // A gateway whose init failed runs init again; a ready one keeps serving while it resyncs.
  return gatewayAnswer(await moveGeneration(deps, gateway, gateway.status !== 'ready', audit));
}

/**
 * Moves a gateway's desiredGeneration past every stamp written so far (a forced resync, expiries
 * due): a stamp that lost to a larger one is taken again at once above it.
 */
export function moveGeneration(
  deps: Pick<GatewayDeps, 'gateways' | 'clock' | 'random'>,
  gateway: Gateway,
  reinit: boolean,
  audit: AuditContext,
  extra?: AuditChanges,
): Promise<Gateway> {
  const floor = new GenerationFloor(gateway.desiredGeneration);
  const attempt = () => {
    const now = deps.clock.now();
    const generation = stamp(now.getTime(), floor.value);
    const changes = {
      desiredGeneration: { from: floor.value, to: generation },
      ...(reinit && gateway.status !== 'pending' ? { status: { from: gateway.status, to: 'pending' } } : {}),
      ...extra,
    };
    const record = auditRecord(audit, now, 'gateway.resync', gatewayResource(gateway.network, gateway.id), changes);
    return deps.gateways.requestResync(gateway.network, gateway.id, generation, reinit, record);
  };
  return retry(attempt, {
    attempts: 10,
    retryOn: (err) => floor.learn(err) ?? lostRace(err),
    random: deps.random,
  });
}
