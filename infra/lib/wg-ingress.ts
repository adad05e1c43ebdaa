// The whole control plane as one construct: this repository's app is one user of it, an infra
// team's own CDK app can be another.
import { fileURLToPath } from 'node:url';
import { CfnOutput, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { applyDocument, initDocument, reportDocument, teardownDocument } from '../ssm/documents.js';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { ConsoleSite } from './console-site.js';
import { ExampleGateway } from './example-gateway.js';
import { GatewayInstancePolicy } from './gateway-policy.js';
import { WgIngressMonitoring } from './monitoring.js';
import { suppressGuardRules } from './guard-suppressions.js';
import { acknowledgeNagFindings } from './nag-acknowledgements.js';
import { WgIngressData } from './stateful.js';
import { WgIngressApi, type GatewayTag } from './stateless.js';

/** Same defaults as functions/config.ts, so local mode and AWS agree. */
export const defaultGatewayTag: GatewayTag = { key: 'wg-ingress:gateway', value: 'true' };

export interface WgIngressProps {
  /**
   * Origin of a hosted admin frontend (scheme, host, optional port), allowed by CORS and as the
   * Cognito callback, besides the deployed console's. Required when `console` is false.
   */
  readonly frontendOrigin?: string;
  /**
   * Deploy the admin console (console/) to a private bucket behind CloudFront (default true); its
   * domain is then an allowed origin and Cognito callback, and a managed-login domain is created.
   */
  readonly console?: boolean;
  /** Prefix of the console's managed-login domain; default `wg-ingress-<hash>-<account>`. */
  readonly loginDomainPrefix?: string;
  /** An existing managed-login domain (https://…) of the pool, instead of creating one. */
  readonly loginDomainUrl?: string;
  /**
   * E-mail of a first admin, created in the pool and added to the admin group (Cognito mails a
   * temporary password). Needs the pool this construct creates.
   */
  readonly adminEmail?: string;
  /** An existing Cognito user pool; without it one is created (MFA required). */
  readonly userPool?: cognito.IUserPool;
  /** An existing app client of that pool for the frontend; without it one is created. */
  readonly userPoolClient?: cognito.IUserPoolClient;
  /**
   * The Cognito group whose members may call every route (default `wg-ingress-admins`). Created
   * with a created pool; an imported pool must have it. Users of the pool outside both groups get 403.
   */
  readonly adminGroup?: string;
  /** The Cognito group whose members may only GET (default `wg-ingress-viewers`); created like adminGroup. */
  readonly viewerGroup?: string;
  /** How long audit records stay before the table's TTL removes them (days, 1-3650; default 400). */
  readonly auditRetentionDays?: number;
  /** The tag that marks instances SSM may send gateway commands to. */
  readonly gatewayTag?: GatewayTag;
  /** Tables, bucket and keys: RETAIN (default, with deletion protection) or DESTROY. */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /** Log groups and a created user pool: RETAIN (default) or DESTROY. */
  readonly removalPolicy?: RemovalPolicy;
  /** API stage throttling; default 50 requests/s, bursts of 100. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention?: logs.RetentionDays;
  /** How often the gateways report their status (minutes, 1-60; default 1). */
  readonly statusIntervalMinutes?: number;
  /** Subscribes this e-mail address to the alarm topic (it must confirm the subscription). */
  readonly alarmEmail?: string;
  /** Adds a t4g.nano Amazon Linux 2023 gateway in its own VPC, tagged and ready to register. */
  readonly exampleGateway?: boolean;
  /**
   * Folder the function entries (functions/contract/route-table.ts) are relative to; defaults to this
   * repository's root.
   */
  readonly functionsRoot?: string;
  /** Add the CfnOutputs (API URL, user pool, bucket, table, next step). Default true. */
  readonly outputs?: boolean;
}

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

export class WgIngress extends Construct {
  readonly data: WgIngressData;
  readonly api: WgIngressApi;
  readonly exampleGateway?: ExampleGateway;
  readonly gatewayTag: GatewayTag;
  /** The alarm topic, the alarms and the dashboard. */
  readonly monitoring: WgIngressMonitoring;
  /**
   * Attach to the role of every gateway instance: reads the peer-set objects the apply document
   * names (s3:GetObject under peer-sets/, kms:Decrypt of the secrets key via S3 only) and writes
   * the report document's output (s3:PutObject under reports/, data keys of the data key via S3 only).
   */
  readonly gatewayPolicy: iam.ManagedPolicy;
  /** Base URL of the HTTP API (no trailing slash). */
  readonly apiUrl: string;
  /** The admin console's bucket, distribution and deployment (unless `console: false`). */
  readonly console?: ConsoleSite;
  readonly firstAdmin?: { user: cognito.CfnUserPoolUser; membership: cognito.CfnUserPoolUserToGroupAttachment };

  constructor(scope: Construct, id: string, props: WgIngressProps) {
    super(scope, id);
    const gatewayTag = props.gatewayTag ?? defaultGatewayTag;
    this.gatewayTag = gatewayTag;

    this.data = new WgIngressData(this, 'Data', { removalPolicy: props.dataRemovalPolicy });
    if (props.console ?? true) {
      this.console = new ConsoleSite(this, 'Console', {
        objectsBucket: this.data.bucket,
        accessLogBucket: this.data.accessLogBucket,
        logKey: this.data.logKey,
        logRetention: props.logRetention,
        loginDomainPrefix: props.loginDomainPrefix,
        loginDomainUrl: props.loginDomainUrl,
      });
    }
    const frontendOrigins = [...(this.console ? [this.console.origin] : []), ...(props.frontendOrigin ? [props.frontendOrigin] : [])];
    if (frontendOrigins.length === 0) throw new Error('WgIngress: frontendOrigin is required when console is false');
    this.api = new WgIngressApi(this, 'Api', {
      data: this.data,
      functionsRoot: props.functionsRoot ?? repositoryRoot,
      documents: { init: initDocument(), apply: applyDocument(), teardown: teardownDocument(), report: reportDocument() },
      statusIntervalMinutes: props.statusIntervalMinutes,
      frontendOrigins,
      gatewayTag,
      userPool: props.userPool,
      userPoolClient: props.userPoolClient,
      adminGroup: props.adminGroup,
      viewerGroup: props.viewerGroup,
      auditRetentionDays: props.auditRetentionDays,
      throttle: props.throttle,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.apiUrl = this.api.api.apiEndpoint;
    this.console?.connect({ apiUrl: this.apiUrl, userPool: this.api.userPool, userPoolClient: this.api.userPoolClient });
    if (props.adminEmail !== undefined) this.firstAdmin = this.createFirstAdmin(props.adminEmail);
    this.gatewayPolicy = new GatewayInstancePolicy(this, 'GatewayInstancePolicy', {
      bucket: this.data.bucket,
      objectKey: this.data.secretsKey,
      reportKey: this.data.dataKey,
    }).policy;
    this.monitoring = new WgIngressMonitoring(this, 'Monitoring', {
      api: this.api.api,
      worker: this.api.functions['gateway-sync'].fn,
      workerFailures: this.api.syncFailures,
      alarmEmail: props.alarmEmail,
    });

    if (props.exampleGateway) {
      this.exampleGateway = new ExampleGateway(this, 'ExampleGateway', { gatewayTag, gatewayPolicy: this.gatewayPolicy });
    }

    if (props.outputs ?? true) this.addOutputs();
    acknowledgeNagFindings(this);
    suppressGuardRules(this);
  }

  /** The first admin: a pool user (Cognito mails the temporary password) in the admin group. */
  private createFirstAdmin(email: string): NonNullable<WgIngress['firstAdmin']> {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new Error(`WgIngress: adminEmail must be an e-mail address, got ${JSON.stringify(email)}`);
    const groups = this.api.userPoolGroups;
    if (!groups) throw new Error('WgIngress: adminEmail needs the user pool this construct creates (an imported pool has its own admins)');
    const userPoolId = this.api.userPool.userPoolId;
    const user = new cognito.CfnUserPoolUser(this, 'FirstAdmin', {
      userPoolId,
      username: email,
      userAttributes: [
        { name: 'email', value: email },
        { name: 'email_verified', value: 'true' },
      ],
      desiredDeliveryMediums: ['EMAIL'],
    });
    const membership = new cognito.CfnUserPoolUserToGroupAttachment(this, 'FirstAdminMembership', {
      userPoolId,
      groupName: this.api.groups.admin,
      username: email,
    });
    membership.addDependency(user);
    membership.addDependency(groups.admin);
    return { user, membership };
  }

  private addOutputs(): void {
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    if (this.console) out('ConsoleUrl', `${this.console.origin}/`, 'The admin console (sign in with a user of the admin or viewer group)');
    out('ApiUrl', this.apiUrl, 'Base URL of the HTTP API');
    out('UserPoolId', this.api.userPool.userPoolId, 'Cognito user pool of the admins and viewers');
    out('UserPoolClientId', this.api.userPoolClient.userPoolClientId, 'App client id for the frontend');
    out('BucketName', this.data.bucket.bucketName, 'Bucket for rendered configs and peer sets');
    out('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic of the alarms (subscribe with wg-ingress:alarmEmail or your own subscription)');
    out('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard: clients online, sync lag, apply failures, API latency and 5xx');
    out('TableName', this.data.table.tableName, 'Main DynamoDB table');
    out(
      'NextStep',
      Fn.join('', [
        'aws cognito-idp admin-create-user --user-pool-id ',
        this.api.userPool.userPoolId,
        ' --username you@example.com --user-attributes Name=email,Value=you@example.com Name=email_verified,Value=true',
        ' && aws cognito-idp admin-add-user-to-group --user-pool-id ',
        this.api.userPool.userPoolId,
        ` --username you@example.com --group-name ${this.api.groups.admin}`,
      ]),
      `Invite the first admin (Cognito mails a temporary password) and add them to ${this.api.groups.admin} (${this.api.groups.viewer} may only read), then sign in through the frontend`,
    );
    out(
      'GatewayPolicyArn',
      this.gatewayPolicy.managedPolicyArn,
      "Attach this managed policy to every gateway instance's role: the apply document reads its peer set from the bucket with it",
    );
    out(
      'GatewayTag',
      `${this.gatewayTag.key}=${this.gatewayTag.value}`,
      'Tag every instance that may serve as an ingress gateway with this key=value',
    );
  }
}
