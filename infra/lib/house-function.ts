// Every Lambda of the control plane goes through this one construct, so runtime, architecture,
// bundling, logging, tracing and the Powertools settings are decided once.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { houseBundling } from './bundling-options.js';

export interface HouseFunctionProps {
  /** Entry file, relative to `projectRoot`; it exports `handler`. */
  readonly entry: string;
  /** Folder esbuild runs in and entries are resolved against. */
  readonly projectRoot: string;
  readonly description?: string;
  readonly memorySizeMiB?: number;
  readonly timeout?: Duration;
  readonly environment?: Record<string, string>;
  readonly logRetention?: logs.RetentionDays;
  /** The key the log group is encrypted with (its policy must let CloudWatch Logs use it). */
  readonly logKey?: kms.IKey;
  /** What happens to the log group when the function is removed. */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Map stack traces to the TypeScript sources at run time (NODE_OPTIONS=--enable-source-maps).
   * Off by default: parsing the map at start adds 20-40 % to module init (layers/README.md); the
   * .map ships with the code either way, so a minified trace can be decoded afterwards.
   */
  readonly enableSourceMaps?: boolean;
}

/**
 * Exact DynamoDB actions instead of a preset. `read` actions apply to every item (and, for Query,
 * to the indexes named in useTable); `write` actions only to items whose partition key matches one
 * of `writeLeadingKeys` (IAM's `dynamodb:LeadingKeys`, `*` as wildcard), or to every item without it.
 */
export interface TableGrant {
  readonly read?: readonly string[];
  readonly write?: readonly string[];
  readonly writeLeadingKeys?: readonly string[];
}

/**
 * `itemsByKey`: single items read and written by key, nothing else; what Powertools'
 * DynamoDBPersistenceLayer calls on an idempotency table. A TableGrant names the actions itself.
 */
export type TableAccess = 'read' | 'readWrite' | 'itemsByKey' | TableGrant;

const tableReadActions = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const tableWriteActions = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];
const tablePresets: Record<Exclude<TableAccess, TableGrant>, TableGrant> = {
  read: { read: tableReadActions },
  readWrite: { read: tableReadActions, write: tableWriteActions },
  itemsByKey: { read: ['dynamodb:GetItem'], write: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] },
};
const indexActions = new Set(['dynamodb:Query', 'dynamodb:Scan']);

/** The grant a TableAccess stands for. */
export function tableGrantOf(access: TableAccess): TableGrant {
  return typeof access === 'string' ? tablePresets[access] : access;
}

// What SSE-KMS needs of the caller, nothing more: DynamoDB unwraps the table key with kms:Decrypt
// for reads and writes alike; S3 calls kms:GenerateDataKey for a PutObject and kms:Decrypt for a
// GetObject (and a signed GET URL carries this role's rights). Neither service calls kms:Encrypt or
// kms:ReEncrypt* for its callers, so those are never granted. DescribeKey is what the services
// check the key with.
const keyDecryptActions = ['kms:Decrypt', 'kms:DescribeKey'];
const keyWriteActions = ['kms:GenerateDataKey'];
type KeyAccess = 'read' | 'readWrite';

/** Powertools Logger, Metrics and Tracer read these; the same for every function of the service. */
export const powertoolsEnvironment: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: 'wg-ingress',
  POWERTOOLS_METRICS_NAMESPACE: 'WgIngress',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

