// The small interfaces the use cases need; DynamoDB/S3/SSM adapters implement them.
import type { Client, ClientSecrets, Gateway, Network, SyncResult } from '../domain/model.js';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface NetworkStore {
  create(network: Network): Promise<void>;
  get(name: string): Promise<Network | undefined>;
  list(limit: number, cursor?: string): Promise<Page<Network>>;
  updateDefaultDns(name: string, defaultDns: string[], expectedVersion: number, now: string): Promise<Network>;
  delete(name: string): Promise<void>;
}

export interface GatewayStore {
  /** Claims the gateway's overlay address(es) in the same transaction; throws AddressTakenError. */
  create(gateway: Gateway, leaseKeys: string[]): Promise<void>;
  get(network: string, id: string): Promise<Gateway | undefined>;
  list(network: string, limit: number, cursor?: string): Promise<Page<Gateway>>;
  listAll(limit: number, cursor?: string): Promise<Page<Gateway>>;
  /** generation: the new desiredGeneration stamp, when the change needs the gateway to resync. */
  update(gateway: Gateway, expectedVersion: number, generation?: number): Promise<Gateway>;
  delete(network: string, id: string, leaseKeys: string[]): Promise<void>;
  /** Records a sync outcome; appliedGeneration only ever moves forward. */
  recordSync(network: string, id: string, result: SyncResult, appliedGeneration?: number): Promise<void>;
  /** Conditional on commandId (when given) still being the init in flight; a stale result is dropped. */
  recordInit(network: string, id: string, outcome: { status: 'ready' | 'error'; publicKey?: string; reason?: string; at: string; commandId?: string }): Promise<void>;
  markInitSent(network: string, id: string, command: { commandId: string; at: string }): Promise<void>;
  /** Bumps desiredGeneration; an errored gateway goes back to pending so init runs again. */
  requestResync(network: string, id: string, generation: number, reinit: boolean): Promise<Gateway>;
}

export interface ClientChange {
  client: Client;
  /** Lease keys claimed with the client (create) or released (delete). */
  leaseKeys: string[];
}

/** The network ranges a create relied on; the transaction checks they still hold. */
export interface NetworkGuard {
  name: string;
  addressRange: string;
  addressRange6?: string;
}

export interface ClientStore {
  /**
   * One transaction: the client (name unique), its address leases (unique), its secrets, a check
   * that the network still has the ranges used, and the gateway's desiredGeneration set to
   * client.generation. Throws NameTakenError / AddressTakenError / NotFoundError (gateway) /
   * GenerationBehindError / NetworkChangedError.
   */
  create(change: ClientChange, secrets: ClientSecrets, network: NetworkGuard): Promise<void>;
  get(network: string, name: string): Promise<Client | undefined>;
  list(network: string, opts: { gatewayId?: string; limit: number; cursor?: string }): Promise<Page<Client>>;
  /** Conditional on expectedVersion; sets the gateway's generation to client.generation when peerSetChanged. */
  update(client: Client, expectedVersion: number, peerSetChanged: boolean): Promise<Client>;
  /** Removes client, leases and secrets and moves the gateway's generation, in one transaction. */
  delete(change: ClientChange, expectedVersion: number, generation: number): Promise<void>;
  /** Records that every link created up to `at` is revoked. */
  markLinksRevoked(network: string, name: string, at: string): Promise<void>;
  /** Lease keys already taken between two lease keys (inclusive), for the allocator. */
  leasesBetween(network: string, fromKey: string, toKey: string): Promise<Set<string>>;
  /** Every client of a gateway (all pages), for rendering its peer set. */
  allOfGateway(network: string, gatewayId: string): Promise<Client[]>;
}

export interface SecretsReader {
  get(network: string, client: string): Promise<ClientSecrets>;
  getMany(network: string, clients: string[]): Promise<Map<string, ClientSecrets>>;
}

export interface Clock {
  now(): Date;
}

export type Random = () => number;
