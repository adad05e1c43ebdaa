// Powertools Logger lines of the one HTTP stack, read back from what the handlers wrote: JSON,
// request id, cold start, function name, caller, route template; refused requests logged too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BODY_BYTES } from '../../functions/http/http-handler.js';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi({ worker: false });

/** The access-log line of the request whose answer carried this API Gateway request id. */
function accessLine(apiRequestId: string): Record<string, unknown> {
  const lines = api.logs().map((l) => JSON.parse(l) as Record<string, unknown>);
  const line = lines.find((l) => l.message === 'request' && l.api_request_id === apiRequestId);
  assert.ok(line, `an access-log line for request ${apiRequestId}`);
  return line;
}

/** Sends a request and returns its access-log line (the local server puts the id in the event). */
async function logged(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const before = api.logs().length;
  const res = await api.call(method, path, undefined, { raw: init.body, headers: init.headers ?? {} });
  const fresh = api.logs().slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
  const line = fresh.find((l) => l.message === 'request');
  assert.ok(line, `${method} ${path} wrote an access-log line`);
  return { res, line: accessLine(String(line.api_request_id)) };
}

describe('request logs', () => {
  it('logs a request with its request id, function, cold start, caller and route template', async () => {
    const { res, line } = await logged('GET', '/networks');
    assert.equal(res.status, 200);
    assert.equal(line.level, 'INFO');
    assert.equal(line.status, 200);
    assert.equal(line.route, 'GET /networks');
    assert.equal(line.caller, 'local-admin');
    assert.equal(line.function_name, 'wg-ingress-networks');
    assert.match(String(line.function_request_id), /^[0-9a-f-]{36}$/);
    assert.equal(typeof line.cold_start, 'boolean');
    assert.equal(line.service, 'wg-ingress');
  });

  it('logs requests refused by a middleware like any other: malformed JSON (400) and a body too large (413)', async () => {
    const json = { 'content-type': 'application/json' };
    const malformed = await logged('POST', '/networks', { body: '{"name": ', headers: json });
    assert.equal(malformed.res.status, 400);
    assert.equal(malformed.line.status, 400);
    assert.equal(malformed.line.route, 'POST /networks');
    const big = await logged('POST', '/networks', { body: JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES) }), headers: json });
    assert.equal(big.res.status, 413);
    assert.equal(big.line.status, 413);
  });

  it('logs the route template of a one-time link, never its token', async () => {
    const token = 'A'.repeat(43);
    const { res, line } = await logged('GET', `/dl/${token}`);
    assert.equal(res.status, 404);
    assert.equal(line.route, 'GET /dl/{token}');
    assert.equal(line.caller, undefined, 'a public page has no caller');
    assert.ok(api.logs().every((l) => !l.includes(token)));
  });
});
