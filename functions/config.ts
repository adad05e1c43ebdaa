// Configuration is read once, validated, and fails at start rather than in the middle of a request.
// Lambda reads it from the environment (loadConfig(process.env)); local mode and the tests hand
// loadConfig their own values, so nothing has to steer a function through process.env.
// Checked by hand rather than with zod: every function reads it, and the worker needs no other
// validation, so a schema library here would be its largest dependency after the AWS SDK.

export interface Config {
  TABLE_NAME: string;
  SECRETS_TABLE_NAME: string;
  /** Powertools Idempotency records of the create routes; only the functions that serve them have it. */
  IDEMPOTENCY_TABLE_NAME?: string;
  BUCKET_NAME: string;
  /** KMS key (ARN) every object is written with, SSE-KMS: the secrets key in AWS; none locally. */
  OBJECTS_KMS_KEY_ID?: string;
  AWS_REGION: string;
  /** jwt: API Gateway's authorizer has checked the caller; token: local mode's admin token. */
  AUTH_MODE: 'jwt' | 'token';
  ADMIN_TOKEN?: string;
  /** AUTH_MODE=jwt: the Cognito group whose members may do everything. */
  ADMIN_GROUP: string;
  /** AUTH_MODE=jwt: the Cognito group whose members may only read (GET). */
  VIEWER_GROUP: string;
  PUBLIC_BASE_URL: string;
  INIT_DOCUMENT_NAME: string;
  APPLY_DOCUMENT_NAME: string;
  TEARDOWN_DOCUMENT_NAME: string;
  REPORT_DOCUMENT_NAME: string;
  DYNAMODB_ENDPOINT?: string;
  S3_ENDPOINT?: string;
  S3_FORCE_PATH_STYLE: 'true' | 'false';
  /** How long audit records stay (the table's TTL removes them after); default 400. */
  AUDIT_RETENTION_DAYS: number;
  /** A client export larger than this (bytes) goes to S3 and is answered with a signed URL; default 3,000,000. */
  EXPORT_INLINE_MAX_BYTES: number;
  /**
   * Credentials for a local DynamoDB endpoint (DynamoDB Local keeps one database per access key
   * id); only with DYNAMODB_ENDPOINT, never in AWS (the role's credentials are used there).
   */
  DYNAMODB_ACCESS_KEY_ID?: string;
  DYNAMODB_SECRET_ACCESS_KEY?: string;
  /** Credentials for a local S3 endpoint (the local S3 server's own pair); only with S3_ENDPOINT. */
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}

/** The groups' defaults; the CDK construct uses the same (infra/lib/stateless.ts). */
export const DEFAULT_ADMIN_GROUP = 'wg-ingress-admins';
export const DEFAULT_VIEWER_GROUP = 'wg-ingress-viewers';
/** How long audit records stay by default; the CDK construct uses the same. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;

/**
 * Cognito's rule for a group name: 1-128 letters, marks, symbols, digits or punctuation, so never
 * whitespace (which is what lets a `cognito:groups` claim arrive as one space-separated string).
 */
const COGNITO_GROUP_NAME = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;

/** Why `value` cannot name a Cognito group, or undefined when it can. */
export function groupNameProblem(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  if (!COGNITO_GROUP_NAME.test(value)) return 'must be a Cognito group name: 1-128 letters, digits, symbols or punctuation, no spaces';
  return undefined;
}

export type Environment = Record<string, string | undefined>;
type Problems = string[];

/** The variable's value, or `fallback` when unset; `minLength` applies to a value that is set. */
function text(env: Environment, problems: Problems, name: string, fallback?: string, minLength = 0): string {
  const value = env[name];
  if (value === undefined) {
    if (fallback === undefined) problems.push(`${name}: is required`);
    return fallback ?? '';
  }
  if (value.length < minLength) problems.push(`${name}: ${minLength === 1 ? 'must not be empty' : `must be at least ${minLength} characters`}`);
  return value;
}

function oneOf<T extends string>(env: Environment, problems: Problems, name: string, values: readonly T[], fallback?: T): T {
  const value = env[name] ?? fallback;
  if (value === undefined) problems.push(`${name}: is required (one of ${values.join('|')})`);
  else if (!(values as readonly string[]).includes(value)) problems.push(`${name}: must be one of ${values.join('|')}`);
  return value as T;
}

function groupName(env: Environment, problems: Problems, name: string, fallback: string): string {
  const value = env[name] ?? fallback;
  const problem = groupNameProblem(value);
  if (problem) problems.push(`${name}: ${problem}`);
  return value;
}

/** An absolute URL, trimmed (as the URL parser reads it); undefined when unset and there is no fallback. */
function url(env: Environment, problems: Problems, name: string, fallback?: string): string | undefined {
  const value = env[name] ?? fallback;
  if (value === undefined) return undefined;
  const trimmed = value.trim().replace(/[\t\n\r]/g, '');
  if (!URL.canParse(trimmed)) problems.push(`${name}: must be an absolute URL`);
  return trimmed;
}

/** A whole number of days from 1 to 3650. */
function days(env: Environment, problems: Problems, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined) return fallback;
  const n = /^[0-9]{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 3650)) problems.push(`${name}: must be a whole number of days from 1 to 3650`);
  return n;
}

