import { parseRange } from '../domain/address-pool.js';
import { AUDITED_FIELDS, auditRecord, changesBetween, type AuditContext } from '../domain/audit.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import type { Network } from '../domain/model.js';
import type { CreateNetworkBody, ListQuery, UpdateNetworkBody } from '../domain/schemas.js';
import type { Clock, NetworkStore, Page, Random } from './ports.js';
import { isVersionConflict, lostRace, retry } from './retry.js';

export interface NetworkDeps {
  networks: NetworkStore;
  clock: Clock;
  random: Random;
}

const networkResource = (name: string) => ({ type: 'network' as const, network: name, id: name });

export async function createNetwork(deps: NetworkDeps, body: CreateNetworkBody, audit: AuditContext): Promise<Network> {
  const now = deps.clock.now().toISOString();
  const network: Network = {
    id: body.name,
    name: body.name,
    addressRange: parseRange(body.addressRange, 4, 'addressRange').text,
    ...(body.addressRange6 ? { addressRange6: parseRange(body.addressRange6, 6, 'addressRange6').text } : {}),
    defaultDns: body.defaultDns ?? [],
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  const record = auditRecord(audit, now, 'network.create', networkResource(network.name), changesBetween(undefined, network, AUDITED_FIELDS.network));
  await deps.networks.create(network, record);
  return network;
}

export async function getNetwork(deps: NetworkDeps, name: string): Promise<Network> {
  const network = await deps.networks.get(name);
  if (!network) throw new NotFoundError('network', name);
  return network;
}

export function listNetworks(deps: NetworkDeps, query: ListQuery): Promise<Page<Network>> {
  return deps.networks.list(query.limit, query.cursor);
}

export async function updateNetwork(deps: NetworkDeps, name: string, body: UpdateNetworkBody, audit: AuditContext): Promise<Network> {
  return retry(
    async () => {
      const current = await getNetwork(deps, name);
      if (body.version !== undefined && body.version !== current.version) {
        throw new ConflictError('version_conflict', `network '${name}' is at version ${current.version}, not ${body.version}`, 'version');
      }
      const now = deps.clock.now().toISOString();
      const changes = changesBetween(current, { ...current, defaultDns: body.defaultDns }, AUDITED_FIELDS.network);
      const record = auditRecord(audit, now, 'network.update', networkResource(name), changes);
      return deps.networks.updateDefaultDns(name, body.defaultDns, current.version, now, record);
    },
    {
      attempts: 5,
      // Without an explicit version the caller wants its change applied: re-read and try again.
      retryOn: (err) => (body.version === undefined && isVersionConflict(err) ? 'later' : lostRace(err)),
      random: deps.random,
    },
  );
}

export async function deleteNetwork(deps: NetworkDeps, name: string, audit: AuditContext): Promise<void> {
  const current = await getNetwork(deps, name);
  const record = auditRecord(audit, deps.clock.now(), 'network.delete', networkResource(name), changesBetween(current, undefined, AUDITED_FIELDS.network));
  await deps.networks.delete(name, record);
}
