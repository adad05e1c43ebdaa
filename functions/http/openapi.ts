// Builds the OpenAPI 3.1 document from the route table and the zod schemas the handlers use.
import * as z from 'zod/mini';
import { answerSchemas } from '../contract/answers.js';
import { apiTables, type RouteApiSpec } from '../contract/api-spec.js';
import { routes } from '../contract/route-table.js';
import { PathParams } from '../domain/schemas.js';

const jsonSchema = (schema: z.ZodMiniType) =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

const ErrorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
    },
  },
};

export function buildOpenApi(serverUrl?: string): Record<string, unknown> {
  const specs = new Map<string, RouteApiSpec>(apiTables.flatMap((t) => Object.entries(t)));
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const spec = specs.get(`${r.method} ${r.path}`);
    if (!spec) throw new Error(`route ${r.method} ${r.path} has no API spec`);
    const params: { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: Record<string, unknown> }[] = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => {
      const name = m[1] as keyof typeof PathParams;
      const { $schema: _s, ...schema } = jsonSchema(PathParams[name]);
      return { name, in: 'path' as const, required: true, schema };
    });
    if (spec.query) {
      const q = jsonSchema(spec.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        params.push({ name, in: 'query', required: false, schema: schema as Record<string, unknown> });
      }
    }
    if (r.idempotent) {
      params.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', description: 'the same key with the same body within 24 h answers the first answer again and creates nothing' },
      });
    }
    const answer = answerSchemas[`${r.method} ${r.path}`];
    const errors: Record<string, unknown> = {};
    for (const [status, description] of [
      ['400', 'validation failed: error.field names the field, error.message the rule'],
      ...(r.public
        ? []
        : [
            ['401', 'missing or invalid bearer token'],
            [
              '403',
              r.method === 'GET'
                ? 'signed in, but in neither the admin nor the viewer group'
                : 'signed in, but not in the admin group (viewers may only read)',
            ],
          ]),
      ['404', 'not found'],
      ['409', r.idempotent ? 'conflict, or a request with this Idempotency-Key still in progress' : 'conflict'],
      ...(r.path.startsWith('/dl/') ? [['410', 'link used, expired, revoked, or client disabled or deleted']] : []),
      ...(spec.body ? [['413', 'request body too large']] : []),
      ...(r.idempotent ? [['422', 'this Idempotency-Key was used with another request body']] : []),
      ['429', 'too many requests; try again'],
      ['500', 'internal error'],
    ] as [string, string][]) {
      errors[status] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      operationId: `${r.method.toLowerCase()}${r.path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase()).replace(/[^a-zA-Z0-9]/g, '')}`,
      ...(r.public ? { security: [] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(spec.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: stripDialect(jsonSchema(spec.bodyDocument ?? spec.body)) },
                ...(spec.csvBody ? { 'text/csv': { schema: { type: 'string', description: spec.csvBody.description } } } : {}),
              },
            },
          }
        : {}),
      responses: {
        [String(spec.success.status)]: {
          description: spec.success.description,
          ...(spec.success.status === 204
            ? {}
            : {
                content: Object.fromEntries(
                  (spec.success.contentTypes ?? [spec.success.contentType ?? 'application/json']).map((type) => [
                    type,
                    type === 'application/json' && (answer || spec.success.schema) ? { schema: answer ? answerSchema(answer) : spec.success.schema } : {},
                  ]),
                ),
              }),
        },
        ...errors,
      },
    };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'wg-ingress', version: '1', description: 'Control plane for WireGuard ingress gateways and their external clients' },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'In AWS a Cognito token: members of the admin group (default wg-ingress-admins) may call every route, members of the viewer group (default wg-ingress-viewers) only GET ones, anyone else gets 403. In local mode the admin token.',
        },
      },
      schemas: { Error: ErrorSchema },
    },
    paths,
  };
}

/**
 * An answer's schema as the document states it. The answer schemas have no transforms or defaults,
 * so zod's input side is what the API writes; unlike the output side it does not close the objects
 * (additionalProperties: false), which would forbid the internal fields answers also carry.
 */
function answerSchema(schema: z.ZodMiniType): Record<string, unknown> {
  return stripDialect(jsonSchema(schema));
}

function stripDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _s, ...rest } = schema;
  return rest;
}
