// Everything that holds no data: the SSM documents, the functions, the HTTP API and its
// authorizer, the stream and schedule wiring of the gateway-sync worker.
import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DEFAULT_ADMIN_GROUP, DEFAULT_AUDIT_RETENTION_DAYS, DEFAULT_VIEWER_GROUP, groupNameProblem } from '../../functions/config.js';
import { cors, functionEntries, routes, type FunctionName } from '../../functions/contract/route-table.js';
import { HouseFunction, type TableAccess } from './house-function.js';
import { bucketPrefixes, mainTableGsi, type WgIngressData } from './stateful.js';

export type WorkerName = 'gateway-sync';
export type AnyFunctionName = FunctionName | WorkerName;
type DocumentName = 'init' | 'apply' | 'teardown' | 'report';

/** What each function touches; the IAM policy and environment follow from this table alone. */
interface FunctionNeeds {
  description: string;
  table?: TableAccess;
  /** Only the config-rendering paths read secrets; `clients` writes and deletes them. */
  secrets?: TableAccess;
  bucket?: { read?: string[]; write?: string[]; delete?: string[] };
  /** The gateways' reports and status snapshots: the bucket's default encryption (the data key), no secret in them. */
  reportObjects?: { read?: string[]; write?: string[]; delete?: string[] };
  documents?: DocumentName[];
  /** ssm:DescribeInstanceInformation (the agents' ping status; no resource-level permission exists). */
  describesAgents?: true;
  /** The create routes: Powertools Idempotency keeps its records in the idempotency table. */
  idempotency?: true;
  memorySizeMiB?: number;
  timeout?: Duration;
}

const downloads = bucketPrefixes.downloads.prefix;
const peerSets = bucketPrefixes.peerSets.prefix;
const reports = bucketPrefixes.reports.prefix;
const status = bucketPrefixes.status.prefix;
const exportsPrefix = bucketPrefixes.exports.prefix;

export const functionNeeds: Record<AnyFunctionName, FunctionNeeds> = {
  public: { description: 'GET /health and /openapi.json' },
  networks: { description: 'Networks API', table: 'readWrite', idempotency: true },
  // Registration only writes the gateway item; the worker (gateway-sync) sends the init document
  // when the stream shows it, so this function holds no SSM permission.
  // Answers carry each gateway's health from its status snapshot (read only).
  gateways: {
    description: 'Gateways API; registration records the gateway for the worker to initialise',
    table: 'readWrite',
    idempotency: true,
    reportObjects: { read: [status] },
  },
  // Secrets are written with the client (a transaction) and deleted with it, never read here;
  // answers carry each client's status from its gateway's snapshot (read only).
  // Large exports are written under exports/ and handed out as signed URLs (read: the URL's right).
  // An import of 1,000 clients is some 60 transactions: more time than the default, within API Gateway's 30 s.
  clients: {
    description: 'Clients API',
    table: 'readWrite',
    secrets: { write: ['dynamodb:PutItem', 'dynamodb:DeleteItem'] },
    idempotency: true,
    reportObjects: { read: [status] },
    bucket: { read: [exportsPrefix], write: [exportsPrefix] },
    timeout: Duration.seconds(29),
  },
  'client-downloads': {
    description: 'Client config/QR downloads and one-time links',
    table: 'readWrite',
    secrets: 'read',
    bucket: { read: [downloads], write: [downloads] },
    // QR PNG rendering is CPU-bound; more memory buys proportionally more CPU.
    memorySizeMiB: 512,
  },
  // Public: reads the link, its client, gateway and network by key; writes only link items (spend,
  // give back) and, in the same transactions, the redemption's audit record (put, and deleted again
  // when the spend is given back), never anything else of the table; reads one client's secrets by key.
  'download-page': {
    description: 'One-time link landing page and redemption (public)',
    table: { read: ['dynamodb:GetItem'], write: ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], writeLeadingKeys: ['LINK#*', 'AUDIT#*'] },
    secrets: { read: ['dynamodb:GetItem'] },
    bucket: { read: [downloads], write: [downloads] },
    memorySizeMiB: 512,
  },
  // Reads only: the audit log is written by the other functions, each with its own change.
  audit: { description: 'Audit log (GET /audit), read only', table: 'read' },
  'gateway-sync': {
    description: 'Renders peer sets and sends them to gateways over SSM',
    table: 'readWrite',
    secrets: 'read',
    bucket: { read: [peerSets], write: [peerSets], delete: [peerSets] },
    // Reads the report commands' output (and deletes it once read), keeps one snapshot per gateway.
    reportObjects: { read: [reports, status], write: [status], delete: [reports] },
    documents: ['init', 'apply', 'teardown', 'report'],
    describesAgents: true,
    // One invocation waits for the command it sent and sends the next at once; see functions/app/gateway-sync.ts.
    timeout: Duration.minutes(5),
  },
};

