// The create routes' idempotency store (Powertools Idempotency on its own table), in a module of
// its own: only the three functions with create routes bundle it.
import { createDynamoClient } from '../adapters/dynamo/table.js';
import { PowertoolsIdempotencyGuard } from '../adapters/idempotency/powertools.js';
import type { IdempotencyGuard } from '../app/ports.js';
import type { Config } from '../config.js';
import { dynamoOptions } from './slices.js';

export function idempotencyGuard(config: Config): IdempotencyGuard | undefined {
  if (!config.IDEMPOTENCY_TABLE_NAME) return undefined;
  return new PowertoolsIdempotencyGuard(createDynamoClient(dynamoOptions(config)), config.IDEMPOTENCY_TABLE_NAME);
}
