// Powertools for AWS Lambda: one Logger, one Metrics and one Tracer per process, used as middy
// middlewares by the HTTP stack and the worker (request id, cold start, function name in every
// line), and by the composition root to trace the SDK clients. Service name, namespace and log
// level come from POWERTOOLS_* variables set by the CDK construct; these are the defaults.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const SERVICE_NAME = 'wg-ingress';
export const METRICS_NAMESPACE = 'WgIngress';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
export const tracer = new Tracer({ serviceName: SERVICE_NAME });

/**
 * Publishes one count in a metrics document of its own, at once: for an event in a request whose
 * shared buffer another concurrent request (local mode serves them in one process) could flush.
 */
export function publishCount(name: string, requestId: string, dimensions: Record<string, string> = {}): void {
  const m = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: dimensions });
  m.addMetadata('request_id', requestId);
  m.addMetric(name, MetricUnit.Count, 1);
  m.publishStoredMetrics();
}
