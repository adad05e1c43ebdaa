// The secrets store: a table of its own (its own KMS key and IAM grants in AWS), so only the code
// paths that render configs and peer sets can read private and preshared keys.
import { BatchGetCommand, GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretsReader } from '../../app/ports.js';
import type { ClientSecrets } from '../../domain/model.js';
import { keys } from './table.js';

export class DynamoSecretsReader implements SecretsReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly secretsTableName: string,
  ) {}

  async get(network: string, client: string): Promise<ClientSecrets> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.secretsTableName, Key: keys.secrets(network, client), ConsistentRead: true }),
    );
    return pickSecrets(out.Item);
  }

  async getMany(network: string, clients: string[]): Promise<Map<string, ClientSecrets>> {
    const result = new Map<string, ClientSecrets>();
    for (let i = 0; i < clients.length; i += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead?: boolean }> | undefined = {
        [this.secretsTableName]: {
          Keys: clients.slice(i, i + 100).map((c) => keys.secrets(network, c)),
          ConsistentRead: true,
        },
      };
      while (request && Object.keys(request).length > 0) {
        const out = await this.db.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of out.Responses?.[this.secretsTableName] ?? []) {
          result.set((item.sk as string).slice('CLIENT#'.length), pickSecrets(item));
        }
        request = out.UnprocessedKeys as typeof request;
      }
    }
    return result;
  }
}

function pickSecrets(item: Record<string, unknown> | undefined): ClientSecrets {
  const secrets: ClientSecrets = {};
  if (typeof item?.privateKey === 'string') secrets.privateKey = item.privateKey;
  if (typeof item?.presharedKey === 'string') secrets.presharedKey = item.presharedKey;
  return secrets;
}
