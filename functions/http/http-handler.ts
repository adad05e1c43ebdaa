// The one middy stack every API function uses: parse → validate → call the domain → answer.
import { timingSafeEqual } from 'node:crypto';
import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import { config } from '../config.js';
import { NotFoundError, PayloadTooLargeError, UnauthorizedError, ValidationError } from '../domain/errors.js';
import { PathParams } from '../domain/schemas.js';
import type { RouteApiSpec } from '../contract/api-spec.js';
import { routes } from '../contract/route-table.js';
import { toErrorResponse } from './error-map.js';
import { log } from './log.js';
import type { HttpResponse } from './responses.js';

export const MAX_BODY_BYTES = 16 * 1024;

type PathParamName = keyof typeof PathParams;

export interface RouteRequest<B, Q> {
  body: B;
  query: Q;
  path: Record<PathParamName, string>;
  headers: Record<string, string | undefined>;
  event: APIGatewayProxyEventV2;
}

export interface RouteDef {
  routeKey: string;
  public: boolean;
  body?: z.ZodMiniType;
  query?: z.ZodMiniType;
  handle(req: RouteRequest<unknown, unknown>): Promise<HttpResponse>;
}

type BodyOf<S> = S extends { body: infer B extends z.ZodMiniType } ? z.infer<B> : undefined;
type QueryOf<S> = S extends { query: infer Q extends z.ZodMiniType } ? z.infer<Q> : undefined;

/**
 * The `route` of one function, bound to its table in api-spec.ts (so its bundle holds only its own
 * schemas); a route's public flag comes from route-table.ts. Every route the table gives the
 * function must have a spec, checked at load so a new route cannot ship undocumented.
 */
export function routesOf<T extends Record<string, RouteApiSpec>>(table: T) {
  const fn = routes.find((r) => `${r.method} ${r.path}` in table)?.fn;
  for (const r of routes) {
    if (r.fn === fn && !(`${r.method} ${r.path}` in table)) throw new Error(`route ${r.method} ${r.path} has no API spec`);
  }
  return function route<K extends keyof T & string>(
    routeKey: K,
    handle: (req: RouteRequest<BodyOf<T[K]>, QueryOf<T[K]>>) => Promise<HttpResponse>,
  ): RouteDef {
    const spec = table[routeKey] as RouteApiSpec;
    const entry = routes.find((r) => `${r.method} ${r.path}` === routeKey);
    return {
      routeKey,
      public: entry?.public ?? false,
      body: spec.body,
      query: spec.query,
      handle: handle as RouteDef['handle'],
    };
  };
}

function firstIssue(error: { issues: z.core.$ZodIssue[] }, prefix?: string): ValidationError {
  const issue = error.issues[0]!;
  const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return new ValidationError(key, `unknown field '${key}'; allowed fields are listed in /openapi.json`);
  }
  if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
    message = `must be of type ${issue.expected}`;
  }
  return new ValidationError(path.join('.') || 'body', message);
}

function checkToken(headers: Record<string, string | undefined>): void {
  const { AUTH_MODE, ADMIN_TOKEN } = config();
  if (AUTH_MODE !== 'token') return; // API Gateway's JWT authorizer has already let the caller in.
  const presented = /^Bearer (\S+)$/.exec(headers.authorization ?? '')?.[1];
  const a = Buffer.from(presented ?? '');
  const b = Buffer.from(ADMIN_TOKEN ?? '');
  if (!presented || a.length !== b.length || !timingSafeEqual(a, b)) throw new UnauthorizedError();
}

async function dispatch(routes: Map<string, RouteDef>, event: APIGatewayProxyEventV2): Promise<HttpResponse> {
  const def = routes.get(event.routeKey);
  if (!def) throw new NotFoundError('route', event.routeKey);
  const headers = (event.headers ?? {}) as Record<string, string | undefined>;
  if (!def.public) checkToken(headers);

  const path = {} as Record<PathParamName, string>;
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    const schema = PathParams[name as PathParamName];
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      // A path that cannot name an existing resource is "not found" (and says why).
      throw new NotFoundError(name === 'clientId' ? 'client' : name === 'gatewayId' ? 'gateway' : name, String(value).slice(0, 64));
    }
    path[name as PathParamName] = parsed.data;
  }

  let query: unknown;
  if (def.query) {
    const parsed = def.query.safeParse(event.queryStringParameters ?? {});
    if (!parsed.success) throw firstIssue(parsed.error);
    query = parsed.data;
  }

  let body: unknown;
  if (def.body) {
    const raw = event.body === undefined || event.body === '' ? {} : event.body;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ValidationError('body', 'request body must be a JSON object sent with content-type application/json');
    }
    const parsed = def.body.safeParse(raw);
    if (!parsed.success) throw firstIssue(parsed.error);
    body = parsed.data;
  }
  return def.handle({ body, query, path, headers, event });
}

type HttpMiddleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>;

/** middy's JSON parser, skipped for requests without a body (a GET that still says content-type: json). */
function jsonBodyWhenPresent(): HttpMiddleware {
  const parser = httpJsonBodyParser({ disableContentTypeError: true }) as HttpMiddleware;
  return {
    before: (request) => {
      if (request.event.body === undefined || request.event.body === '') return;
      return parser.before?.(request);
    },
  };
}

export function httpHandler(routeDefs: RouteDef[]) {
  const routes = new Map(routeDefs.map((r) => [r.routeKey, r]));
  const core = async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyResultV2> => {
    const started = Date.now();
    let response: HttpResponse;
    try {
      response = await dispatch(routes, event);
    } catch (err) {
      response = toErrorResponse(err, event.routeKey);
    }
    // Route templates only: a raw path may carry a one-time link token.
    log('info', { routeKey: event.routeKey, status: response.statusCode, ms: Date.now() - started });
    return response;
  };

  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>()
    .use(httpHeaderNormalizer())
    .use({
      before: (request) => {
        const size = request.event.body ? Buffer.byteLength(request.event.body, request.event.isBase64Encoded ? 'base64' : 'utf8') : 0;
        if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(`request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    })
    .use(jsonBodyWhenPresent())
    .use(httpSecurityHeaders())
    .use(httpCors({ origin: config().CORS_ORIGIN, headers: 'authorization,content-type', methods: 'GET,POST,PATCH,DELETE' }))
    .use({
      // Errors thrown by the middlewares themselves (size, malformed JSON) get the same answers.
      onError: (request) => {
        request.response = toErrorResponse(request.error, request.event.routeKey) as APIGatewayProxyResultV2;
      },
    })
    .handler(core);
}
