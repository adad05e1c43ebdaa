// Brings one gateway to its desired state: init until it reports its public key, then the whole
// enabled peer set at the current generation, applied with one command. Safe to run any number of
// times, concurrently with API changes, and after any failure: the gateway ignores generations
// older than the one it applied, and appliedGeneration only moves forward.
import {
  buildApplyParameters,
  buildInitParameters,
  parseApplyOutput,
  parseInitOutput,
  type CommandResult,
  type InitOptions,
} from '../domain/gateway-commands.js';
import { appliedOf, componentOf, desiredVector, generationStamp, isInSync, nextApplyGeneration, OWN_COMPONENT } from '../domain/generation.js';
import { isExpired, type Client, type Gateway, type SkippedClient, type SyncResult } from '../domain/model.js';
import { bucketPrefixes } from '../domain/object-keys.js';
import { partitionRenderable, peerSetDigest, renderPeerSet, type LeftOutPeer, type PeerCandidate } from '../domain/peer-set.js';
import type { ClientStore, Clock, GatewayCommandSender, GatewayStore, NetworkStore, ObjectStore, Random, RandomBytes, SecretsReader } from './ports.js';
import { moveGeneration } from './gateways.js';
import { pause } from './retry.js';
import { SYSTEM_ACTOR } from '../domain/audit.js';

export interface SyncDeps {
  networks: Pick<NetworkStore, 'get'>;
  gateways: GatewayStore;
  clients: Pick<ClientStore, 'allOfGateway' | 'getMany'>;
  secrets: SecretsReader;
  objects: ObjectStore;
  commands: GatewayCommandSender;
  clock: Clock;
  random: Random;
  randomBytes: RandomBytes;
  /** How often to ask for a command's result while waiting. */
  pollIntervalMs: number;
  initOptions?: (gateway: Gateway) => InitOptions;
  sleep?: (ms: number) => Promise<void>;
}

/** Pause before retrying a failed apply: 5 s, 10 s, 20 s … up to 5 minutes. */
export function retryDelay(failures: number): number {
  return Math.min(300_000, 5_000 * 2 ** Math.max(0, failures - 1));
}

export interface SyncOutcome {
  state: 'in-sync' | 'waiting' | 'error' | 'gone';
  appliedGeneration?: number;
  commandsSent: number;
  /** Clients left out of the last peer set this run sent, because they cannot be rendered. */
  peersLeftOut?: number;
}

/**
 * The peers the gateway should run: its enabled, unexpired clients, each named after its client.
 * Nothing here checks the values (records may predate a rule): partitionRenderable does.
 */
export function peerEntries(clients: Client[], psks: Map<string, { presharedKey?: string }>, now: Date): PeerCandidate[] {
  return clients
    .filter((c) => c.enabled && !isExpired(c, now))
    .map((c) => ({
      owner: c.name,
      publicKey: c.publicKey,
      ...(psks.get(c.name)?.presharedKey ? { presharedKey: psks.get(c.name)!.presharedKey } : {}),
      allowedIps: [`${c.address}/32`, ...(c.address6 ? [`${c.address6}/128`] : [])],
    }));
}

/** What the gateway's record says is to be done next; each has one function in SYNC_STEPS. */
type SyncStep =
  | 'send-init'
  | 'await-init'
  | 'await-apply'
  | 'await-send'
  | 'in-sync'
  | 'retry-pause'
  | 'send-apply';

/**
 * How long a sender's claim (a "sent" record without command id) holds the apply slot: far longer
 * than a render, an upload and a SendCommand with its retries; after it the sender is taken to be
 * gone and another may claim.
 */
export const CLAIM_STALE_MS = 60_000;

export function nextSyncStep(gateway: Gateway, nowMs: number): SyncStep | 'errored' {
  if (gateway.status === 'error') return 'errored';
  if (gateway.status === 'pending') return gateway.initCommand ? 'await-init' : 'send-init';
  const last = gateway.lastSync;
  if (last?.outcome === 'sent') {
    if (last.commandId) return 'await-apply';
    // Another sender holds the slot and is about to record its command: wait for that.
    if (Date.parse(last.at) + CLAIM_STALE_MS > nowMs) return 'await-send';
  }
  if (isInSync(gateway)) return 'in-sync';
  // No pacing: whatever changed while the last apply ran goes out in one apply, at once.
  if (last?.outcome === 'failed' && Date.parse(last.at) + retryDelay(last.failures ?? 1) > nowMs) return 'retry-pause';
  return 'send-apply';
}