/** Lambda answers at most 6 MB, and a JSON-escaped body can nearly double: half of that, and a margin. */
export const DEFAULT_EXPORT_INLINE_MAX_BYTES = 3_000_000;

/** A whole number of bytes from 1 to DEFAULT_EXPORT_INLINE_MAX_BYTES. */
function inlineBytes(env: Environment, problems: Problems, name: string): number {
  const value = env[name];
  if (value === undefined) return DEFAULT_EXPORT_INLINE_MAX_BYTES;
  const n = /^[0-9]{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= DEFAULT_EXPORT_INLINE_MAX_BYTES)) problems.push(`${name}: must be a whole number of bytes from 1 to ${DEFAULT_EXPORT_INLINE_MAX_BYTES}`);
  return n;
}

/** Present only when the variable is set. */
const optional = <K extends string, V>(env: Environment, name: K, read: () => V): Partial<Record<K, V>> =>
  (env[name] !== undefined ? { [name]: read() } : {}) as Partial<Record<K, V>>;

/** A local endpoint's key pair: both halves or neither, and only with that endpoint. */
function endpointKey<S extends 'DYNAMODB' | 'S3'>(env: Environment, problems: Problems, service: S) {
  const id = `${service}_ACCESS_KEY_ID` as const;
  const secret = `${service}_SECRET_ACCESS_KEY` as const;
  if (env[id] === undefined && env[secret] === undefined) return {};
  if (env[id] === undefined || env[secret] === undefined) problems.push(`${id}, ${secret}: set both or neither`);
  else if (env[`${service}_ENDPOINT`] === undefined) problems.push(`${id}: only for a local endpoint (needs ${service}_ENDPOINT)`);
  return {
    ...optional(env, id, () => text(env, problems, id, undefined, 1)),
    ...optional(env, secret, () => text(env, problems, secret, undefined, 1)),
  } as Partial<Record<`${S}_ACCESS_KEY_ID` | `${S}_SECRET_ACCESS_KEY`, string>>;
}

export function loadConfig(env: Environment): Config {
  const p: Problems = [];
  const config: Config = {
    TABLE_NAME: text(env, p, 'TABLE_NAME', undefined, 1),
    SECRETS_TABLE_NAME: text(env, p, 'SECRETS_TABLE_NAME', undefined, 1),
    ...optional(env, 'IDEMPOTENCY_TABLE_NAME', () => text(env, p, 'IDEMPOTENCY_TABLE_NAME', undefined, 1)),
    BUCKET_NAME: text(env, p, 'BUCKET_NAME', 'wg-ingress', 1),
    ...optional(env, 'OBJECTS_KMS_KEY_ID', () => text(env, p, 'OBJECTS_KMS_KEY_ID', undefined, 1)),
    AWS_REGION: text(env, p, 'AWS_REGION', 'us-east-1', 1),
    // No default: a function started without it must fail, not run without any auth check.
    AUTH_MODE: oneOf(env, p, 'AUTH_MODE', ['jwt', 'token']),
    ...optional(env, 'ADMIN_TOKEN', () => text(env, p, 'ADMIN_TOKEN', undefined, 32)),
    ADMIN_GROUP: groupName(env, p, 'ADMIN_GROUP', DEFAULT_ADMIN_GROUP),
    VIEWER_GROUP: groupName(env, p, 'VIEWER_GROUP', DEFAULT_VIEWER_GROUP),
    PUBLIC_BASE_URL: url(env, p, 'PUBLIC_BASE_URL', 'http://localhost:8080')!,
    INIT_DOCUMENT_NAME: text(env, p, 'INIT_DOCUMENT_NAME', 'wg-ingress-init'),
    APPLY_DOCUMENT_NAME: text(env, p, 'APPLY_DOCUMENT_NAME', 'wg-ingress-apply'),
    TEARDOWN_DOCUMENT_NAME: text(env, p, 'TEARDOWN_DOCUMENT_NAME', 'wg-ingress-teardown'),
    REPORT_DOCUMENT_NAME: text(env, p, 'REPORT_DOCUMENT_NAME', 'wg-ingress-report'),
    ...optional(env, 'DYNAMODB_ENDPOINT', () => url(env, p, 'DYNAMODB_ENDPOINT')!),
    ...optional(env, 'S3_ENDPOINT', () => url(env, p, 'S3_ENDPOINT')!),
    S3_FORCE_PATH_STYLE: oneOf(env, p, 'S3_FORCE_PATH_STYLE', ['true', 'false'], 'false'),
    AUDIT_RETENTION_DAYS: days(env, p, 'AUDIT_RETENTION_DAYS', DEFAULT_AUDIT_RETENTION_DAYS),
    EXPORT_INLINE_MAX_BYTES: inlineBytes(env, p, 'EXPORT_INLINE_MAX_BYTES'),
    ...endpointKey(env, p, 'DYNAMODB'),
    ...endpointKey(env, p, 'S3'),
  };
  // One group for both would let every viewer write.
  if (config.ADMIN_GROUP === config.VIEWER_GROUP) p.push('VIEWER_GROUP: must differ from ADMIN_GROUP');
  if (p.length) throw new Error(`invalid configuration: ${p.join('; ')}`);
  if (config.AUTH_MODE === 'token' && !config.ADMIN_TOKEN) {
    throw new Error('invalid configuration: AUTH_MODE=token needs ADMIN_TOKEN');
  }
  return config;
}
