// Every interface the use cases need, in one place. Adapters (DynamoDB, S3, SSM, the local
// gateway runner) implement them and turn their SDK's errors into domain errors
// (domain/errors.ts): the app layer never sees an AWS error shape.
import type { CommandParameters, CommandResult } from '../domain/gateway-commands.js';
import type { AuditRecord, AuditResourceType } from '../domain/audit.js';
import type { AgentState, StatusSnapshot } from '../domain/gateway-report.js';
import type { Client, ClientSecrets, Gateway, GenerationVector, Network, SyncResult } from '../domain/model.js';

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Clock {
  now(): Date;
}

export type Random = () => number;
export type RandomBytes = (size: number) => Buffer;

// --- networks, gateways, clients -----------------------------------------------------------------

export interface NetworkStore {
  /** Throws ConflictError name_taken. */
  create(network: Network, audit: AuditRecord): Promise<void>;
  get(name: string): Promise<Network | undefined>;
  list(limit: number, cursor?: string): Promise<Page<Network>>;
  /** Conditional on expectedVersion; throws ConflictError version_conflict. */
  updateDefaultDns(name: string, defaultDns: string[], expectedVersion: number, now: string, audit: AuditRecord): Promise<Network>;
  /** Throws NotFoundError, or ConflictError network_not_empty while gateways exist. */
  delete(name: string, audit: AuditRecord): Promise<void>;
}

/** The network reads of the create-client path, which may come from a cache (network-cache.ts). */
export type NetworkReader = Pick<NetworkStore, 'get'> & { forget?(name: string): void };

export interface GatewayStore {
  /**
   * Claims the gateway's overlay address(es) in the same transaction and makes its generation
   * shards (with the network's ranges); throws AddressTakenError.
   */
  create(gateway: Gateway, leaseKeys: string[], audit: AuditRecord, network: NetworkGuard): Promise<void>;
  /** The gateway with its generation shards (both strongly consistent, the item read first). */
  get(network: string, id: string): Promise<Gateway | undefined>;
  list(network: string, limit: number, cursor?: string): Promise<Page<Gateway>>;
  listAll(limit: number, cursor?: string): Promise<Page<Gateway>>;
  /** generation: the new desiredGeneration stamp, when the change needs the gateway to resync. */
  update(gateway: Gateway, expectedVersion: number, generation: number | undefined, audit: AuditRecord): Promise<Gateway>;
  delete(network: string, id: string, leaseKeys: string[], audit: AuditRecord): Promise<void>;
  /**
   * Records a sync outcome; appliedGeneration (with the vector applied) only ever moves forward. A
   * "sent" outcome (with its command id) is recorded only over its own claim (`result.claim`).
   */
  recordSync(network: string, id: string, result: SyncResult, applied?: AppliedRecord): Promise<void>;
  /**
   * Takes the gateway's one apply slot before a command is sent: `claim` (outcome "sent", a claim
   * token, no command id) is written only while the generation is news and no command is in flight
   * or claimed, or the claim there was written before `staleBefore` (its sender is gone). False:
   * another sender has the slot.
   */
  claimApply(network: string, id: string, claim: SyncResult, staleBefore: string): Promise<boolean>;
  /** Gives a claimed slot back (nothing was sent): `previous` again, if the claim is still `token`. */
  releaseApply(network: string, id: string, token: string, previous: SyncResult | undefined): Promise<void>;
  /** Conditional on commandId (when given) still being the init in flight; a stale result is dropped. */
  recordInit(network: string, id: string, outcome: InitOutcome): Promise<void>;
  markInitSent(network: string, id: string, command: { commandId: string; at: string }): Promise<void>;
  /** Bumps desiredGeneration; an errored gateway goes back to pending so init runs again. */
  requestResync(network: string, id: string, generation: number, reinit: boolean, audit: AuditRecord): Promise<Gateway>;
  /**
   * The schedule's bookkeeping of expiries: names to add to (or drop from) a shard's expiring
   * clients, by shard name; `clearLegacy` removes the gateway item's flag from before shards.
   */
  markExpiring(network: string, id: string, change: { add?: Record<string, string[]>; remove?: Record<string, string[]>; clearLegacy?: boolean }): Promise<void>;
}

/** What an apply result puts on record: the generation number the gateway runs and what it covers. */
export interface AppliedRecord {
  generation: number;
  /** The generation vector its peer set was read at (absent: only the number moves). */
  vector?: GenerationVector;
}

