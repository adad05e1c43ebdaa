// Brings one gateway to its desired state: init until it reports its public key, then the whole
// enabled peer set at the current generation, applied with one command. Safe to run any number of
// times, concurrently with API changes, and after any failure: the gateway ignores generations
// older than the one it applied, and appliedGeneration only moves forward.
import { randomBytes } from 'node:crypto';
import type { ObjectStore } from '../adapters/s3/object-store.js';
import {
  buildApplyParameters,
  buildInitParameters,
  parseApplyOutput,
  parseInitOutput,
  type CommandResult,
  type GatewayCommandSender,
  type InitOptions,
} from '../domain/gateway-commands.js';
import { GenerationBehindError } from '../domain/errors.js';
import { generationStamp } from '../domain/generation.js';
import type { Client, Gateway, SyncResult } from '../domain/model.js';
import { peerSetDigest, renderPeerSet, type PeerSetEntry } from '../domain/peer-set.js';
import type { ClientStore, Clock, GatewayStore, NetworkStore, SecretsReader } from './ports.js';

export interface SyncDeps {
  networks: Pick<NetworkStore, 'get'>;
  gateways: GatewayStore;
  clients: Pick<ClientStore, 'allOfGateway'>;
  secrets: SecretsReader;
  objects: ObjectStore;
  commands: GatewayCommandSender;
  clock: Clock;
  /** How often to ask for a command's result while waiting. */
  pollIntervalMs: number;
  initOptions?: (gateway: Gateway) => InitOptions;
  sleep?: (ms: number) => Promise<void>;
}

export const PEER_SET_URL_SECONDS = 15 * 60;

/**
 * Minimum time between two applies of one gateway while changes keep coming: the first change of a
 * quiet gateway goes out at once, then the pauses double, so a burst of a thousand changes costs a
 * handful of commands instead of a thousand.
 */
export function burstInterval(appliesInBurst: number): number {
  if (appliesInBurst <= 0) return 0;
  return Math.min(16_000, 500 * 2 ** (appliesInBurst - 1));
}

/**
 * The burst an apply now belongs to. Changes that keep arriving as fast as the pauses allow are one
 * burst; a change that comes well after the last pause ran out (an admin clicking every few
 * seconds) starts afresh and goes out at once.
 */
export function currentBurst(last: { at: string; burst?: number } | undefined, nowMs: number): number {
  if (!last) return 0;
  const burst = last.burst ?? 0;
  return nowMs - Date.parse(last.at) < 2 * burstInterval(burst) + 1_000 ? burst : 0;
}

/** Pause before retrying a failed apply: 5 s, 10 s, 20 s … up to 5 minutes. */
export function retryDelay(failures: number): number {
  return Math.min(300_000, 5_000 * 2 ** Math.max(0, failures - 1));
}

export interface SyncOutcome {
  state: 'in-sync' | 'waiting' | 'error' | 'gone';
  appliedGeneration?: number;
  commandsSent: number;
}

export function peerEntries(clients: Client[], psks: Map<string, { presharedKey?: string }>, now: Date): PeerSetEntry[] {
  return clients
    .filter((c) => c.enabled && (!c.expiresAt || Date.parse(c.expiresAt) > now.getTime()))
    .map((c) => ({
      publicKey: c.publicKey,
      ...(psks.get(c.name)?.presharedKey ? { presharedKey: psks.get(c.name)!.presharedKey } : {}),
      allowedIps: [`${c.address}/32`, ...(c.address6 ? [`${c.address6}/128`] : [])],
    }));
}

