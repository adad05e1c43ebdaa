// AWS clients and stores, created once per Lambda container from the validated configuration.
import { createDocumentClient } from './adapters/dynamo/table.js';
import { DynamoClientStore } from './adapters/dynamo/clients-repo.js';
import { DynamoGatewayStore } from './adapters/dynamo/gateways-repo.js';
import { DynamoNetworkStore } from './adapters/dynamo/networks-repo.js';
import { DynamoSecretsReader } from './adapters/dynamo/secrets-store.js';
import type { Clock } from './app/ports.js';
import { config } from './config.js';

export const systemClock: Clock = { now: () => new Date() };

let db: ReturnType<typeof createDocumentClient> | undefined;

export function documentClient() {
  const c = config();
  db ??= createDocumentClient({ region: c.AWS_REGION, endpoint: c.DYNAMODB_ENDPOINT });
  return db;
}

export function stores() {
  const c = config();
  const client = documentClient();
  return {
    networks: new DynamoNetworkStore(client, c.TABLE_NAME),
    gateways: new DynamoGatewayStore(client, c.TABLE_NAME),
    clients: new DynamoClientStore(client, c.TABLE_NAME, c.SECRETS_TABLE_NAME),
    clock: systemClock,
    random: Math.random,
  };
}

export function secretsReader() {
  return new DynamoSecretsReader(documentClient(), config().SECRETS_TABLE_NAME);
}