export interface InitOutcome {
  status: 'ready' | 'error';
  publicKey?: string;
  /** The key the gateway reported before (a re-init may bring a new one): its claim is released. */
  previousPublicKey?: string;
  reason?: string;
  at: string;
  commandId?: string;
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

/** Which addresses of a range are leased: what the allocator picks its candidates from. */
export interface LeaseReader {
  /** Lease keys already taken between two lease keys (inclusive). */
  leasesBetween(network: string, fromKey: string, toKey: string): Promise<Set<string>>;
}

/** Many clients written under one stamp on one shard, which moves once at the end (an import). */
export interface ClientBatch {
  network: NetworkGuard;
  gatewayId: string;
  shard: number;
  /** Every client of the batch carries this generation and genShard = shard. */
  generation: number;
}

export interface CreateOptions {
  /** Part of a batch: the shard moves in reserveBatch/settleBatch, not with this client. */
  batch?: boolean;
}

export interface ClientStore extends LeaseReader {
  /**
   * One transaction: the client (name unique), its address leases (unique), its public key's claim
   * (unique in the network; the gateway's own key is claimed too), its secrets, and its generation
   * shard (client.genShard) moved to client.generation, on the condition that the shard holds the
   * network's ranges used. Throws NameTakenError / AddressTakenError / PublicKeyTakenError /
   * NotFoundError (gateway) / GenerationBehindError / NetworkChangedError.
   */
  create(change: ClientChange, secrets: ClientSecrets, network: NetworkGuard, audit: AuditRecord, options?: CreateOptions): Promise<void>;
  /**
   * Before a batch: counts `reserve` clients on its shard (so the gateway cannot be deleted under
   * it) on the condition that the shard is below the batch's stamp. Throws GenerationBehindError /
   * NotFoundError / NetworkChangedError.
   */
  reserveBatch(batch: ClientBatch, reserve: number): Promise<void>;
  /** After a batch: the shard moves to its stamp, its count to what was created. Throws GenerationBehindError. */
  settleBatch(batch: ClientBatch, settled: { created: number; reserved: number; expiring: string[] }): Promise<void>;
  /** Moves clients still at generation `from` to `to` (a batch whose stamp was overtaken). */
  restamp(network: string, names: string[], from: number, to: number): Promise<void>;
  get(network: string, name: string): Promise<Client | undefined>;
  list(network: string, opts: { gatewayId?: string; namePrefix?: string; limit: number; cursor?: string }): Promise<Page<Client>>;
  /** Conditional on expectedVersion; sets the gateway's generation to client.generation when peerSetChanged. */
  update(client: Client, expectedVersion: number, peerSetChanged: boolean, audit: AuditRecord): Promise<Client>;
  /** Removes client, leases, its key claim (if it holds it) and secrets and moves the gateway's generation, in one transaction. */
  delete(change: ClientChange, expectedVersion: number, generation: number, audit: AuditRecord): Promise<void>;
  /** Records that every link created up to `at` is revoked. */
  markLinksRevoked(network: string, name: string, at: string, audit: AuditRecord): Promise<void>;
  /** Every client of a gateway (all pages), for rendering its peer set. */
  allOfGateway(network: string, gatewayId: string): Promise<Client[]>;
  /** The named clients that exist (strongly consistent), for the schedule's expiries. */
  getMany(network: string, names: string[]): Promise<Client[]>;
}

/** One client of a multi-client write (an import): the record, its leases, secrets and audit record. */
export interface ClientDraft {
  client: Client;
  leaseKeys: string[];
  secrets: ClientSecrets;
  audit: AuditRecord;
}

/** Why a draft of a multi-client write was refused: the claim another record holds. */
export type DraftConflict =
  | { draft: number; kind: 'name' | 'publicKey' | 'gatewayPublicKey' }
  | { draft: number; kind: 'lease'; leaseKey: string };

/** Many clients of a batch (ClientBatch: reserved, their shard moved once at its end) a transaction at a time. */
export interface ClientBatchWriter {
  /** How many drafts one write takes at most (one transaction). */
  readonly maxDrafts: number;
  /**
   * One transaction: every draft's client, leases, key claim, secrets and audit record, as a
   * single create in a batch writes them. All or nothing: when drafts' claims fail, nothing is
   * written and their conflicts come back (every one the store can tell).
   */
  createMany(drafts: ClientDraft[]): Promise<DraftConflict[]>;
}

export interface SecretsReader {
  get(network: string, client: string): Promise<ClientSecrets>;
  getMany(network: string, clients: string[]): Promise<Map<string, ClientSecrets>>;
}

// --- audit log --------------------------------------------------------------------------------------
// Every store write that changes a resource takes its AuditRecord and writes it in the same
// transaction: the record exists exactly when the change committed.

export interface AuditQuery {
  network: string;
  resourceType?: AuditResourceType;
  resourceId?: string;
  limit: number;
  cursor?: string;
}

export interface AuditReader {
  /** Newest first. */
  list(query: AuditQuery): Promise<Page<AuditRecord>>;
}

// --- one-time links --------------------------------------------------------------------------------

export interface LinkRecord {
  /** SHA-256 of the token, hex. The token itself is never stored. */
  tokenHash: string;
  network: string;
  client: string;
  /** Tells a client deleted and re-created under the same name from the one the link was made for. */
  clientCreatedAt: string;
  clientVersion: number;
  createdAt: string;
  expiresAt: string;
  usedAt?: string;
  revokedAt?: string;
}

export type SpendOutcome = { spent: true; link: LinkRecord } | { spent: false; link?: LinkRecord };

export interface LinkStore {
  create(link: LinkRecord, audit: AuditRecord): Promise<void>;
  get(tokenHash: string): Promise<LinkRecord | undefined>;
  /** One conditional write: open, unexpired links are spent by exactly one caller. */
  spend(tokenHash: string, now: string, spendId: string, audit: AuditRecord): Promise<SpendOutcome>;
  /** Undoes the spend `spendId` made (when the download could not be produced), and removes its audit record. */
  release(tokenHash: string, spendId: string, audit: AuditRecord): Promise<void>;
  /** Revokes every open link of the client; answers how many. */
  revokeAll(network: string, client: string, now: string): Promise<number>;
}

// --- objects (rendered configs, QR PNGs, peer sets) -----------------------------------------------

export interface SignedGetUrlOptions {
  expiresInSeconds: number;
  /** Sent back as the response's Content-Disposition (domain/render-client-config.ts attachmentDisposition). */
  contentDisposition?: string;
  /** Sent back as the response's Content-Type, whatever the object was stored with. */
  contentType?: string;
  /** Sent back as the response's Cache-Control (secrets in a config: 'no-store'). */
  cacheControl?: string;
}

export interface ObjectStore {
  /** The bucket the objects are in (the apply document names it to the gateway). */
  readonly bucket: string;
  putObject(key: string, body: Uint8Array | string, contentType: string): Promise<void>;
  /** The object's bytes, or undefined when there is no such object. */
  getObject(key: string): Promise<Buffer | undefined>;
  /** Deleting an object that does not exist is not an error. */
  deleteObject(key: string): Promise<void>;
  signedGetUrl(key: string, options: SignedGetUrlOptions): Promise<string>;
}

// --- gateways' own commands ------------------------------------------------------------------------

/** How the control plane reaches gateways: SSM Run Command in AWS, the local runner otherwise. */
export interface GatewayCommandSender {
  sendInit(instanceId: string, params: CommandParameters): Promise<{ commandId: string }>;
  sendApply(instanceId: string, params: CommandParameters): Promise<{ commandId: string }>;
  sendTeardown(instanceId: string, params: CommandParameters): Promise<{ commandId: string }>;
  getResult(commandId: string, instanceId: string): Promise<CommandResult>;
}

/** The report document and SSM's view of the agents: SSM Run Command in AWS, the local runner otherwise. */
export interface GatewayReporter {
  /**
   * One report command (SSM takes up to 50 instances; report runs send each instance its own, see
   * REPORT_COMMAND_INSTANCES); the agent writes its stdout to `bucket` under `keyPrefix`.
   */
  sendReport(instanceIds: string[], params: CommandParameters, output: { bucket: string; keyPrefix: string }): Promise<{ commandId: string }>;
  /** The agent state of each instance (up to REPORT_BATCH at a time); one SSM does not know is 'unknown'. */
  agentStates(instanceIds: string[]): Promise<Map<string, AgentState>>;
}

/** One status snapshot per gateway (an object under status/). */
export interface StatusSnapshotStore {
  /** 'unchanged' when the stored snapshot still has `knownEtag`; undefined when there is none. */
  read(network: string, gatewayId: string, knownEtag?: string): Promise<{ etag: string; snapshot: StatusSnapshot } | 'unchanged' | undefined>;
  write(snapshot: StatusSnapshot): Promise<void>;
}

/** A gateway as the sync worker is told about it. */
export interface GatewayRef {
  network: string;
  gatewayId: string;
}

/** A gateway whose record is gone: what its instance needs to take it down. */
export interface RemovedGateway extends GatewayRef {
  instanceId: string;
  interfaceName: string;
}

/**
 * Runs a create once per idempotency key: a repeat with the same payload within the retention
 * window gets the first result back without running again. Throws IdempotencyKeyReusedError for
 * the same key with another payload and IdempotencyInFlightError while the first is running. A
 * failed run leaves no record, so the key can be used again.
 */
export interface IdempotencyGuard {
  once<T extends object>(key: string, payload: unknown, run: () => Promise<T>, remainingTimeMs?: () => number): Promise<T>;
}