/**
 * Polls a command until it has a result or `untilMs` has passed (then the answer is still pending).
 * The one wait of the worker, for init, apply and teardown alike.
 */
export async function waitForCommand(deps: SyncDeps, commandId: string, instanceId: string, untilMs: number): Promise<CommandResult> {
  const sleep = deps.sleep ?? pause;
  for (;;) {
    const result = await deps.commands.getResult(commandId, instanceId);
    const left = untilMs - deps.clock.now().getTime();
    if (result.status !== 'pending' || left <= 0) return result;
    await sleep(Math.min(deps.pollIntervalMs, Math.max(1, left)));
  }
}

/** One run of the worker on one gateway: its deps, its time budget, what it has sent. */
class SyncRun {
  commandsSent = 0;
  peersLeftOut?: number;
  /** Deletes of peer sets that have served, off the path to the next apply; awaited before the run ends. */
  readonly cleanups: Promise<unknown>[] = [];
  private readonly deadline: number;

  constructor(
    readonly deps: SyncDeps,
    budgetMs: number,
  ) {
    this.deadline = deps.clock.now().getTime() + budgetMs;
  }

  nowMs(): number {
    return this.deps.clock.now().getTime();
  }

  at(): string {
    return this.deps.clock.now().toISOString();
  }

  remaining(): number {
    return this.deadline - this.nowMs();
  }

  sleep(ms: number): Promise<void> {
    return (this.deps.sleep ?? pause)(ms);
  }

  waitFor(commandId: string, instanceId: string): Promise<CommandResult> {
    return waitForCommand(this.deps, commandId, instanceId, this.deadline);
  }

  waiting(gateway: Gateway): SyncOutcome {
    return { state: 'waiting', appliedGeneration: gateway.appliedGeneration, commandsSent: this.commandsSent };
  }

  /** Sleeps until `untilMs` when the budget allows; otherwise ends the run as "waiting". */
  async pauseUntil(gateway: Gateway, untilMs: number): Promise<SyncOutcome | undefined> {
    const wait = untilMs - this.nowMs();
    if (wait > this.remaining()) return this.waiting(gateway);
    if (wait > 0) await this.sleep(wait);
    return undefined;
  }
}

/** Each step either ends the run with an outcome or returns undefined: read the gateway again. */
const SYNC_STEPS: Record<SyncStep, (run: SyncRun, gateway: Gateway) => Promise<SyncOutcome | undefined>> = {
  'send-init': sendInit,
  'await-init': awaitInit,
  'await-apply': awaitApply,
  'in-sync': async (run, gateway) => ({ state: 'in-sync', appliedGeneration: gateway.appliedGeneration, commandsSent: run.commandsSent }),
  'retry-pause': (run, gateway) => run.pauseUntil(gateway, Date.parse(gateway.lastSync!.at) + retryDelay(gateway.lastSync!.failures ?? 1)),
  'await-send': (run, gateway) => run.pauseUntil(gateway, run.nowMs() + run.deps.pollIntervalMs),
  'send-apply': sendApply,
};

export async function syncGateway(deps: SyncDeps, network: string, gatewayId: string, budgetMs: number): Promise<SyncOutcome> {
  const run = new SyncRun(deps, budgetMs);
  try {
    for (;;) {
      const gateway = await deps.gateways.get(network, gatewayId);
      if (!gateway) return { state: 'gone', commandsSent: run.commandsSent };
      if (run.remaining() <= 0) return run.waiting(gateway);
      const step = nextSyncStep(gateway, run.nowMs());
      if (step === 'errored') return { state: 'error', commandsSent: run.commandsSent };
      const outcome = await SYNC_STEPS[step](run, gateway);
      if (outcome) return run.peersLeftOut ? { ...outcome, peersLeftOut: run.peersLeftOut } : outcome;
    }
  } finally {
    await Promise.allSettled(run.cleanups);
  }
}