export interface GatewayTag {
  readonly key: string;
  readonly value: string;
}

export interface WgIngressApiProps {
  readonly data: WgIngressData;
  /** Folder that `functionEntries` paths are relative to (the repository root). */
  readonly functionsRoot: string;
  /** SSM Command documents (schema 2.2) for gateway init, peer-set apply, teardown and status reports. */
  readonly documents: { readonly init: object; readonly apply: object; readonly teardown: object; readonly report: object };
  /** How often the gateways report their status (minutes, 1-60; default 1). */
  readonly statusIntervalMinutes?: number;
  /**
   * Origins of the frontends (the deployed console's, a hosted one's), for CORS and the Cognito
   * app client's callback and sign-out URLs, e.g. `https://admin.example.com`.
   */
  readonly frontendOrigins: string[];
  readonly gatewayTag: GatewayTag;
  readonly userPool?: cognito.IUserPool;
  readonly userPoolClient?: cognito.IUserPoolClient;
  /** The Cognito group whose members may call every route; default `wg-ingress-admins`. */
  readonly adminGroup?: string;
  /** The Cognito group whose members may only GET; default `wg-ingress-viewers`. */
  readonly viewerGroup?: string;
  /** How long audit records stay before the table's TTL removes them (days, 1-3650; default 400). */
  readonly auditRetentionDays?: number;
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention?: logs.RetentionDays;
  /** Removal policy for log groups and the user pool this construct creates. */
  readonly removalPolicy?: RemovalPolicy;
}

