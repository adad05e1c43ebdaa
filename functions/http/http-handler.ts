// The one middy stack every API function uses: parse → validate → call the domain → answer.
// Errors take one path: the handler and every middleware throw, and the error middleware (used
// last, so its onError runs first) turns the error into the route kind's answer — JSON for the
// API, an HTML page for the one-time-link pages — before the headers and the access log see it.
// CORS is not here: API Gateway answers it in AWS, the local server in local mode.
import { timingSafeEqual } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import httpSecurityHeaders from '@middy/http-security-headers';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { AuditContext } from '../domain/audit.js';
import type { IdempotencyGuard } from '../app/ports.js';
import type { Config } from '../config.js';
import type { RouteApiSpec } from '../contract/api-spec.js';
import { routes } from '../contract/route-table.js';
import { ForbiddenError, NotFoundError, PayloadTooLargeError, UnauthorizedError, ValidationError } from '../domain/errors.js';
import { PathParams } from '../domain/schemas.js';
import { logger, METRICS_NAMESPACE, SERVICE_NAME, tracer } from '../observability.js';
import { errorAnswerOf } from './error-map.js';
import { errorPage } from './pages.js';
import { errorResponse, type HttpResponse } from './responses.js';

export const MAX_BODY_BYTES = 16 * 1024;
/** IETF httpapi idempotency draft: the key is a string; ours is 1-255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

type PathParamName = keyof typeof PathParams;

export interface RouteRequest<B, Q> {
  body: B;
  query: Q;
  path: Record<PathParamName, string>;
  headers: Record<string, string | undefined>;
  event: APIGatewayProxyEventV2;
  /**
   * Who changes things and in which request, for the audit records of the use cases: the caller
   * as admin (public routes: an anonymous link holder, whom the use case names) and API Gateway's
   * request id, else the Lambda request id.
   */
  audit: AuditContext;
}

/** json: the API's answers and errors; html: the one-time-link pages (their own CSP, errors as pages). */
export type RouteKind = 'json' | 'html';

export interface RouteDef {
  routeKey: string;
  public: boolean;
  kind: RouteKind;
  idempotent: boolean;
  /** Admins only, viewers too not: the answer holds secrets (contract/route-table.ts). */
  adminOnly: boolean;
  body?: z.ZodMiniType;
  query?: z.ZodMiniType;
  maxBodyBytes: number;
  csvBody?: RouteApiSpec['csvBody'];
  handle(req: RouteRequest<unknown, unknown>): Promise<HttpResponse>;
}

/**
 * jwt: API Gateway's authorizer has checked the token; the stack checks the caller's Cognito groups
 * (admins may do everything, viewers only GET). token: local mode, where the admin token is an admin.
 */
export type HttpAuth = { mode: 'jwt'; adminGroup: string; viewerGroup: string } | { mode: 'token'; adminToken: string };

export interface HttpOptions {
  auth: HttpAuth;
  /** Required when a route of the function takes Idempotency-Key (the create routes). */
  idempotency?: IdempotencyGuard;
}

/** The stack's own needs from the configuration: how callers are authenticated; the guard of the create routes. */
export function httpOptions(
  config: Pick<Config, 'AUTH_MODE' | 'ADMIN_TOKEN' | 'ADMIN_GROUP' | 'VIEWER_GROUP'>,
  idempotency?: IdempotencyGuard,
): HttpOptions {
  return {
    auth:
      config.AUTH_MODE === 'token'
        ? { mode: 'token', adminToken: config.ADMIN_TOKEN! }
        : { mode: 'jwt', adminGroup: config.ADMIN_GROUP, viewerGroup: config.VIEWER_GROUP },
    ...(idempotency ? { idempotency } : {}),
  };
}

type BodyOf<S> = S extends { body: infer B extends z.ZodMiniType } ? z.infer<B> : undefined;
type QueryOf<S> = S extends { query: infer Q extends z.ZodMiniType } ? z.infer<Q> : undefined;

