// Configuration is read once, validated, and fails at start rather than in the middle of a request.
import * as z from 'zod';

const optionalUrl = z.string().url().optional();

const ConfigSchema = z.object({
  TABLE_NAME: z.string().min(1),
  SECRETS_TABLE_NAME: z.string().min(1),
  BUCKET_NAME: z.string().min(1).default('wg-ingress'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** jwt: API Gateway's authorizer has checked the caller; token: local mode's admin token. */
  AUTH_MODE: z.enum(['jwt', 'token']).default('jwt'),
  ADMIN_TOKEN: z.string().min(32).optional(),
  /** The hosted frontend's origin, for CORS. */
  CORS_ORIGIN: z.string().default('*'),
  PUBLIC_BASE_URL: z.string().url().default('http://localhost:8080'),
  INIT_DOCUMENT_NAME: z.string().default('wg-ingress-init'),
  APPLY_DOCUMENT_NAME: z.string().default('wg-ingress-apply'),
  GATEWAY_TAG_KEY: z.string().default('wg-ingress:gateway'),
  GATEWAY_TAG_VALUE: z.string().default('true'),
  DYNAMODB_ENDPOINT: optionalUrl,
  S3_ENDPOINT: optionalUrl,
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
});

export type Config = z.infer<typeof ConfigSchema>;

let cached: Config | undefined;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  if (parsed.data.AUTH_MODE === 'token' && !parsed.data.ADMIN_TOKEN) {
    throw new Error('invalid configuration: AUTH_MODE=token needs ADMIN_TOKEN');
  }
  return parsed.data;
}

export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
