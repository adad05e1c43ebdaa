// Retrying writes that lost to other writers on the same item.
import { ConflictError } from '../domain/errors.js';
import type { Random } from './ports.js';

/** Retries ran out against other writers: the caller may simply try again. */
export function busy(): ConflictError {
  return new ConflictError('busy', 'too many concurrent changes to this network or gateway; try again');
}

type DynamoError = { name?: string; CancellationReasons?: { Code?: string }[] };
const cancelledFor = (e: DynamoError, codes: string[]) =>
  e?.name === 'TransactionCanceledException' && (e.CancellationReasons ?? []).some((r) => codes.includes(r.Code ?? ''));

/** DynamoDB answers concurrent transactions on one item (the gateway's generation) with a conflict. */
export function isWriteConflict(err: unknown): boolean {
  const e = err as DynamoError;
  return e?.name === 'TransactionConflictException' || cancelledFor(e, ['TransactionConflict']);
}

/** A write that lost to another writer or to throttling: the same write may simply be sent again. */
export function isRetryable(err: unknown): boolean {
  const e = err as DynamoError;
  return (
    isWriteConflict(e) ||
    e?.name === 'ProvisionedThroughputExceededException' ||
    e?.name === 'ThrottlingException' ||
    cancelledFor(e, ['ThrottlingError', 'ProvisionedThroughputExceeded'])
  );
}

export async function backoff(attempt: number, random: Random): Promise<void> {
  const capMs = Math.min(200, 5 * 2 ** Math.min(attempt, 6));
  await new Promise((r) => setTimeout(r, Math.floor(random() * capMs)));
}