async function sendInit(run: SyncRun, gateway: Gateway): Promise<SyncOutcome | undefined> {
  const { deps } = run;
  const net = await deps.networks.get(gateway.network);
  if (!net) return { state: 'gone', commandsSent: run.commandsSent };
  const params = buildInitParameters(gateway, net, deps.initOptions?.(gateway));
  const { commandId } = await deps.commands.sendInit(gateway.instanceId, params);
  run.commandsSent++;
  await deps.gateways.markInitSent(gateway.network, gateway.id, { commandId, at: run.at() });
  return undefined;
}

async function awaitInit(run: SyncRun, gateway: Gateway): Promise<SyncOutcome | undefined> {
  const { deps } = run;
  const commandId = gateway.initCommand!.commandId;
  const result = await run.waitFor(commandId, gateway.instanceId);
  if (result.status === 'pending') return { state: 'waiting', commandsSent: run.commandsSent };
  const record = (outcome: { status: 'ready' | 'error'; publicKey?: string; previousPublicKey?: string; reason?: string }) =>
    deps.gateways.recordInit(gateway.network, gateway.id, { ...outcome, at: run.at(), commandId });
  if (result.status !== 'success') {
    await record({ status: 'error', reason: `init ${result.status}: ${result.reason ?? 'no reason given'}`.slice(0, 500) });
    return undefined;
  }
  let publicKey: string;
  try {
    ({ publicKey } = parseInitOutput(result.stdout ?? ''));
  } catch (err) {
    await record({ status: 'error', reason: (err as Error).message });
    return undefined;
  }
  await record({ status: 'ready', publicKey, ...(gateway.publicKey ? { previousPublicKey: gateway.publicKey } : {}) });
  return undefined;
}

async function awaitApply(run: SyncRun, gateway: Gateway): Promise<SyncOutcome | undefined> {
  const last = gateway.lastSync!;
  const result = await run.waitFor(last.commandId!, gateway.instanceId);
  if (result.status === 'pending') return run.waiting(gateway);
  await recordApplyResult(run.deps, gateway, last, result, run.at());
  // The result is on record, success or failure: the peer set (preshared keys in it) has served.
  // A delete that fails leaves it to the bucket's lifecycle rule (peer-sets/ expire after days).
  // It runs beside the next apply's reads and render (which wait for it before uploading).
  if (last.peerSetKey) run.cleanups.push(run.deps.objects.deleteObject(last.peerSetKey).catch(() => undefined));
  return undefined;
}

async function sendApply(run: SyncRun, gateway: Gateway): Promise<SyncOutcome | undefined> {
  const { deps } = run;
  const last = gateway.lastSync;
  // The generation vector (gateway item, then its shards) is read before the clients: every change
  // counted in it is already visible. The number the gateway gets grows with every apply sent.
  const vector = desiredVector(gateway);
  const generation = nextApplyGeneration(gateway);
  // The slot first: of two senders that read the same record (the stream worker and the schedule
  // overlap), one claims and sends; the other reads again and waits for that command.
  const claim = deps.randomBytes(8).toString('hex');
  const failures = last?.failures ? { failures: last.failures } : {};
  const claimed = await deps.gateways.claimApply(
    gateway.network,
    gateway.id,
    { at: run.at(), generation, outcome: 'sent', claim, ...failures },
    new Date(run.nowMs() - CLAIM_STALE_MS).toISOString(),
  );
  if (!claimed) return undefined;
  let sent: { commandId: string; key: string; skipped: LeftOutPeer[] };
  try {
    sent = await renderAndSend(run, gateway, generation);
  } catch (err) {
    // Nothing went out: the slot is free again, with the record that was there.
    await deps.gateways.releaseApply(gateway.network, gateway.id, claim, last).catch(() => undefined);
    throw err;
  }
  const { commandId, key, skipped } = sent;
  run.commandsSent++;
  run.peersLeftOut = skipped.length;
  await deps.gateways.recordSync(gateway.network, gateway.id, {
    at: run.at(),
    generation,
    outcome: 'sent',
    commandId,
    peerSetKey: key,
    vector,
    claim,
    ...failures,
    ...skippedFields(skipped),
  });
  return undefined;
}

