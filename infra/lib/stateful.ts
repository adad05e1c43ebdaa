// The resources that hold data: the main, secrets and idempotency tables, the bucket and their keys.
// Kept apart from functions and API so they can carry their own removal policy and protection.
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { bucketPrefixes } from '../../functions/domain/object-keys.js';

// Defined beside the code that writes under them; re-exported for infra's users.
export { bucketPrefixes };

export const mainTableGsi = 'gsi1';

// CDK's own list for a key's administrators: everything but using the key.
const keyAdminActions = [
  'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*',
  'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource',
  'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion',
];

/**
 * The policy every key here starts with, instead of CDK's default (`kms:*` for the account root,
 * which lets any IAM policy of the account use the key):
 * - the account root may administer the key (CDK's admin actions: describe, rotate, tag, change the
 *   policy, schedule deletion), but not use it: kms:Decrypt and kms:GenerateDataKey are not
 *   delegated to IAM, so no identity policy of the account can grant them;
 * - CreateGrant is denied unless the grant is for an AWS resource or the caller is an AWS service
 *   (Control Tower CT.KMS.PR.3): DynamoDB's grant at table creation passes, a grant to a person does not;
 * - use is granted statement by statement in the key policy to the principals that need it: the
 *   function roles, by HouseFunction.useKey (`UseBy<Function>`), and CloudWatch Logs on the log key.
 */
export function keyPolicy(): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'KeyAdministration',
        principals: [new iam.AccountRootPrincipal()],
        actions: keyAdminActions,
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'GrantsOnlyForAwsResources',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }),
    ],
  });
}

export interface WgIngressDataProps {
  /**
   * RETAIN (default) keeps tables, bucket and keys when the stack is deleted and turns on the
   * tables' deletion protection; DESTROY is for throwaway environments (the bucket must be empty).
   */
  readonly removalPolicy?: RemovalPolicy;
  /** How long server access logs of the bucket are kept. */
  readonly accessLogRetentionDays?: number;
}

export class WgIngressData extends Construct {
  readonly table: dynamodb.Table;
  readonly secretsTable: dynamodb.Table;
  /** Powertools Idempotency records of the create routes (a retried POST gets the first answer). */
  readonly idempotencyTable: dynamodb.Table;
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;
  readonly dataKey: kms.Key;
  readonly secretsKey: kms.Key;
  /** Encrypts the stack's log groups; only CloudWatch Logs of this region and account may use it. */
  readonly logKey: kms.Key;

  constructor(scope: Construct, id: string, props: WgIngressDataProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const protect = removalPolicy !== RemovalPolicy.DESTROY;

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'wg-ingress: main and idempotency tables, bucket',
      enableKeyRotation: true,
      policy: keyPolicy(),
      removalPolicy,
    });
    // A key of its own for private and preshared keys: a grant on the data key never reaches them.
    this.secretsKey = new kms.Key(this, 'SecretsKey', {
      description: 'wg-ingress: client private and preshared keys',
      enableKeyRotation: true,
      policy: keyPolicy(),
      removalPolicy,
    });
    this.logKey = new kms.Key(this, 'LogKey', {
      description: 'wg-ingress: CloudWatch log groups of the functions and the API access log',
      enableKeyRotation: true,
      policy: keyPolicy(),
      removalPolicy,
    });
    // The pattern of the CloudWatch Logs guide: the regional service principal, only for log
    // groups of this account and region (the encryption context names the log group).
    const stack = Stack.of(this);
    this.logKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'UseByCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );

    // Every table: on demand, its own customer-managed key, point-in-time recovery, protected.
    const table = (id: string, key: kms.IKey, props: Omit<dynamodb.TableProps, 'billingMode' | 'encryption' | 'encryptionKey'>) =>
      new dynamodb.Table(this, id, {
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: protect,
        removalPolicy,
        ...props,
      });
    const pkSk = {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    };

    this.table = table('Table', this.dataKey, {
      ...pkSk,
      // The gateway-sync worker needs old and new images to see a desiredGeneration change.
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: 'ttl',
    });
    this.table.addGlobalSecondaryIndex({
      indexName: mainTableGsi,
      partitionKey: { name: 'gsi1pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.secretsTable = table('SecretsTable', this.secretsKey, pkSk);

    // The key and TTL attribute names are the defaults of Powertools' DynamoDBPersistenceLayer.
    this.idempotencyTable = table('IdempotencyTable', this.dataKey, {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
    });

    // Access log delivery cannot write to an SSE-KMS bucket, hence S3-managed keys here.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogRetentionDays ?? 90) }],
      removalPolicy,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.dataKey,
      // One KMS call per bucket and hour instead of one per object.
      bucketKeyEnabled: true,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'bucket/',
      lifecycleRules: Object.values(bucketPrefixes).map(({ prefix, expiresAfterDays }) => ({
        id: `expire-${prefix.replace(/\/$/, '')}`,
        prefix,
        expiration: Duration.days(expiresAfterDays),
      })),
      removalPolicy,
    });
    // Rendered configs and peer sets hold private and preshared keys (exports: every client's
    // metadata): an object under those prefixes is written with the secrets key (SSE-KMS) or not at all. The writers name it on every
    // PutObject (OBJECTS_KMS_KEY_ID); gateways decrypt peer sets with it via S3 only.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SecretsKeyOnlyForKeyMaterial',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [bucketPrefixes.downloads.prefix, bucketPrefixes.peerSets.prefix, bucketPrefixes.exports.prefix].map((p) => this.bucket.arnForObjects(`${p}*`)),
        conditions: { StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': this.secretsKey.keyArn } },
      }),
    );
  }
}
