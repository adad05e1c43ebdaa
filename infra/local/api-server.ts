// Serves the same Lambda handlers behind a local HTTP server that builds API Gateway v2 events.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { functionEntries, routes, type FunctionName } from '../../functions/contract/route-table.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
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

const handlers = new Map<FunctionName, Promise<LambdaHandler>>();

function loadHandler(fn: FunctionName): Promise<LambdaHandler> {
  let h = handlers.get(fn);
  if (!h) {
    h = import(pathToFileURL(join(repoRoot, functionEntries[fn])).href).then((m: { handler: LambdaHandler }) => m.handler);
    handlers.set(fn, h);
  }
  return h;
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

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const method = req.method ?? 'GET';
  if (method === 'OPTIONS') {
    send(res, 204, {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET,POST,PATCH,DELETE',
      'access-control-allow-headers': 'authorization,content-type',
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
  const handler = await loadHandler(match.fn);
  const result = await handler(event, fakeContext(match.fn));
  const outHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) outHeaders[k] = String(v);
  const outBody = result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  send(res, result.statusCode ?? 200, outHeaders, outBody);
}

export async function startApiServer(port: number, host = '127.0.0.1'): Promise<{ url: string; server: Server; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      console.error(JSON.stringify({ level: 'error', message: 'local server failure', error: (err as Error)?.name }));
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
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
