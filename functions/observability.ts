// Powertools for AWS Lambda: one Logger, one Metrics and one Tracer per process, used as middy
// middlewares by the HTTP stack and the worker (request id, cold start, function name in every
// line), and by the composition root to trace the SDK clients. Service name, namespace and log
// level come from POWERTOOLS_* variables set by the CDK construct; these are the defaults.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const SERVICE_NAME = 'wg-ingress';
export const METRICS_NAMESPACE = 'WgIngress';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
