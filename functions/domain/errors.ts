// Domain errors carry no HTTP status: functions/http/error-map.ts maps them to answers.
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends DomainError {
  constructor(field: string, message: string) {
    super('validation_failed', message, field);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string) {
    super('not_found', `${what} '${id}' does not exist`);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, field?: string) {
    super(code, message, field);
  }
}

/** A one-time link that can no longer be redeemed (used, expired, revoked, client gone). */
export class GoneError extends DomainError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'missing or invalid bearer token') {
    super('unauthorized', message);
  }
}

/** A signed-in caller whose groups do not allow the request (a viewer writing, or no group at all). */
export class ForbiddenError extends DomainError {
  constructor(message = 'you are signed in but may not do this') {
    super('forbidden', message);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(message: string) {
    super('payload_too_large', message);
  }
}

/** A conditional write lost: the name is claimed by someone else. */
export class NameTakenError extends ConflictError {
  constructor(what: string, name: string) {
    super('name_taken', `${what} name '${name}' is already taken in this network`, 'name');
  }
}

/** A conditional write lost: one of the addresses is leased by someone else. */
export class AddressTakenError extends ConflictError {
  constructor(readonly leaseKey: string) {
    super('address_taken', 'address is already in use in this network', 'address');
  }
}

/**
 * A conditional write lost: another client of the network already has this public key, or it is
 * the client's gateway's own key (`ofGateway`). Two peers with one key cannot both be on a gateway.
 */
export class PublicKeyTakenError extends ConflictError {
  constructor(readonly ofGateway = false) {
    super(
      'public_key_taken',
      ofGateway ? "this public key is the gateway's own key; a client needs a key of its own" : 'this public key is already used by another client in this network',
      'publicKey',
    );
  }
}

/**
 * A one-time link token that was never issued (or whose record DynamoDB's TTL has removed).
 * The message names nothing: the token is a secret and the caller already has it.
 */
export class UnknownLinkError extends NotFoundError {
  constructor() {
    super('link', '-');
    this.message = 'this link is not valid';
  }
}

/** The gateway already holds a generation at least as large as the one a change tried to write. */
export class GenerationBehindError extends Error {
  constructor(readonly current: number) {
    super(`gateway generation is already ${current}`);
    this.name = 'GenerationBehindError';
  }
}

/** The network a cached range came from was deleted or re-created meanwhile. */
export class NetworkChangedError extends Error {
  override name = 'NetworkChangedError';
}

/**
 * Another writer changed one of the same items at the same moment (DynamoDB's transaction
 * conflict). The change did nothing; the use case may try again, and once its retries run out the
 * caller may simply send the request again.
 */
export class WriteConflictError extends ConflictError {
  constructor() {
    super('busy', 'too many concurrent changes to this network or gateway; try again');
  }
}

/** The data store refused the request rate even after the SDK's own retries. */
export class ThrottledError extends DomainError {
  constructor() {
    super('throttled', 'too many requests right now; try again in a moment');
  }
}

/** The Idempotency-Key was used before with another request body (IETF httpapi idempotency draft: 422). */
export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body', 'Idempotency-Key');
  }
}

/** The first request with this Idempotency-Key is still being answered (IETF draft: 409). */
export class IdempotencyInFlightError extends ConflictError {
  constructor() {
    super('idempotency_in_flight', 'a request with this Idempotency-Key is still in progress; try again in a moment', 'Idempotency-Key');
  }
}
