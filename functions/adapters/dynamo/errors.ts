// DynamoDB's error shapes stop here: the SDK's conflicts and throttling become domain errors, so
// the use cases decide what to retry without knowing an AWS error name.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ThrottledError, WriteConflictError } from '../../domain/errors.js';
import { translateSdkErrors } from '../sdk-errors.js';

type SdkError = { name?: string; CancellationReasons?: { Code?: string }[] };

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

/**
 * The domain error for a write that lost to another writer or to throttling; any other error as
 * it is. A cancelled transaction with a failed condition is left alone: the store that wrote it
 * knows which item's condition means what (cancellationDetails in table.ts).
 */
export function toDomainError(err: unknown): unknown {
  const e = err as SdkError;
  if (e?.name === 'TransactionConflictException') return new WriteConflictError();
  if (THROTTLING.has(e?.name ?? '')) return new ThrottledError();
  if (e?.name === 'TransactionCanceledException') {
    const codes = (e.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
    if (codes.includes('ConditionalCheckFailed')) return err;
    if (codes.includes('TransactionConflict')) return new WriteConflictError();
    if (codes.some((c) => c === 'ThrottlingError' || c === 'ProvisionedThroughputExceeded')) return new ThrottledError();
  }
  return err;
}

export function translateErrors(client: DynamoDBClient): void {
  translateSdkErrors(client, toDomainError);
}
