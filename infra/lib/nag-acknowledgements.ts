// cdk-nag AwsSolutions findings accepted on purpose, each on the narrowest construct and with
// the reason. Applied by the WgIngress construct itself, so an app that embeds it and runs
// cdk-nag sees the same. (cdk-nag 3 reads CDK's own Validations acknowledgements.)
import { Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { IConstruct } from 'constructs';
import { routes } from '../../functions/contract/route-table.js';
import type { ConsoleSite } from './console-site.js';
import type { ExampleGateway } from './example-gateway.js';
import { bucketPrefixes, type WgIngressData } from './stateful.js';
import { functionNeeds, type AnyFunctionName, type GatewayTag, type WgIngressApi } from './stateless.js';

/** What of a WgIngress construct the findings are acknowledged on (wg-ingress.ts imports this file). */
export interface NagScope extends IConstruct {
  readonly data: WgIngressData;
  readonly api: WgIngressApi;
  readonly gatewayTag: GatewayTag;
  readonly exampleGateway?: ExampleGateway;
  readonly gatewayPolicy: IConstruct;
  readonly console?: ConsoleSite;
}

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
}

export function acknowledgeNagFindings(wg: NagScope): void {
  const { api } = wg.api;

  for (const [name, f] of Object.entries(wg.api.functions) as [AnyFunctionName, (typeof wg.api.functions)[AnyFunctionName]][]) {
    const needs = functionNeeds[name];
    const wildcardUsers = ['X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords)'];
    if (needs.documents?.length) wildcardUsers.push('ssm:GetCommandInvocation');
    if (name === 'gateway-sync') wildcardUsers.push('dynamodb:ListStreams (added by the stream event source)');
    acknowledge(
      f.role,
      'IAM5[Resource::*]',
      `${wildcardUsers.join(', ')} support no resource-level permissions, so IAM requires Resource "*" for them; nothing else in this policy uses "*".`,
    );
    if (needs.documents?.length) {
      acknowledge(
        f.role,
        `IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*]`,
        `Gateway instances are registered at run time, so their ids cannot be listed here; ssm:SendCommand on instances is limited by the condition ssm:resourceTag/${wg.gatewayTag.key}=${wg.gatewayTag.value}, and on documents to the ${needs.documents.join(', ')} document${needs.documents.length > 1 ? 's' : ''} this function sends, of the stack's four (init, apply, teardown, report).`,
      );
    }
    const bucketId = Stack.of(wg).getLogicalId(wg.data.bucket.node.defaultChild as never);
    for (const prefix of new Set([...(needs.bucket?.read ?? []), ...(needs.bucket?.write ?? [])])) {
      const why =
        prefix === bucketPrefixes.downloads.prefix
          ? 'renders configs and QR codes under it and signs short-lived GET URLs for them'
          : 'writes each gateway\'s desired peer set under it and signs the GET URL the apply document fetches';
      acknowledge(
        f.role,
        `IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        `Object keys are generated per client/gateway at run time; access is limited to the ${prefix} prefix, which this function ${why}.`,
      );
    }
    for (const prefix of new Set([...(needs.reportObjects?.read ?? []), ...(needs.reportObjects?.write ?? []), ...(needs.reportObjects?.delete ?? [])])) {
      const why =
        prefix === bucketPrefixes.status.prefix
          ? name === 'gateway-sync'
            ? 'keeps one status snapshot per gateway under'
            : "reads each gateway's status snapshot from, for the answers' status and health,"
          : 'reads (and deletes once read) the report commands\' output from, which the SSM agent writes under it';
      acknowledge(
        f.role,
        `IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        `Object keys name networks, gateways and commands made at run time; access is limited to the ${prefix} prefix, which this function ${why}.`,
      );
    }
  }

  {
    const bucketId = Stack.of(wg).getLogicalId(wg.data.bucket.node.defaultChild as never);
    const prefix = bucketPrefixes.peerSets.prefix;
    acknowledge(
      wg.gatewayPolicy,
      `IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      `Peer-set object keys are generated per gateway, generation and command at run time; gateway instances may only GetObject under ${prefix} (and decrypt via S3 only), and IAM cannot tie a gateway id in the key to the calling instance without per-instance tags.`,
    );
    const reports = bucketPrefixes.reports.prefix;
    acknowledge(
      wg.gatewayPolicy,
      `IAM5[Resource::<${bucketId}.Arn>/${reports}*]`,
      `The SSM agent writes a report command's output under <prefix>/<command id>/<instance id>/…, all made at run time; gateway instances may only PutObject under ${reports} (never read it), and the worker deletes each output once read.`,
    );
  }

  const publicRouteKeys = new Set(routes.filter((r) => r.public).map((r) => `${r.method} ${r.path}`));
  for (const child of api.node.findAll()) {
    if (child instanceof apigw.CfnRoute && publicRouteKeys.has(child.routeKey)) {
      acknowledge(
        child,
        'APIG4',
        `${child.routeKey} is public by design (DESIGN.md §3): health and the OpenAPI document carry no data, and /dl/{token} is authorised by the 256-bit one-time token itself, since the end user has no account.`,
      );
    }
  }

  if (wg.api.userPool instanceof cognito.UserPool) {
    acknowledge(
      wg.api.userPool,
      'COG8',
      'The pool holds a handful of admins with self sign-up disabled and TOTP MFA required; the Plus tier\'s threat protection is billed per user and can be enabled by importing an own pool (wg-ingress:userPoolId).',
    );
  }

  acknowledge(
    wg.api.syncFailures,
    'SQS3',
    'This queue is itself the on-failure destination of the gateway-sync stream mapping; it holds batch metadata for inspection, and a DLQ behind a DLQ would add nothing.',
  );

  if (wg.console) acknowledgeConsoleFindings(wg.console);

  if (wg.exampleGateway) {
    const gw = wg.exampleGateway;
    acknowledge(
      gw.securityGroup,
      'EC23',
      `WireGuard clients connect from anywhere, so UDP ${gw.listenPort} is open to 0.0.0.0/0; it is the only inbound port, and WireGuard answers nothing to packets that are not authenticated with a configured peer key.`,
    );
    acknowledge(
      gw.role,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for an SSM managed instance (Run Command is how gateways are configured); a hand-copied policy would drift from what the agent needs.',
    );
    acknowledge(
      gw.instance,
      'EC29',
      'The example gateway is disposable (a context flag, for trying the stack out); termination protection would only block `cdk destroy`, and the gateway key is re-created by the init document.',
    );
  }
}

