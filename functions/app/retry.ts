// The one retry policy of the use cases. Each use case says which domain errors it retries and
// how (`retryOn`); this helper decides how often and how long to wait. Throttling is not in it:
// the SDK clients already retry that with their own backoff, and a second layer here would
// multiply the attempts.
import { ConflictError, GenerationBehindError, WriteConflictError } from '../domain/errors.js';
import type { Random } from './ports.js';

/**
 * 'now': the error says what to do differently (a larger generation stamp, another name), so the
 * next attempt can go at once; 'later': another writer won a race, wait a little (full jitter);
 * false: not retryable, the error goes to the caller.
 */
export type RetryDecision = 'now' | 'later' | false;

export interface RetryOptions {
  /** How many times `attempt` runs at most; then the caller is told to try again (409 busy). */
  attempts: number;
  /** May also throw: the error the caller should see instead (a chosen name that is taken). */
  retryOn(err: unknown): RetryDecision;
  random: Random;
  sleep?: (ms: number) => Promise<void>;
}

const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 200;

/** Full jitter: a random pause up to an exponentially growing cap (5, 10, 20 … 200 ms). */
export function backoffMs(attempt: number, random: Random): number {
  return Math.floor(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 6)));
}

/** The default wait of the use cases (tests and the worker's deps may bring their own `sleep`). */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function retry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const decision = options.retryOn(err);
      if (decision === false) throw err;
      if (n >= options.attempts) throw new WriteConflictError();
      if (decision === 'later') await (options.sleep ?? pause)(backoffMs(n, options.random));
    }
  }
}

/** Contention with another writer: the same write may simply be sent again a moment later. */
export function lostRace(err: unknown): RetryDecision {
  return err instanceof WriteConflictError ? 'later' : false;
}

/** An optimistic-locking write that found another version: re-read and decide again. */
export function isVersionConflict(err: unknown): boolean {
  return err instanceof ConflictError && err.code === 'version_conflict';
}

/**
 * The generation a change's stamp must exceed. A stamp that lost to a larger generation
 * (GenerationBehindError: not contention, a stamp simply behind) raises the floor and goes again at once.
 */
export class GenerationFloor {
  constructor(public value = 0) {}

  /** 'now' after raising the floor for a stamp that was behind; undefined for any other error. */
  learn(err: unknown): 'now' | undefined {
    if (!(err instanceof GenerationBehindError)) return undefined;
    this.value = err.current;
    return 'now';
  }
}
