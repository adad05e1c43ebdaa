// AWS Control Tower proactive controls (cfn-guard rules of @cdklabs/cdk-validator-cfnguard) that
// this stack does not meet on purpose, each suppressed on the resources it concerns, with the
// reason. The suppression is the cfn-guard convention `Metadata: { guard: { SuppressedRules: [...] } }`
// on the resource; test/infra runs cfn-guard over the template and fails on any failure of a rule
// that the failing resource does not suppress. Applied by the WgIngress construct itself, like
// nag-acknowledgements.ts, so an app that embeds it sees the same.
import { CfnResource, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { routes } from '../../functions/contract/route-table.js';
import type { NagScope } from './nag-acknowledgements.js';

/** Rule name (as cfn-guard reports it) → why this stack does not meet it. */
export const guardSuppressionReasons = {
  api_gw_v2_authorization_type_configured_check:
    'CT.APIGATEWAY.PR.5: this route is public by design (DESIGN.md §3): /health and /openapi.json carry no data, and /dl/{token} is authorised by its 256-bit one-time token, since the end user has no account; every other route has the JWT authorizer.',
  cloudwatch_log_group_retention_period_check:
    'CT.CLOUDWATCH.PR.2: the retention is stated on purpose (logRetention, one month by default): request and access logs name callers and source IPs, and keeping them a year is a privacy cost an operator must choose (set logRetention to ONE_YEAR or more and this suppression goes away).',
  lambda_function_public_access_prohibited_check:
    'CT.LAMBDA.PR.2: the permission is for apigateway.amazonaws.com with SourceArn set to this HTTP API\'s execute-api ARN (account, API id, route); the rule accepts only a literal string or a plain Ref/GetAtt there, and an environment-agnostic stack can only build the ARN with Fn::Join.',
  lambda_inside_vpc_check:
    'CT.LAMBDA.PR.3: the functions call only AWS APIs (DynamoDB, S3, SSM, X-Ray) over TLS with IAM auth and reach no private network; a VPC would add NAT or five interface endpoints and cold-start cost for no access they lack. The same holds for CDK\'s BucketDeployment handler, which only copies the console build (S3) and invalidates its cache (CloudFront) during deploys.',
  s3_bucket_versioning_enabled_check:
    'CT.S3.PR.11: objects here are disposable and short-lived (lifecycle expiry: rendered configs after 1 day, peer sets after 7, access logs after 90); versioning would keep deleted configs, which hold private keys, as noncurrent versions past their expiry. The console bucket holds only the build, which every deploy replaces from the repository.',
  s3_bucket_object_lock_enabled_check:
    'CT.S3.PR.9: object lock would forbid deleting what must go: rendered configs hold private keys and expire after a day, and object lock requires versioning, which this bucket has not on purpose (see CT.S3.PR.11); the console bucket\'s files are replaced and pruned by every deploy.',
  s3_event_notifications_enabled_check:
    'CT.S3.PR.4: nothing consumes bucket events: objects are written and read by the functions and the signed URLs they hand out, and the DynamoDB stream, not S3, drives the gateway-sync worker; the console bucket is read only by CloudFront.',
  s3_bucket_default_encryption_kms_check:
    'CT.S3.PR.10: S3 server access log delivery cannot write to a bucket whose default encryption is SSE-KMS, so the access-log bucket uses SSE-S3 (AES-256); the data bucket uses the customer-managed data key. The console bucket holds only the public static build (no data, no secret) and uses SSE-S3, so CloudFront\'s origin access control reads it without a KMS grant.',
  s3_bucket_logging_enabled_check:
    'CT.S3.PR.2: this is the access-log bucket itself; logging it into itself would loop and logging it elsewhere would need a third bucket that in turn needs one.',
  cloudfront_access_logs_enabled_check:
    'CT.CLOUDFRONT.PR.9: the console distribution serves only the static build; CloudFront standard logs need an ACL-enabled bucket, while every API call is logged by the API stage and the functions, and the console bucket has S3 server access logs.',
  cloudfront_custom_ssl_certificate_check:
    'CT.CLOUDFRONT.PR.7: the console is served on its CloudFront domain with the default certificate, so a deploy needs no domain or ACM certificate; a custom domain is the operator\'s choice.',
  cloudfront_security_policy_check:
    'CT.CLOUDFRONT.PR.8: with the default CloudFront certificate the viewer security policy is fixed by CloudFront and cannot be set; it can with a custom domain and certificate.',
  cloudfront_sni_enabled_check:
    'CT.CLOUDFRONT.PR.6: SNI applies to a custom certificate; the console uses the default CloudFront certificate.',
  cloudfront_origin_failover_enabled_check:
    'CT.CLOUDFRONT.PR.4: the one origin is the console bucket, a regional S3 bucket holding a static build that any deploy re-creates; a second bucket in another region would add replication for files that carry no data.',
  s3_lifecycle_policy_check:
    'CT.S3.PR.6: the console bucket holds only the current build: every deploy writes it and prunes what the build no longer has, so nothing is left to expire.',
  sqs_dlq_check:
    'CT.SQS.PR.1: this queue is itself the on-failure destination of the gateway-sync stream mapping, holding batch metadata for inspection; a dead-letter queue behind it would add nothing.',
} as const satisfies Record<string, string>;

export type GuardRule = keyof typeof guardSuppressionReasons;

export function suppressGuardRules(wg: NagScope): void {
  const byResource = new Map<CfnResource, Set<GuardRule>>();
  const suppress = (scope: IConstruct, ...rules: GuardRule[]) => {
    const resource = scope instanceof CfnResource ? scope : scope.node.defaultChild;
    if (!(resource instanceof CfnResource)) throw new Error(`no CloudFormation resource under ${scope.node.path}`);
    const set = byResource.get(resource) ?? new Set<GuardRule>();
    for (const r of rules) set.add(r);
    byResource.set(resource, set);
  };

  const publicRouteKeys = new Set(routes.filter((r) => r.public).map((r) => `${r.method} ${r.path}`));
  for (const child of wg.api.node.findAll()) {
    if (child instanceof apigw.CfnRoute && publicRouteKeys.has(child.routeKey)) {
      suppress(child, 'api_gw_v2_authorization_type_configured_check');
    }
    if (child instanceof lambda.CfnPermission && child.principal === 'apigateway.amazonaws.com' && child.sourceArn !== undefined) {
      suppress(child, 'lambda_function_public_access_prohibited_check');
    }
    if (child instanceof lambda.CfnFunction) suppress(child, 'lambda_inside_vpc_check');
    if (child instanceof logs.CfnLogGroup) {
      const days = child.retentionInDays;
      if (days !== undefined && !Token.isUnresolved(days) && days < 365) suppress(child, 'cloudwatch_log_group_retention_period_check');
    }
  }

  suppress(wg.data.bucket, 's3_bucket_versioning_enabled_check', 's3_bucket_object_lock_enabled_check', 's3_event_notifications_enabled_check');
  suppress(
    wg.data.accessLogBucket,
    's3_bucket_versioning_enabled_check',
    's3_bucket_object_lock_enabled_check',
    's3_event_notifications_enabled_check',
    's3_bucket_default_encryption_kms_check',
    's3_bucket_logging_enabled_check',
  );
  suppress(wg.api.syncFailures, 'sqs_dlq_check');

  if (wg.console) {
    suppress(
      wg.console.bucket,
      's3_bucket_versioning_enabled_check',
      's3_bucket_object_lock_enabled_check',
      's3_event_notifications_enabled_check',
      's3_bucket_default_encryption_kms_check',
      's3_lifecycle_policy_check',
    );
    suppress(
      wg.console.distribution,
      'cloudfront_access_logs_enabled_check',
      'cloudfront_custom_ssl_certificate_check',
      'cloudfront_security_policy_check',
      'cloudfront_sni_enabled_check',
      'cloudfront_origin_failover_enabled_check',
    );
    const handler = wg.console.deploymentHandler;
    if (handler) suppress(handler, 'lambda_inside_vpc_check');
    for (const child of wg.console.node.findAll()) {
      if (child instanceof logs.CfnLogGroup) {
        const days = child.retentionInDays;
        if (days !== undefined && !Token.isUnresolved(days) && days < 365) suppress(child, 'cloudwatch_log_group_retention_period_check');
      }
    }
  }

  for (const [resource, rules] of byResource) {
    resource.addMetadata('guard', { SuppressedRules: [...rules].sort() });
  }
}
