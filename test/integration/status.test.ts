// Status and health through the real API in local record-only mode: the report schedule runs
// (every second here), the runner has no interface to report on and reports nothing, so a client's
// status stays null and the gateway's health shows the agent but invents no peer count. The metric
// names of issue 10 appear in the EMF documents the handlers and the worker write meanwhile.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createS3Client, S3ObjectStore } from '../../functions/adapters/s3/object-store.js';
import { REPORT_STEP_NAME, reportStdoutKey, statusSnapshotKey } from '../../functions/domain/object-keys.js';
import { LOCAL_S3_CREDENTIALS, LOCAL_S3_REGION } from '../../infra/local/s3-server.js';
import { until } from '../support/until.js';
import { useLocalApi } from '../support/local-api.js';

const api = useLocalApi({ statusIntervalSeconds: 1 });
const NET = 'statusnet';

const bucket = () =>
  new S3ObjectStore(createS3Client({ region: LOCAL_S3_REGION, endpoint: api.stack.s3Endpoint, forcePathStyle: true, credentials: LOCAL_S3_CREDENTIALS }), api.stack.bucket);

/** The EMF documents written so far: metric names by dimension set. */
function emfMetrics(): { names: string[]; dimensions: string[][]; doc: Record<string, unknown> }[] {
  const out: { names: string[]; dimensions: string[][]; doc: Record<string, unknown> }[] = [];
  for (const line of api.logs()) {
    if (!line.startsWith('{') || !line.includes('"_aws"')) continue;
    const doc = JSON.parse(line) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
    for (const d of doc._aws.CloudWatchMetrics) {
      if (d.Namespace !== 'WgIngress') continue;
      out.push({ names: d.Metrics.map((m) => m.Name), dimensions: d.Dimensions, doc: doc as unknown as Record<string, unknown> });
    }
  }
  return out;
}

