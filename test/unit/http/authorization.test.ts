// Who may call what, through the one HTTP stack, driven with the authorizer contexts API Gateway's
// HTTP API hands the functions: the admin group everything, the viewer group GET only, any other
// signed-in user nothing but the public routes. Every route of contract/route-table.ts is in the
// handler built here, so a new route is covered without touching this file.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { loadConfig } from '../../../functions/config.js';
import { apiTables, type RouteApiSpec } from '../../../functions/contract/api-spec.js';
import { routes, type RouteSpec } from '../../../functions/contract/route-table.js';
import { groupsOf, httpHandler, httpOptions, MAX_BODY_BYTES, routesOf, type HttpOptions, type RouteDef } from '../../../functions/http/http-handler.js';
import { buildOpenApi } from '../../../functions/http/openapi.js';
import { networksHandler } from '../../../functions/http/routes/networks.js';
import { ok } from '../../../functions/http/responses.js';
import { fakeWorld } from '../../support/fakes.js';

const ADMINS = 'wg-ingress-admins';
const VIEWERS = 'wg-ingress-viewers';
const jwt: HttpOptions['auth'] = { mode: 'jwt', adminGroup: ADMINS, viewerGroup: VIEWERS };

// --- the handler's log lines and metrics, kept for the checks instead of the test output ----------

const logLines: Record<string, unknown>[] = [];
let restoreStdout = () => {};
before(() => {
  const stream = process.stdout;
  const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  (stream as unknown as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && chunk.startsWith('{')) {
      try {
        const parsed = JSON.parse(chunk) as Record<string, unknown>;
        if ('level' in parsed || '_aws' in parsed) {
          logLines.push(parsed);
          return true;
        }
      } catch {
        // not a log line
      }
    }
    return original(chunk, ...rest);
  };
  restoreStdout = () => ((stream as unknown as { write: unknown }).write = original);
});
after(() => restoreStdout());

// --- every route of the table, each answering 200 and recording that it ran -----------------------

const sample: Record<string, string> = { network: 'office', gatewayId: 'gw-0a1b2c3d4e', clientId: 'alice-laptop', token: 'A'.repeat(43) };
const keyOf = (r: RouteSpec) => `${r.method} ${r.path}`;
const isPublic = (r: RouteSpec) => r.public === true;
const isWrite = (r: RouteSpec) => r.method !== 'GET';

function allRoutes(options: { schemas: boolean }) {
  const called: string[] = [];
  const defs: RouteDef[] = routes.map((r) => {
    const table = apiTables.find((t) => keyOf(r) in t) as Record<string, RouteApiSpec> | undefined;
    assert.ok(table, `${keyOf(r)} has an API spec`);
    const def = routesOf(table)(keyOf(r), async () => {
      called.push(keyOf(r));
      return ok({ route: keyOf(r) });
    });
    // Without the schemas every route reaches its handler with an empty request, which is what
    // the admin's check needs; the refusals are checked with the real schemas too.
    return options.schemas ? def : { ...def, body: undefined, query: undefined };
  });
  const idempotent: string[] = [];
  const handler = httpHandler(defs, {
    auth: jwt,
    idempotency: {
      once: async (key, _payload, run) => {
        idempotent.push(key);
        return run();
      },
    },
  });
  return { handler, called, idempotent };
}

type Claims = Record<string, string | number | boolean | string[]>;

/** An API Gateway v2 event as the HTTP API sends it: public routes carry no authorizer context. */
function eventFor(r: RouteSpec, claims: Claims | undefined, extra: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
  const pathParameters = Object.fromEntries([...r.path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, sample[m[1]!]!]));
  const rawPath = r.path.replace(/\{(\w+)\}/g, (_m, name: string) => sample[name]!);
  const event = {
    version: '2.0',
    routeKey: keyOf(r),
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', ...(claims ? { authorization: 'Bearer eyJraWQiOi.x.y' } : {}) },
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: keyOf(r),
      stage: '$default',
      time: '01/Dec/2026:22:30:00 +0000',
      timeEpoch: 1_796_170_200_000,
      http: { method: r.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      ...(claims ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: null } } } : {}),
    },
    ...extra,
  };
  return event as unknown as APIGatewayProxyEventV2;
}