/**
 * The `route` of one function, bound to its table in contract/api-spec.ts (so its bundle holds only
 * its own schemas); public and idempotent flags come from contract/route-table.ts. Every route the
 * table gives the function must have a spec, checked at load so a new route cannot ship undocumented.
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
      kind: spec.success.contentType?.startsWith('text/html') ? 'html' : 'json',
      idempotent: entry?.idempotent ?? false,
      adminOnly: entry?.adminOnly ?? false,
      body: spec.body,
      query: spec.query,
      maxBodyBytes: spec.maxBodyBytes ?? MAX_BODY_BYTES,
      ...(spec.csvBody ? { csvBody: spec.csvBody } : {}),
      handle: handle as RouteDef['handle'],
    };
  };
}

function firstIssue(error: { issues: z.core.$ZodIssue[] }): ValidationError {
  const issue = error.issues[0]!;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return new ValidationError(key, `unknown field '${key}'; allowed fields are listed in /openapi.json`);
  }
  if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
    message = `must be of type ${issue.expected}`;
  }
  return new ValidationError(issue.path.map(String).join('.') || 'body', message);
}

function checkToken(auth: HttpAuth, headers: Record<string, string | undefined>): void {
  if (auth.mode !== 'token') return; // API Gateway's JWT authorizer has already let the caller in.
  const presented = /^Bearer (\S+)$/.exec(headers.authorization ?? '')?.[1];
  const a = Buffer.from(presented ?? '');
  const b = Buffer.from(auth.adminToken);
  if (!presented || a.length !== b.length || !timingSafeEqual(a, b)) throw new UnauthorizedError();
}

type Claims = APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']['authorizer']['jwt']['claims'];

function claimsOf(event: APIGatewayProxyEventV2): Claims | undefined {
  return (event as Partial<APIGatewayProxyEventV2WithJWTAuthorizer>).requestContext?.authorizer?.jwt?.claims;
}

/**
 * The caller's Cognito groups from the `cognito:groups` claim. API Gateway's HTTP API hands array
 * claims to the function as one string, `[admins viewers]` (bracketed, space-separated); a real
 * array, a JSON array and a single name are read too. Group names cannot hold whitespace.
 */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string' && g !== '');
  if (typeof claim !== 'string') return [];
  const text = claim.trim();
  if (text.startsWith('[') && text.endsWith(']')) {
    if (text.startsWith('["')) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (Array.isArray(parsed)) return groupsOf(parsed);
      } catch {
        // Not JSON after all: read it as API Gateway's form.
      }
    }
    return text.slice(1, -1).split(/\s+/).filter((g) => g !== '');
  }
  return text === '' ? [] : text.split(/\s+/);
}

/**
 * In AWS, who may call a non-public route: the admin group everything, the viewer group GET only,
 * anyone else (a valid token of the pool without either group) nothing. Local mode's token is an admin.
 */
function checkGroups(auth: HttpAuth, def: RouteDef, event: APIGatewayProxyEventV2): void {
  if (auth.mode !== 'jwt') return;
  const groups = groupsOf(claimsOf(event)?.['cognito:groups']);
  if (groups.includes(auth.adminGroup)) return;
  const isRead = def.routeKey.startsWith('GET ');
  if (groups.includes(auth.viewerGroup)) {
    if (isRead && !def.adminOnly) return;
    if (def.adminOnly) throw new ForbiddenError('this answer holds secrets (a config with its private key); it needs the admin group');
    throw new ForbiddenError('viewers may only read (GET); changes need the admin group');
  }
  throw new ForbiddenError('you are signed in but in neither the admin nor the viewer group');
}

interface Caller {
  /** The token's subject (local mode: `local-admin`): the idempotency scope and the log's `caller`. */
  id: string;
  /** The Cognito username, for the log's `caller_name`, when the token carries one. */
  name?: string;
}

/** Who is calling, for the log and the idempotency scope: the JWT's subject and username, or local mode's admin. */
function callerOf(event: APIGatewayProxyEventV2, auth: HttpAuth): Caller | undefined {
  if (auth.mode === 'token') return { id: 'local-admin' };
  const claims = claimsOf(event);
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub === '') return undefined;
  // ID tokens carry `cognito:username`, access tokens `username`.
  const name = [claims?.['cognito:username'], claims?.username].find((n) => typeof n === 'string' && n !== '');
  return { id: sub, ...(typeof name === 'string' ? { name } : {}) };
}

