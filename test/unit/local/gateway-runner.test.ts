// The local runner in record mode (what a laptop without root gets): same validation, a gateway key
// kept in the data folder, the apply rules followed in TypeScript, and an offline switch.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../../functions/domain/errors.js';
import {
  buildApplyParameters,
  buildInitParameters,
  buildReportParameters,
  parseApplyOutput,
  parseInitOutput,
} from '../../../functions/domain/gateway-commands.js';
import { generateKeyPair, publicKeyFromPrivate } from '../../../functions/domain/keys.js';
import { peerSetDigest, renderPeerSet } from '../../../functions/domain/peer-set.js';
import { assertNoCredentialInParameters, LocalGatewayRunner } from '../../../infra/local/gateway-runner.js';
import { PeerSetObjects } from '../../support/peer-set-objects.js';

const dir = mkdtempSync(join(tmpdir(), 'wgi-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const INSTANCE = 'i-0123456789abcdef0';
const initParams = buildInitParameters(
  { interfaceName: 'wg0', listenPort: 51820, address: '10.100.0.1', routedRanges: [], fullTunnel: false },
  { addressRange: '10.100.0.0/24' },
);
const peers = [
  { publicKey: generateKeyPair().publicKey, allowedIps: ['10.100.0.2/32'] },
  { publicKey: generateKeyPair().publicKey, allowedIps: ['10.100.0.3/32'] },
];
const store = new PeerSetObjects();
const applyParams = (generation: number, text: string, digest = peerSetDigest(text)) =>
  buildApplyParameters({ interfaceName: 'wg0', generation, ...store.put(text, generation), peerSetSha256: digest });

describe('local gateway runner, record mode', () => {
  const runner = new LocalGatewayRunner({ dataDir: join(dir, 'data'), mode: 'record', objects: store.reader });

  it('init answers with the public key of a key pair kept (mode 600) in the data folder, the same every time', async () => {
    const first = await runner.wait((await runner.sendInit(INSTANCE, initParams)).commandId, INSTANCE);
    assert.equal(first.status, 'success');
    const { publicKey } = parseInitOutput(first.stdout!);
    const again = new LocalGatewayRunner({ dataDir: join(dir, 'data'), mode: 'record', objects: store.reader });
    const second = await again.wait((await again.sendInit(INSTANCE, initParams)).commandId, INSTANCE);
    assert.equal(parseInitOutput(second.stdout!).publicKey, publicKey);
    const keyFile = join(dir, 'data', 'gateway-keys', `${INSTANCE}-wg0.key`);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(publicKeyFromPrivate(readFileSync(keyFile, 'utf8').trim()), publicKey);
  });

  it('records what it would have run: the substituted script and the parameters', async () => {
    const { commandId } = await runner.sendInit(INSTANCE, initParams);
    await runner.wait(commandId, INSTANCE);
    const c = runner.details(commandId)!;
    assert.equal(c.mode, 'record');
    assert.match(c.script!, /^IFACE='wg0'$/m);
    assert.doesNotMatch(c.script!, /\{\{/);
    const log = readFileSync(join(dir, 'data', 'commands.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(log.some((e) => e.commandId === commandId && e.document === 'init' && e.parameters.interfaceName === 'wg0'));
  });

  it('applies a newer generation, skips an older one', async () => {
    const text = renderPeerSet(peers);
    const r = await runner.wait((await runner.sendApply(INSTANCE, applyParams(3, text))).commandId, INSTANCE);
    assert.deepEqual(parseApplyOutput(r.stdout!), { outcome: 'applied', generation: 3, peers: 2 });
    const old = await runner.wait((await runner.sendApply(INSTANCE, applyParams(2, ''))).commandId, INSTANCE);
    assert.deepEqual(parseApplyOutput(old.stdout!), { outcome: 'skipped', generation: 2, appliedGeneration: 3 });
  });

  it('refuses a wrong digest and a bad line like the script', async () => {
    const text = renderPeerSet(peers);
    const wrong = await runner.wait((await runner.sendApply(INSTANCE, applyParams(4, text, 'b'.repeat(64)))).commandId, INSTANCE);
    assert.equal(wrong.status, 'failed');
    assert.match(wrong.reason!, /digest_mismatch/);
    const garbage = text + 'PostUp = id\n';
    const bad = await runner.wait((await runner.sendApply(INSTANCE, applyParams(4, garbage))).commandId, INSTANCE);
    assert.equal(bad.status, 'failed');
    assert.match(bad.reason!, /bad_line/);
  });

  it('refuses hostile parameters when sending', async () => {
    await assert.rejects(
      runner.sendApply(INSTANCE, { ...applyParams(5, ''), stateDir: ['/tmp/$(id)'] }),
      (e: unknown) => e instanceof ValidationError && e.field === 'stateDir',
    );
    await assert.rejects(runner.sendInit(INSTANCE, { ...initParams, listenPort: ['1;id'] }), ValidationError);
  });

  it('keeps commands pending while offline and delivers them in order when back', async () => {
    runner.setOnline(false);
    const a = await runner.sendApply(INSTANCE, applyParams(6, renderPeerSet(peers.slice(0, 1))));
    const b = await runner.sendApply(INSTANCE, applyParams(7, renderPeerSet(peers)));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await runner.getResult(a.commandId, INSTANCE)).status, 'pending');
    assert.equal((await runner.getResult(b.commandId, INSTANCE)).status, 'pending');
    runner.setOnline(true);
    assert.deepEqual(parseApplyOutput((await runner.wait(a.commandId, INSTANCE)).stdout!), { outcome: 'applied', generation: 6, peers: 1 });
    assert.deepEqual(parseApplyOutput((await runner.wait(b.commandId, INSTANCE)).stdout!), { outcome: 'applied', generation: 7, peers: 2 });
  });

  it('times out undelivered commands after the delivery timeout', async () => {
    const offline = new LocalGatewayRunner({ dataDir: join(dir, 'data2'), mode: 'record', deliveryTimeoutMs: 30, objects: store.reader });
    offline.setOnline(false);
    const { commandId } = await offline.sendInit(INSTANCE, initParams);
    assert.equal((await offline.getResult(commandId, INSTANCE)).status, 'pending');
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(await offline.getResult(commandId, INSTANCE), { status: 'timed_out', reason: 'DeliveryTimedOut' });
    offline.setOnline(true);
    await offline.idle();
    assert.equal((await offline.getResult(commandId, INSTANCE)).status, 'timed_out');
    assert.ok(!existsSync(join(dir, 'data2', 'gateway-keys')), 'never ran');
  });

  it('refuses, before validating, any parameter holding a signed URL, any URL or a WireGuard key', async () => {
    const good = applyParams(8, renderPeerSet(peers));
    const refused: [string, string][] = [
      ['peerSetKey', 'peer-sets/x?X-Amz-Signature=abc'],
      ['peerSetUrl', 'https://b.s3.amazonaws.com/peer-sets/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0a'],
      ['peerSetBucket', 's3://wg-ingress-test'],
      ['stateDir', 'file:///etc/wireguard'],
      ['peerSetSha256', peers[0]!.publicKey],
    ];
    for (const [name, value] of refused) {
      await assert.rejects(runner.sendApply(INSTANCE, { ...good, [name]: [value] }), (e: unknown) => {
        assert.ok(e instanceof Error && !(e instanceof ValidationError), String(e));
        assert.match(e.message, new RegExp(`apply parameter ${name} holds`));
        return true;
      });
    }
    assert.throws(() => assertNoCredentialInParameters('init', { ...initParams, address: [generateKeyPair().privateKey] }), /WireGuard key/);
    assert.doesNotThrow(() => assertNoCredentialInParameters('apply', good));
  });

  it("fails an apply whose object is gone, as the document's download step would", async () => {
    const params = applyParams(9, renderPeerSet(peers));
    store.objects.delete(params.peerSetKey![0]!);
    const r = await runner.wait((await runner.sendApply(INSTANCE, params)).commandId, INSTANCE);
    assert.equal(r.status, 'failed');
    assert.match(r.reason!, /fetch_failed/);
  });

  it('answers failed for a command it does not know (e.g. after a restart)', async () => {
    assert.equal((await runner.getResult('nope', INSTANCE)).status, 'failed');
  });
});

describe('local gateway runner, reports', () => {
  const written: string[] = [];
  const runner = new LocalGatewayRunner({
    dataDir: join(dir, 'reports'),
    mode: 'record',
    objects: store.reader,
    outputs: async (_bucket, key) => void written.push(key),
  });
  const output = { bucket: 'wg-ingress-test', keyPrefix: 'reports/run-1' };

  it('record mode runs a report to several instances as one command and writes no output: nothing is invented', async () => {
    const ids = [INSTANCE, 'i-0123456789abcdef1'];
    const { commandId } = await runner.sendReport(ids, buildReportParameters({}), output);
    for (const id of ids) assert.equal((await runner.wait(commandId, id)).status, 'success');
    assert.deepEqual(written, []);
    assert.equal(runner.details(commandId, ids[1])?.output?.keyPrefix, 'reports/run-1');
    // Reports every interval would drown the record of what changed the gateways.
    const log = existsSync(join(dir, 'reports', 'commands.jsonl')) ? readFileSync(join(dir, 'reports', 'commands.jsonl'), 'utf8') : '';
    assert.doesNotMatch(log, /"document":"report"/);
  });

  it('checks a report like the document does: 1-50 instances, the stateDir pattern', async () => {
    await assert.rejects(runner.sendReport([], {}, output), /1 to 50/);
    await assert.rejects(runner.sendReport([INSTANCE], { stateDir: ["/tmp/x' ; reboot"] }, output), ValidationError);
  });

  it('answers agent states as SSM would: online while reachable, connection_lost while offline', async () => {
    assert.deepEqual(Object.fromEntries(await runner.agentStates([INSTANCE])), { [INSTANCE]: 'online' });
    runner.setOnline(false);
    assert.deepEqual(Object.fromEntries(await runner.agentStates([INSTANCE])), { [INSTANCE]: 'connection_lost' });
    runner.setOnline(true);
    const netns = new LocalGatewayRunner({ dataDir: join(dir, 'netns-agents'), mode: 'netns', namespaces: { [INSTANCE]: 'gw-ns' } });
    assert.deepEqual(Object.fromEntries(await netns.agentStates([INSTANCE, 'i-0123456789abcdef1'])), { [INSTANCE]: 'online', 'i-0123456789abcdef1': 'unknown' });
  });
});