let invocation = 0;
function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'wg-ingress-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:wg-ingress-test',
    memoryLimitInMB: '256',
    awsRequestId: `00000000-0000-4000-8000-${String(++invocation).padStart(12, '0')}`,
    logGroupName: '/aws/lambda/wg-ingress-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
async function call(handler: Handler, event: APIGatewayProxyEventV2) {
  const res = (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
  const isJson = String(res.headers?.['content-type'] ?? '').startsWith('application/json');
  return { status: res.statusCode!, json: isJson && res.body ? (JSON.parse(res.body) as { error?: { code: string } }) : undefined };
}

const admin: Claims = { sub: 'sub-admin', 'cognito:username': 'ada', 'cognito:groups': `[${ADMINS}]` };
const viewer: Claims = { sub: 'sub-viewer', username: 'vic', 'cognito:groups': `[${VIEWERS}]` };
const nobody: Claims = { sub: 'sub-nobody', 'cognito:username': 'nora' };

describe('the cognito:groups claim', () => {
  it('reads API Gateway’s bracketed, space-separated form, a real array, a JSON array and a single name', () => {
    assert.deepEqual(groupsOf(`[${ADMINS} ${VIEWERS}]`), [ADMINS, VIEWERS]);
    assert.deepEqual(groupsOf(`[${VIEWERS}]`), [VIEWERS]);
    assert.deepEqual(groupsOf([ADMINS, VIEWERS]), [ADMINS, VIEWERS]);
    assert.deepEqual(groupsOf(`["${ADMINS}","${VIEWERS}"]`), [ADMINS, VIEWERS]);
    assert.deepEqual(groupsOf(ADMINS), [ADMINS]);
  });
  it('reads no group from an absent, empty or non-string claim', () => {
    for (const claim of [undefined, '', '[]', ' ', 42, true, [1, 2]]) assert.deepEqual(groupsOf(claim), [], String(claim));
  });
  it('never matches a group by a part of its name', () => {
    assert.deepEqual(groupsOf('[wg-ingress-admins-old]'), ['wg-ingress-admins-old']);
    assert.ok(!groupsOf('[wg-ingress-admins-old x-wg-ingress-admins]').includes(ADMINS));
  });
});

describe('who may call which route (AUTH_MODE=jwt)', () => {
  it('covers the whole route table: reads, writes and public routes', () => {
    assert.ok(routes.some((r) => !isPublic(r) && isWrite(r)));
    assert.ok(routes.some((r) => !isPublic(r) && !isWrite(r)));
    assert.ok(routes.some(isPublic));
  });

  it('lets an admin call every route', async () => {
    const { handler, called } = allRoutes({ schemas: false });
    for (const r of routes) {
      const res = await call(handler, eventFor(r, isPublic(r) ? undefined : admin));
      assert.equal(res.status, 200, `${keyOf(r)}: ${JSON.stringify(res.json)}`);
    }
    assert.deepEqual(called, routes.map(keyOf));
  });

  it('finds the admin group among others, in every form the claim comes in', async () => {
    const { handler } = allRoutes({ schemas: false });
    const write = routes.find((r) => !isPublic(r) && isWrite(r))!;
    for (const groups of [`[other ${VIEWERS} ${ADMINS}]`, [VIEWERS, ADMINS], ADMINS]) {
      const res = await call(handler, eventFor(write, { sub: 's', 'cognito:groups': groups }));
      assert.equal(res.status, 200, JSON.stringify(groups));
    }
  });

  it('lets a viewer call every GET route but those that hand out secrets', async () => {
    const { handler, called } = allRoutes({ schemas: false });
    const reads = routes.filter((r) => !isWrite(r) && !r.adminOnly);
    for (const r of reads) {
      const res = await call(handler, eventFor(r, isPublic(r) ? undefined : viewer));
      assert.equal(res.status, 200, keyOf(r));
    }
    assert.deepEqual(called, reads.map(keyOf));
  });

  it('refuses a viewer the config download (its private key) with 403, and lets an admin have it', async () => {
    const secretReads = routes.filter((r) => !isWrite(r) && r.adminOnly);
    assert.deepEqual(secretReads.map(keyOf), ['GET /networks/{network}/clients/{clientId}/config']);
    const { handler, called } = allRoutes({ schemas: false });
    for (const r of secretReads) {
      const res = await call(handler, eventFor(r, viewer));
      assert.equal(res.status, 403, keyOf(r));
      assert.equal(res.json?.error?.code, 'forbidden');
    }
    assert.deepEqual(called, []);
    const admin = await call(handler, eventFor(secretReads[0]!, { sub: 's', 'cognito:groups': `[${ADMINS}]` }));
    assert.equal(admin.status, 200);
  });

  it('refuses a viewer every POST, PATCH and DELETE of the table (403 forbidden) and runs nothing of it', async () => {
    for (const schemas of [false, true]) {
      const { handler, called, idempotent } = allRoutes({ schemas });
      for (const r of routes.filter((x) => !isPublic(x) && isWrite(x))) {
        const res = await call(handler, eventFor(r, viewer, { body: '{}', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' } }));
        assert.equal(res.status, 403, keyOf(r));
        assert.equal(res.json?.error?.code, 'forbidden', keyOf(r));
      }
      assert.deepEqual(called, []);
      assert.deepEqual(idempotent, [], 'not even the idempotency record is written');
    }
  });

  it('refuses a signed-in user in neither group every non-public route (403), with or without other groups', async () => {
    const { handler, called } = allRoutes({ schemas: true });
    for (const claims of [nobody, { ...nobody, 'cognito:groups': '[someone-elses-group]' }, { ...nobody, 'cognito:groups': [] }]) {
      for (const r of routes.filter((x) => !isPublic(x))) {
        const res = await call(handler, eventFor(r, claims));
        assert.equal(res.status, 403, `${keyOf(r)} ${JSON.stringify(claims)}`);
        assert.equal(res.json?.error?.code, 'forbidden');
      }
    }
    assert.deepEqual(called, []);
  });

  it('refuses a non-public route without any authorizer context (fails closed)', async () => {
    const { handler, called } = allRoutes({ schemas: false });
    for (const r of routes.filter((x) => !isPublic(x))) {
      assert.equal((await call(handler, eventFor(r, undefined))).status, 403, keyOf(r));
    }
    assert.deepEqual(called, []);
  });

  it('serves the public routes to anyone: no authorizer context, no group, a viewer', async () => {
    const { handler, called } = allRoutes({ schemas: false });
    const open = routes.filter(isPublic);
    for (const claims of [undefined, nobody, viewer]) {
      for (const r of open) assert.equal((await call(handler, eventFor(r, claims))).status, 200, keyOf(r));
    }
    assert.deepEqual(called, [...open, ...open, ...open].map(keyOf));
  });

  it('refuses before reading the body: a viewer’s malformed, invalid or oversized body is 403, not 400 or 413', async () => {
    const { handler } = allRoutes({ schemas: true });
    const post = routes.find((r) => keyOf(r) === 'POST /networks')!;
    for (const body of ['{"name": ', '{"unknown": 1}', JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES) })]) {
      const res = await call(handler, eventFor(post, viewer, { body }));
      assert.equal(res.status, 403);
      assert.equal(res.json?.error?.code, 'forbidden');
    }
    // The admin gets the body's own answers.
    assert.equal((await call(handler, eventFor(post, admin, { body: '{"name": ' }))).status, 400);
    assert.equal((await call(handler, eventFor(post, admin, { body: JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES) }) }))).status, 413);
  });

  it('checks the groups the configuration names, not the defaults', async () => {
    const options = httpOptions(loadConfig({ TABLE_NAME: 't', SECRETS_TABLE_NAME: 's', AUTH_MODE: 'jwt', ADMIN_GROUP: 'ops', VIEWER_GROUP: 'helpdesk' }));
    assert.deepEqual(options.auth, { mode: 'jwt', adminGroup: 'ops', viewerGroup: 'helpdesk' });
    const w = fakeWorld();
    const networks = networksHandler(w.deps, { ...options, idempotency: w.idempotency });
    const list = routes.find((r) => keyOf(r) === 'GET /networks')!;
    assert.equal((await call(networks, eventFor(list, { sub: 's', 'cognito:groups': '[ops]' }))).status, 200);
    assert.equal((await call(networks, eventFor(list, { sub: 's', 'cognito:groups': '[helpdesk]' }))).status, 200);
    assert.equal((await call(networks, eventFor(list, admin))).status, 403, 'the default group means nothing here');
  });
});