export class WgIngressApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly userPool: cognito.IUserPool;
  readonly userPoolClient: cognito.IUserPoolClient;
  /** Names of the admin and viewer groups the API functions check. */
  readonly groups: { readonly admin: string; readonly viewer: string };
  /** The two groups, created only with the user pool this construct creates (an imported pool brings its own). */
  readonly userPoolGroups?: { readonly admin: cognito.CfnUserPoolGroup; readonly viewer: cognito.CfnUserPoolGroup };
  readonly functions: Record<AnyFunctionName, HouseFunction>;
  readonly documentNames: Record<DocumentName, string>;
  readonly syncFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: WgIngressApiProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.groups = {
      admin: groupName('adminGroup', props.adminGroup ?? DEFAULT_ADMIN_GROUP),
      viewer: groupName('viewerGroup', props.viewerGroup ?? DEFAULT_VIEWER_GROUP),
    };
    if (!Token.isUnresolved(this.groups.admin) && this.groups.admin === this.groups.viewer) throw new Error('WgIngressApi: adminGroup and viewerGroup must differ');

    this.documentNames = this.createDocuments(props.documents);
    ({ userPool: this.userPool, userPoolClient: this.userPoolClient } = this.createUserPool(props, removalPolicy));
    if (!props.userPool) this.userPoolGroups = this.createGroups(removalPolicy);
    ({ api: this.api, stage: this.stage } = this.createHttpApi(props));
    this.functions = this.createFunctions(props);
    this.addRoutes();
    this.syncFailures = this.wireGatewaySync(this.functions['gateway-sync'].fn, props.data, statusIntervalMinutes(props.statusIntervalMinutes));
  }

  private createDocuments(documents: WgIngressApiProps['documents']): Record<DocumentName, string> {
    const document = (id: string, content: object) =>
      new ssm.CfnDocument(this, id, { documentType: 'Command', content, updateMethod: 'NewVersion' }).ref;
    return {
      init: document('InitDocument', documents.init),
      apply: document('ApplyDocument', documents.apply),
      teardown: document('TeardownDocument', documents.teardown),
      report: document('ReportDocument', documents.report),
    };
  }

  /** The API, its $default stage (throttled) and the stage's access log group. */
  private createHttpApi(props: WgIngressApiProps): { api: apigw.HttpApi; stage: apigw.HttpStage } {
    const api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'wg-ingress control plane',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.frontendOrigins,
        allowMethods: [...cors.allowMethods.map((m) => apigw.CorsHttpMethod[m]), apigw.CorsHttpMethod.OPTIONS],
        allowHeaders: [...cors.allowHeaders],
        maxAge: Duration.hours(1),
      },
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.data.logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: accessLogFormat,
      },
    });
    return { api, stage };
  }

  /** One HouseFunction per row of `functionNeeds`, with exactly the grants that row names. */
  private createFunctions(props: WgIngressApiProps): Record<AnyFunctionName, HouseFunction> {
    const { data } = props;
    const environment: Record<string, string> = {
      // Every function gets every name: config() validates the whole set at start, and a name
      // alone grants nothing (the grants below do).
      TABLE_NAME: data.table.tableName,
      SECRETS_TABLE_NAME: data.secretsTable.tableName,
      BUCKET_NAME: data.bucket.bucketName,
      INIT_DOCUMENT_NAME: this.documentNames.init,
      APPLY_DOCUMENT_NAME: this.documentNames.apply,
      TEARDOWN_DOCUMENT_NAME: this.documentNames.teardown,
      REPORT_DOCUMENT_NAME: this.documentNames.report,
      // The $default stage serves at the API's root; links in pages and answers are built on it.
      PUBLIC_BASE_URL: this.api.apiEndpoint,
      AUTH_MODE: 'jwt',
      AUDIT_RETENTION_DAYS: String(auditRetentionDays(props.auditRetentionDays)),
    };

    // The functions behind the API also check the caller's groups (functions/http/http-handler.ts);
    // the worker serves no route, and its configuration falls back to the defaults it never uses.
    const apiEnvironment: Record<string, string> = { ...environment, ADMIN_GROUP: this.groups.admin, VIEWER_GROUP: this.groups.viewer };
    const servesRoutes = (name: AnyFunctionName) => routes.some((r) => r.fn === name);

    const fns = {} as Record<AnyFunctionName, HouseFunction>;
    for (const [name, needs] of Object.entries(functionNeeds) as [AnyFunctionName, FunctionNeeds][]) {
      const f = new HouseFunction(this, pascal(name), {
        entry: functionEntries[name],
        projectRoot: props.functionsRoot,
        description: `wg-ingress: ${needs.description}`,
        memorySizeMiB: needs.memorySizeMiB,
        timeout: needs.timeout,
        environment: servesRoutes(name) ? apiEnvironment : environment,
        logRetention: props.logRetention,
        logKey: data.logKey,
      });
      if (needs.table) f.useTable(data.table, 'TABLE_NAME', needs.table, { indexes: [mainTableGsi] });
      if (needs.secrets) f.useTable(data.secretsTable, 'SECRETS_TABLE_NAME', needs.secrets);
      if (needs.idempotency) f.useTable(data.idempotencyTable, 'IDEMPOTENCY_TABLE_NAME', 'itemsByKey');
      // downloads/ and peer-sets/ hold private and preshared keys: written with the secrets key.
      if (needs.bucket) f.useBucket(data.bucket, 'BUCKET_NAME', needs.bucket, data.secretsKey);
      if (needs.reportObjects) f.useBucket(data.bucket, 'BUCKET_NAME', needs.reportObjects);
      if (needs.documents?.length) this.allowSendCommand(f, needs.documents, props.gatewayTag);
      if (needs.describesAgents) f.role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:DescribeInstanceInformation'], resources: ['*'] }));
      fns[name] = f;
    }
    return fns;
  }

  private allowSendCommand(f: HouseFunction, documents: DocumentName[], gatewayTag: GatewayTag): void {
    const stack = Stack.of(this);
    f.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:SendCommand'],
        resources: documents.map((d) =>
          stack.formatArn({ service: 'ssm', resource: 'document', resourceName: this.documentNames[d] }),
        ),
      }),
    );
    // SendCommand is authorised on the document AND on each target instance; only
    // instances carrying the gateway tag can be targets.
    f.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:SendCommand'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
        conditions: { StringEquals: { [`ssm:resourceTag/${gatewayTag.key}`]: gatewayTag.value } },
      }),
    );
    f.role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] }));
  }

  /** Every row of the route table, behind the JWT authorizer unless it is public. */
  private addRoutes(): void {
    const authorizer = new HttpUserPoolAuthorizer('CognitoJwt', this.userPool, {
      userPoolClients: [this.userPoolClient],
    });
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    const integrationOf = (fn: FunctionName) => {
      let integration = integrations.get(fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${pascal(fn)}Integration`, this.functions[fn].fn);
        integrations.set(fn, integration);
      }
      return integration;
    };
    for (const route of routes) {
      this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: integrationOf(route.fn),
        ...(route.public ? {} : { authorizer }),
      });
    }
  }

  private createUserPool(
    props: WgIngressApiProps,
    removalPolicy: RemovalPolicy,
  ): { userPool: cognito.IUserPool; userPoolClient: cognito.IUserPoolClient } {
    const userPool =
      props.userPool ??
      new cognito.UserPool(this, 'UserPool', {
        // Admins are invited by an existing admin (see the NextStep output), never self-registered.
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        mfa: cognito.Mfa.REQUIRED,
        mfaSecondFactor: { otp: true, sms: false },
        passwordPolicy: {
          minLength: 12,
          requireLowercase: true,
          requireUppercase: true,
          requireDigits: true,
          requireSymbols: true,
        },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        featurePlan: cognito.FeaturePlan.ESSENTIALS,
        deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
        removalPolicy,
      });
    const userPoolClient =
      props.userPoolClient ??
      userPool.addClient('FrontendClient', {
        // A browser app cannot keep a secret; PKCE protects the code flow instead.
        generateSecret: false,
        authFlows: { userSrp: true },
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
          callbackUrls: props.frontendOrigins,
          logoutUrls: props.frontendOrigins,
        },
        preventUserExistenceErrors: true,
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
      });
    return { userPool, userPoolClient };
  }

  /**
   * The admin and viewer groups in the pool this construct created, so the first admin can be added
   * with `aws cognito-idp admin-add-user-to-group` (the NextStep output). Signing in alone grants nothing.
   */
  private createGroups(removalPolicy: RemovalPolicy): NonNullable<WgIngressApi['userPoolGroups']> {
    const group = (id: string, groupName: string, precedence: number, description: string) => {
      const g = new cognito.CfnUserPoolGroup(this, id, { userPoolId: this.userPool.userPoolId, groupName, precedence, description });
      g.applyRemovalPolicy(removalPolicy);
      return g;
    };
    return {
      admin: group('AdminGroup', this.groups.admin, 0, 'wg-ingress admins: may call every route of the API'),
      viewer: group('ViewerGroup', this.groups.viewer, 1, 'wg-ingress viewers: may only read (GET) through the API'),
    };
  }

  private wireGatewaySync(worker: lambda.IFunction, data: WgIngressData, reportEveryMinutes: number): sqs.Queue {
    const failures = new sqs.Queue(this, 'GatewaySyncFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    worker.addEventSource(
      new DynamoEventSource(data.table, {
        startingPosition: lambda.StartingPosition.LATEST,
        // No batching window: a change on an idle gateway goes out at once. Changes that arrive while
        // an apply runs wait in the shard behind the invocation that waits for it, which re-reads
        // the gateway when the result comes and sends them all in the next apply.
        batchSize: 100,
        bisectBatchOnError: true,
        retryAttempts: 3,
        maxRecordAge: Duration.hours(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(failures),
        // Only gateway items whose desiredGeneration exists, and generation shards (client changes
        // move those); equal old/new generations (e.g. the worker's own appliedGeneration write)
        // cannot be filtered here and are a cheap no-op there.
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('MODIFY'),
            dynamodb: { Keys: { sk: { S: lambda.FilterRule.beginsWith('GWGEN#') } } },
          }),
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or('INSERT', 'MODIFY'),
            dynamodb: {
              Keys: { sk: { S: lambda.FilterRule.beginsWith('GW#') } },
              NewImage: { desiredGeneration: { N: lambda.FilterRule.exists() } },
            },
          }),
          // A deleted gateway: the worker sends the teardown document to its instance.
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('REMOVE'),
            dynamodb: { Keys: { sk: { S: lambda.FilterRule.beginsWith('GW#') } } },
          }),
        ],
      }),
    );
    // The schedule catches what the stream missed: gateways that were offline, failed sends.
    new events.Rule(this, 'GatewaySyncSchedule', {
      description: 'wg-ingress: periodic gateway reconciliation',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(worker, { retryAttempts: 2, maxEventAge: Duration.minutes(2) })],
    });
    // The report schedule (functions/app/gateway-reports.ts): a rule of its own, so a sync sweep
    // that waits for an apply never delays a report. A late run is worth nothing: no retry.
    new events.Rule(this, 'GatewayReportSchedule', {
      description: 'wg-ingress: gateway status reports (wg show dump through SSM, output to S3)',
      schedule: events.Schedule.rate(Duration.minutes(reportEveryMinutes)),
      targets: [
        new targets.LambdaFunction(worker, {
          event: events.RuleTargetInput.fromObject({ source: 'aws.events', kind: 'report' }),
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });
    return failures;
  }
}

// routeKey (the template, `GET /dl/{token}`), never `$context.path`: a one-time link's token is
// in its path and must not land in a log.
const accessLogFormat = apigateway.AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
  }),
);

/** A group name the functions' configuration will accept, checked at synth rather than at the first request. */
function groupName(prop: string, value: string): string {
  if (Token.isUnresolved(value)) return value; // a parameter's value is known only at deploy
  const problem = groupNameProblem(value);
  if (problem) throw new Error(`WgIngressApi: ${prop} ${problem}`);
  return value;
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}

/** The report interval in minutes: a whole number from 1 (EventBridge's shortest rate) to 60. */
function statusIntervalMinutes(minutes: number | undefined): number {
  const value = minutes ?? 1;
  if (!Number.isInteger(value) || value < 1 || value > 60) throw new Error('WgIngressApi: statusIntervalMinutes must be a whole number of minutes from 1 to 60');
  return value;
}

/** The audit records' retention in days: a whole number from 1 to 3650 (functions/config.ts reads it the same way). */
function auditRetentionDays(days: number | undefined): number {
  const value = days ?? DEFAULT_AUDIT_RETENTION_DAYS;
  if (!Number.isInteger(value) || value < 1 || value > 3650) throw new Error('WgIngressApi: auditRetentionDays must be a whole number of days from 1 to 3650');
  return value;
}
