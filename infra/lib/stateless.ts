// Everything that holds no data: the SSM documents, the functions, the HTTP API and its
// authorizer, the stream and schedule wiring of the gateway-sync worker.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
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
import { functionEntries, routes, type FunctionName } from '../../functions/contract/route-table.js';
import { HouseFunction, type TableAccess } from './house-function.js';
import { bucketPrefixes, mainTableGsi, type WgIngressData } from './stateful.js';

export type WorkerName = 'gateway-sync';
export type AnyFunctionName = FunctionName | WorkerName;
type DocumentName = 'init' | 'apply' | 'teardown';

/** What each function touches; the IAM policy and environment follow from this table alone. */
interface FunctionNeeds {
  description: string;
  table?: TableAccess;
  /** Only the config-rendering paths read secrets; `clients` writes and deletes them. */
  secrets?: TableAccess;
  bucket?: { read?: string[]; write?: string[] };
  documents?: DocumentName[];
  memorySizeMiB?: number;
  timeout?: Duration;
}

const downloads = bucketPrefixes.downloads.prefix;
const peerSets = bucketPrefixes.peerSets.prefix;

export const functionNeeds: Record<AnyFunctionName, FunctionNeeds> = {
  public: { description: 'GET /health and /openapi.json' },
  networks: { description: 'Networks API', table: 'readWrite' },
  gateways: { description: 'Gateways API; registration sends the init document', table: 'readWrite', documents: ['init'] },
  clients: { description: 'Clients API', table: 'readWrite', secrets: 'readWrite' },
  'client-downloads': {
    description: 'Client config/QR downloads and one-time links',
    table: 'readWrite',
    secrets: 'read',
    bucket: { read: [downloads], write: [downloads] },
    // QR PNG rendering is CPU-bound; more memory buys proportionally more CPU.
    memorySizeMiB: 512,
  },
  'download-page': {
    description: 'One-time link landing page and redemption (public)',
    table: 'readWrite',
    secrets: 'read',
    bucket: { read: [downloads], write: [downloads] },
    memorySizeMiB: 512,
  },
  'gateway-sync': {
    description: 'Renders peer sets and sends them to gateways over SSM',
    table: 'readWrite',
    secrets: 'read',
    bucket: { read: [peerSets], write: [peerSets] },
    documents: ['init', 'apply', 'teardown'],
    // One invocation waits for the commands it sent (and paces bursts); see functions/worker/gateway-sync.ts.
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
  /** SSM Command documents (schema 2.2) for gateway init, peer-set apply and teardown. */
  readonly documents: { readonly init: object; readonly apply: object; readonly teardown: object };
  /** Origin of the hosted frontend, for CORS, e.g. `https://admin.example.com`. */
  readonly frontendOrigin: string;
  readonly gatewayTag: GatewayTag;
  readonly userPool?: cognito.IUserPool;
  readonly userPoolClient?: cognito.IUserPoolClient;
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
  readonly functions: Record<AnyFunctionName, HouseFunction>;
  readonly documentNames: Record<DocumentName, string>;
  readonly syncFailures: sqs.Queue;

  constructor(scope: Construct, id: string, props: WgIngressApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { data } = props;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const initDoc = new ssm.CfnDocument(this, 'InitDocument', {
      documentType: 'Command',
      content: props.documents.init,
      updateMethod: 'NewVersion',
    });
    const applyDoc = new ssm.CfnDocument(this, 'ApplyDocument', {
      documentType: 'Command',
      content: props.documents.apply,
      updateMethod: 'NewVersion',
    });
    const teardownDoc = new ssm.CfnDocument(this, 'TeardownDocument', {
      documentType: 'Command',
      content: props.documents.teardown,
      updateMethod: 'NewVersion',
    });
    this.documentNames = { init: initDoc.ref, apply: applyDoc.ref, teardown: teardownDoc.ref };
    const documentArn = (name: string) =>
      stack.formatArn({ service: 'ssm', resource: 'document', resourceName: name });

    ({ userPool: this.userPool, userPoolClient: this.userPoolClient } = this.createUserPool(props, removalPolicy));

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'wg-ingress control plane',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [props.frontendOrigin],
        allowMethods: [
          apigw.CorsHttpMethod.GET,
          apigw.CorsHttpMethod.POST,
          apigw.CorsHttpMethod.PATCH,
          apigw.CorsHttpMethod.DELETE,
          apigw.CorsHttpMethod.OPTIONS,
        ],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: Duration.hours(1),
      },
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: accessLogFormat,
      },
    });
    // The $default stage serves at the API's root; links in pages and answers are built on it.
    const publicBaseUrl = this.api.apiEndpoint;

    const baseEnvironment: Record<string, string> = {
      // Every function gets every name: config() validates the whole set at start, and a name
      // alone grants nothing (the grants below do).
      TABLE_NAME: data.table.tableName,
      SECRETS_TABLE_NAME: data.secretsTable.tableName,
      BUCKET_NAME: data.bucket.bucketName,
      INIT_DOCUMENT_NAME: this.documentNames.init,
      APPLY_DOCUMENT_NAME: this.documentNames.apply,
      TEARDOWN_DOCUMENT_NAME: this.documentNames.teardown,
      GATEWAY_TAG_KEY: props.gatewayTag.key,
      GATEWAY_TAG_VALUE: props.gatewayTag.value,
      PUBLIC_BASE_URL: publicBaseUrl,
      AUTH_MODE: 'jwt',
    };

    const fns = {} as Record<AnyFunctionName, HouseFunction>;
    for (const [name, needs] of Object.entries(functionNeeds) as [AnyFunctionName, FunctionNeeds][]) {
      const f = new HouseFunction(this, pascal(name), {
        entry: functionEntries[name],
        projectRoot: props.functionsRoot,
        description: `wg-ingress: ${needs.description}`,
        memorySizeMiB: needs.memorySizeMiB,
        timeout: needs.timeout,
        environment: baseEnvironment,
        logRetention: props.logRetention,
      });
      if (needs.table) f.useTable(data.table, 'TABLE_NAME', needs.table, { indexes: [mainTableGsi] });
      if (needs.secrets) f.useTable(data.secretsTable, 'SECRETS_TABLE_NAME', needs.secrets);
      if (needs.bucket) f.useBucket(data.bucket, 'BUCKET_NAME', needs.bucket);
      if (needs.documents?.length) {
        f.role.addToPolicy(
          new iam.PolicyStatement({
            actions: ['ssm:SendCommand'],
            resources: needs.documents.map((d) => documentArn(this.documentNames[d])),
          }),
        );
        // SendCommand is authorised on the document AND on each target instance; only
        // instances carrying the gateway tag can be targets.
        f.role.addToPolicy(
          new iam.PolicyStatement({
            actions: ['ssm:SendCommand'],
            resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
            conditions: { StringEquals: { [`ssm:resourceTag/${props.gatewayTag.key}`]: props.gatewayTag.value } },
          }),
        );
        f.role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] }));
      }
      fns[name] = f;
    }
    this.functions = fns;

    const authorizer = new HttpUserPoolAuthorizer('CognitoJwt', this.userPool, {
      userPoolClients: [this.userPoolClient],
    });
    const integrations = new Map<FunctionName, HttpLambdaIntegration>();
    for (const route of routes) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${pascal(route.fn)}Integration`, fns[route.fn].fn);
        integrations.set(route.fn, integration);
      }
      this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration,
        ...(route.public ? {} : { authorizer }),
      });
    }

    this.syncFailures = this.wireGatewaySync(fns['gateway-sync'].fn, data);
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
          callbackUrls: [props.frontendOrigin],
          logoutUrls: [props.frontendOrigin],
        },
        preventUserExistenceErrors: true,
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
      });
    return { userPool, userPoolClient };
  }

  private wireGatewaySync(worker: lambda.IFunction, data: WgIngressData): sqs.Queue {
    const failures = new sqs.Queue(this, 'GatewaySyncFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    worker.addEventSource(
      new DynamoEventSource(data.table, {
        startingPosition: lambda.StartingPosition.LATEST,
        // Bursts of client changes on one gateway coalesce into one invocation and one command.
        maxBatchingWindow: Duration.seconds(2),
        batchSize: 100,
        bisectBatchOnError: true,
        retryAttempts: 3,
        maxRecordAge: Duration.hours(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(failures),
        // Only gateway items whose desiredGeneration exists; equal old/new generations (e.g. the
        // worker's own appliedGeneration write) cannot be filtered here and are a cheap no-op there.
        filters: [
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

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}
