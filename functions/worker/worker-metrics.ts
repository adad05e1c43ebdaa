// The worker's metrics (Powertools Metrics, EMF, namespace WgIngress): what the report runs learnt
// of each gateway (dimension `gateway`, `<network>/<gatewayId>`), the same as fleet-wide figures
// without a gateway dimension (the alarms' metrics: an alarm made at synth cannot name a gateway
// created later), and the commands and failed applies of the sync runs, counted where they happen.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { GatewayReportSummary, ReportRun } from '../app/gateway-reports.js';
import type { SyncDeps } from '../app/gateway-sync.js';
import type { GatewayCommandSender, GatewayStore } from '../app/ports.js';
import { METRICS_NAMESPACE, metrics, publishCount, SERVICE_NAME } from '../observability.js';

/** A report older than this, or a gateway behind for longer, is what the alarms are about. */
export const STALE_AFTER_SECONDS = 300;

const gatewayDimension = (g: { network: string; gatewayId: string }) => `${g.network}/${g.gatewayId}`;

/** One EMF document per gateway with its four figures (one log line, not four). */
function publishGateway(g: GatewayReportSummary, requestId: string): void {
  const m = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: { gateway: gatewayDimension(g) } });
  m.addMetadata('request_id', requestId);
  if (g.peers !== null) m.addMetric('PeersConfigured', MetricUnit.Count, g.peers);
  if (g.peersOnline !== null) m.addMetric('ClientsOnline', MetricUnit.Count, g.peersOnline);
  m.addMetric('ReportAgeSeconds', MetricUnit.Seconds, g.reportAgeSeconds);
  m.addMetric('SyncLagSeconds', MetricUnit.Seconds, g.syncLagSeconds);
  m.publishStoredMetrics();
}

export function recordReportRun(run: ReportRun, into: Metrics, requestId: string): void {
  for (const g of run.gateways) publishGateway(g, requestId);
  const worst = (pick: (g: GatewayReportSummary) => number) => run.gateways.reduce((max, g) => Math.max(max, pick(g)), 0);
  into.addMetric('ReportAgeSeconds', MetricUnit.Seconds, worst((g) => g.reportAgeSeconds));
  into.addMetric('SyncLagSeconds', MetricUnit.Seconds, worst((g) => g.syncLagSeconds));
  into.addMetric('StaleGateways', MetricUnit.Count, run.gateways.filter((g) => g.reportAgeSeconds > STALE_AFTER_SECONDS).length);
  into.addMetric('GatewaysOutOfSync', MetricUnit.Count, run.gateways.filter((g) => g.syncLagSeconds > STALE_AFTER_SECONDS).length);
  // Over the gateways that reported peers (a gateway that never reported adds nothing).
  into.addMetric('ClientsOnline', MetricUnit.Count, run.gateways.reduce((n, g) => n + (g.peersOnline ?? 0), 0));
  into.addMetric('PeersConfigured', MetricUnit.Count, run.gateways.reduce((n, g) => n + (g.peers ?? 0), 0));
  into.addMetric('CommandsSent', MetricUnit.Count, run.calls.reportCommands);
  if (run.failures.length) metrics.addMetric('ReportFailures', MetricUnit.Count, run.failures.length);
}

/**
 * The sync deps with every command sent and every failed apply counted (no change to the sync
 * code); `requestId` names the invocation the counts belong to.
 */
export function meteredSyncDeps(deps: SyncDeps, requestId: () => string): SyncDeps {
  const commands: GatewayCommandSender = {
    sendInit: (id, params) => counted(deps.commands.sendInit(id, params)),
    sendApply: (id, params) => counted(deps.commands.sendApply(id, params)),
    sendTeardown: (id, params) => counted(deps.commands.sendTeardown(id, params)),
    getResult: (commandId, id) => deps.commands.getResult(commandId, id),
  };
  const store = deps.gateways;
  const gateways: GatewayStore = Object.create(store, {
    recordSync: {
      value: async (...args: Parameters<GatewayStore['recordSync']>) => {
        await store.recordSync(...args);
        const [network, gatewayId, result] = args;
        if (result.outcome === 'failed') {
          publishCount('ApplyFailures', requestId(), { gateway: gatewayDimension({ network, gatewayId }) });
          metrics.addMetric('ApplyFailures', MetricUnit.Count, 1);
        }
      },
    },
  }) as GatewayStore;
  return { ...deps, commands, gateways };
}

async function counted<T>(sent: Promise<T>): Promise<T> {
  const out = await sent;
  metrics.addMetric('CommandsSent', MetricUnit.Count, 1);
  return out;
}
