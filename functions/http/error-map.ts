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
import { errorResponse, type HttpResponse } from './responses.js';

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

export function toErrorResponse(err: unknown, routeKey: string): HttpResponse {
  if (err instanceof DomainError) {
    const entry = STATUS.find(([type]) => err instanceof type);
    if (entry) return errorResponse(entry[1], err.code, err.message, err.field);
  }
  // middy's own HTTP errors (malformed JSON, wrong content type) are the caller's fault.
  const status = (err as { statusCode?: number })?.statusCode;
  if (status === 415 || status === 422) {
    return errorResponse(400, 'validation_failed', 'request body must be a JSON object sent with content-type application/json', 'body');
  }
  logger.error('unhandled error', { route: routeKey, error: (err as Error)?.name ?? 'unknown', detail: (err as Error)?.message });
  return errorResponse(500, 'internal', 'internal error');
}
