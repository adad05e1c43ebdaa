// Asserts on the synthesized template of the stack `npx cdk deploy` creates, and runs cdk-nag's
// AwsSolutions pack over it. Bundling is real (local esbuild), so this also proves every function
// entry in functions/contract/route-table.ts builds.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { functionEntries, routes } from '../../functions/contract/route-table.js';
import { WgIngressStack, type WgIngressStackProps } from '../../infra/lib/stack.js';
import { devFrontendOrigin, frontendOriginFrom } from '../../infra/lib/frontend-origin.js';
import { guardSuppressionReasons } from '../../infra/lib/guard-suppressions.js';
import { functionNeeds } from '../../infra/lib/stateless.js';
import { lambdaLikeEnv, measureInitMs } from '../bench/bundles.js';
import { repositoryRoot } from '../../infra/lib/wg-ingress.js';
import { runControlTowerGuard } from './cfn-guard.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

const cdkContext = JSON.parse(readFileSync(join(repositoryRoot, 'cdk.json'), 'utf8')).context as Json;
const gatewayTag = { key: 'wg-ingress:gateway', value: 'true' };

// One assembly folder for every app here: CDK's asset cache is keyed by it, so the variants
// reuse the bundles of the first stack instead of running esbuild seven times again.
const outdir = mkdtempSync(join(tmpdir(), 'wg-ingress-infra-test-'));
after(() => rmSync(outdir, { recursive: true, force: true }));

function makeStack(id: string, extra: Partial<WgIngressStackProps['wgIngress']> = {}, props: Partial<WgIngressStackProps> = {}) {
  // CloudFormation schema validation is left to `cdk synth` (it costs more than all of these tests).
  const app = new App({ context: cdkContext, outdir, builtinCloudFormationValidation: false });
  const stack = new WgIngressStack(app, id, {
    ...props,
    wgIngress: {
      frontendOrigin: 'https://admin.example.com',
      gatewayTag,
      // Set only while developing against stub entries, before every function exists.
      functionsRoot: process.env.WG_INGRESS_FUNCTIONS_ROOT,
      ...extra,
    },
  });
  return { app, stack };
}

const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as Json).Properties.PolicyDocument.Statement as Statement[],
  );
}

/** Policy statements of the function whose logical id starts with `prefix` (e.g. WgIngressApiGatewaySync). */
function policyOf(template: Template, fnPathPart: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const ids = Object.keys(policies).filter((id) => id.includes(`Api${fnPathPart}Role`));
  assert.equal(ids.length, 1, `one policy for ${fnPathPart}, found ${ids.join(', ')}`);
  return (policies[ids[0]!] as Json).Properties.PolicyDocument.Statement as Statement[];
}

const json = (v: unknown) => JSON.stringify(v);

/** CDK's own BucketDeployment handler (it copies the console build at deploy), not one of ours. */
const isDeploymentHandler = (logicalId: string) => logicalId.startsWith('CustomCDKBucketDeployment');

/** The project's own functions (one per functions/contract/route-table.ts entry). */
function houseFunctions(template: Template): Record<string, Json> {
  return Object.fromEntries(Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) => !isDeploymentHandler(id)));
}

/**
 * The environment a function starts with: exactly the names its template gives it (a token
 * stands in as the bench's placeholder value), plus what the Lambda runtime sets (AWS_*).
 */
function deployedEnvironment(fn: Json): Record<string, string> {
  const runtime = Object.entries(lambdaLikeEnv).filter(([name]) => name.startsWith('AWS_'));
  const own = Object.entries(fn.Environment.Variables as Json).map(([name, value]) => [
    name,
    typeof value === 'string' ? value : (lambdaLikeEnv[name] ?? `bench-${name.toLowerCase().replaceAll('_', '-')}`),
  ]);
  return Object.fromEntries([...runtime, ...own]);
}

