// Retrying writes that lost to other writers on the same item.
import { ConflictError } from '../domain/errors.js';
import type { Random } from './ports.js';

/** Retries ran out against other writers: the caller may simply try again. */
export function busy(): ConflictError {
  return new ConflictError('busy', 'too many concurrent changes to this network or gateway; try again');
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
