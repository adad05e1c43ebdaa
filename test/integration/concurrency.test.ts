import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi();

async function networkWithGateway(name: string, addressRange: string, addressRange6?: string): Promise<string> {
  const net = await api.call('POST', '/networks', { name, addressRange, ...(addressRange6 ? { addressRange6 } : {}) });
  assert.equal(net.status, 201, net.text);
  const gw = await api.call('POST', `/networks/${name}/gateways`, { instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.10' });
  assert.equal(gw.status, 202, gw.text);
  return gw.json.id;
}

describe('address allocation under concurrency', () => {
  it('gives 200 concurrent creations 200 distinct addresses', async () => {
    const gatewayId = await networkWithGateway('busy', '10.60.0.0/24', 'fd00:60::/120');
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => api.call('POST', '/networks/busy/clients', { gatewayId })),
    );
    const failed = answers.filter((a) => a.status !== 201);
    assert.equal(failed.length, 0, failed.map((f) => f.text).slice(0, 3).join('\n'));
    const v4 = new Set(answers.map((a) => a.json.address));
    const v6 = new Set(answers.map((a) => a.json.address6));
    const names = new Set(answers.map((a) => a.json.id));
    assert.equal(v4.size, 200);
    assert.equal(v6.size, 200);
    assert.equal(names.size, 200);
    assert.ok(!v4.has('10.60.0.1') && !v4.has('10.60.0.0') && !v4.has('10.60.0.255'));

    // What the API said is what the table holds.
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.call('GET', `/networks/busy/clients?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      listed.push(...page.json.items.map((c: { address: string }) => c.address));
      cursor = page.json.nextCursor;
    } while (cursor);
    assert.deepEqual(new Set(listed), v4);
    const gw = await api.call('GET', `/networks/busy/gateways/${gatewayId}`);
    const generations = answers.map((a) => a.json.generation as number);
    assert.equal(new Set(generations).size, 200, 'every creation wrote its own generation');
    assert.equal(gw.json.desiredGeneration, Math.max(...generations), 'the gateway holds the last one');
  });

  it('fills a /29 and then answers 409 address pool exhausted', async () => {
    const gatewayId = await networkWithGateway('tiny', '10.61.0.0/29');
    // 8 addresses: network and broadcast reserved, one for the gateway, 5 left for clients.
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.call('POST', '/networks/tiny/clients', { gatewayId })));
    const ok = answers.filter((a) => a.status === 201);
    const full = answers.filter((a) => a.status === 409);
    assert.equal(ok.length, 5);
    assert.equal(full.length, 3);
    for (const f of full) {
      assert.equal(f.json.error.code, 'address_pool_exhausted');
      assert.match(f.json.error.message, /address pool exhausted.*10\.61\.0\.0\/29/);
    }
    assert.deepEqual(new Set(ok.map((a) => a.json.address)), new Set(['10.61.0.2', '10.61.0.3', '10.61.0.4', '10.61.0.5', '10.61.0.6']));
    const again = await api.call('POST', '/networks/tiny/clients', { gatewayId, name: 'late' });
    assert.equal(again.status, 409);
    assert.equal((await api.call('GET', '/networks/tiny/clients/late')).status, 404, 'nothing was written for the refused client');
    // Freeing one address makes room for exactly one more.
    assert.equal((await api.call('DELETE', `/networks/tiny/clients/${ok[0]!.json.id}`)).status, 204);
    const reuse = await api.call('POST', '/networks/tiny/clients', { gatewayId, name: 'late' });
    assert.equal(reuse.status, 201);
    assert.equal(reuse.json.address, ok[0]!.json.address);
  });

  it('lets only one of many concurrent creations with the same name win', async () => {
    const gatewayId = await networkWithGateway('names', '10.62.0.0/24');
    const answers = await Promise.all(Array.from({ length: 20 }, () => api.call('POST', '/networks/names/clients', { gatewayId, name: 'same' })));
    assert.equal(answers.filter((a) => a.status === 201).length, 1);
    assert.equal(answers.filter((a) => a.status === 409 && a.json.error.field === 'name').length, 19);
    const list = await api.call('GET', '/networks/names/clients');
    assert.equal(list.json.items.length, 1);
  });
});