describe('a real function behind the check (networks, in-memory stores)', () => {
  const create = routes.find((r) => keyOf(r) === 'POST /networks')!;
  const list = routes.find((r) => keyOf(r) === 'GET /networks')!;
  const remove = routes.find((r) => keyOf(r) === 'DELETE /networks/{network}')!;
  const body = JSON.stringify({ name: 'office', addressRange: '10.100.0.0/24' });

  it('creates for an admin, lists for a viewer, and stores and deletes nothing for a viewer or a user without a group', async () => {
    const w = fakeWorld();
    const handler = networksHandler(w.deps, { auth: jwt, idempotency: w.idempotency });
    for (const claims of [viewer, nobody]) {
      assert.equal((await call(handler, eventFor(create, claims, { body }))).status, 403);
    }
    assert.equal((await w.networks.list(100)).items.length, 0, 'nothing was created');
    assert.equal((await call(handler, eventFor(create, admin, { body }))).status, 201);
    const listed = await call(handler, eventFor(list, viewer));
    assert.equal(listed.status, 200);
    assert.equal((listed.json as unknown as { items: unknown[] }).items.length, 1);
    assert.equal((await call(handler, eventFor(list, nobody))).status, 403);
    assert.equal((await call(handler, eventFor(remove, viewer))).status, 403);
    assert.equal((await w.networks.list(100)).items.length, 1, 'the viewer deleted nothing');
    assert.equal((await call(handler, eventFor(remove, admin))).status, 204);
  });
});

