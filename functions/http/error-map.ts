// The one table from domain errors to HTTP answers. Anything not in it is a 500 with no internals.
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  GoneError,
  IdempotencyKeyReusedError,
  NotFoundError,
  PayloadTooLargeError,
  ThrottledError,
  UnauthorizedError,
  ValidationError,
} from '../domain/errors.js';
import { logger } from '../observability.js';

// First match wins: subclasses before the classes they extend.
const STATUS: [new (...args: never[]) => DomainError, number][] = [
  [ValidationError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [GoneError, 410],
  [PayloadTooLargeError, 413],
  [IdempotencyKeyReusedError, 422],
  [ThrottledError, 429],
];

export interface ErrorAnswer {
  statusCode: number;
  code: string;
  message: string;
  field?: string;
}

/** What an error answers: its status, code, message and field (for JSON and for the pages alike). */
export function errorAnswerOf(err: unknown, routeKey: string): ErrorAnswer {
  if (err instanceof DomainError) {
    const entry = STATUS.find(([type]) => err instanceof type);
    if (entry) return { statusCode: entry[1], code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) };
  }
  // middy's own HTTP errors (malformed JSON, wrong content type) are the caller's fault.
  const status = (err as { statusCode?: number })?.statusCode;
  if (status === 415 || status === 422) {
    return { statusCode: 400, code: 'validation_failed', message: 'request body must be a JSON object sent with content-type application/json', field: 'body' };
  }
  logger.error('unhandled error', { route: routeKey, error: (err as Error)?.name ?? 'unknown', detail: (err as Error)?.message });
  return { statusCode: 500, code: 'internal', message: 'internal error' };
}