/** The peer set rendered, uploaded and named in an apply command to the gateway's instance. */
async function renderAndSend(run: SyncRun, gateway: Gateway, generation: number): Promise<{ commandId: string; key: string; skipped: LeftOutPeer[] }> {
  const { deps } = run;
  const { text, skipped } = await renderGatewayPeerSet(deps, gateway);
  // A fresh random name per upload (grammar PEER_SET_KEY): one object per command, deleted once its
  // result is recorded. The gateway reads it with its own role; the command names bucket and key only.
  const key = `${bucketPrefixes.peerSets.prefix}${gateway.network}/${gateway.id}/${generation}-${deps.randomBytes(8).toString('hex')}.conf`;
  // Apply must use the folder init was told to use (local mode and tests pick their own).
  const stateDir = deps.initOptions?.(gateway).stateDir;
  const params = buildApplyParameters({
    interfaceName: gateway.interfaceName,
    generation,
    peerSetBucket: deps.objects.bucket,
    peerSetKey: key,
    peerSetSha256: peerSetDigest(text),
    ...(stateDir !== undefined ? { stateDir } : {}),
  });
  // The last peer set's delete ran beside the reads and the render; it ends before this upload
  // (the local S3 server prunes emptied folders, which a concurrent upload into the same folder loses to).
  await Promise.allSettled(run.cleanups.splice(0));
  await deps.objects.putObject(key, text, 'text/plain; charset=utf-8');
  try {
    const { commandId } = await deps.commands.sendApply(gateway.instanceId, params);
    return { commandId, key, skipped };
  } catch (err) {
    // Not sent: nothing will read it.
    await deps.objects.deleteObject(key).catch(() => undefined);
    throw err;
  }
}

/** How many left-out clients lastSync lists by name (the gateway item must stay small). */
export const SKIPPED_LISTED = 50;

/** lastSync's report of the clients left out of a peer set (nothing when none was). */
function skippedFields(leftOut: LeftOutPeer[]): Pick<SyncResult, 'skipped' | 'skippedCount' | 'message'> {
  if (leftOut.length === 0) return {};
  const skipped: SkippedClient[] = leftOut.slice(0, SKIPPED_LISTED).map((l) => ({ client: l.owner, code: l.code, reason: l.reason }));
  return { skipped, skippedCount: leftOut.length, message: skippedMessage(leftOut.length) };
}

function skippedMessage(count: number): string {
  return `${count} client${count === 1 ? '' : 's'} left out of the peer set (cannot be rendered; see skipped)`;
}

/**
 * The gateway's whole enabled peer set, with the preshared keys of the clients that have one.
 * Fails closed and never stalls: a client that cannot be rendered (a malformed record, a key
 * another client or the gateway itself has) is left out and reported; the others still apply.
 */
async function renderGatewayPeerSet(deps: SyncDeps, gateway: Gateway): Promise<{ text: string; skipped: LeftOutPeer[] }> {
  const clients = await deps.clients.allOfGateway(gateway.network, gateway.id);
  const withPsk = clients.filter((c) => c.hasPresharedKey).map((c) => c.name);
  const psks = withPsk.length ? await deps.secrets.getMany(gateway.network, withPsk) : new Map();
  const { renderable, leftOut } = partitionRenderable(peerEntries(clients, psks, deps.clock.now()), [gateway.publicKey]);
  return { text: renderPeerSet(renderable), skipped: leftOut };
}

async function recordApplyResult(deps: SyncDeps, gateway: Gateway, sent: SyncResult, result: CommandResult, at: string): Promise<void> {
  // What the sent set left out stays on record with its outcome.
  const skipped = sent.skipped ? { skipped: sent.skipped, skippedCount: sent.skippedCount ?? sent.skipped.length } : {};
  const also = sent.skipped ? `; ${skippedMessage(sent.skippedCount ?? sent.skipped.length)}` : '';
  const base = { at, generation: sent.generation, commandId: sent.commandId!, ...(sent.vector ? { vector: sent.vector } : {}), ...skipped };
  if (result.status === 'success') {
    try {
      const outcome = parseApplyOutput(result.stdout ?? '');
      // An apply the gateway skipped (it runs a later number, from a command not on record) covers
      // nothing known: only the number moves, so the next apply goes out above it.
      const applied =
        outcome.outcome === 'applied'
          ? { generation: outcome.generation, ...(sent.vector ? { vector: sent.vector } : {}) }
          : outcome.appliedGeneration === sent.generation
            ? { generation: sent.generation, ...(sent.vector ? { vector: sent.vector } : {}) } // this very command, run again
            : { generation: Math.max(outcome.appliedGeneration, sent.generation) };
      const message = (outcome.outcome === 'applied' ? `${outcome.peers} peers` : 'already applied') + also;
      await deps.gateways.recordSync(gateway.network, gateway.id, { ...base, outcome: 'applied', message }, applied);
      return;
    } catch (err) {
      result = { status: 'failed', reason: (err as Error).message };
    }
  }
  await deps.gateways.recordSync(gateway.network, gateway.id, {
    ...base,
    outcome: 'failed',
    message: `apply ${result.status}: ${result.reason ?? 'no reason given'}`.slice(0, 500) + also,
    failures: (sent.failures ?? 0) + 1,
  });
}

