// Every field rule of DESIGN §4: a bad value gets a 400 that names the field and the rule, and
// nothing is written (both tables are compared item for item before and after).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { localClient } from '../../infra/local/dynamodb.js';
import { generateKeyPair } from '../../functions/domain/keys.js';
import { useLocalApi } from '../support/local-api.js';

// No sync worker: it writes the gateway's sync state on its own, which would blur "nothing written".
const api = useLocalApi({ worker: false });

async function snapshot(): Promise<string> {
  const client = localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials);
  const parts: string[] = [];
  for (const table of [api.stack.tableName, api.stack.secretsTableName]) {
    const out = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    parts.push(...(out.Items ?? []).map((i) => JSON.stringify(i)).sort());
  }
  client.destroy();
  return parts.join('\n');
}

interface Case {
  what: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  field: string;
  rule: RegExp;
}

let gatewayId = '';
const key = generateKeyPair().publicKey;

function cases(): Case[] {
  const net = (body: Record<string, unknown>, field: string, rule: RegExp, what: string): Case => ({
    what: `network ${what}`, method: 'POST', path: '/networks', body: { name: 'n2', addressRange: '10.2.0.0/24', ...body }, field, rule,
  });
  const gw = (body: Record<string, unknown>, field: string, rule: RegExp, what: string): Case => ({
    what: `gateway ${what}`, method: 'POST', path: '/networks/v/gateways', body: { instanceId: 'i-0123456789abcdef0', endpoint: 'vpn.example.com', ...body }, field, rule,
  });
  const cl = (body: Record<string, unknown>, field: string, rule: RegExp, what: string): Case => ({
    what: `client ${what}`, method: 'POST', path: '/networks/v/clients', body: { gatewayId, ...body }, field, rule,
  });
  const patch = (body: Record<string, unknown>, field: string, rule: RegExp, what: string): Case => ({
    what: `client patch ${what}`, method: 'PATCH', path: '/networks/v/clients/c1', body, field, rule,
  });
  return [
    net({ name: 'has space' }, 'name', /must match/, 'name with a space'),
    net({ name: '-leading' }, 'name', /must match/, 'name starting with -'),
    net({ name: 'a'.repeat(33) }, 'name', /must match/, 'name of 33 characters'),
    net({ name: 'new\nline' }, 'name', /must match/, 'name with a newline'),
    net({ name: "quo'te" }, 'name', /must match/, 'name with a quote'),
    net({ name: 42 }, 'name', /string/, 'name that is a number'),
    net({ addressRange: 'banana' }, 'addressRange', /./, 'range that is not a CIDR'),
    net({ addressRange: '10.2.0.5/24' }, 'addressRange', /host bits.*10\.2\.0\.0\/24/, 'range with host bits set'),
    net({ addressRange: '10.2.0.0/31' }, 'addressRange', /prefix|\/30/, 'range too small'),
    net({ addressRange: '10.0.0.0/7' }, 'addressRange', /prefix|\/8/, 'range too large'),
    net({ addressRange: 'fd00::/64' }, 'addressRange', /IPv4|address/i, 'IPv6 range in the IPv4 field'),
    net({ addressRange: '010.2.0.0/24' }, 'addressRange', /./, 'range with a leading zero'),
    net({ addressRange6: '10.3.0.0/24' }, 'addressRange6', /IPv6|address/i, 'IPv4 range in the IPv6 field'),
    net({ addressRange6: 'fd00::/48' }, 'addressRange6', /prefix|\/64/, 'IPv6 range too large'),
    net({ defaultDns: ['dns.example.com'] }, 'defaultDns.0', /IPv4 or IPv6 address/, 'DNS that is a host name'),
    net({ defaultDns: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4'] }, 'defaultDns', /at most 3/, 'four DNS servers'),
    net({ defaultDns: ['1.1.1.1\n[Peer]'] }, 'defaultDns.0', /./, 'DNS with a newline'),
    net({ extra: 1 }, 'extra', /unknown field/, 'unknown field'),

    gw({ instanceId: 'i-123' }, 'instanceId', /i-0123456789abcdef0/, 'short instance id'),
    gw({ instanceId: 'i-0123456789abcdef0;reboot' }, 'instanceId', /must match/, 'instance id with a command'),
    gw({ endpoint: 'vpn.example.com:51820' }, 'endpoint', /./, 'endpoint with a port'),
    gw({ endpoint: '[2001:db8::1]' }, 'endpoint', /./, 'endpoint in brackets'),
    gw({ endpoint: 'vpn.example.com\nPostUp = rm -rf /' }, 'endpoint', /./, 'endpoint with a newline'),
    gw({ endpoint: '$(reboot)' }, 'endpoint', /./, 'endpoint with a command substitution'),
    gw({ endpoint: 'a'.repeat(64) + '.com' }, 'endpoint', /./, 'endpoint label over 63 characters'),
    gw({ listenPort: 0 }, 'listenPort', /1/, 'port 0'),
    gw({ listenPort: 70000 }, 'listenPort', /65535/, 'port above 65535'),
    gw({ listenPort: '51820' }, 'listenPort', /number/, 'port as a string'),
    gw({ routedRanges: ['192.168.1.0/33'] }, 'routedRanges.0', /./, 'routed range with prefix 33'),
    gw({ routedRanges: Array.from({ length: 17 }, (_, i) => `192.168.${i}.0/24`) }, 'routedRanges', /at most 16/, '17 routed ranges'),
    gw({ fullTunnel: 'yes' }, 'fullTunnel', /boolean/, 'fullTunnel as a string'),
    gw({ mtu: 1000 }, 'mtu', /1280/, 'MTU below the IPv6 minimum'),
    gw({ persistentKeepalive: 0 }, 'persistentKeepalive', /1/, 'keepalive 0'),
    gw({ dns: ['not-an-ip'] }, 'dns.0', /IPv4 or IPv6/, 'gateway DNS that is not an IP'),

    cl({ gatewayId: 'gw-bad' }, 'gatewayId', /gateway id/, 'malformed gateway id'),
    cl({ name: 'bad/name' }, 'name', /must match/, 'name with a slash'),
    cl({ publicKey: key.slice(0, 43) }, 'publicKey', /32 bytes/, 'key of 43 characters'),
    cl({ publicKey: `${key}\n` }, 'publicKey', /32 bytes/, 'key with a newline'),
    cl({ publicKey: Buffer.alloc(33).toString('base64') }, 'publicKey', /32 bytes/, 'key of 33 bytes'),
    cl({ address: '10.9.0.5' }, 'address', /outside/, 'address outside the network'),
    cl({ address: '10.50.0.0' }, 'address', /network address.*reserved/, 'the network address'),
    cl({ address: '10.50.0.255' }, 'address', /broadcast.*reserved/, 'the broadcast address'),
    cl({ address: 'fd00:50::5' }, 'address', /IPv6/, 'IPv6 address in the IPv4 field'),
    cl({ address: '10.50.0.010' }, 'address', /./, 'address with a leading zero'),
    cl({ address6: 'fd00:99::5' }, 'address6', /outside/, 'IPv6 address outside the network'),
    cl({ dns: ['8.8.8.8', 'x'] }, 'dns.1', /IPv4 or IPv6/, 'client DNS that is not an IP'),
    cl({ presharedKey: 'short' }, 'presharedKey', /./, 'malformed preshared key'),
    cl({ expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt', /future/, 'expiry in the past'),
    cl({ expiresAt: 'tomorrow' }, 'expiresAt', /ISO 8601/, 'expiry that is not a date'),
    cl({ privateKey: key }, 'privateKey', /unknown field/, 'a private key field'),

    patch({ enabled: 'no' }, 'enabled', /boolean/, 'enabled as a string'),
    patch({ dns: ['1.1.1.1;'] }, 'dns.0', /IPv4 or IPv6/, 'dns with a semicolon'),
    patch({ expiresAt: '1999-12-31T23:59:59Z' }, 'expiresAt', /future/, 'expiry in the past'),
    patch({ version: 0 }, 'version', /1/, 'version 0'),
    patch({ address: '10.50.0.9' }, 'address', /unknown field/, 'address (not changeable)'),

    { what: 'network patch with a bad DNS', method: 'PATCH', path: '/networks/v', body: { defaultDns: ['x'] }, field: 'defaultDns.0', rule: /IPv4 or IPv6/ },
    { what: 'list limit 0', method: 'GET', path: '/networks/v/clients?limit=0', field: 'limit', rule: /1/ },
    { what: 'list limit 101', method: 'GET', path: '/networks/v/clients?limit=101', field: 'limit', rule: /100/ },
    { what: 'list with a forged cursor', method: 'GET', path: `/networks/v/clients?cursor=${Buffer.from(JSON.stringify({ pk: 'NETWORKS', sk: 'NET#v' })).toString('base64url')}`, field: 'cursor', rule: /nextCursor/ },
    { what: 'list with an unknown parameter', method: 'GET', path: '/networks/v/clients?sort=asc', field: 'sort', rule: /unknown field/ },
    { what: 'body that is not JSON', method: 'POST', path: '/networks', raw: '{"name":', field: 'body', rule: /JSON/ },
    { what: 'body that is an array', method: 'POST', path: '/networks', raw: '[1,2]', field: 'body', rule: /JSON object/ },
  ];
}

describe('field validation', () => {
  before(async () => {
    assert.equal((await api.call('POST', '/networks', { name: 'v', addressRange: '10.50.0.0/24', addressRange6: 'fd00:50::/112' })).status, 201);
    const gw = await api.call('POST', '/networks/v/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: 'vpn.example.com' });
    gatewayId = gw.json.id;
    assert.equal((await api.call('POST', '/networks/v/clients', { gatewayId, name: 'c1' })).status, 201);
  });

  it('answers 400 naming the field and the rule, and writes nothing, for every bad value', async () => {
    const all = cases();
    assert.ok(all.length >= 60);
    const before = await snapshot();
    for (const c of all) {
      const headers = c.raw !== undefined ? { 'content-type': 'application/json' } : undefined;
      const res = await api.call(c.method, c.path, c.body, { raw: c.raw, headers });
      assert.equal(res.status, 400, `${c.what}: ${res.text}`);
      assert.equal(res.json.error.code, 'validation_failed', c.what);
      assert.equal(res.json.error.field, c.field, `${c.what}: ${res.text}`);
      assert.match(res.json.error.message, c.rule, `${c.what}: ${res.text}`);
      assert.ok(!res.text.includes('\n[Peer]') && !res.text.includes('rm -rf'), `${c.what}: the answer echoes the bad value`);
    }
    assert.equal(await snapshot(), before, 'a refused request changed the tables');
  });

  it('refuses a body over 16 KiB with 413 and writes nothing', async () => {
    const before = await snapshot();
    const res = await api.call('POST', '/networks', { name: 'big', addressRange: '10.3.0.0/24', pad: 'x'.repeat(17 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, 'payload_too_large');
    assert.equal(await snapshot(), before);
  });

  it('refuses an IPv6 address for a client of a network without an IPv6 range', async () => {
    assert.equal((await api.call('POST', '/networks', { name: 'v4only', addressRange: '10.51.0.0/24' })).status, 201);
    const gw = await api.call('POST', '/networks/v4only/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.1' });
    const before = await snapshot();
    const res = await api.call('POST', '/networks/v4only/clients', { gatewayId: gw.json.id, address6: 'fd00::5' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.field, 'address6');
    assert.match(res.json.error.message, /no IPv6 range/);
    assert.equal(await snapshot(), before);
  });
});