function auditContextOf(def: RouteDef, event: APIGatewayProxyEventV2, context: Context, auth: HttpAuth): AuditContext {
  const requestId = event.requestContext?.requestId || context.awsRequestId;
  if (def.public) return { actor: { type: 'link', id: '-' }, requestId };
  // The access check has let only a known caller through.
  const caller = callerOf(event, auth) ?? { id: '-' };
  return { actor: { type: 'admin', ...caller }, requestId };
}

function parsePath(event: APIGatewayProxyEventV2): Record<PathParamName, string> {
  const path = {} as Record<PathParamName, string>;
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    const parsed = PathParams[name as PathParamName].safeParse(value);
    if (!parsed.success) {
      // A path that cannot name an existing resource is "not found" (and says why).
      throw new NotFoundError(name === 'clientId' ? 'client' : name === 'gatewayId' ? 'gateway' : name, String(value).slice(0, 64));
    }
    path[name as PathParamName] = parsed.data;
  }
  return path;
}

function parseWith(schema: z.ZodMiniType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw firstIssue(parsed.error);
  return parsed.data;
}

function parseBody(def: RouteDef, event: APIGatewayProxyEventV2, query: unknown): unknown {
  if (!def.body) return undefined;
  let raw: unknown = event.body === undefined || event.body === '' ? {} : event.body;
  // A route that takes CSV too: the text becomes the JSON body its schema checks (API Gateway
  // hands a body it took for binary over base64-encoded).
  if (def.csvBody && typeof raw === 'string' && /^text\/csv\s*(;|$)/i.test(event.headers?.['content-type'] ?? '')) {
    raw = def.csvBody.toBody(event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw, query);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError('body', 'request body must be a JSON object sent with content-type application/json');
  }
  return parseWith(def.body, raw);
}

async function dispatch(routeDefs: Map<string, RouteDef>, options: HttpOptions, event: APIGatewayProxyEventV2, context: Context): Promise<HttpResponse> {
  const def = routeDefs.get(event.routeKey);
  if (!def) throw new NotFoundError('route', event.routeKey);
  const headers = (event.headers ?? {}) as Record<string, string | undefined>;
  const path = parsePath(event);
  const query = parseWith(def.query, event.queryStringParameters ?? {});
  const request: RouteRequest<unknown, unknown> = {
    path,
    query,
    body: parseBody(def, event, query),
    headers,
    event,
    audit: auditContextOf(def, event, context, options.auth),
  };
  const key = headers['idempotency-key'];
  if (!def.idempotent || key === undefined) return def.handle(request);
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationError('Idempotency-Key', 'must be 1-255 visible ASCII characters');
  }
  // Scoped to the route, the resource path and the caller: one admin's key never answers another's request.
  const scope = `${def.routeKey} ${event.rawPath} ${callerOf(event, options.auth)?.id ?? '-'} ${key}`;
  return options.idempotency!.once(scope, request.body ?? {}, () => def.handle(request), () => context.getRemainingTimeInMillis());
}

type HttpMiddleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>;
type HttpRequest = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>;

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

/**
 * Who may call the route, before anything reads the request: the bearer token (local mode) and the
 * caller's groups (AWS). A refused caller learns nothing about the body it sent (no 400 or 413) and
 * nothing of the route's handler runs. Public routes and unknown routes (404 in dispatch) pass.
 */
function access(routeDefs: Map<string, RouteDef>, options: HttpOptions): HttpMiddleware {
  return {
    before: (request) => {
      const def = routeDefs.get(request.event.routeKey);
      if (!def || def.public) return;
      checkToken(options.auth, (request.event.headers ?? {}) as Record<string, string | undefined>);
      checkGroups(options.auth, def, request.event);
    },
  };
}

function bodySizeLimit(routeDefs: Map<string, RouteDef>): HttpMiddleware {
  return {
    before: (request) => {
      const { body, isBase64Encoded } = request.event;
      const size = body ? Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8') : 0;
      const limit = routeDefs.get(request.event.routeKey)?.maxBodyBytes ?? MAX_BODY_BYTES;
      if (size > limit) throw new PayloadTooLargeError(`request body is larger than ${limit} bytes`);
    },
  };
}