/**
 * A client whose expiresAt passed after the applied peer set was read is still on the gateway: its
 * expiry needs a new generation. Generation stamps are times (hundredths of a millisecond), so
 * "read after the expiry" is "applied at a stamp >= the expiry's" (the own component, which the
 * enforcement moves, or the client's shard); once the new set is applied, the check stays quiet.
 */
export function expiredSinceApplied(clients: Client[], gateway: Pick<Gateway, 'appliedGeneration' | 'appliedShards'>, now: Date): Client[] {
  return clients.filter((c) => c.enabled && c.expiresAt !== undefined && Date.parse(c.expiresAt) <= now.getTime() && !expiryEnforced(gateway, c));
}

function expiryEnforced(gateway: Pick<Gateway, 'appliedGeneration' | 'appliedShards'>, client: Client): boolean {
  const applied = Math.max(appliedOf(gateway, OWN_COMPONENT), appliedOf(gateway, componentOf(client)));
  return applied >= generationStamp(Date.parse(client.expiresAt!));
}

/** Whether the schedule has expiries of this gateway to look at. */
export function hasExpiring(gateway: Gateway): boolean {
  return gateway.expiringClients === true || Object.values(gateway.shards ?? {}).some((s) => (s.expiring?.length ?? 0) > 0);
}

/**
 * Moves the generation of a gateway whose clients expired, so the next apply removes them, and
 * keeps the shards' lists of expiring clients short: a client that is gone, has no expiry any
 * more, is disabled, or whose expiry is enforced leaves its list (then, with no expiring client
 * left, the schedule reads no client of this gateway). A gateway flagged before shards has all
 * its clients read once, and their names move onto the shards.
 */
export async function enforceExpiries(deps: SyncDeps, gateway: Gateway, requestId: string): Promise<boolean> {
  const listed = new Map<string, string>();
  for (const [shard, s] of Object.entries(gateway.shards ?? {})) for (const name of s.expiring ?? []) listed.set(name, shard);
  const legacy = gateway.expiringClients === true;
  const clients = legacy ? await deps.clients.allOfGateway(gateway.network, gateway.id) : await deps.clients.getMany(gateway.network, [...listed.keys()]);
  const now = deps.clock.now();
  const expired = expiredSinceApplied(clients, gateway, now);
  const pending = new Set(clients.filter((c) => c.enabled && c.expiresAt !== undefined && !expiryEnforced(gateway, c)).map((c) => c.name));
  const remove: Record<string, string[]> = {};
  for (const [name, shard] of listed) if (!pending.has(name)) (remove[shard] ??= []).push(name);
  const add: Record<string, string[]> = {};
  if (legacy) {
    for (const c of clients) if (pending.has(c.name) && !listed.has(c.name)) (add[c.genShard === undefined ? '00' : componentOf(c)] ??= []).push(c.name);
  }
  if (Object.keys(remove).length || Object.keys(add).length || legacy) {
    await deps.gateways.markExpiring(gateway.network, gateway.id, { add, remove, ...(legacy ? { clearLegacy: true } : {}) });
  }
  if (expired.length === 0) return false;
  // The record names the clients whose expiry this enforces (at most 50 of them).
  const names = expired.slice(0, 50).map((c) => c.name);
  await moveGeneration(deps, gateway, false, { actor: SYSTEM_ACTOR, requestId }, { expiredClients: { from: null, to: names } });
  return true;
}
