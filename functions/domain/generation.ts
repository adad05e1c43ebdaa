import type { Client, Gateway, GenerationVector } from './model.js';

// A gateway's desiredGeneration is a stamp, not a counter: every change writes a stamp larger than
// the current one, on the condition that it is larger, in the same transaction as the change. So
// stamps grow strictly in commit order, and a change knows its exact generation without reading
// the gateway first: "applied >= my generation" then means "my change was committed before the
// worker read the generation it applied", which is exactly "in effect".

/** Hundredths of a millisecond since the epoch: 15 digits until the year 2286 (GENERATION pattern). */
export function generationStamp(nowMs: number, floor = 0): number {
  return Math.max(Math.floor(nowMs) * 100, floor + 1);
}

/**
 * Stamps for changes made by this process: never two alike, and in the order they were made.
 * Two changes of one gateway stamped in the same millisecond would otherwise collide (the second
 * loses its condition and retries); across processes, the random hundredths make ties rare.
 */
export function createStamper(random: () => number = Math.random) {
  let last = 0;
  return (nowMs: number, floor = 0): number => {
    const stamp = Math.max(generationStamp(nowMs, floor) + Math.floor(random() * 100), floor + 1, last + 1);
    last = stamp;
    return stamp;
  };
}

// --- generation shards ---------------------------------------------------------------------------
// A gateway's desired state is a vector, not one number: its own component ('gw': resyncs,
// re-inits, expiries) on the gateway item, and GENERATION_SHARDS shard items that client changes
// move (each client's changes move the one shard it was given at create), so concurrent client
// writes of one gateway do not all update one item. Each component's stamps grow in commit order
// (the condition `generation < stamp`), so "applied[c] >= my stamp" means "my change was committed
// before the worker read component c, and so before it read the clients": in effect, exactly.

export const GENERATION_SHARDS = 32;
/** The gateway's own component of its generation vector (the gateway item's desiredGeneration). */
export const OWN_COMPONENT = 'gw';

export const shardName = (shard: number): string => String(shard).padStart(2, '0');

/** A random shard for a new client: writes of one gateway spread over all of them. */
export function pickShard(random: () => number): number {
  return Math.min(GENERATION_SHARDS - 1, Math.floor(random() * GENERATION_SHARDS));
}

/** The component a client's changes move: its shard, or (written before shards) the gateway's own. */
export function componentOf(client: Pick<Client, 'genShard'>): string {
  return client.genShard === undefined ? OWN_COMPONENT : shardName(client.genShard);
}

/** What the gateway should run, per component, as last read. */
export function desiredVector(gateway: Pick<Gateway, 'desiredGeneration' | 'shards'>): GenerationVector {
  const vector: GenerationVector = { [OWN_COMPONENT]: gateway.desiredGeneration };
  for (const [name, shard] of Object.entries(gateway.shards ?? {})) vector[name] = shard.generation;
  return vector;
}

/**
 * What the gateway runs for one component. A gateway applied before shards has no vector: its
 * appliedGeneration was then the own component's.
 */
export function appliedOf(gateway: Pick<Gateway, 'appliedGeneration' | 'appliedShards'>, component: string): number {
  if (gateway.appliedShards) return gateway.appliedShards[component] ?? 0;
  return component === OWN_COMPONENT ? gateway.appliedGeneration : 0;
}

/** The components whose latest change the gateway does not run yet. */
export function behindComponents(gateway: Pick<Gateway, 'desiredGeneration' | 'appliedGeneration' | 'shards' | 'appliedShards'>): string[] {
  return Object.entries(desiredVector(gateway))
    .filter(([c, g]) => appliedOf(gateway, c) < g)
    .map(([c]) => c);
}

export function isInSync(gateway: Pick<Gateway, 'desiredGeneration' | 'appliedGeneration' | 'shards' | 'appliedShards'>): boolean {
  return behindComponents(gateway).length === 0;
}

/** The client's current state is what the gateway runs (before the peer-set rules: see clients.ts). */
export function changeApplied(gateway: Pick<Gateway, 'appliedGeneration' | 'appliedShards'>, client: Pick<Client, 'generation' | 'genShard'>): boolean {
  return appliedOf(gateway, componentOf(client)) >= client.generation;
}

/**
 * The generation number an apply carries to the gateway, which ignores one not above the last it
 * applied: at least every component read, and above every number sent before (a shard can move
 * while the largest component stays where it was).
 */
export function nextApplyGeneration(gateway: Pick<Gateway, 'desiredGeneration' | 'appliedGeneration' | 'shards' | 'lastSync'>): number {
  const top = Math.max(...Object.values(desiredVector(gateway)));
  return Math.max(top, gateway.appliedGeneration + 1, (gateway.lastSync?.generation ?? 0) + 1);
}

/**
 * The gateway's generations as the API answers them: desiredGeneration is the largest component;
 * appliedGeneration equals it exactly when every component is applied, and is otherwise below it
 * (the smallest applied value among the components that are behind).
 */
export function answeredGenerations(gateway: Pick<Gateway, 'desiredGeneration' | 'appliedGeneration' | 'shards' | 'appliedShards'>): {
  desiredGeneration: number;
  appliedGeneration: number;
} {
  const desiredGeneration = Math.max(...Object.values(desiredVector(gateway)));
  const behind = behindComponents(gateway);
  if (behind.length === 0) return { desiredGeneration, appliedGeneration: desiredGeneration };
  return { desiredGeneration, appliedGeneration: Math.min(...behind.map((c) => appliedOf(gateway, c))) };
}

/** Clients of the gateway in all: those counted before shards (on the gateway item) and per shard. */
export function clientCountOf(gateway: Pick<Gateway, 'shards'>, legacyCount = 0): number {
  return legacyCount + Object.values(gateway.shards ?? {}).reduce((n, s) => n + s.clientCount, 0);
}

/** A gateway as the API answers it: its generations as one pair, none of the sync internals. */
export function gatewayAnswer(gateway: Gateway): Gateway {
  const { shards: _s, appliedShards: _a, expiringClients: _e, ...rest } = gateway;
  const answer: Gateway = { ...rest, ...answeredGenerations(gateway) };
  if (answer.lastSync?.vector) {
    const { vector: _v, ...sync } = answer.lastSync;
    answer.lastSync = sync;
  }
  return answer;
}
