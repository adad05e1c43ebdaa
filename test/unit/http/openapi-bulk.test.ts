// The OpenAPI document describes the bulk routes as the stack checks them: the import's items one
// by one (JSON and CSV bodies), its per-item result shape, and the export's two formats.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildOpenApi } from '../../../functions/http/openapi.js';

const doc = buildOpenApi() as { paths: Record<string, Record<string, any>> };

describe('the OpenAPI document of import and export', () => {
  it('documents the import body with its items, a text/csv body, the Idempotency-Key and the per-item results', () => {
    const op = doc.paths['/networks/{network}/clients-import']!.post;
    const body = op.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required, ['gatewayId', 'clients']);
    assert.equal(body.properties.clients.maxItems, 1000);
    assert.deepEqual(Object.keys(body.properties.clients.items.properties).sort(), ['address', 'address6', 'dns', 'expiresAt', 'name', 'publicKey']);
    assert.ok(op.requestBody.content['text/csv']);
    assert.ok(op.parameters.some((p: any) => p.name === 'Idempotency-Key' && p.in === 'header'));
    assert.ok(op.parameters.some((p: any) => p.name === 'gatewayId' && p.in === 'query'));
    const answer = op.responses['200'].content['application/json'].schema;
    assert.deepEqual(answer.required, ['created', 'failed', 'results']);
    const [created, failed] = answer.properties.results.items.oneOf;
    assert.deepEqual(created.required, ['index', 'status', 'client']);
    assert.deepEqual(failed.required, ['index', 'status', 'error']);
    assert.ok(failed.properties.error.properties.field);
    for (const status of ['400', '401', '403', '404', '409', '413', '422']) assert.ok(op.responses[status], status);
  });

  it('documents the export with its format and both answer types', () => {
    const op = doc.paths['/networks/{network}/clients-export']!.get;
    const format = op.parameters.find((p: any) => p.name === 'format');
    assert.deepEqual(format.schema.enum, ['csv', 'json']);
    assert.deepEqual(Object.keys(op.responses['200'].content).sort(), ['application/json', 'text/csv']);
    assert.match(op.responses['200'].description, /signed URL/);
  });
});
