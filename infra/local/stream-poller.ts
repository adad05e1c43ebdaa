// Reads the table's stream from DynamoDB Local the way Lambda's event source mapping does, and
// hands each batch to the worker; the next batch waits for the previous one, so records that
// arrive meanwhile coalesce into one batch (like a batching window).
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { randomUUID } from 'node:crypto';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../../functions/observability.js';
import { LOCAL_DYNAMO_REGION, localClient, type LocalDynamoCredentials } from './dynamodb.js';

const ROUTINE_STREAM_ERRORS = new Set(['TrimmedDataAccessException', 'ExpiredIteratorException']);

export interface StreamPoller {
  stop(): Promise<void>;
}

export async function startStreamPoller(opts: {
  endpoint: string;
  /** The key of the database that holds the table (DynamoDB Local keeps one per key id). */
  credentials: LocalDynamoCredentials;
  tableName: string;
  onBatch: (event: DynamoDBStreamEvent) => Promise<unknown>;
  intervalMs?: number;
  batchSize?: number;
}): Promise<StreamPoller> {
  const table = localClient(opts.endpoint, opts.credentials);
  const streamArn = (await table.send(new DescribeTableCommand({ TableName: opts.tableName }))).Table?.LatestStreamArn;
  table.destroy();
  if (!streamArn) throw new Error(`table ${opts.tableName} has no stream`);
  const streams = new DynamoDBStreamsClient({
    endpoint: opts.endpoint,
    region: LOCAL_DYNAMO_REGION,
    credentials: { ...opts.credentials },
  });
  const iterators = new Map<string, string>();
  const finished = new Set<string>();
  let first = true;
  let running = true;

  async function discoverShards(): Promise<void> {
    const out = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of out.StreamDescription?.Shards ?? []) {
      const id = shard.ShardId!;
      if (iterators.has(id) || finished.has(id)) continue;
      // Shards that existed before we started hold old records: the schedule covers those.
      const it = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: first ? 'LATEST' : 'TRIM_HORIZON' }),
      );
      if (it.ShardIterator) iterators.set(id, it.ShardIterator);
    }
    first = false;
  }

  const loop = (async () => {
    let sinceDiscovery = Number.POSITIVE_INFINITY;
    while (running) {
      try {
        if (sinceDiscovery > 20) {
          await discoverShards();
          sinceDiscovery = 0;
        }
        sinceDiscovery++;
        let got = 0;
        for (const [shardId, iterator] of [...iterators]) {
          const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: opts.batchSize ?? 1000 }));
          if (out.NextShardIterator) iterators.set(shardId, out.NextShardIterator);
          else {
            iterators.delete(shardId);
            finished.add(shardId);
            sinceDiscovery = Number.POSITIVE_INFINITY;
          }
          const records = out.Records ?? [];
          if (records.length) {
            got += records.length;
            await opts.onBatch({ Records: records as unknown as DynamoDBStreamEvent['Records'] });
          }
        }
        if (!got) await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
      } catch (err) {
        if (!running) break;
        // An iterator that fell behind the shard's trim point or expired is routine: start afresh.
        if (!ROUTINE_STREAM_ERRORS.has((err as Error).name)) {
          logger.error('stream poller', { request_id: `stream-poller-${randomUUID()}`, error: (err as Error).name, detail: (err as Error).message });
        }
        iterators.clear();
        sinceDiscovery = Number.POSITIVE_INFINITY;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();

  return {
    async stop() {
      running = false;
      await loop;
      streams.destroy();
    },
  };
}