export async function syncGateway(deps: SyncDeps, network: string, gatewayId: string, budgetMs: number): Promise<SyncOutcome> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = deps.clock.now().getTime() + budgetMs;
  const remaining = () => deadline - deps.clock.now().getTime();
  let commandsSent = 0;

  const waitFor = async (commandId: string, instanceId: string): Promise<CommandResult> => {
    for (;;) {
      const result = await deps.commands.getResult(commandId, instanceId);
      if (result.status !== 'pending' || remaining() <= 0) return result;
      await sleep(Math.min(deps.pollIntervalMs, Math.max(1, remaining())));
    }
  };

  for (;;) {
    const gateway = await deps.gateways.get(network, gatewayId);
    if (!gateway) return { state: 'gone', commandsSent };
    if (remaining() <= 0) return { state: 'waiting', appliedGeneration: gateway.appliedGeneration, commandsSent };
    const at = () => deps.clock.now().toISOString();

    if (gateway.status === 'error') return { state: 'error', commandsSent };

    if (gateway.status === 'pending') {
      if (!gateway.initCommand) {
        const net = await deps.networks.get(network);
        if (!net) return { state: 'gone', commandsSent };
        const params = buildInitParameters(gateway, net, deps.initOptions?.(gateway));
        const { commandId } = await deps.commands.sendInit(gateway.instanceId, params);
        commandsSent++;
        await deps.gateways.markInitSent(network, gatewayId, { commandId, at: at() });
        continue;
      }
      const commandId = gateway.initCommand.commandId;
      const result = await waitFor(commandId, gateway.instanceId);
      if (result.status === 'pending') return { state: 'waiting', commandsSent };
      if (result.status === 'success') {
        try {
          const { publicKey } = parseInitOutput(result.stdout ?? '');
          await deps.gateways.recordInit(network, gatewayId, { status: 'ready', publicKey, at: at(), commandId });
        } catch (err) {
          await deps.gateways.recordInit(network, gatewayId, { status: 'error', reason: (err as Error).message, at: at(), commandId });
        }
      } else {
        await deps.gateways.recordInit(network, gatewayId, {
          status: 'error',
          reason: `init ${result.status}: ${result.reason ?? 'no reason given'}`.slice(0, 500),
          at: at(),
          commandId,
        });
      }
      continue;
    }

    const last = gateway.lastSync;
    if (last?.outcome === 'sent' && last.commandId) {
      const result = await waitFor(last.commandId, gateway.instanceId);
      if (result.status === 'pending') return { state: 'waiting', appliedGeneration: gateway.appliedGeneration, commandsSent };
      await recordApplyResult(deps, gateway, last, result, at());
      continue;
    }

    if (gateway.appliedGeneration >= gateway.desiredGeneration) {
      return { state: 'in-sync', appliedGeneration: gateway.appliedGeneration, commandsSent };
    }

    const now = deps.clock.now().getTime();
    const lastAt = last ? Date.parse(last.at) : 0;
    if (last?.outcome === 'failed') {
      const wait = lastAt + retryDelay(last.failures ?? 1) - now;
      if (wait > 0) {
        if (wait > remaining()) return { state: 'waiting', appliedGeneration: gateway.appliedGeneration, commandsSent };
        await sleep(wait);
        continue;
      }
    }
    const burst = currentBurst(last, now);
    const pause = lastAt + burstInterval(burst) - now;
    if (pause > 0) {
      if (pause > remaining()) return { state: 'waiting', appliedGeneration: gateway.appliedGeneration, commandsSent };
      await sleep(pause);
      continue;
    }

    // The generation is read before the clients: every change counted in it is already visible.
    const generation = gateway.desiredGeneration;
    const clients = await deps.clients.allOfGateway(network, gatewayId);
    const withPsk = clients.filter((c) => c.hasPresharedKey).map((c) => c.name);
    const psks = withPsk.length ? await deps.secrets.getMany(network, withPsk) : new Map();
    const text = renderPeerSet(peerEntries(clients, psks, deps.clock.now()));
    const digest = peerSetDigest(text);
    // A fresh random name per upload: a URL handed out earlier never shows a newer peer set.
    const key = `peer-sets/${network}/${gatewayId}/${generation}-${randomBytes(8).toString('hex')}.conf`;
    await deps.objects.putObject(key, text, 'text/plain; charset=utf-8');
    const peerSetUrl = await deps.objects.signedGetUrl(key, { expiresInSeconds: PEER_SET_URL_SECONDS });
    // Apply must use the folder init was told to use (local mode and tests pick their own).
    const stateDir = deps.initOptions?.(gateway).stateDir;
    const params = buildApplyParameters({
      interfaceName: gateway.interfaceName,
      generation,
      peerSetUrl,
      peerSetSha256: digest,
      ...(stateDir !== undefined ? { stateDir } : {}),
    });
    const { commandId } = await deps.commands.sendApply(gateway.instanceId, params);
    commandsSent++;
    await deps.gateways.recordSync(network, gatewayId, {
      at: at(),
      generation,
      outcome: 'sent',
      commandId,
      burst: burst + 1,
      ...(last?.failures ? { failures: last.failures } : {}),
    });
  }
}

async function recordApplyResult(deps: SyncDeps, gateway: Gateway, sent: SyncResult, result: CommandResult, at: string): Promise<void> {
  const base = { at, generation: sent.generation, commandId: sent.commandId!, burst: sent.burst ?? 0 };
  if (result.status === 'success') {
    try {
      const outcome = parseApplyOutput(result.stdout ?? '');
      const applied = outcome.outcome === 'applied' ? outcome.generation : Math.max(outcome.appliedGeneration, sent.generation);
      await deps.gateways.recordSync(gateway.network, gateway.id, { ...base, outcome: 'applied', message: outcome.outcome === 'applied' ? `${outcome.peers} peers` : 'already applied' }, applied);
      return;
    } catch (err) {
      result = { status: 'failed', reason: (err as Error).message };
    }
  }
  await deps.gateways.recordSync(gateway.network, gateway.id, {
    ...base,
    outcome: 'failed',
    message: `apply ${result.status}: ${result.reason ?? 'no reason given'}`.slice(0, 500),
    failures: (sent.failures ?? 0) + 1,
  });
}

/**
 * A client whose expiresAt passed after the applied peer set was made is still on the gateway:
 * its expiry needs a new generation. Generation stamps are times (hundredths of a millisecond), so
 * "after the applied set" is `expiresAt > appliedGeneration`; once the new set is applied, its
 * stamp is later than the expiry and the check stays quiet.
 */
export function expiredSinceApplied(clients: Client[], appliedGeneration: number, now: Date): Client[] {
  return clients.filter((c) => {
    if (!c.enabled || c.expiresAt === undefined) return false;
    const expiry = Date.parse(c.expiresAt);
    return expiry <= now.getTime() && generationStamp(expiry) > appliedGeneration;
  });
}

/** Moves the generation of a gateway whose clients expired, so the next apply removes them. */
export async function enforceExpiries(deps: SyncDeps, gateway: Gateway): Promise<boolean> {
  const clients = await deps.clients.allOfGateway(gateway.network, gateway.id);
  if (expiredSinceApplied(clients, gateway.appliedGeneration, deps.clock.now()).length === 0) return false;
  let floor = gateway.desiredGeneration;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      await deps.gateways.requestResync(gateway.network, gateway.id, generationStamp(deps.clock.now().getTime(), floor), false);
      return true;
    } catch (err) {
      if (!(err instanceof GenerationBehindError)) throw err;
      floor = err.current;
    }
  }
  return false;
}
