// The admin console (console/) deployed with the stack: a private bucket that only CloudFront
// reads (origin access control), a response-headers policy with the console's CSP, HSTS and
// frame-ancestors 'none', and the runtime settings written beside the build at deploy
// (config.json: API URL, user pool, app client, managed-login domain). The build runs at synth
// with local bundling (Vite; no Docker).
import { createHash } from 'node:crypto';
import { Aws, DockerImage, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { buildConsole, consoleRoot } from '../../console/scripts/build-console.js';
import { consoleCsp } from './console-csp.js';

export interface ConsoleSiteProps {
  /** Bucket the signed QR URLs point at (the data bucket): the CSP's img-src. */
  readonly objectsBucket: s3.IBucket;
  /** Bucket for the console bucket's server access logs. */
  readonly accessLogBucket: s3.IBucket;
  /** Key and retention of the deployment handler's log group (the stack's log key). */
  readonly logKey: kms.IKey;
  readonly logRetention?: logs.RetentionDays;
  /**
   * Prefix of the Cognito managed-login domain (`<prefix>.auth.<region>.amazoncognito.com`), unique
   * in the region; default `wg-ingress-<hash of the construct path>-<account>`.
   */
  readonly loginDomainPrefix?: string;
  /** Use this managed-login domain (https://…) instead of creating one (an imported pool's own). */
  readonly loginDomainUrl?: string;
}

export class ConsoleSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly headersPolicy: cloudfront.ResponseHeadersPolicy;
  /** https://<distribution domain>: the console's origin (CORS, Cognito callback and sign-out). */
  readonly origin: string;
  /** The managed-login domain the console signs in through (https://…). */
  readonly loginDomainUrl: string;
  private readonly loginDomainPrefix?: string;
  private readonly logs: { key: kms.IKey; retention: logs.RetentionDays };
  deployment?: s3deploy.BucketDeployment;
  /** The custom resource's function behind BucketDeployment (one per stack, at the stack's root). */
  get deploymentHandler(): IConstruct | undefined {
    return Stack.of(this).node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  }
  domain?: cognito.UserPoolDomain;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    this.logs = { key: props.logKey, retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH };
    if (props.loginDomainUrl !== undefined) {
      this.loginDomainUrl = props.loginDomainUrl;
    } else {
      this.loginDomainPrefix = props.loginDomainPrefix ?? defaultLoginDomainPrefix(this);
      this.loginDomainUrl = `https://${this.loginDomainPrefix}.auth.${Aws.REGION}.amazoncognito.com`;
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      // The build is re-made by every deploy; nothing in this bucket is data.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.headersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'wg-ingress console: CSP, HSTS, no framing',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          // The API's origin cannot be named here: the API's CORS names this distribution, so
          // naming the API would be a dependency cycle. Any HTTP API of this region is the bound.
          contentSecurityPolicy: consoleCsp({
            api: `https://*.execute-api.${Aws.REGION}.amazonaws.com`,
            objects: `https://${props.objectsBucket.bucketRegionalDomainName}`,
            login: this.loginDomainUrl,
          }),
          override: true,
        },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, preload: true, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'wg-ingress admin console',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headersPolicy,
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;
  }

  /**
   * The managed-login domain (unless given) and the build with its config.json, once the API and
   * the user pool exist.
   */
  connect(props: { apiUrl: string; userPool: cognito.IUserPool; userPoolClient: cognito.IUserPoolClient }): void {
    if (this.loginDomainPrefix !== undefined) {
      this.domain = props.userPool.addDomain('ConsoleLogin', { cognitoDomain: { domainPrefix: this.loginDomainPrefix } });
    }
    this.deployment = new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [
        s3deploy.Source.asset(consoleRoot, {
          exclude: ['dist', 'node_modules', 'src/api/schema.d.ts'],
          bundling: {
            // Never used: local bundling always succeeds or throws (no Docker on purpose).
            image: DockerImage.fromRegistry('scratch'),
            local: {
              tryBundle(outputDir: string) {
                buildConsole(outputDir, { types: false });
                return true;
              },
            },
          },
        }),
        s3deploy.Source.jsonData('config.json', {
          apiUrl: props.apiUrl,
          auth: 'cognito',
          cognito: { domain: this.loginDomainUrl, clientId: props.userPoolClient.userPoolClientId, userPoolId: props.userPool.userPoolId },
        }),
      ],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
      logGroup: new logs.LogGroup(this, 'DeployLogs', {
        encryptionKey: this.logs.key,
        retention: this.logs.retention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
  }
}

/** Cognito prefixes are global per region: the account and the construct's path keep them apart. */
function defaultLoginDomainPrefix(scope: Construct): string {
  const hash = createHash('sha256').update(`${Stack.of(scope).stackName}/${scope.node.path}`).digest('hex').slice(0, 8);
  return Fn.join('-', ['wg-ingress', hash, Aws.ACCOUNT_ID]);
}