/**
 * One access-log line and one metrics document per request, refused ones included. Route
 * templates only: a raw path may carry a one-time link token. The metrics go into an instance of
 * their own per request and are published when it ends: local mode serves concurrent requests in
 * one process, and a shared instance would mix one request's metrics into another's document.
 */
function accessLog(routeDefs: Map<string, RouteDef>, options: HttpOptions): HttpMiddleware {
  const started = new WeakMap<object, number>();
  const done = (request: HttpRequest) => {
    const status = (request.response as { statusCode?: number } | undefined)?.statusCode ?? 500;
    const ms = Date.now() - (started.get(request) ?? Date.now());
    const requestMetrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
    // Metadata, not a dimension: a metric per route template would multiply the metric count, and
    // the log line's route answers "which route".
    requestMetrics.addMetadata('request_id', request.context.awsRequestId);
    requestMetrics.addMetadata('route', request.event.routeKey);
    requestMetrics.addMetric('Requests', MetricUnit.Count, 1);
    requestMetrics.addMetric(`Status${Math.floor(status / 100)}xx`, MetricUnit.Count, 1);
    requestMetrics.addMetric('Latency', MetricUnit.Milliseconds, ms);
    requestMetrics.publishStoredMetrics();
    logger.info('request', { status, ms });
  };
  return {
    before: (request) => {
      started.set(request, Date.now());
      const isPublic = routeDefs.get(request.event.routeKey)?.public ?? false;
      const caller = isPublic ? undefined : callerOf(request.event, options.auth);
      logger.appendKeys({
        route: request.event.routeKey,
        api_request_id: request.event.requestContext?.requestId,
        ...(caller ? { caller: caller.id } : {}),
        ...(caller?.name ? { caller_name: caller.name } : {}),
      });
    },
    after: done,
    onError: done,
  };
}

/** The security headers of the route's kind: middy's for JSON; pages bring their own (pages.ts). */
function securityHeaders(routeDefs: Map<string, RouteDef>): HttpMiddleware {
  const json = httpSecurityHeaders() as HttpMiddleware;
  const isJson = (request: HttpRequest) => (routeDefs.get(request.event.routeKey)?.kind ?? 'json') === 'json';
  return {
    after: (request) => (isJson(request) ? json.after?.(request) : undefined),
    onError: (request) => (isJson(request) ? json.onError?.(request) : undefined),
  };
}

/** The one error path: domain errors to 4xx, anything else to a 500 without internals. */
function errorAnswers(routeDefs: Map<string, RouteDef>): HttpMiddleware {
  return {
    onError: (request) => {
      const answer = errorAnswerOf(request.error, request.event.routeKey);
      // The pages' public end: a JSON error (or a path value echoed back) is no answer for a person.
      request.response = (
        routeDefs.get(request.event.routeKey)?.kind === 'html'
          ? errorPage(answer.statusCode, answer.code)
          : errorResponse(answer.statusCode, answer.code, answer.message, answer.field)
      ) as APIGatewayProxyResultV2;
    },
  };
}

export function httpHandler(routeDefs: RouteDef[], options: HttpOptions) {
  const byKey = new Map(routeDefs.map((r) => [r.routeKey, r]));
  if (!options.idempotency && routeDefs.some((r) => r.idempotent)) {
    throw new Error('a route takes Idempotency-Key but the function has no idempotency store (IDEMPOTENCY_TABLE_NAME)');
  }
  const core = (event: APIGatewayProxyEventV2, context: Context) =>
    dispatch(byKey, options, event, context) as Promise<APIGatewayProxyResultV2>;
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>()
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(accessLog(byKey, options))
    .use(httpHeaderNormalizer())
    .use(securityHeaders(byKey))
    .use(access(byKey, options))
    .use(bodySizeLimit(byKey))
    .use(jsonBodyWhenPresent())
    .use(errorAnswers(byKey))
    .handler(core);
}
