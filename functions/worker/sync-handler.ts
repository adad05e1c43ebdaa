// The gateway-sync worker's handler: woken by the table's stream (gateway items whose desired
// state moved, or that were deleted) and by a schedule that catches whatever was missed. The same
// code runs in Lambda and in local mode, with Powertools' logger, metrics and tracer around it.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { readGatewayChanges } from '../adapters/dynamo/stream-records.js';
import { sweepGateways, syncReported, teardownGateway, type WorkerReport } from '../app/gateway-worker.js';
import type { SyncDeps } from '../app/gateway-sync.js';
import { logger, metrics, tracer } from '../observability.js';

export interface SweepEvent {
  source: 'aws.events' | 'local.schedule';
}

export interface SyncHandlerOptions {
  /** Time one invocation may spend waiting for commands (and sending the next as each ends). */
  budgetMs: number;
}

type BatchResult = { batchItemFailures: { itemIdentifier: string }[] };

/**
 * Gateways of one batch synced side by side (each waits for its own apply, one at a time), so one
 * slow gateway does not hold up the others' changes. Bounded: SendCommand and GetCommandInvocation
 * have account-wide rate quotas (see the README's note on SSM rates).
 */
export const GATEWAYS_IN_PARALLEL = 10;

/** A batch of stream records: teardowns first, then each named gateway once; failed records are retried. */
async function onStream(deps: SyncDeps, event: DynamoDBStreamEvent, budgetMs: number): Promise<BatchResult> {
  const changes = readGatewayChanges(event.Records);
  const failures: { itemIdentifier: string }[] = [];
  const started = Date.now();
  const left = () => budgetMs - (Date.now() - started);
  await inParallel(changes.teardown, async (removed) => {
    const report = await teardownGateway(deps, removed, left());
    record(report);
    if (report.kind === 'failed' && removed.recordId) failures.push({ itemIdentifier: removed.recordId });
  });
  await inParallel(changes.sync, async (target) => {
    const report = await syncReported(deps, target, left());
    record(report);
    if (report.kind === 'failed') failures.push(...target.recordIds.filter(Boolean).map((itemIdentifier) => ({ itemIdentifier })));
  });
  return { batchItemFailures: failures };
}

async function inParallel<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) await run(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(GATEWAYS_IN_PARALLEL, items.length) }, lane));
}

function record(report: WorkerReport): void {
  metrics.addMetric(report.kind === 'failed' ? 'GatewaySyncFailures' : 'GatewaySyncRuns', MetricUnit.Count, 1);
  if (report.kind === 'sync') metrics.addMetric('GatewayCommandsSent', MetricUnit.Count, report.commandsSent);
  // Fail closed, never stall: the peer set went out without clients it cannot render (lastSync names them).
  if (report.kind === 'sync' && report.peersLeftOut) metrics.addMetric('GatewayPeersLeftOut', MetricUnit.Count, report.peersLeftOut);
  const { kind: _kind, ...fields } = report;
  if (report.kind === 'failed') logger.error('gateway sync failed', fields);
  else if (report.kind === 'sync' && report.peersLeftOut) logger.warn('gateway sync left clients out of the peer set', fields);
  else if (report.kind === 'teardown' && !['success', 'pending'].includes(report.teardown)) logger.error('gateway teardown', fields);
  else logger.info(report.kind === 'teardown' ? 'gateway teardown' : 'gateway sync', fields);
}

export function createSyncHandler(deps: SyncDeps, options: SyncHandlerOptions) {
  const handle = async (event: DynamoDBStreamEvent | SweepEvent, context: Context): Promise<BatchResult | void> => {
    metrics.addMetadata('request_id', context.awsRequestId);
    metrics.addMetric('source' in event ? 'WorkerSweeps' : 'WorkerStreamBatches', MetricUnit.Count, 1);
    if ('Records' in event) return onStream(deps, event, options.budgetMs);
    for (const report of await sweepGateways(deps, options.budgetMs, context.awsRequestId)) record(report);
  };
  return middy(handle)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
