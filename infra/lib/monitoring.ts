// Alarms and a dashboard for the control plane and its gateways, with one SNS topic for the alarms
// (KMS-encrypted, TLS only, an optional e-mail subscription).
//
// Gateways are created at run time, so an alarm made at synth cannot name one. The worker's report
// runs therefore publish each figure twice (functions/worker/worker-metrics.ts): per gateway
// (dimension `gateway`, for the dashboard's per-gateway lines, drawn with Metrics Insights queries
// that pick up new gateways by themselves) and fleet-wide without that dimension (the worst report
// age, the longest sync lag: what the alarms watch). A Metrics Insights query alarm could watch the
// per-gateway series directly, but it alarms on one aggregated value too and costs per metric
// analysed; the fleet-wide series is one metric per figure, and the dashboard and the log lines
// (`gateway reports`, `gateway sync failed`) say which gateway it is.
import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { powertoolsEnvironment } from './house-function.js';
import { keyPolicy } from './stateful.js';

// What every function's Powertools Metrics writes with: the EMF namespace and the `service` dimension.
const METRICS_NAMESPACE = powertoolsEnvironment.POWERTOOLS_METRICS_NAMESPACE!;
const SERVICE_NAME = powertoolsEnvironment.POWERTOOLS_SERVICE_NAME!;

/** A report older than this, or a gateway behind for longer, alarms (the worker's STALE_AFTER_SECONDS). */
export const STALE_AFTER = Duration.minutes(5);

export interface WgIngressMonitoringProps {
  readonly api: apigw.IHttpApi;
  readonly worker: lambda.IFunction;
  /** The worker's failure queue (stream batches it gave up on). */
  readonly workerFailures: sqs.IQueue;
  /** Subscribes this address to the alarm topic (it must confirm the subscription). */
  readonly alarmEmail?: string;
}

export class WgIngressMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly alarms: Record<'staleReport' | 'outOfSync' | 'workerFailures' | 'api5xx' | 'workerErrors', cloudwatch.Alarm>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: WgIngressMonitoringProps) {
    super(scope, id);
    this.topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'wg-ingress: the alarm topic',
      enableKeyRotation: true,
      policy: keyPolicy(),
    });
    // CloudWatch publishes alarm notifications to the encrypted topic, for this account's alarms only.
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'UseByCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'wg-ingress alarms', masterKey: this.topicKey, enforceSSL: true });
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`WgIngressMonitoring: alarmEmail must be an e-mail address, got '${props.alarmEmail}'`);
    }
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const fleet = (metricName: string, statistic: string, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic, period });
    const alarm = (id: string, description: string, props: Omit<cloudwatch.AlarmProps, 'alarmDescription'>) => {
      const a = new cloudwatch.Alarm(this, id, { alarmDescription: `wg-ingress: ${description}`, ...props });
      a.addAlarmAction(new actions.SnsAction(this.topic));
      a.addOkAction(new actions.SnsAction(this.topic));
      return a;
    };
    const minutes = STALE_AFTER.toMinutes();

    const api5xxRate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: {
        errors: props.api.metricServerError({ statistic: 'Sum', period: Duration.minutes(1) }),
        requests: props.api.metricCount({ statistic: 'Sum', period: Duration.minutes(1) }),
      },
      label: 'API 5xx (% of requests)',
      period: Duration.minutes(1),
    });
    const workerErrors = new cloudwatch.MathExpression({
      expression: 'FILL(invocationErrors, 0) + FILL(syncFailures, 0) + FILL(reportFailures, 0)',
      usingMetrics: {
        invocationErrors: props.worker.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
        syncFailures: fleet('GatewaySyncFailures', 'Sum', Duration.minutes(5)),
        reportFailures: fleet('ReportFailures', 'Sum', Duration.minutes(5)),
      },
      label: 'worker errors',
      period: Duration.minutes(5),
    });

    this.alarms = {
      // No data at all means no report run happened: that is a stale report too.
      staleReport: alarm('StaleReportAlarm', `a gateway's last report is older than ${minutes} minutes (or the report schedule stopped)`, {
        metric: fleet('ReportAgeSeconds', 'Maximum'),
        threshold: STALE_AFTER.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      outOfSync: alarm('OutOfSyncAlarm', `a gateway has been out of sync (desired ahead of applied) for more than ${minutes} minutes`, {
        metric: fleet('SyncLagSeconds', 'Maximum'),
        threshold: STALE_AFTER.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      workerFailures: alarm('WorkerFailureQueueAlarm', "messages in the gateway-sync worker's failure queue (stream batches it gave up on)", {
        metric: props.workerFailures.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      api5xx: alarm('Api5xxAlarm', 'more than 1 % of API requests answered 5xx for 5 minutes', {
        metric: api5xxRate,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      workerErrors: alarm('WorkerErrorsAlarm', 'the gateway-sync worker failed (invocation errors, failed gateway syncs or reports)', {
        metric: workerErrors,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };

    // Metrics Insights: one line per gateway, new gateways included, without a redeploy.
    const perGateway = (metricName: string, fn: 'MAX' | 'SUM', label: string) =>
      new cloudwatch.MathExpression({
        expression: `SELECT ${fn}(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", gateway, service) GROUP BY gateway`,
        label,
        period: Duration.minutes(1),
      });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 12) => new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('Clients online per gateway', [perGateway('ClientsOnline', 'MAX', 'clients online')]),
          graph('Peers configured per gateway', [perGateway('PeersConfigured', 'MAX', 'peers')]),
        ],
        [
          graph('Sync lag per gateway (s)', [perGateway('SyncLagSeconds', 'MAX', 'sync lag'), fleet('SyncLagSeconds', 'Maximum').with({ label: 'worst' })]),
          graph('Report age per gateway (s)', [perGateway('ReportAgeSeconds', 'MAX', 'report age'), fleet('ReportAgeSeconds', 'Maximum').with({ label: 'worst' })]),
        ],
        [
          graph('Apply failures per gateway', [perGateway('ApplyFailures', 'SUM', 'apply failures')]),
          graph('Commands sent and link redemptions', [fleet('CommandsSent', 'Sum').with({ label: 'commands sent' }), fleet('LinkRedemptions', 'Sum').with({ label: 'link redemptions' })]),
        ],
        [
          graph('API latency (ms)', [
            props.api.metricLatency({ statistic: 'p50', period: Duration.minutes(1), label: 'p50' }),
            props.api.metricLatency({ statistic: 'p99', period: Duration.minutes(1), label: 'p99' }),
          ]),
          graph('API 5xx', [props.api.metricServerError({ statistic: 'Sum', period: Duration.minutes(1), label: '5xx' }), api5xxRate]),
        ],
        [
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 4 }),
        ],
      ],
    });
  }
}
