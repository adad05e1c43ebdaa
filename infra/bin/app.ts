// `npx cdk synth|deploy`: the stack, configured from cdk.json's context (override with -c key=value).
// Environment-agnostic on purpose: synth needs no AWS credentials and makes no lookups.
import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { frontendOriginFrom } from '../lib/frontend-origin.js';
import { WgIngressStack } from '../lib/stack.js';
import { defaultGatewayTag } from '../lib/wg-ingress.js';

// CDK's built-in CloudFormation schema check only warns (unless a feature flag makes it fail)
// and costs a quarter of the synth time on a 2-core machine; cdk-nag below is the gate.
const app = new App({ builtinCloudFormationValidation: false });
const context = (key: string): string | undefined => {
  const v: unknown = app.node.tryGetContext(`wg-ingress:${key}`);
  return v === undefined || v === null || v === '' ? undefined : String(v);
};
const flag = (key: string) => context(key) === 'true';
const removalPolicy = (key: string) => (context(key) === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN);

new WgIngressStack(app, context('stackName') ?? 'WgIngress', {
  description: 'wg-ingress: control plane for WireGuard ingress gateways and their external clients',
  userPoolId: context('userPoolId'),
  userPoolClientId: context('userPoolClientId'),
  wgIngress: {
    // The console (on unless -c wg-ingress:console=false) brings its own origin; a hosted frontend
    // adds -c wg-ingress:frontendOrigin=https://… (required without the console).
    console: context('console') !== 'false',
    frontendOrigin: frontendOriginFrom(context, { consoleDeployed: context('console') !== 'false' }),
    adminEmail: context('adminEmail'),
    loginDomainPrefix: context('loginDomainPrefix'),
    loginDomainUrl: context('loginDomainUrl'),
    gatewayTag: {
      key: context('gatewayTagKey') ?? defaultGatewayTag.key,
      value: context('gatewayTagValue') ?? defaultGatewayTag.value,
    },
    adminGroup: context('adminGroup'),
    viewerGroup: context('viewerGroup'),
    auditRetentionDays: context('auditRetentionDays') === undefined ? undefined : Number(context('auditRetentionDays')),
    statusIntervalMinutes: context('statusIntervalMinutes') === undefined ? undefined : Number(context('statusIntervalMinutes')),
    alarmEmail: context('alarmEmail'),
    dataRemovalPolicy: removalPolicy('dataRemovalPolicy'),
    removalPolicy: removalPolicy('removalPolicy'),
    exampleGateway: flag('exampleGateway'),
  },
});

// A finding fails the synth, so `cdk synth` in CI holds the same bar as test/infra.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