export class HouseFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  private readonly keyUses = new Map<kms.IKey, { actions: Set<string>; role: iam.PolicyStatement; key: iam.PolicyStatement }>();

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logKey,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });

    // An own role instead of AWSLambdaBasicExecutionRole: that managed policy may write to every
    // log group of the account, this one only to the function's own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.fn = new NodejsFunction(this, 'Fn', {
      entry: join(props.projectRoot, props.entry),
      projectRoot: props.projectRoot,
      depsLockFilePath: lockFileIn(props.projectRoot),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySizeMiB ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        ...powertoolsEnvironment,
        ...(props.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: houseBundling.target,
        minify: houseBundling.minify,
        sourceMap: houseBundling.sourceMap,
        sourcesContent: houseBundling.sourcesContent,
        banner: houseBundling.banner,
        mainFields: houseBundling.mainFields,
        externalModules: houseBundling.externalModules,
      },
    });
  }

  addEnvironment(name: string, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }

  /**
   * Grants exactly the item-level DynamoDB actions this code uses, and names the table in `envName`.
   * Index ARNs are added to the read statement only when it can Query.
   */
  useTable(table: dynamodb.ITable, envName: string, access: TableAccess, opts: { indexes?: string[] } = {}): this {
    const grant = tableGrantOf(access);
    const read = [...(grant.read ?? [])];
    const write = [...(grant.write ?? [])];
    if (read.length) {
      const indexes = read.some((a) => indexActions.has(a)) ? (opts.indexes ?? []) : [];
      const resources = [table.tableArn, ...indexes.map((i) => `${table.tableArn}/index/${i}`)];
      this.role.addToPolicy(new iam.PolicyStatement({ actions: read, resources }));
    }
    if (write.length) {
      this.role.addToPolicy(
        new iam.PolicyStatement({
          actions: write,
          resources: [table.tableArn],
          ...(grant.writeLeadingKeys?.length
            ? { conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...grant.writeLeadingKeys] } } }
            : {}),
        }),
      );
    }
    if (table.encryptionKey) this.useKey(table.encryptionKey, write.length ? 'readWrite' : 'read');
    this.fn.addEnvironment(envName, table.tableName);
    return this;
  }

  /**
   * Grants object reads, writes and deletes under the given key prefixes only (`downloads/`), and
   * names the bucket in `envName`. Signed URLs carry this role's rights, so a prefix that is
   * handed out as a GET link needs `read` here. `objectKey` is the KMS key the objects are written
   * with (SSE-KMS, the secrets key), granted instead of the bucket's default key and named in
   * OBJECTS_KMS_KEY_ID.
   */
  useBucket(bucket: s3.IBucket, envName: string, prefixes: { read?: string[]; write?: string[]; delete?: string[] }, objectKey?: kms.IKey): this {
    const objects = (list: string[]) => list.map((p) => bucket.arnForObjects(`${p}*`));
    if (prefixes.read?.length) {
      this.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects(prefixes.read) }));
    }
    if (prefixes.write?.length) {
      this.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: objects(prefixes.write) }));
    }
    // Only where the code deletes (the worker, a peer set once its apply is recorded); everything
    // else is left to the bucket's lifecycle rules.
    if (prefixes.delete?.length) {
      this.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: objects(prefixes.delete) }));
    }
    const key = objectKey ?? bucket.encryptionKey;
    if (key) this.useKey(key, prefixes.write?.length ? 'readWrite' : 'read');
    if (objectKey) this.fn.addEnvironment('OBJECTS_KMS_KEY_ID', objectKey.keyArn);
    this.fn.addEnvironment(envName, bucket.bucketName);
    return this;
  }

  /**
   * The key's use, granted on both sides: in this role's policy and in the key policy, which names
   * this role (the keys of WgIngressData do not delegate use to IAM, see stateful.ts). One
   * statement per key and side, widened as more uses come.
   */
  private useKey(key: kms.IKey, access: KeyAccess): void {
    const actions = access === 'read' ? keyDecryptActions : [...keyDecryptActions, ...keyWriteActions];
    const uses = this.keyUses.get(key);
    if (!uses) {
      const role = new iam.PolicyStatement({ actions, resources: [key.keyArn] });
      const onKey = new iam.PolicyStatement({ sid: `UseBy${this.node.id}`, actions, principals: [this.role], resources: ['*'] });
      this.keyUses.set(key, { actions: new Set(actions), role, key: onKey });
      this.role.addToPolicy(role);
      key.addToResourcePolicy(onKey);
      return;
    }
    const added = actions.filter((a) => !uses.actions.has(a));
    for (const a of added) uses.actions.add(a);
    if (added.length) {
      uses.role.addActions(...added);
      uses.key.addActions(...added);
    }
  }
}

function lockFileIn(projectRoot: string): string {
  // NodejsFunction wants a lock file under projectRoot even though nothing is installed at
  // bundling time (no `nodeModules`); an embedding app installed from a registry may have none.
  for (const name of ['package-lock.json', 'package.json']) {
    const p = join(projectRoot, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`no package-lock.json or package.json in ${projectRoot}`);
}
