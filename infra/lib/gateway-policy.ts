// What a gateway instance's role needs to run the apply document: read the peer-set objects the
// worker writes for it, and nothing else of the stack. The document names a bucket and a key, and
// the SSM agent's aws:downloadContent step reads the object with the instance's credentials.
// And for the report document: the agent writes the command's output under reports/ with the same
// credentials (it first reads the bucket's encryption setting), encrypted with the bucket's
// default key (the data key); nothing else of the bucket, and no read of it.
//
// Scope: every peer-set object of the stack (peer-sets/*), not one gateway's. The keys are
// peer-sets/<network>/<gatewayId>/…, and IAM cannot tie a network and gateway id to the calling
// instance without tags on the role or ABAC session tags per instance; the instance's own id is
// only available as ec2:SourceInstanceARN (a full ARN, and absent under Default Host Management
// credentials). The objects live for one command (deleted once its result is recorded), carry a
// random name, are listed by no one but the agent's prefix lookup, and any instance with this
// policy is a gateway of the same control plane already.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { bucketPrefixes } from '../../functions/domain/object-keys.js';

export interface GatewayInstancePolicyProps {
  readonly bucket: s3.IBucket;
  /** The key the peer sets are written with (SSE-KMS): the secrets key. */
  readonly objectKey: kms.IKey;
  /** The bucket's default key, which the agent's report output is encrypted with: the data key. */
  readonly reportKey: kms.IKey;
}

export class GatewayInstancePolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: GatewayInstancePolicyProps) {
    super(scope, id);
    const { bucket, objectKey, reportKey } = props;
    const prefix = bucketPrefixes.peerSets.prefix;
    const reports = bucketPrefixes.reports.prefix;
    const stack = Stack.of(this);
    const viaS3ForPeerSets = {
      StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
      StringLike: { 'kms:EncryptionContext:aws:s3:arn': bucket.arnForObjects(`${prefix}*`) },
    };
    // With the bucket's S3 Bucket Key the encryption context is the bucket's ARN, without it the object's.
    const viaS3ForReports = {
      StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` },
      StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucket.bucketArn, bucket.arnForObjects(`${reports}*`)] },
    };
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description:
        'wg-ingress gateway instances: read the peer sets of the apply document (GetObject under peer-sets/, decrypt via S3 only); write the report document output (PutObject under reports/)',
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadPeerSets',
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(`${prefix}*`)],
        }),
        // aws:downloadContent first lists the source path (file or folder?): only under the prefix.
        new iam.PolicyStatement({
          sid: 'FindPeerSets',
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': `${prefix}*` } },
        }),
        // The secrets key, only as S3 uses it to decrypt a peer-set object for this caller.
        new iam.PolicyStatement({
          sid: 'DecryptPeerSetsViaS3',
          actions: ['kms:Decrypt'],
          resources: [objectKey.keyArn],
          conditions: viaS3ForPeerSets,
        }),
        // The SSM agent writes the report command's stdout (OutputS3BucketName/KeyPrefix), after
        // reading the bucket's default encryption to match it.
        new iam.PolicyStatement({
          sid: 'WriteReports',
          actions: ['s3:PutObject'],
          resources: [bucket.arnForObjects(`${reports}*`)],
        }),
        new iam.PolicyStatement({
          sid: 'ReadBucketEncryption',
          actions: ['s3:GetEncryptionConfiguration'],
          resources: [bucket.bucketArn],
        }),
        new iam.PolicyStatement({
          sid: 'EncryptReportsViaS3',
          actions: ['kms:GenerateDataKey'],
          resources: [reportKey.keyArn],
          conditions: viaS3ForReports,
        }),
      ],
    });
    // The key's own policy delegates nothing to IAM (stateful.ts keyPolicy) but this one case: an
    // identity of the account that holds this policy (a gateway role, unknown to the stack) may
    // decrypt through S3, for peer-set objects only. Without it the statement above grants nothing.
    objectKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GatewaysDecryptPeerSetsViaS3',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: viaS3ForPeerSets,
      }),
    );
    // The same for the report output on the data key: data keys to encrypt it, through S3 only.
    // The bucket is encrypted with this key, so naming the bucket here would make the two depend on
    // each other: the key side admits S3 objects of the account, and the identity policy above
    // narrows it to reports/ of this bucket (both must allow).
    reportKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GatewaysEncryptReportsViaS3',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com`, 'kms:CallerAccount': stack.account },
        },
      }),
    );
  }
}
