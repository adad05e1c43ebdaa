// Serves the same Lambda handlers behind a local HTTP server that builds API Gateway v2 events,
// each built by its factory (functions/http/routes) from the dependencies local mode composed.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Deps } from '../../functions/compose/index.js';
import { logger } from '../../functions/observability.js';
import { cors, routes, type FunctionName } from '../../functions/contract/route-table.js';
import type { HttpOptions } from '../../functions/http/http-handler.js';
import { handlerFactories } from '../../functions/http/routes/index.js';
import { consoleSite, type ConsoleSiteOptions } from './console-site.js';

const MAX_REQUEST_BYTES = 1024 * 1024;

type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

interface CompiledRoute {
  method: string;
  path: string;
  fn: FunctionName;
  regex: RegExp;
  names: string[];
}

const compiled: CompiledRoute[] = routes.map((r) => {
  const names: string[] = [];
  const pattern = r.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method: r.method, path: r.path, fn: r.fn, regex: new RegExp(`^${pattern}$`), names };
});

type Handlers = Record<FunctionName, LambdaHandler>;

/** Every function's handler, built from one set of dependencies as each Lambda builds its own. */
function buildHandlers(deps: Deps, options: HttpOptions): Handlers {
  return Object.fromEntries(
    Object.entries(handlerFactories).map(([fn, make]) => [fn, (make as (d: Deps, o: HttpOptions) => LambdaHandler)(deps, options)]),
  ) as Handlers;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(Object.assign(new Error('too large'), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

const fakeContext = (fn: string): Context =>
  ({
    functionName: `wg-ingress-${fn}`,
    functionVersion: '$LATEST',
    awsRequestId: randomUUID(),
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => 30_000,
    callbackWaitsForEmptyEventLoop: false,
  }) as unknown as Context;

function send(res: ServerResponse, status: number, headers: Record<string, string>, body?: string | Buffer): void {
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * What API Gateway's CORS configuration does in AWS (infra/lib/stateless.ts corsPreflight): answer
 * preflights itself, and add the allow-origin header to answers for an allowed origin.
 */
const CORS_METHODS = cors.allowMethods.join(',');
const CORS_HEADERS = cors.allowHeaders.join(',');

function corsHeaders(allowedOrigin: string, origin: string | undefined): Record<string, string> {
  if (!origin || (allowedOrigin !== '*' && origin !== allowedOrigin)) return {};
  return { 'access-control-allow-origin': allowedOrigin === '*' ? '*' : origin, vary: 'origin' };
}

async function handle(handlers: Handlers, allowedOrigin: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const method = req.method ?? 'GET';
  const cors = corsHeaders(allowedOrigin, req.headers.origin);
  if (method === 'OPTIONS') {
    send(res, 204, {
      ...cors,
      'access-control-allow-methods': CORS_METHODS,
      'access-control-allow-headers': CORS_HEADERS,
      'access-control-max-age': '600',
    });
    return;
  }
  let pathParameters: Record<string, string> | undefined;
  const match = compiled.find((r) => {
    if (r.method !== method) return false;
    const m = r.regex.exec(url.pathname);
    if (!m) return false;
    try {
      pathParameters = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    } catch {
      return false;
    }
    return true;
  });
  if (!match) {
    send(res, 404, { 'content-type': 'application/json' }, JSON.stringify({ error: { code: 'not_found', message: `no route ${method} ${url.pathname}` } }));
    return;
  }
  let body: Buffer | undefined;
  try {
    body = await readBody(req);
  } catch {
    send(res, 413, { 'content-type': 'application/json' }, JSON.stringify({ error: { code: 'payload_too_large', message: 'request body too large' } }));
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const routeKey = `${match.method} ${match.path}`;
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(pathParameters && Object.keys(pathParameters).length ? { pathParameters } : {}),
    ...(body ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
  };
  const result = await handlers[match.fn](event, fakeContext(match.fn));
  const outHeaders: Record<string, string> = { ...cors };
  for (const [k, v] of Object.entries(result.headers ?? {})) outHeaders[k] = String(v);
  const outBody = result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  send(res, result.statusCode ?? 200, outHeaders, outBody);
}

export interface ApiServerOptions {
  port: number;
  host?: string;
  deps: Deps;
  http: HttpOptions;
  /** The frontend origin CORS allows ('*': any). */
  corsOrigin?: string;
  /** Serve the console's build at /console/ (infra/local/console-site.ts). */
  console?: Omit<ConsoleSiteOptions, 'config'>;
}

export async function startApiServer(opts: ApiServerOptions): Promise<{ url: string; server: Server; stop(): Promise<void> }> {
  const { port, host = '127.0.0.1' } = opts;
  const handlers = buildHandlers(opts.deps, opts.http);
  // Made once the port is known: the console's config names the API's URL.
  let site: ReturnType<typeof consoleSite> | undefined;
  const server = createServer((req, res) => {
    const served = site ? site(req, res) : Promise.resolve(false);
    served.then((done) => (done ? undefined : handle(handlers, opts.corsOrigin ?? '*', req, res))).catch((err: unknown) => {
      logger.error('local server failure', { request_id: `local-server-${randomUUID()}`, error: (err as Error)?.name });
      if (!res.headersSent) send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ error: { code: 'internal', message: 'internal error' } }));
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`;
  if (opts.console) site = consoleSite({ ...opts.console, config: { apiUrl: url, auth: 'token' } });
  return {
    url,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