describe('WgIngress stack', () => {
  let stack: Stack;
  let template: Template;
  let synthMs: number;

  before(() => {
    const t0 = Date.now();
    ({ stack } = makeStack('WgIngressTest'));
    template = Template.fromStack(stack);
    synthMs = Date.now() - t0;
  });

  it('builds and synthesizes every function with local esbuild in well under a minute', () => {
    assert.ok(synthMs < 60_000, `synth took ${synthMs} ms`);
    const fns = houseFunctions(template);
    assert.equal(Object.keys(fns).length, Object.keys(functionEntries).length);
  });

  it('deploys bundles that load in a fresh Node process with none of the left-out SDK modules resolvable', () => {
    (stack.node.root as App).synth();
    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.mjs')));
    assert.equal(assets.length, Object.keys(functionEntries).length);
    const fnByAsset = new Map<string, Json>(
      Object.values(houseFunctions(template)).map((f) => {
        const p = (f as Json).Properties;
        return [`asset.${String(p.Code.S3Key).replace(/\.zip$/, '')}`, p];
      }),
    );
    for (const asset of assets) {
      const fn = fnByAsset.get(asset);
      assert.ok(fn, `${asset} is a function's code`);
      // The assembly lives in the OS temp folder: no node_modules above it to fall back on.
      const initMs = measureInitMs(join(outdir, asset, 'index.mjs'), deployedEnvironment(fn), 1, false);
      assert.ok(Number.isFinite(initMs), `${fn.Description} (${asset})`);
    }
  });

  it('puts the JWT authorizer on every non-public route and none on the public ones', () => {
    const cfnRoutes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => (r as Json).Properties);
    assert.equal(cfnRoutes.length, routes.length);
    const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer');
    const [authorizerId] = Object.keys(authorizers);
    assert.equal(Object.keys(authorizers).length, 1);
    for (const route of routes) {
      const cfn = cfnRoutes.find((r) => r.RouteKey === `${route.method} ${route.path}`);
      assert.ok(cfn, `route ${route.method} ${route.path} exists`);
      if (route.public) {
        assert.ok(!cfn.AuthorizerId, `${cfn.RouteKey} has no authorizer`);
        assert.ok(cfn.AuthorizationType === undefined || cfn.AuthorizationType === 'NONE', cfn.RouteKey);
      } else {
        assert.equal(cfn.AuthorizationType, 'JWT', cfn.RouteKey);
        assert.deepEqual(cfn.AuthorizerId, { Ref: authorizerId }, cfn.RouteKey);
      }
    }
  });

  it('checks JWTs issued by the user pool for the frontend client', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: Match.stringLikeRegexp('UserPoolFrontendClient') }],
        Issuer: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ Ref: Match.stringLikeRegexp('UserPool') }])]) }),
      },
    });
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
    });
  });

  it('gives the API functions the admin and viewer group names, and creates both groups in the created pool', () => {
    const fns = Object.values(houseFunctions(template)).map((f) => (f as Json).Properties);
    const routeFunctions = new Set(routes.map((r) => `wg-ingress: ${functionNeeds[r.fn].description}`));
    assert.equal(fns.filter((f) => routeFunctions.has(f.Description)).length, routeFunctions.size);
    for (const f of fns) {
      const vars = f.Environment.Variables as Json;
      if (routeFunctions.has(f.Description)) {
        assert.equal(vars.ADMIN_GROUP, 'wg-ingress-admins', f.Description);
        assert.equal(vars.VIEWER_GROUP, 'wg-ingress-viewers', f.Description);
      } else {
        assert.equal(vars.ADMIN_GROUP, undefined, `${f.Description} serves no route`);
      }
    }
    const pool = Object.keys(template.findResources('AWS::Cognito::UserPool'));
    assert.equal(pool.length, 1);
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')).map((g) => (g as Json).Properties);
    assert.deepEqual(groups.map((g) => g.GroupName).sort(), ['wg-ingress-admins', 'wg-ingress-viewers']);
    for (const g of groups) assert.deepEqual(g.UserPoolId, { Ref: pool[0] });
    const next = Object.entries(template.findOutputs('*')).find(([o]) => o.startsWith('WgIngressNextStep'))![1] as Json;
    assert.match(json(next.Value), /admin-add-user-to-group --user-pool-id .*--group-name wg-ingress-admins/);
  });

  it("allows CORS from the console's domain and the frontend origin only, and throttles the stage", () => {
    const distribution = Object.keys(template.findResources('AWS::CloudFront::Distribution'))[0]!;
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({
        AllowOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] }, 'https://admin.example.com'],
        AllowHeaders: ['authorization', 'content-type', 'idempotency-key'],
      }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
      AccessLogSettings: Match.objectLike({ Format: Match.not(Match.stringLikeRegexp('context\\.path')) }),
    });
  });

  it('never allows ssm:SendCommand on a "*" resource, only on the project documents and tagged instances', () => {
    const send = statements(template).filter((s) => asArray(s.Action).includes('ssm:SendCommand'));
    assert.ok(send.length >= 2, 'some function may send commands');
    const documents = Object.keys(template.findResources('AWS::SSM::Document'));
    assert.equal(documents.length, 4);
    for (const s of send) {
      for (const r of asArray(s.Resource)) {
        assert.notEqual(r, '*');
        const text = json(r);
        if (text.includes(':instance/')) {
          assert.deepEqual(s.Condition, {
            StringEquals: { [`ssm:resourceTag/${gatewayTag.key}`]: gatewayTag.value },
          });
        } else {
          assert.ok(documents.some((d) => text.includes(`"Ref":"${d}"`)), `document resource ${text}`);
          assert.ok(text.includes(':document/'), text);
        }
      }
      // Any statement that reaches instances carries the tag condition.
      if (asArray(s.Resource).some((r) => json(r).includes(':instance/'))) assert.ok(s.Condition);
    }
    // Only actions without resource-level permissions are allowed on "*"; GetCommandInvocation is
    // the only SSM one.
    for (const s of statements(template).filter((st) => json(st.Resource) === '"*"')) {
      for (const a of asArray(s.Action)) {
        assert.ok(
          // The CloudFront actions are CDK's BucketDeployment grant (invalidating the console's cache).
          [
            'ssm:GetCommandInvocation',
            'ssm:DescribeInstanceInformation',
            'xray:PutTraceSegments',
            'xray:PutTelemetryRecords',
            'dynamodb:ListStreams',
            'cloudfront:CreateInvalidation',
            'cloudfront:GetInvalidation',
          ].includes(a),
          a,
        );
      }
    }
  });

  it('gives only the gateway-sync worker any SSM permission', () => {
    const ssmUsers = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, p]) => json(p).includes('ssm:'))
      .map(([id]) => id);
    // The worker sends every command (init, apply, teardown); the gateways API only writes the table.
    assert.equal(ssmUsers.length, 1, ssmUsers.join(', '));
    assert.ok(ssmUsers[0]!.includes('ApiGatewaySyncRole'), ssmUsers[0]);
  });

  it('keeps the secrets table to the config-rendering functions, read-only where they only render', () => {
    const secretsTable = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.includes('SecretsTable'))!;
    const users = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, p]) => json(p).includes(`"${secretsTable}"`))
      .map(([id]) => id.replace(/^WgIngressApi/, '').replace(/Role.*$/, ''))
      .sort();
    assert.deepEqual(users, ['ClientDownloads', 'Clients', 'DownloadPage', 'GatewaySync']);
    for (const reader of ['ClientDownloads', 'DownloadPage', 'GatewaySync']) {
      const onSecrets = policyOf(template, reader).filter((s) => json(s.Resource).includes(`"${secretsTable}"`));
      const actions = onSecrets.flatMap((s) => asArray(s.Action));
      assert.ok(!actions.some((a) => /Put|Update|Delete|Write/.test(a)), `${reader} only reads secrets: ${actions}`);
    }
  });

  it('lets the audit function (GET /audit) only read the main table, and nothing else', () => {
    const route = routes.find((r) => r.path === '/audit');
    assert.deepEqual(route && { method: route.method, fn: route.fn, public: route.public }, { method: 'GET', fn: 'audit', public: undefined });
    const policy = policyOf(template, 'Audit');
    const actions = policy.flatMap((s) => asArray(s.Action));
    assert.ok(actions.includes('dynamodb:Query'), `it queries: ${actions}`);
    // Its own logs and traces aside: no write of any data, no SSM, no bucket.
    const data = actions.filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));
    assert.ok(!data.some((a) => /Put|Update|Delete|Write|^ssm:|^s3:|kms:(Encrypt|GenerateDataKey)/.test(a)), `read only: ${data}`);
    const secretsTable = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.includes('SecretsTable'))!;
    assert.ok(!json(policy).includes(`"${secretsTable}"`), 'no secrets');
  });

  it('lets only the worker delete objects, and only peer sets and report outputs (deleted once used)', () => {
    const deleters = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([, p]) =>
      ((p as Json).Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => asArray(s.Action).includes('s3:DeleteObject'))
        .map((s) => ({ roles: json((p as Json).Properties.Roles), resources: asArray(s.Resource).map(json) })),
    );
    assert.equal(deleters.length, 2);
    for (const d of deleters) assert.match(d.roles, /GatewaySync/);
    assert.deepEqual(deleters.flatMap((d) => d.resources.map((r) => /\/([a-z-]+)\/\*/.exec(r)?.[1])).sort(), ['peer-sets', 'reports']);
  });

  it('grants S3 object access only under the prefixes each function uses', () => {
    const expected: Record<string, string[]> = {
      ClientDownloads: ['downloads/*'],
      DownloadPage: ['downloads/*'],
      GatewaySync: ['peer-sets/*', 'reports/*', 'status/*'],
      Networks: [],
      Gateways: ['status/*'],
      // Exports too large for one answer: written and handed out as signed URLs.
      Clients: ['exports/*', 'status/*'],
      Public: [],
    };
    for (const [fn, prefixes] of Object.entries(expected)) {
      const s3Statements = policyOf(template, fn).filter((s) => asArray(s.Action).some((a) => a.startsWith('s3:')));
      const resources = s3Statements.flatMap((s) => asArray(s.Resource)).map(json);
      for (const r of resources) assert.ok(prefixes.some((p) => r.includes(`/${p}`)), `${fn}: ${r}`);
      assert.equal(resources.length > 0, prefixes.length > 0, fn);
      assert.ok(!s3Statements.flatMap((s) => asArray(s.Action)).some((a) => a.includes('*')), fn);
    }
  });

  it('gives the public download-page function GetItem, writes only on link and audit items, and GetItem on secrets', () => {
    const tables = Object.keys(template.findResources('AWS::DynamoDB::Table'));
    const main = tables.find((id) => /DataTable[0-9A-F]{8}$/.test(id))!;
    const secrets = tables.find((id) => id.includes('SecretsTable'))!;
    const onTable = (id: string) => policyOf(template, 'DownloadPage').filter((s) => json(s.Resource).includes(`"${id}"`));
    const mainStatements = onTable(main);
    const reads = mainStatements.filter((s) => !s.Condition);
    const writes = mainStatements.filter((s) => s.Condition);
    assert.deepEqual(reads.flatMap((s) => asArray(s.Action)), ['dynamodb:GetItem']);
    assert.ok(!json(mainStatements.map((s) => s.Resource)).includes('/index/'), 'no index access');
    assert.deepEqual(writes.flatMap((s) => asArray(s.Action)), ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(writes[0]!.Condition, { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LINK#*', 'AUDIT#*'] } });
    assert.deepEqual(onTable(secrets).flatMap((s) => asArray(s.Action)), ['dynamodb:GetItem']);
    // The clients API writes and deletes secrets with a client but never reads them.
    assert.deepEqual(
      policyOf(template, 'Clients').filter((s) => json(s.Resource).includes(`"${secrets}"`)).flatMap((s) => asArray(s.Action)).sort(),
      ['dynamodb:DeleteItem', 'dynamodb:PutItem'],
    );
  });

  it('grants the functions only the KMS actions SSE-KMS needs: no Encrypt, no ReEncrypt, GenerateDataKey only to writers', () => {
    const kmsActions = statements(template).flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('kms:'));
    assert.ok(kmsActions.length > 0);
    for (const a of kmsActions) assert.ok(['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'].includes(a), a);
    const secretsKey = Object.keys(template.findResources('AWS::KMS::Key')).find((id) => id.includes('SecretsKey'))!;
    // They read secrets and write the rendered files (downloads/, peer-sets/) encrypted with the secrets key.
    for (const renderer of ['ClientDownloads', 'DownloadPage', 'GatewaySync']) {
      const actions = policyOf(template, renderer).filter((s) => json(s.Resource).includes(`"${secretsKey}"`)).flatMap((s) => asArray(s.Action));
      assert.deepEqual([...new Set(actions)].sort(), ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'], renderer);
    }
  });

  it('gives every key its own policy: administration for the account, use only to the named roles, grants only for AWS resources', () => {
    const keys = template.findResources('AWS::KMS::Key');
    const roleOf = (principal: Json) => String(principal?.AWS?.['Fn::GetAtt']?.[0] ?? '').replace(/^WgIngressApi/, '').replace(/Role[0-9A-F]{8}$/, '');
    const users: Record<string, string[]> = {};
    for (const [id, key] of Object.entries(keys)) {
      const policy = (key as Json).Properties.KeyPolicy.Statement as (Statement & { Sid?: string; Principal: Json })[];
      const admin = policy.find((s) => s.Sid === 'KeyAdministration')!;
      assert.match(json(admin.Principal), /:root/, id);
      for (const a of asArray(admin.Action)) {
        assert.notEqual(a, 'kms:*', id);
        assert.ok(!/Decrypt|Encrypt|GenerateDataKey/.test(a), `${id}: the account administers, it does not use: ${a}`);
      }
      const deny = policy.find((s) => s.Effect === 'Deny')!;
      assert.deepEqual(deny.Condition, { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } }, id);
      // Nothing but the admin statement reaches the account root, save the gateways' decrypt of
      // peer sets through S3 on the secrets key and their data keys for report output through S3
      // on the data key; no statement allows kms:*.
      for (const s of policy.filter((st) => st.Effect === 'Allow' && st !== admin)) {
        if (s.Sid === 'GatewaysDecryptPeerSetsViaS3') {
          assert.ok(id.includes('SecretsKey'), id);
          assert.deepEqual(asArray(s.Action), ['kms:Decrypt']);
          assert.match(json(s.Condition), /kms:ViaService/);
          assert.match(json(s.Condition), /peer-sets\/\*/);
          continue;
        }
        if (s.Sid === 'GatewaysEncryptReportsViaS3') {
          assert.ok(id.includes('DataKey'), id);
          assert.deepEqual(asArray(s.Action), ['kms:GenerateDataKey']);
          assert.match(json(s.Condition), /kms:ViaService/);
          assert.match(json(s.Condition), /kms:CallerAccount/);
          continue;
        }
        if (s.Sid === 'UseByCloudWatchAlarms') {
          assert.ok(id.includes('AlarmTopicKey'), id);
          assert.deepEqual(s.Principal, { Service: 'cloudwatch.amazonaws.com' });
          continue;
        }
        assert.doesNotMatch(json(s.Principal), /:root/, id);
        assert.ok(!asArray(s.Action).includes('kms:*'), id);
      }
      users[id.replace(/^WgIngressData/, '').replace(/[0-9A-F]{8}$/, '')] = policy
        .filter((s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => a.startsWith('kms:Decrypt')) && s.Principal.AWS && s.Sid !== 'GatewaysDecryptPeerSetsViaS3')
        .map((s) => roleOf(s.Principal))
        .sort();
    }
    // The secrets key: the three roles that render configs or peer sets, and the clients API, which
    // writes secrets (DynamoDB unwraps the table key with the caller's kms:Decrypt for a write too).
    assert.deepEqual(users.SecretsKey, ['ClientDownloads', 'Clients', 'DownloadPage', 'GatewaySync']);
    assert.deepEqual(users.DataKey, ['Audit', 'ClientDownloads', 'Clients', 'DownloadPage', 'GatewaySync', 'Gateways', 'Networks']);
    assert.deepEqual(users.LogKey, []);
    assert.deepEqual(users.MonitoringAlarmTopicKey ?? users[Object.keys(users).find((k) => k.includes('AlarmTopicKey'))!], []);
  });

  it('encrypts every log group with the log key, which only CloudWatch Logs of the region may use, and states a retention', () => {
    const keys = template.findResources('AWS::KMS::Key');
    const [logKeyId, logKey] = Object.entries(keys).find(([id]) => id.includes('LogKey'))!;
    const logs = Object.values(template.findResources('AWS::Logs::LogGroup')) as Json[];
    assert.equal(logs.length, Object.keys(functionEntries).length + 2, "one per function, the access log and the console deployment's");
    for (const lg of logs) {
      assert.deepEqual(lg.Properties.KmsKeyId, { 'Fn::GetAtt': [logKeyId, 'Arn'] });
      assert.equal(lg.Properties.RetentionInDays, 30);
    }
    const use = ((logKey as Json).Properties.KeyPolicy.Statement as Json[]).find((s) => s.Sid === 'UseByCloudWatchLogs')!;
    assert.deepEqual(use.Principal, { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } });
    assert.match(json(use.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']), /:logs:.*AWS::Region.*AWS::AccountId.*:log-group:\*/);
  });

  it('meets the AWS Control Tower proactive controls (cfn-guard): no failure that its resource does not suppress', () => {
    const result = runControlTowerGuard(template.toJSON());
    assert.ok(result.rulesRun > 100, `the Control Tower rule set ran (${result.rulesRun} rules)`);
    assert.deepEqual(
      result.unsuppressed.map((f) => `${f.rule} ${f.resource}`),
      [],
      'fix these, or suppress them on the resource with a reason in infra/lib/guard-suppressions.ts',
    );
    // Fixed rather than suppressed anywhere.
    const suppressedRules = new Set(result.suppressed.map((f) => f.rule));
    for (const fixed of ['cloudwatch_log_group_encrypted_check', 'kms_create_grant_aws_service_check']) {
      assert.ok(!suppressedRules.has(fixed) && !result.failures.some((f) => f.rule === fixed), fixed);
    }
  });

  it('gives every guard suppression a reason, and suppresses nothing that does not fail', () => {
    const resources = template.toJSON().Resources as Json;
    const result = runControlTowerGuard(template.toJSON());
    const failing = new Set(result.failures.map((f) => `${f.rule} ${f.resource}`));
    let count = 0;
    for (const [id, r] of Object.entries(resources)) {
      for (const rule of (r as Json).Metadata?.guard?.SuppressedRules ?? []) {
        count++;
        const reason = (guardSuppressionReasons as Record<string, string>)[rule];
        assert.ok(reason && reason.length >= 80, `${id} ${rule}: reason`);
        assert.ok(failing.has(`${rule} ${id}`), `${id} suppresses ${rule}, which it does not fail`);
      }
    }
    assert.ok(count > 0);
  });

  it('blocks all public access to the bucket and denies requests without TLS', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    assert.equal(Object.keys(buckets).length, 3, 'data bucket, its access-log bucket and the console bucket');
    for (const b of Object.values(buckets)) {
      assert.deepEqual((b as Json).Properties.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    assert.equal(policies.length, 3);
    for (const p of policies) {
      const deny = ((p as Json).Properties.PolicyDocument.Statement as Statement[]).find(
        (s) => s.Effect === 'Deny' && json(s.Condition) === json({ Bool: { 'aws:SecureTransport': 'false' } }),
      );
      assert.ok(deny, 'TLS-only deny statement');
      assert.equal(json(deny.Action), '"s3:*"');
    }
  });

  it('encrypts the data bucket with the customer-managed key, logs access, expires downloads, peer sets and exports', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
            BucketKeyEnabled: true,
          },
        ],
      },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'downloads/', ExpirationInDays: 1, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'peer-sets/', ExpirationInDays: 7, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'exports/', ExpirationInDays: 1, Status: 'Enabled' }),
        ]),
      },
    });
  });

  it('gives the main table PITR, a new-and-old-images stream, TTL, the GSI and KMS encryption', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('keeps secrets in their own table under their own rotating key, with no stream', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    const [, secrets] = Object.entries(tables).find(([id]) => id.includes('SecretsTable'))!;
    const [, main] = Object.entries(tables).find(([id]) => /DataTable[0-9A-F]{8}$/.test(id))!;
    const p = (secrets as Json).Properties;
    assert.equal(p.StreamSpecification, undefined);
    assert.equal(p.GlobalSecondaryIndexes, undefined);
    assert.deepEqual(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.equal(p.DeletionProtectionEnabled, true);
    assert.equal(p.SSESpecification.SSEType, 'KMS');
    assert.notDeepEqual(p.SSESpecification.KMSMasterKeyId, (main as Json).Properties.SSESpecification.KMSMasterKeyId);
    const keys = Object.values(template.findResources('AWS::KMS::Key'));
    assert.equal(keys.length, 4, 'data, secrets, log and alarm topic keys');
    for (const k of keys) assert.equal((k as Json).Properties.EnableKeyRotation, true);
    for (const r of Object.values({ ...tables, ...template.findResources('AWS::KMS::Key') })) {
      assert.equal((r as Json).DeletionPolicy, 'Retain');
    }
  });

  it('keeps idempotency records in their own table: key id, TTL expiration, PITR, the data key, protected', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    const [, idempotency] = Object.entries(tables).find(([id]) => id.includes('IdempotencyTable'))!;
    const [, main] = Object.entries(tables).find(([id]) => /DataTable[0-9A-F]{8}$/.test(id))!;
    const p = (idempotency as Json).Properties;
    assert.deepEqual(p.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
    assert.deepEqual(p.AttributeDefinitions, [{ AttributeName: 'id', AttributeType: 'S' }]);
    assert.equal(p.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(p.TimeToLiveSpecification, { AttributeName: 'expiration', Enabled: true });
    assert.deepEqual(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.equal(p.SSESpecification.SSEType, 'KMS');
    assert.deepEqual(p.SSESpecification.KMSMasterKeyId, (main as Json).Properties.SSESpecification.KMSMasterKeyId);
    assert.equal(p.StreamSpecification, undefined);
    assert.equal(p.DeletionProtectionEnabled, true);
    assert.equal((idempotency as Json).DeletionPolicy, 'Retain');
  });

  it('lets only the create routes (networks, gateways, clients) use the idempotency table, item by item', () => {
    const tableId = Object.keys(template.findResources('AWS::DynamoDB::Table')).find((id) => id.includes('IdempotencyTable'))!;
    const users = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, p]) => json(p).includes(`"${tableId}"`))
      .map(([id]) => id.replace(/^WgIngressApi/, '').replace(/Role.*$/, ''))
      .sort();
    assert.deepEqual(users, ['Clients', 'Gateways', 'Networks']);
    for (const user of users) {
      const actions = policyOf(template, user)
        .filter((s) => json(s.Resource).includes(`"${tableId}"`))
        .flatMap((s) => asArray(s.Action))
        .sort();
      assert.deepEqual(actions, ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], user);
    }
    const fns = Object.values(houseFunctions(template)).map((f) => (f as Json).Properties);
    const named = fns.filter((f) => f.Environment.Variables.IDEMPOTENCY_TABLE_NAME).map((f) => f.Description).sort();
    const creators = (['networks', 'gateways', 'clients'] as const).map((n) => `wg-ingress: ${functionNeeds[n].description}`);
    assert.deepEqual(named, creators.sort());
    for (const f of fns.filter((fn) => fn.Environment.Variables.IDEMPOTENCY_TABLE_NAME)) {
      assert.deepEqual(f.Environment.Variables.IDEMPOTENCY_TABLE_NAME, { Ref: tableId });
    }
  });

  it('runs every function on Node.js 24 arm64 with tracing, its own log group and the configuration names', () => {
    const fns = Object.values(houseFunctions(template)).map((f) => (f as Json).Properties);
    assert.equal(fns.length, Object.keys(functionEntries).length);
    for (const f of fns) {
      assert.equal(f.Runtime, 'nodejs24.x', f.Description);
      assert.deepEqual(f.Architectures, ['arm64']);
      assert.deepEqual(f.TracingConfig, { Mode: 'Active' });
      assert.equal(f.Handler, 'index.handler');
      assert.ok(f.LoggingConfig?.LogGroup, 'explicit log group');
      const env = Object.keys(f.Environment.Variables);
      for (const name of [
        'TABLE_NAME',
        'SECRETS_TABLE_NAME',
        'BUCKET_NAME',
        'INIT_DOCUMENT_NAME',
        'APPLY_DOCUMENT_NAME',
        'TEARDOWN_DOCUMENT_NAME',
        'PUBLIC_BASE_URL',
        'AUTH_MODE',
        'AUDIT_RETENTION_DAYS',
      ]) {
        assert.ok(env.includes(name), `${f.Description}: ${name}`);
      }
      assert.equal(f.Environment.Variables.AUTH_MODE, 'jwt');
      assert.equal(f.Environment.Variables.AUDIT_RETENTION_DAYS, '400', `${f.Description}: the default retention`);
      // The tag only conditions the IAM statement; no function reads it.
      assert.deepEqual(env.filter((name) => name.startsWith('GATEWAY_TAG')), [], f.Description);
      assert.equal(f.Environment.Variables.POWERTOOLS_SERVICE_NAME, 'wg-ingress', f.Description);
      assert.equal(f.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE, 'WgIngress', f.Description);
      assert.equal(f.Environment.Variables.POWERTOOLS_LOG_LEVEL, 'INFO', f.Description);
    }
    for (const lg of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      assert.ok((lg as Json).Properties.RetentionInDays > 0);
    }
  });

  it('wakes gateway-sync from the stream for gateway items only, with batching and failure handling', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'LATEST',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: Match.anyValue(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewaySyncFailures'), 'Arn'] } } },
      FilterCriteria: {
        Filters: [
          // Generation shards: client changes move those, not the gateway item.
          { Pattern: Match.stringLikeRegexp('"eventName":\\["MODIFY"\\].*"prefix":"GWGEN#"') },
          { Pattern: Match.stringLikeRegexp('"sk":\\{"S":\\[\\{"prefix":"GW#"\\}\\]\\}') },
          // Removed gateways too: the worker sends them the teardown document.
          { Pattern: Match.stringLikeRegexp('"eventName":\\["REMOVE"\\].*"prefix":"GW#"') },
        ],
      },
    });
    const [esm] = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((r) => (r as Json).Properties);
    // No batching window: a change on an idle gateway goes out at once (coalescing is by the apply in flight).
    assert.equal(esm.MaximumBatchingWindowInSeconds, undefined);
    assert.ok(esm.MaximumRetryAttempts > 0);
    assert.match(json(esm.FunctionName), /GatewaySync/);
  });

  it('also runs gateway-sync every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewaySync'), 'Arn'] } })],
    });
  });

  it('runs the report schedule every minute, as a rule of its own with the report event and no retry', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewaySync'), 'Arn'] },
          Input: JSON.stringify({ source: 'aws.events', kind: 'report' }),
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
  });

  it('deploys a report document: one stateDir parameter, one shell step, nothing that prints a key', () => {
    const docs = Object.values(template.findResources('AWS::SSM::Document')).map((d) => (d as Json).Properties.Content as Json);
    const report = docs.find((d) => d.mainSteps.some((st: Json) => st.name === 'reportStatus'))!;
    assert.deepEqual(Object.keys(report.parameters), ['stateDir']);
    assert.deepEqual(report.mainSteps.map((st: Json) => st.action), ['aws:runShellScript']);
    const script = (report.mainSteps[0].inputs.runCommand as string[]).join('\n');
    assert.match(script, /wg show "\$IFACE" dump/);
    assert.match(script, /NR > 1/, 'the dump\'s first line (the private key) is dropped');
    assert.doesNotMatch(script, /%%[A-Z_]+%%'/, 'the grammar is written in');
    const worker = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('WgIngressApiGatewaySync'))![1] as Json;
    assert.ok(worker.Properties.Environment.Variables.REPORT_DOCUMENT_NAME.Ref);
    assert.ok(policyOf(template, 'GatewaySync').some((st) => asArray(st.Action).includes('ssm:DescribeInstanceInformation')));
  });

  it('has an alarm topic encrypted with its own key, TLS only, that every alarm notifies', () => {
    const topics = template.findResources('AWS::SNS::Topic');
    assert.equal(Object.keys(topics).length, 1);
    const [topicId, topic] = Object.entries(topics)[0]!;
    const key = Object.keys(template.findResources('AWS::KMS::Key')).find((id) => id.includes('AlarmTopicKey'))!;
    assert.deepEqual((topic as Json).Properties.KmsMasterKeyId, { 'Fn::GetAtt': [key, 'Arn'] });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    assert.equal(Object.keys(template.findResources('AWS::SNS::Subscription')).length, 0, 'no e-mail without wg-ingress:alarmEmail');
    for (const [id, alarm] of Object.entries(template.findResources('AWS::CloudWatch::Alarm'))) {
      assert.deepEqual((alarm as Json).Properties.AlarmActions, [{ Ref: topicId }], id);
      assert.deepEqual((alarm as Json).Properties.OKActions, [{ Ref: topicId }], id);
    }
  });

  it('alarms on a stale report, a gateway out of sync, the failure queue, API 5xx over 1 % and worker errors', () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).map(([id, a]) => ({ id, p: (a as Json).Properties }));
    const named = (part: string) => {
      const found = alarms.filter((a) => a.id.includes(part));
      assert.equal(found.length, 1, part);
      return found[0]!.p;
    };
    assert.equal(alarms.length, 5);
    const fleet = { Namespace: 'WgIngress', Dimensions: [{ Name: 'service', Value: 'wg-ingress' }] };
    const stale = named('StaleReportAlarm');
    assert.deepEqual({ ...fleet, MetricName: stale.MetricName, Statistic: stale.Statistic }, { ...fleet, MetricName: 'ReportAgeSeconds', Statistic: 'Maximum' });
    assert.deepEqual([stale.Namespace, stale.Dimensions], [fleet.Namespace, fleet.Dimensions]);
    assert.deepEqual([stale.Threshold, stale.ComparisonOperator, stale.TreatMissingData], [300, 'GreaterThanThreshold', 'breaching']);
    const lag = named('OutOfSyncAlarm');
    assert.deepEqual([lag.Namespace, lag.MetricName, lag.Statistic, lag.Threshold, lag.ComparisonOperator], ['WgIngress', 'SyncLagSeconds', 'Maximum', 300, 'GreaterThanThreshold']);
    const dlq = named('WorkerFailureQueueAlarm');
    const queueId = Object.keys(template.findResources('AWS::SQS::Queue')).find((id) => id.includes('GatewaySyncFailures'))!;
    assert.deepEqual([dlq.Namespace, dlq.MetricName, dlq.Threshold], ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 1]);
    assert.deepEqual(dlq.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
    const api5xx = named('Api5xxAlarm');
    assert.deepEqual([api5xx.Threshold, api5xx.EvaluationPeriods, api5xx.DatapointsToAlarm, api5xx.ComparisonOperator], [1, 5, 5, 'GreaterThanThreshold']);
    const expression = api5xx.Metrics.find((m: Json) => m.Expression);
    assert.match(expression.Expression, /100 \* errors \/ requests/);
    const apiId = Object.keys(template.findResources('AWS::ApiGatewayV2::Api'))[0]!;
    for (const [name, metric] of [['errors', '5xx'], ['requests', 'Count']]) {
      const m = api5xx.Metrics.find((x: Json) => x.Id === name).MetricStat;
      assert.deepEqual([m.Metric.Namespace, m.Metric.MetricName, m.Period], ['AWS/ApiGateway', metric, 60]);
      assert.deepEqual(m.Metric.Dimensions, [{ Name: 'ApiId', Value: { Ref: apiId } }]);
    }
    const errors = named('WorkerErrorsAlarm');
    const ids = errors.Metrics.filter((m: Json) => m.MetricStat).map((m: Json) => m.MetricStat.Metric.MetricName).sort();
    assert.deepEqual(ids, ['Errors', 'GatewaySyncFailures', 'ReportFailures']);
    const lambdaErrors = errors.Metrics.find((m: Json) => m.MetricStat?.Metric.MetricName === 'Errors').MetricStat.Metric;
    assert.match(json(lambdaErrors.Dimensions), /GatewaySync/);
  });

  it('has a dashboard of clients online per gateway, sync lag, apply failures, API latency and 5xx', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    assert.equal(dashboards.length, 1);
    const body = json((dashboards[0] as Json).Properties.DashboardBody);
    for (const title of ['Clients online per gateway', 'Sync lag per gateway (s)', 'Apply failures per gateway', 'API latency (ms)', 'API 5xx']) {
      assert.ok(body.includes(title), title);
    }
    // Per-gateway lines come from Metrics Insights queries: a gateway created later shows up by itself.
    for (const metric of ['ClientsOnline', 'SyncLagSeconds', 'ApplyFailures']) {
      const fn = metric === 'ApplyFailures' ? 'SUM' : 'MAX';
      assert.match(body, new RegExp(`SELECT ${fn}\\(${metric}\\) FROM SCHEMA\\([^)]*WgIngress[^)]*, gateway, service\\) GROUP BY gateway`), metric);
    }
    assert.match(body, /AWS\/ApiGateway.*Latency/);
    assert.match(body, /AWS\/ApiGateway.*5xx/);
    const outputs = Object.keys(template.findOutputs('*'));
    assert.ok(outputs.some((o) => o.startsWith('WgIngressAlarmTopicArn')) && outputs.some((o) => o.startsWith('WgIngressDashboardName')));
  });

  it('creates the init, apply, teardown and report SSM documents as schema 2.2 Command documents', () => {
    const docs = Object.values(template.findResources('AWS::SSM::Document')).map((d) => (d as Json).Properties);
    assert.equal(docs.length, 4);
    for (const d of docs) {
      assert.equal(d.DocumentType, 'Command');
      assert.equal(d.Content.schemaVersion, '2.2');
    }
  });

  it('deploys an apply document with no URL parameter: S3 download of bucket+key with the instance role, then the script', () => {
    const docs = Object.values(template.findResources('AWS::SSM::Document')).map((d) => (d as Json).Properties.Content as Json);
    const apply = docs.find((d) => d.mainSteps.some((s: Json) => s.name === 'applyPeerSet'))!;
    assert.ok(apply);
    assert.deepEqual(Object.keys(apply.parameters).sort(), ['generation', 'interfaceName', 'peerSetBucket', 'peerSetKey', 'peerSetSha256', 'stateDir']);
    for (const [name, p] of Object.entries(apply.parameters as Record<string, Json>)) {
      assert.doesNotMatch(name, /url/i);
      const pattern = new RegExp(p.allowedPattern);
      for (const v of ['https://b.s3.amazonaws.com/peer-sets/k?X-Amz-Signature=ab', 'http://127.0.0.1:4569/b/k', 'file:///tmp/peers', 's3://b/k']) {
        assert.ok(!pattern.test(v), `${name} accepts ${v}`);
      }
    }
    assert.deepEqual(apply.mainSteps.map((s: Json) => s.action), ['aws:downloadContent', 'aws:runShellScript']);
    const download = apply.mainSteps[0];
    assert.equal(download.inputs.sourceType, 'S3');
    assert.deepEqual(JSON.parse(download.inputs.sourceInfo), { path: 'https://s3.amazonaws.com/{{ peerSetBucket }}/{{ peerSetKey }}' });
    assert.equal(download.inputs.destinationPath, '{{ stateDir }}/.peer-set-{{ interfaceName }}-{{ generation }}');
    const everything = json(docs);
    assert.doesNotMatch(everything, /peerSetUrl|X-Amz-Signature|curl |wget /);
  });

  it('exports a managed policy for gateway roles: GetObject under peer-sets/ only, decrypt of the secrets key via S3 only; PutObject under reports/ only', () => {
    const policies = template.findResources('AWS::IAM::ManagedPolicy');
    const ids = Object.keys(policies).filter((id) => id.includes('GatewayInstancePolicy'));
    assert.equal(ids.length, 1);
    const doc = (policies[ids[0]!] as Json).Properties.PolicyDocument.Statement as (Statement & { Sid: string })[];
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.includes('DataBucket'))!;
    const secretsKey = Object.keys(template.findResources('AWS::KMS::Key')).find((id) => id.includes('SecretsKey'))!;
    const dataKey = Object.keys(template.findResources('AWS::KMS::Key')).find((id) => id.includes('DataKey'))!;
    assert.deepEqual(doc.map((st) => [st.Effect, st.Action]).sort(), [
      ['Allow', 'kms:Decrypt'],
      ['Allow', 'kms:GenerateDataKey'],
      ['Allow', 's3:GetEncryptionConfiguration'],
      ['Allow', 's3:GetObject'],
      ['Allow', 's3:ListBucket'],
      ['Allow', 's3:PutObject'],
    ]);
    const bySid = Object.fromEntries(doc.map((st) => [st.Sid, st]));
    assert.deepEqual(bySid.ReadPeerSets!.Resource, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/peer-sets/*']] });
    assert.equal(bySid.ReadPeerSets!.Condition, undefined);
    assert.deepEqual(bySid.FindPeerSets!.Resource, { 'Fn::GetAtt': [bucketId, 'Arn'] });
    assert.deepEqual(bySid.FindPeerSets!.Condition, { StringLike: { 's3:prefix': 'peer-sets/*' } });
    const decrypt = bySid.DecryptPeerSetsViaS3!;
    assert.deepEqual(decrypt.Resource, { 'Fn::GetAtt': [secretsKey, 'Arn'] });
    // The report document's output: written by the agent under reports/ only, data keys via S3 only.
    assert.deepEqual(bySid.WriteReports!.Resource, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/reports/*']] });
    assert.deepEqual(bySid.ReadBucketEncryption!.Resource, { 'Fn::GetAtt': [bucketId, 'Arn'] });
    const encrypt = bySid.EncryptReportsViaS3!;
    assert.deepEqual(encrypt.Resource, { 'Fn::GetAtt': [dataKey, 'Arn'] });
    assert.match(json(encrypt.Condition), /kms:ViaService/);
    assert.match(json(encrypt.Condition), /\/reports\/\*/);
    assert.ok(!doc.filter((st) => st !== encrypt).some((st) => json(st).includes(dataKey)), 'nothing else on the data key');
    assert.deepEqual(decrypt.Condition!.StringEquals, { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } });
    assert.deepEqual(decrypt.Condition!.StringLike, {
      'kms:EncryptionContext:aws:s3:arn': { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/peer-sets/*']] },
    });
    assert.ok(!json(doc).includes('downloads/'), 'no download object');
    const output = Object.entries(template.findOutputs('*')).find(([o]) => o.startsWith('WgIngressGatewayPolicyArn'));
    assert.ok(output, 'exported as an output');
    assert.deepEqual((output[1] as Json).Value, { Ref: ids[0] });
  });

  it('writes downloads/, peer-sets/ and exports/ with the secrets key (SSE-KMS), which the bucket functions may use', () => {
    const secretsKey = Object.keys(template.findResources('AWS::KMS::Key')).find((id) => id.includes('SecretsKey'))!;
    const fns = Object.entries(houseFunctions(template));
    for (const name of ['ClientDownloads', 'DownloadPage', 'GatewaySync', 'Clients']) {
      const [, fn] = fns.find(([id]) => id.startsWith(`WgIngressApi${name}`))!;
      assert.deepEqual((fn as Json).Properties.Environment.Variables.OBJECTS_KMS_KEY_ID, { 'Fn::GetAtt': [secretsKey, 'Arn'] }, name);
      const onKey = policyOf(template, name).filter((st) =>
        asArray(st.Resource).some((r) => json(r) === json({ 'Fn::GetAtt': [secretsKey, 'Arn'] })),
      );
      const actions = onKey.flatMap((st) => asArray(st.Action));
      assert.ok(actions.includes('kms:GenerateDataKey') && actions.includes('kms:Decrypt'), `${name}: ${actions}`);
    }
    for (const name of ['Networks', 'Gateways', 'Public']) {
      const [, fn] = fns.find(([id]) => id.startsWith(`WgIngressApi${name}`))!;
      assert.equal((fn as Json).Properties.Environment.Variables.OBJECTS_KMS_KEY_ID, undefined, name);
    }
    // The bucket refuses a PutObject there without the secrets key.
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.includes('DataBucket'))!;
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p) => json((p as Json).Properties.Bucket) === json({ Ref: bucketId }));
    const deny = ((policy as Json).Properties.PolicyDocument.Statement as (Statement & { Sid?: string })[]).find((st) => st.Sid === 'SecretsKeyOnlyForKeyMaterial');
    assert.ok(deny);
    assert.equal(deny.Effect, 'Deny');
    assert.equal(deny.Action, 's3:PutObject');
    for (const prefix of ['downloads', 'peer-sets', 'exports']) assert.ok(json(deny.Resource).includes(`/${prefix}/*`), prefix);
    assert.deepEqual(deny.Condition, { StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': { 'Fn::GetAtt': [secretsKey, 'Arn'] } } });
  });

  it('outputs the API URL, user pool and client ids, bucket, table and the next step', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    for (const name of ['ApiUrl', 'UserPoolId', 'UserPoolClientId', 'BucketName', 'TableName', 'NextStep', 'GatewayPolicyArn']) {
      assert.ok(outputs.some((o) => new RegExp(`^WgIngress${name}[0-9A-F]{8}$`).test(o)), `${name} in ${outputs}`);
    }
    const next = Object.entries(template.findOutputs('*')).find(([o]) => o.startsWith('WgIngressNextStep'))![1] as Json;
    assert.match(json(next.Value), /admin-create-user --user-pool-id/);
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks(stack, { verbose: true }).validateScope(stack);
    const findings = report.violations.map(
      (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    assert.deepEqual(findings, []);
    assert.equal(report.success, true);
  });

  it('gives every cdk-nag acknowledgement a specific reason', () => {
    const acks = acknowledgementsUnder(stack);
    assert.ok(acks.length > 0);
    for (const { path, id, reason } of acks) {
      assert.match(id, /AwsSolutions-/, path);
      assert.ok(reason.length >= 80, `${path} ${id}: reason too short: ${reason}`);
      assert.doesNotMatch(reason, /\b(todo|tbd|fixme|not needed|n\/a)\b/i, `${path} ${id}`);
    }
  });
});

describe('cdk-nag in these tests', () => {
  it('does report a finding it has not been told about (the check is live)', () => {
    const app = new App({ context: cdkContext });
    const stack = new Stack(app, 'NagControl');
    new s3.Bucket(stack, 'Plain');
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    const rules = report.violations.map((v) => v.ruleName);
    assert.ok(rules.includes('AwsSolutions-S1'), rules.join(', '));
    assert.ok(rules.includes('AwsSolutions-S10'), rules.join(', '));
  });

  it('fails the synth of an app with an unacknowledged finding, as `cdk synth` does', () => {
    const app = new App({ context: cdkContext });
    const stack = new Stack(app, 'NagSynthControl');
    new s3.Bucket(stack, 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    assert.throws(() => app.synth(), /Validation failed/);
  });
});

describe('cfn-guard in these tests', () => {
  it('does report Control Tower failures it has not been told about (the check is live)', () => {
    const app = new App({ context: cdkContext });
    const stack = new Stack(app, 'GuardControl');
    new s3.Bucket(stack, 'Plain');
    const result = runControlTowerGuard(Template.fromStack(stack).toJSON());
    const rules = result.unsuppressed.map((f) => f.rule);
    assert.ok(rules.includes('s3_bucket_versioning_enabled_check'), rules.join(', '));
    assert.ok(rules.includes('s3_bucket_logging_enabled_check'), rules.join(', '));
  });
});

describe('the frontend origin of `cdk deploy`', () => {
  const from = (ctx: Record<string, string>) => frontendOriginFrom((k) => ctx[k]);

  it('is the wg-ingress:frontendOrigin context value', () => {
    assert.equal(from({ frontendOrigin: 'https://admin.example.com' }), 'https://admin.example.com');
    assert.equal(from({ frontendOrigin: devFrontendOrigin }), devFrontendOrigin);
  });

  it('falls back to the dev server only when asked with wg-ingress:devFrontendOrigin=true', () => {
    assert.equal(from({ devFrontendOrigin: 'true' }), 'http://localhost:5173');
  });

  it('fails without either, saying what to set', () => {
    assert.throws(() => from({}), /-c wg-ingress:frontendOrigin=https:\/\/admin\.example\.com.*-c wg-ingress:devFrontendOrigin=true/s);
    assert.throws(() => from({ devFrontendOrigin: 'false' }), /no frontend origin/);
  });

  it('refuses what is not an origin', () => {
    assert.throws(() => from({ frontendOrigin: 'https://admin.example.com/app' }), /must be an origin/);
    assert.throws(() => from({ frontendOrigin: 'admin.example.com' }), /must be an origin/);
  });

  it('is no longer in cdk.json, so nothing deploys a localhost origin silently', () => {
    assert.equal(cdkContext['wg-ingress:frontendOrigin'], undefined);
  });
});

describe('WgIngress variants', () => {
  it('adds a tagged t4g.nano Amazon Linux 2023 arm64 gateway with IMDSv2 (hop limit 1), only the WireGuard port and an Elastic IP', () => {
    const { stack } = makeStack('WgIngressExampleGateway', { exampleGateway: true });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::Instance', {
      InstanceType: 't4g.nano',
      ImageId: { Ref: Match.stringLikeRegexp('al2023.*arm64') },
      Tags: Match.arrayWith([{ Key: gatewayTag.key, Value: gatewayTag.value }]),
      BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
    });
    // IMDSv2 with a hop limit of 1: the token answer never reaches anything forwarded through the gateway.
    template.hasResourceProperties('AWS::EC2::Instance', {
      MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
    });
    const sgs = Object.values(template.findResources('AWS::EC2::SecurityGroup')).map((s) => (s as Json).Properties);
    assert.equal(sgs.length, 1);
    assert.deepEqual(sgs[0].SecurityGroupIngress, [
      { CidrIp: '0.0.0.0/0', Description: 'WireGuard', FromPort: 51820, IpProtocol: 'udp', ToPort: 51820 },
    ]);
    template.resourceCountIs('AWS::EC2::EIP', 1);
    const gatewayPolicy = Object.keys(template.findResources('AWS::IAM::ManagedPolicy')).find((id) => id.includes('GatewayInstancePolicy'))!;
    // The SSM agent's role and the construct's peer-set policy: the apply document reads with it.
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [
        { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('AmazonSSMManagedInstanceCore')])] },
        { Ref: gatewayPolicy },
      ],
    });
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    assert.deepEqual(report.violations.map((v) => v.ruleName), []);
  });

  it('subscribes wg-ingress:alarmEmail to the alarm topic, reports at the interval it is given, and refuses bad values at synth', () => {
    const { stack } = makeStack('WgIngressAlarmMail', { alarmEmail: 'ops@example.com', statusIntervalMinutes: 5 });
    const template = Template.fromStack(stack);
    const topic = Object.keys(template.findResources('AWS::SNS::Topic'))[0]!;
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topic } });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ source: 'aws.events', kind: 'report' }) })],
    });
    assert.throws(() => makeStack('WgIngressBadMail', { alarmEmail: 'not an address' }), /alarmEmail must be an e-mail address/);
    assert.throws(() => makeStack('WgIngressBadInterval', { statusIntervalMinutes: 0 }), /statusIntervalMinutes must be a whole number of minutes from 1 to 60/);
  });

  it('adds no instance without the flag', () => {
    const { stack } = makeStack('WgIngressNoGateway');
    Template.fromStack(stack).resourceCountIs('AWS::EC2::Instance', 0);
  });

  it('uses an imported user pool instead of creating one', () => {
    const { stack } = makeStack('WgIngressImportedPool', {}, { userPoolId: 'eu-west-1_AbCdEf123' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    template.resourceCountIs('AWS::Cognito::UserPoolGroup', 0);
    const [authorizer] = Object.values(template.findResources('AWS::ApiGatewayV2::Authorizer')) as Json[];
    assert.match(json(authorizer!.Properties.JwtConfiguration.Issuer), /eu-west-1_AbCdEf123/);
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    assert.deepEqual(report.violations.map((v) => v.ruleName), []);
  });

  it('checks the groups it is told, in an imported pool too, and creates those in a created pool', () => {
    const named = { adminGroup: 'ops', viewerGroup: 'helpdesk' };
    for (const [id, props] of [
      ['WgIngressNamedGroups', {}],
      ['WgIngressNamedGroupsImported', { userPoolId: 'eu-west-1_AbCdEf123' }],
    ] as const) {
      const template = Template.fromStack(makeStack(id, named, props).stack);
      const apiFns = Object.values(houseFunctions(template))
        .map((f) => (f as Json).Properties)
        .filter((f) => f.Environment.Variables.ADMIN_GROUP !== undefined);
      assert.equal(apiFns.length, new Set(routes.map((r) => r.fn)).size, id);
      for (const f of apiFns) assert.deepEqual([f.Environment.Variables.ADMIN_GROUP, f.Environment.Variables.VIEWER_GROUP], ['ops', 'helpdesk']);
      const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')).map((g) => (g as Json).Properties.GroupName);
      assert.deepEqual(groups.sort(), 'userPoolId' in props ? [] : ['helpdesk', 'ops'], id);
    }
  });

  it('refuses group names Cognito would refuse, or one group for both, at synth', () => {
    assert.throws(() => makeStack('WgIngressBadGroup', { adminGroup: 'two words' }), /adminGroup must be a Cognito group name/);
    assert.throws(() => makeStack('WgIngressEmptyGroup', { viewerGroup: '' }), /viewerGroup must not be empty/);
    assert.throws(() => makeStack('WgIngressSameGroup', { adminGroup: 'ops', viewerGroup: 'ops' }), /must differ/);
  });

  it('hands the audit retention to every function, and refuses one that is not 1-3650 whole days', () => {
    const { stack } = makeStack('WgIngressRetention', { auditRetentionDays: 30 });
    for (const f of Object.values(houseFunctions(Template.fromStack(stack))) as Json[]) {
      assert.equal(f.Properties.Environment.Variables.AUDIT_RETENTION_DAYS, '30');
    }
    assert.throws(() => makeStack('WgIngressNoRetention', { auditRetentionDays: 0 }), /auditRetentionDays/);
    assert.throws(() => makeStack('WgIngressHalfRetention', { auditRetentionDays: 1.5 }), /auditRetentionDays/);
  });

  it('can let the data go with the stack for throwaway environments', () => {
    const { stack } = makeStack('WgIngressDestroy', { dataRemovalPolicy: RemovalPolicy.DESTROY });
    const tables = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table')) as Json[];
    assert.equal(tables.length, 3);
    for (const t of tables) {
      assert.equal(t.DeletionPolicy, 'Delete');
      assert.equal(t.Properties.DeletionProtectionEnabled, false);
    }
  });
});

function acknowledgementsUnder(root: IConstruct): { path: string; id: string; reason: string }[] {
  const out: { path: string; id: string; reason: string }[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id, reason });
      }
    }
  }
  return out;
}

describe('the admin console in the template', () => {
  let template: Template;
  let bare: Template;
  let consoleStack: Stack;
  before(() => {
    consoleStack = makeStack('WgIngressConsole', { frontendOrigin: undefined, adminEmail: 'first@example.com' }).stack;
    template = Template.fromStack(consoleStack);
    bare = Template.fromStack(makeStack('WgIngressNoConsole', { console: false }).stack);
  });

  const consoleOrigin = (t: Template) => {
    const distribution = Object.keys(t.findResources('AWS::CloudFront::Distribution'))[0]!;
    return { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] };
  };

  it('keeps the console bucket private: all public access blocked, TLS only, read by CloudFront through origin access control alone', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    const [bucketId, bucket] = Object.entries(buckets).find(([id]) => id.includes('ConsoleBucket'))!;
    assert.deepEqual((bucket as Json).Properties.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.equal((bucket as Json).Properties.WebsiteConfiguration, undefined, 'no public website endpoint');
    const oac = Object.entries(template.findResources('AWS::CloudFront::OriginAccessControl'));
    assert.equal(oac.length, 1);
    assert.deepEqual((oac[0]![1] as Json).Properties.OriginAccessControlConfig.SigningBehavior, 'always');
    const [distributionId, distribution] = Object.entries(template.findResources('AWS::CloudFront::Distribution'))[0]!;
    const origin = (distribution as Json).Properties.DistributionConfig.Origins[0];
    assert.deepEqual(origin.OriginAccessControlId, { 'Fn::GetAtt': [oac[0]![0], 'Id'] });
    assert.deepEqual(origin.DomainName, { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
    assert.deepEqual(origin.S3OriginConfig, { OriginAccessIdentity: '' }, 'no legacy origin access identity');
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p) => json((p as Json).Properties.Bucket) === json({ Ref: bucketId })) as Json;
    const allows = (policy.Properties.PolicyDocument.Statement as (Statement & { Principal?: Json })[]).filter((s) => s.Effect === 'Allow');
    const cloudfrontReads = allows.filter((s) => json(s.Principal) === json({ Service: 'cloudfront.amazonaws.com' }));
    assert.equal(cloudfrontReads.length, 1);
    assert.deepEqual(asArray(cloudfrontReads[0]!.Action), ['s3:GetObject']);
    assert.match(json(cloudfrontReads[0]!.Condition), new RegExp(`distribution/.*${distributionId}`), 'only this distribution');
    for (const s of allows) assert.notEqual(json(s.Principal), '"*"', 'nobody else');
    const deny = (policy.Properties.PolicyDocument.Statement as Statement[]).find((s) => s.Effect === 'Deny');
    assert.deepEqual(deny?.Condition, { Bool: { 'aws:SecureTransport': 'false' } });
  });

  it('answers with the CSP, HSTS and frame-ancestors none through a response-headers policy, HTTPS only', () => {
    const [policyId, policy] = Object.entries(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'))[0]!;
    const headers = (policy as Json).Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = json(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /connect-src 'self' https:\/\/\*\.execute-api\./);
    assert.match(csp, /amazoncognito\.com/);
    assert.equal(headers.ContentSecurityPolicy.Override, true);
    assert.equal(headers.StrictTransportSecurity.AccessControlMaxAgeSec, 730 * 86400);
    assert.equal(headers.StrictTransportSecurity.IncludeSubdomains, true);
    assert.equal(headers.FrameOptions.FrameOption, 'DENY');
    assert.equal(headers.ContentTypeOptions.Override, true);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ResponseHeadersPolicyId: { Ref: policyId }, ViewerProtocolPolicy: 'redirect-to-https' }),
      }),
    });
  });

  it("points the API's CORS and Cognito's callback and sign-out URLs at the console's domain by default", () => {
    const origin = consoleOrigin(template);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: [origin] }) });
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: [origin],
      LogoutURLs: [origin],
      AllowedOAuthFlows: ['code'],
      GenerateSecret: false,
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: Match.anyValue() });
    const url = Object.entries(template.findOutputs('*')).find(([o]) => o.includes('ConsoleUrl'))![1] as Json;
    assert.match(json(url.Value), /https:\/\//);
  });

  it('writes config.json with the API URL, pool, app client and login domain at deploy, and builds the console at synth', () => {
    const deployments = Object.values(template.findResources('Custom::CDKBucketDeployment')) as Json[];
    assert.equal(deployments.length, 1);
    const props = deployments[0]!.Properties;
    assert.equal(props.SourceObjectKeys.length, 2, 'the build and config.json');
    const markers = json(props.SourceMarkers);
    for (const value of ['HttpApi', 'UserPool', 'FrontendClient']) assert.ok(markers.includes(value), `${value} in ${markers}`);
    assert.match(markers, /wg-ingress-[0-9a-f]{8}.*AWS::AccountId/, 'the login domain prefix');
    assert.deepEqual(props.DistributionPaths, ['/*']);
    // The build itself, made by Vite at synth (local bundling, no Docker).
    (consoleStack.node.root as App).synth();
    const built = readdirSync(outdir).filter((d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.html')));
    assert.equal(built.length, 1);
    const html = readFileSync(join(outdir, built[0]!, 'index.html'), 'utf8');
    assert.match(html, /<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js"><\/script>/);
  });

  it('creates the first admin from adminEmail in the admin group', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolUser', {
      Username: 'first@example.com',
      DesiredDeliveryMediums: ['EMAIL'],
      UserAttributes: [
        { Name: 'email', Value: 'first@example.com' },
        { Name: 'email_verified', Value: 'true' },
      ],
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolUserToGroupAttachment', { GroupName: 'wg-ingress-admins', Username: 'first@example.com' });
    assert.equal(Object.keys(bare.findResources('AWS::Cognito::UserPoolUser')).length, 0);
  });

  it('is left out with console: false, and then needs a frontend origin', () => {
    assert.equal(Object.keys(bare.findResources('AWS::CloudFront::Distribution')).length, 0);
    assert.equal(Object.keys(bare.findResources('Custom::CDKBucketDeployment')).length, 0);
    bare.hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: ['https://admin.example.com'] });
    assert.throws(() => makeStack('WgIngressNoOrigin', { console: false, frontendOrigin: undefined }), /frontendOrigin is required/);
    assert.equal(frontendOriginFrom(() => undefined, { consoleDeployed: true }), undefined);
  });

  it('passes cdk-nag and cfn-guard with the console and the first admin', () => {
    const report = new AwsSolutionsChecks(consoleStack).validateScope(consoleStack);
    assert.deepEqual(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(', ')}`), []);
    const result = runControlTowerGuard(template.toJSON());
    assert.deepEqual(result.unsuppressed.map((f) => `${f.rule} ${f.resource}`), []);
  });
});