/** The console's distribution and the CDK-provided function that copies its build into the bucket. */
function acknowledgeConsoleFindings(site: ConsoleSite): void {
  const d = site.distribution;
  acknowledge(d, 'CFR1', 'Admins sign in from wherever they work; the console is static files, and every API call needs a Cognito token of the admin or viewer group.');
  acknowledge(d, 'CFR2', 'The distribution serves only the static, public build of the console (no data, no API); the API behind it has its own throttling and JWT authorizer. WAF can be attached by the operator.');
  acknowledge(d, 'CFR3', 'CloudFront standard logs need an ACL-enabled bucket; the distribution serves only the static build, while every API call is logged by the API stage and the functions. The console bucket itself has S3 server access logs.');
  acknowledge(d, 'CFR4', 'The distribution uses its CloudFront domain and the default certificate, whose security policy CloudFront fixes; a custom domain with an ACM certificate (TLSv1.2_2021) is the operator\'s choice.');
  const handler = site.deploymentHandler;
  if (!handler) return;
  acknowledge(handler, 'L1', 'This is CDK\'s BucketDeployment handler (aws-cdk-lib chooses and updates its Python runtime); it runs only during deploys, to copy the console build into its bucket.');
  acknowledge(handler, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK\'s BucketDeployment handler: the AWS-managed basic execution policy only lets it write its own logs.');
  for (const finding of [
    'Action::s3:GetObject*',
    'Action::s3:GetBucket*',
    'Action::s3:List*',
    'Action::s3:DeleteObject*',
    'Action::s3:Abort*',
    'Resource::*',
    `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*`,
    `Resource::<${Stack.of(site).getLogicalId(site.bucket.node.defaultChild as never)}.Arn>/*`,
  ]) {
    acknowledge(
      handler,
      `IAM5[${finding}]`,
      'CDK\'s BucketDeployment grants: read the console build from the CDK asset bucket, and write, list and prune the objects of the console bucket (object names are content hashes made at build time); Resource "*" is CloudFront\'s CreateInvalidation, which has no resource-level permission for the distribution in this grant.',
    );
  }
}