describe('status and health in local record-only mode', () => {
  let gatewayId = '';

  it('a gateway that reports nothing has health with its agent and no invented counts; a client has status null (get and list)', async () => {
    assert.equal((await api.call('POST', '/networks', { name: NET, addressRange: '10.44.0.0/24' })).status, 201);
    const created = await api.call('POST', `/networks/${NET}/gateways`, { instanceId: 'i-0123456789abcdef4', endpoint: '192.0.2.44' });
    assert.equal(created.status, 202);
    assert.equal(created.json.health, null, 'no report run has seen the gateway yet');
    gatewayId = created.json.id;
    await until('ready', async () => (await api.call('GET', `/networks/${NET}/gateways/${gatewayId}`)).json, (g) => g.status === 'ready');
    const client = await api.call('POST', `/networks/${NET}/clients`, { gatewayId, name: 'quiet' });
    assert.equal(client.status, 201);
    assert.equal(client.json.status, null);
    const started = Date.now();
    // Two report runs after the client exists: the second would read what the first asked for.
    const g = await until(
      'two report runs',
      async () => (await api.call('GET', `/networks/${NET}/gateways/${gatewayId}`)).json,
      (x) => x.health !== null && Date.parse(x.health.observedAt) > started + 1000,
    );
    assert.deepEqual({ ...g.health, observedAt: undefined }, {
      agent: 'online',
      lastSeenAt: null,
      interfaceUp: null,
      peers: null,
      peersOnline: null,
      observedAt: undefined,
    });
    const list = (await api.call('GET', `/networks/${NET}/gateways`)).json;
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].health.agent, 'online');
    assert.equal(list.items[0].health.peers, null);
    const one = (await api.call('GET', `/networks/${NET}/clients/quiet`)).json;
    assert.equal(one.status, null);
    const page = (await api.call('GET', `/networks/${NET}/clients`)).json;
    assert.equal(page.items[0].name, 'quiet');
    assert.equal(page.items[0].status, null);
    // The runner was sent a report command but wrote no output where the agent would (and, while
    // that command may still answer, it is waited for rather than followed by another).
    const reports = api.stack.runner.list().filter((c) => c.kind === 'report' && c.instanceId === 'i-0123456789abcdef4');
    assert.equal(reports.length, 1, 'one report command, still pending');
    for (const r of reports) {
      assert.equal(r.mode, 'record');
      assert.equal(await bucket().getObject(reportStdoutKey(r.output!.keyPrefix, r.commandId, r.instanceId, REPORT_STEP_NAME)), undefined);
    }
  });

  it('keeps one snapshot per gateway and rewrites it at every run, the unanswered command still pending', async () => {
    const read = async () => JSON.parse((await bucket().getObject(statusSnapshotKey(NET, gatewayId)))!.toString('utf8'));
    const before = await read();
    assert.equal(before.gatewayId, gatewayId);
    assert.equal(before.report, null);
    assert.ok(before.pending?.commandId, 'the next run reads the report this one asked for');
    await api.stack.report();
    const after = await read();
    assert.ok(Date.parse(after.observedAt) > Date.parse(before.observedAt));
    assert.equal(after.requestedSince, before.requestedSince);
    assert.equal(after.pending.commandId, before.pending.commandId, 'a young command that has not answered is waited for');
  });

  it("an agent SSM cannot reach shows connection_lost at the next run", async () => {
    api.stack.runner.setOnline(false);
    try {
      await api.stack.report();
      // The API's reader trusts a snapshot it read for a few seconds before it asks again.
      const seen = await until('connection_lost', async () => (await api.call('GET', `/networks/${NET}/gateways/${gatewayId}`)).json, (x) => x.health.agent === 'connection_lost', 10_000);
      assert.equal(seen.health.peers, null);
    } finally {
      api.stack.runner.setOnline(true);
    }
  });

  it('writes the metrics of issue 10 as EMF (namespace WgIngress; gateway dimension where it applies)', async () => {
    // A failed apply: the peer set the queued command names is gone when the runner comes back.
    api.stack.runner.setOnline(false);
    const client = await api.call('POST', `/networks/${NET}/clients`, { gatewayId, name: 'unlucky' });
    assert.equal(client.status, 201);
    const sent = await until('apply sent', async () => (await api.call('GET', `/networks/${NET}/gateways/${gatewayId}`)).json, (g) => g.lastSync?.outcome === 'sent' && g.lastSync.commandId !== undefined); // the command itself, not its sender's claim
    for (const c of api.stack.runner.list().filter((x) => x.kind === 'apply' && x.state === 'queued')) await bucket().deleteObject(c.parameters.peerSetKey!);
    api.stack.runner.setOnline(true);
    await until('apply failed', async () => (await api.call('GET', `/networks/${NET}/gateways/${gatewayId}`)).json, (g) => g.lastSync?.outcome === 'failed' && g.lastSync.generation === sent.lastSync.generation);
    // A redeemed one-time link.
    const link = await api.call('POST', `/networks/${NET}/clients/quiet/links`, {});
    assert.equal(link.status, 201);
    const path = new URL(link.json.url).pathname;
    api.rememberToken(path.slice('/dl/'.length));
    const page = await api.call('POST', path, undefined, { token: null, raw: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(page.status, 200);
    await api.stack.report();

    // The sync invocation that saw the failure publishes its buffer when it ends (after its retry pause).
    await until('the sync run that failed ended', async () => emfMetrics(), (docs) => docs.some((d) => d.names.includes('ApplyFailures') && d.dimensions.every((set) => !set.includes('gateway'))), 30_000);
    const docs = emfMetrics();
    const named = (name: string) => docs.filter((d) => d.names.includes(name));
    const withGateway = (name: string) => named(name).filter((d) => d.dimensions.some((set) => set.includes('gateway')));
    const fleetWide = (name: string) => named(name).filter((d) => d.dimensions.every((set) => !set.includes('gateway')));
    const dim = `${NET}/${gatewayId}`;
    for (const name of ['ReportAgeSeconds', 'SyncLagSeconds', 'ApplyFailures']) {
      assert.ok(withGateway(name).some((d) => d.doc.gateway === dim), `${name} with gateway=${dim}`);
      assert.ok(fleetWide(name).length > 0, `${name} without a gateway dimension (what the alarms watch)`);
    }
    for (const name of ['ClientsOnline', 'PeersConfigured', 'CommandsSent', 'StaleGateways', 'GatewaysOutOfSync', 'LinkRedemptions']) {
      assert.ok(named(name).length > 0, `an EMF document with ${name}`);
    }
    // Record-only mode: the gateway reported no peers, so no per-gateway peer figures were invented.
    assert.equal(withGateway('PeersConfigured').filter((d) => d.doc.gateway === dim).length, 0);
    assert.equal(withGateway('ClientsOnline').filter((d) => d.doc.gateway === dim).length, 0);
  });

  it('documents status and health in /openapi.json', async () => {
    const doc = (await api.call('GET', '/openapi.json', undefined, { token: null })).json;
    const schemaOf = (path: string, method: string, code: string) => doc.paths[path][method].responses[code].content['application/json'].schema;
    const objectIn = (s: any) => s.anyOf.find((x: any) => x.type === 'object');
    const status = schemaOf('/networks/{network}/clients/{clientId}', 'get', '200').properties.status;
    assert.deepEqual(objectIn(status).required, ['online', 'lastHandshakeAt', 'rxBytes', 'txBytes', 'endpoint', 'observedAt']);
    assert.ok(status.anyOf.some((x: any) => x.type === 'null'), 'status may be null');
    assert.match(status.description, /null until the gateway has reported the peer/);
    const listed = schemaOf('/networks/{network}/clients', 'get', '200').properties.items.items.properties.status;
    assert.deepEqual(objectIn(listed).required, objectIn(status).required);
    const health = schemaOf('/networks/{network}/gateways/{gatewayId}', 'get', '200').properties.health;
    assert.deepEqual(objectIn(health).required, ['agent', 'lastSeenAt', 'interfaceUp', 'peers', 'peersOnline', 'observedAt']);
    assert.deepEqual(objectIn(health).properties.agent.enum, ['online', 'connection_lost', 'inactive', 'unknown']);
    assert.ok(schemaOf('/networks/{network}/gateways', 'get', '200').properties.items.items.properties.health);
  });
});