describe('local mode (AUTH_MODE=token)', () => {
  it('treats the admin token as an admin: every route, no group needed', async () => {
    const adminToken = 'a'.repeat(43);
    const called: string[] = [];
    const defs = routes.map((r) => {
      const table = apiTables.find((t) => keyOf(r) in t) as Record<string, RouteApiSpec>;
      const def = routesOf(table)(keyOf(r), async () => {
        called.push(keyOf(r));
        return ok({});
      });
      return { ...def, body: undefined, query: undefined };
    });
    const handler = httpHandler(defs, { auth: { mode: 'token', adminToken }, idempotency: { once: async (_k, _p, run) => run() } });
    for (const r of routes) {
      const res = await call(handler, eventFor(r, undefined, { headers: { authorization: `Bearer ${adminToken}` } }));
      assert.equal(res.status, 200, keyOf(r));
      if (!isPublic(r)) assert.equal((await call(handler, eventFor(r, undefined, { headers: {} }))).status, 401, keyOf(r));
    }
    assert.equal(called.length, routes.length);
  });
});

describe('the caller in the access log', () => {
  const line = (requestId: string) => logLines.find((l) => l.message === 'request' && l.api_request_id === requestId);

  it('logs the token’s subject as caller and the Cognito username as caller_name, refused requests too', async () => {
    const { handler } = allRoutes({ schemas: false });
    const get = routes.find((r) => keyOf(r) === 'GET /networks')!;
    const post = routes.find((r) => keyOf(r) === 'POST /networks')!;
    for (const [claims, r, status, name] of [
      [admin, get, 200, 'ada'],
      [viewer, get, 200, 'vic'],
      [viewer, post, 403, 'vic'],
      [{ sub: 'sub-plain', 'cognito:groups': `[${ADMINS}]` }, get, 200, undefined],
    ] as const) {
      const event = eventFor(r, claims);
      assert.equal((await call(handler, event)).status, status);
      const logged = line(event.requestContext.requestId);
      assert.ok(logged, 'an access-log line');
      assert.equal(logged.caller, claims.sub);
      assert.equal(logged.caller_name, name);
      assert.equal(logged.status, status);
      assert.equal(logged.email, undefined);
    }
  });

  it('logs no caller on a public route', async () => {
    const { handler } = allRoutes({ schemas: false });
    const event = eventFor(routes.find(isPublic)!, undefined);
    await call(handler, event);
    const logged = line(event.requestContext.requestId);
    assert.ok(logged);
    assert.equal(logged.caller, undefined);
    assert.equal(logged.caller_name, undefined);
  });
});

describe('the OpenAPI document', () => {
  it('documents 403 on every non-public route and on no public one', () => {
    const doc = buildOpenApi() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const r of routes) {
      const responses = doc.paths[r.path]![r.method.toLowerCase()]!.responses;
      assert.equal('403' in responses, !isPublic(r), keyOf(r));
    }
  });
});
