// IdempotencyGuard on Powertools Idempotency with its DynamoDB persistence (a table of its own:
// records expire by its TTL and never show up in the main table's stream). Powertools' errors stop
// here and become domain errors.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Context } from 'aws-lambda';
import type { IdempotencyGuard } from '../../app/ports.js';
import { IdempotencyInFlightError, IdempotencyKeyReusedError } from '../../domain/errors.js';

/** IETF httpapi idempotency draft: a key is honoured for a stated time; ours is 24 hours. */
export const IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600;

// A DynamoDB item holds at most 400 KB; an import's answer (1,000 clients) can be larger as JSON,
// so answers beyond this are stored gzipped (client answers compress about fivefold).
const STORE_GZIPPED_FROM_BYTES = 64 * 1024;

interface Stored {
  gzip?: string;
}

function toStored(answer: object): object {
  const json = JSON.stringify(answer);
  if (Buffer.byteLength(json) < STORE_GZIPPED_FROM_BYTES) return JSON.parse(json) as object;
  return { gzip: gzipSync(json).toString('base64') } satisfies Stored;
}

function fromStored(stored: object): object {
  const { gzip } = stored as Stored;
  return typeof gzip === 'string' && Object.keys(stored).length === 1 ? (JSON.parse(gunzipSync(Buffer.from(gzip, 'base64')).toString('utf8')) as object) : stored;
}

interface Request {
  key: string;
  payload: unknown;
}

export class PowertoolsIdempotencyGuard implements IdempotencyGuard {
  private readonly config: IdempotencyConfig;
  private readonly runOnce: (request: Request, run: () => Promise<object>) => Promise<object>;

  constructor(client: DynamoDBClient, tableName: string) {
    this.config = new IdempotencyConfig({
      eventKeyJmesPath: 'key',
      payloadValidationJmesPath: 'payload',
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: IDEMPOTENCY_RETENTION_SECONDS,
    });
    const persistenceStore = new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: client });
    // Stored as JSON: what a replay answers is exactly what JSON keeps of the first answer.
    this.runOnce = makeIdempotent(async (_request: Request, run: () => Promise<object>) => toStored(await run()), {
      persistenceStore,
      config: this.config,
      // Records are keyed by this prefix, not by the function's name: renaming a function or
      // serving a route from another one keeps its keys.
      keyPrefix: 'wg-ingress',
      dataIndexArgument: 0,
    });
  }

  async once<T extends object>(key: string, payload: unknown, run: () => Promise<T>, remainingTimeMs?: () => number): Promise<T> {
    // An in-progress record expires with the invocation that wrote it, so a crash frees the key.
    if (remainingTimeMs) this.config.registerLambdaContext({ getRemainingTimeInMillis: remainingTimeMs } as Context);
    try {
      return fromStored(await this.runOnce({ key, payload }, run)) as T;
    } catch (err) {
      if (err instanceof IdempotencyValidationError) throw new IdempotencyKeyReusedError();
      if (err instanceof IdempotencyAlreadyInProgressError) throw new IdempotencyInFlightError();
      throw err;
    }
  }
}
