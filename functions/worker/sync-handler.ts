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
import { runReports, type ReportDeps, type ReportRun } from '../app/gateway-reports.js';
import { logger, metrics, tracer } from '../observability.js';
import { meteredSyncDeps, recordReportRun } from './worker-metrics.js';

export interface SweepEvent {
  source: 'aws.events' | 'local.schedule';
  /** 'report': the report schedule (gateway-reports.ts) rather than the sync sweep. */
  kind?: 'report';
}

export interface SyncHandlerOptions {
  /** Time one invocation may spend waiting for commands and pacing applies. */
  budgetMs: number;
}

type BatchResult = { batchItemFailures: { itemIdentifier: string }[] };

/** A batch of stream records: teardowns first, then each named gateway once; failed records are retried. */
async function onStream(deps: SyncDeps, event: DynamoDBStreamEvent, budgetMs: number): Promise<BatchResult> {
  const changes = readGatewayChanges(event.Records);
  const share = budgetMs / Math.max(1, changes.sync.length + changes.teardown.length);
  const failures: { itemIdentifier: string }[] = [];
  for (const removed of changes.teardown) {
    const report = await teardownGateway(deps, removed, share);
    record(report);
    if (report.kind === 'failed' && removed.recordId) failures.push({ itemIdentifier: removed.recordId });
  }
  for (const target of changes.sync) {
    const report = await syncReported(deps, target, share);
    record(report);
    if (report.kind === 'failed') failures.push(...target.recordIds.filter(Boolean).map((itemIdentifier) => ({ itemIdentifier })));
  }
  return { batchItemFailures: failures };
}

function record(report: WorkerReport): void {
  metrics.addMetric(report.kind === 'failed' ? 'GatewaySyncFailures' : 'GatewaySyncRuns', MetricUnit.Count, 1);
  // Fail closed, never stall: the peer set went out without clients it cannot render (lastSync names them).
  if (report.kind === 'sync' && report.peersLeftOut) metrics.addMetric('GatewayPeersLeftOut', MetricUnit.Count, report.peersLeftOut);
  const { kind: _kind, ...fields } = report;
  if (report.kind === 'failed') logger.error('gateway sync failed', fields);
  else if (report.kind === 'sync' && report.peersLeftOut) logger.warn('gateway sync left clients out of the peer set', fields);
  else if (report.kind === 'teardown' && !['success', 'pending'].includes(report.teardown)) logger.error('gateway teardown', fields);
  else logger.info(report.kind === 'teardown' ? 'gateway teardown' : 'gateway sync', fields);
}

/** One report run: every gateway's snapshot, its metrics, and a log line per problem. */
async function onReportSchedule(deps: ReportDeps): Promise<void> {
  const run: ReportRun = await runReports(deps);
  recordReportRun(run);
  for (const f of run.failures) logger.error('gateway report failed', { ...f });
  for (const g of run.gateways) if (g.problem) logger.warn('gateway report unreadable', { network: g.network, gatewayId: g.gatewayId, problem: g.problem });
  logger.info('gateway reports', { gateways: run.gateways.length, reported: run.gateways.filter((g) => g.reported).length, calls: run.calls });
}

export function createSyncHandler(unmetered: SyncDeps & ReportDeps, options: SyncHandlerOptions) {
  const deps = meteredSyncDeps(unmetered);
  const handle = async (event: DynamoDBStreamEvent | SweepEvent, context: Context): Promise<BatchResult | void> => {
    metrics.addMetadata('request_id', context.awsRequestId);
    if ('source' in event && event.kind === 'report') return onReportSchedule(unmetered);
    metrics.addMetric('source' in event ? 'WorkerSweeps' : 'WorkerStreamBatches', MetricUnit.Count, 1);
    if ('Records' in event) return onStream(deps, event, options.budgetMs);
    for (const report of await sweepGateways(deps, options.budgetMs, context.awsRequestId)) record(report);
  };
  return middy(handle)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
