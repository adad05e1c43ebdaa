import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { expiredSinceApplied, peerEntries, retryDelay, SKIPPED_LISTED, syncGateway, type SyncDeps } from '../../../functions/app/gateway-sync.js';
import type { AppliedRecord, GatewayCommandSender, GatewayStore } from '../../../functions/app/ports.js';
import type { CommandParameters, CommandResult } from '../../../functions/domain/gateway-commands.js';
import { generationStamp } from '../../../functions/domain/generation.js';
import { generateKeyPair } from '../../../functions/domain/keys.js';
import type { Client, Gateway, SyncResult } from '../../../functions/domain/model.js';
import { parsePeerSet, peerSetDigest } from '../../../functions/domain/peer-set.js';

const gatewayKey = generateKeyPair().publicKey;

function client(name: string, extra: Partial<Client> = {}): Client {
  return {
    id: name, name, network: 'n', gatewayId: 'gw-aaaaaaaaaa', address: `10.0.0.${name.length + 10}`, publicKey: generateKeyPair().publicKey,
    dns: [], enabled: true, hasPrivateKey: true, hasPresharedKey: false, generation: 1, createdAt: '', updatedAt: '', version: 1, ...extra,
  };
}

/** A gateway store in memory, with the same forward-only rule for appliedGeneration. */
function memoryGateways(initial: Gateway): GatewayStore & { current: Gateway } {
  const store = {
    current: { ...initial },
    async get() { return { ...store.current }; },
    async recordSync(_n: string, _id: string, result: SyncResult, applied?: AppliedRecord) {
      if (applied !== undefined && applied.generation <= store.current.appliedGeneration) return;
      store.current = {
        ...store.current,
        lastSync: result,
        ...(applied !== undefined ? { appliedGeneration: applied.generation, ...(applied.vector ? { appliedShards: applied.vector } : {}) } : {}),
      };
    },
    async claimApply(_n: string, _id: string, claim: SyncResult, staleBefore: string) {
      const last = store.current.lastSync;
      const free = !last || last.outcome !== 'sent' || (last.commandId === undefined && last.at < staleBefore);
      if (!(store.current.appliedGeneration < claim.generation && free)) return false;
      store.current = { ...store.current, lastSync: claim };
      return true;
    },
    async releaseApply(_n: string, _id: string, token: string, previous: SyncResult | undefined) {
      if (store.current.lastSync?.claim !== token) return;
      const { lastSync: _l, ...rest } = store.current;
      store.current = previous ? { ...rest, lastSync: previous } : rest;
    },
    async recordInit(_n: string, _id: string, o: { status: 'ready' | 'error'; publicKey?: string; reason?: string }) {
      const { initCommand: _c, ...rest } = store.current;
      store.current = { ...rest, status: o.status, ...(o.publicKey ? { publicKey: o.publicKey } : {}), ...(o.reason ? { statusReason: o.reason } : {}) };
    },
    async markInitSent(_n: string, _id: string, command: { commandId: string; at: string }) {
      store.current = { ...store.current, initCommand: command };
    },
  };
  return store as unknown as GatewayStore & { current: Gateway };
}

/** Records what was sent; answers as the gateway's documents would. */
function fakeGateway(behaviour: { failApplies?: number } = {}) {
  const sent: { kind: 'init' | 'apply'; params: CommandParameters }[] = [];
  const results = new Map<string, CommandResult>();
  let failures = behaviour.failApplies ?? 0;
  const sender: GatewayCommandSender = {
    async sendInit(_i, params) {
      sent.push({ kind: 'init', params });
      const id = `c${sent.length}`;
      results.set(id, { status: 'success', stdout: `WG_INGRESS_PUBLIC_KEY=${gatewayKey}\nWG_INGRESS_INIT_OK\n` });
      return { commandId: id };
    },
    async sendApply(_i, params) {
      sent.push({ kind: 'apply', params });
      const id = `c${sent.length}`;
      if (failures > 0) {
        failures--;
        results.set(id, { status: 'failed', reason: 'Failed: exit code 1' });
      } else {
        results.set(id, { status: 'success', stdout: `WG_INGRESS_APPLIED generation=${params.generation![0]} peers=2\n` });
      }
      return { commandId: id };
    },
    async sendTeardown() {
      return { commandId: 'teardown' };
    },
    async getResult(id) {
      return results.get(id) ?? { status: 'pending' };
    },
  };
  return { sender, sent };
}

type TestObjects = { stored: Map<string, string>; deleted: string[] };
function deps(gateways: GatewayStore, sender: GatewayCommandSender, clients: Client[], clock: { t: number }): SyncDeps & { objects: TestObjects } {
  const stored = new Map<string, string>();
  const deleted: string[] = [];
  return {
    networks: { get: async () => ({ id: 'n', name: 'n', addressRange: '10.0.0.0/24', defaultDns: [], createdAt: '', updatedAt: '', version: 1 }) },
    gateways,
    clients: { allOfGateway: async () => clients, getMany: async (_n, names) => clients.filter((c) => names.includes(c.name)) },
    secrets: { get: async () => ({}), getMany: async (_n, names) => new Map(names.map((c) => [c, { presharedKey: generateKeyPair().publicKey }])) },
    objects: {
      bucket: 'wg-ingress-test',
      stored,
      deleted,
      putObject: async (key: string, body: string | Uint8Array) => void stored.set(key, String(body)),
      getObject: async () => undefined,
      // Kept in `stored` for the assertions; `deleted` says what the worker removed.
      deleteObject: async (key: string) => void deleted.push(key),
      signedGetUrl: async () => assert.fail('the worker signs no URL'),
    },
    commands: sender,
    clock: { now: () => new Date(clock.t) },
    random: Math.random,
    randomBytes,
    pollIntervalMs: 1,
    sleep: async (ms) => void (clock.t += ms),
  } as SyncDeps & { objects: TestObjects };
}

const pendingGateway = (): Gateway => ({
  id: 'gw-aaaaaaaaaa', network: 'n', instanceId: 'i-0123456789abcdef0', endpoint: '192.0.2.1', listenPort: 51820,
  interfaceName: 'wgi-aaaaaaaaaa', address: '10.0.0.1', routedRanges: [], fullTunnel: false, dns: [], status: 'pending',
  desiredGeneration: 0, appliedGeneration: 0, createdAt: '', updatedAt: '', version: 1,
});

describe('syncGateway', () => {
  it('runs init, records the reported public key, then applies the enabled peers at the current generation', async () => {
    const clock = { t: Date.parse('2026-11-26T00:00:00Z') };
    const g = memoryGateways({ ...pendingGateway(), desiredGeneration: generationStamp(clock.t) });
    const { sender, sent } = fakeGateway();
    const peers = [client('a'), client('bb', { enabled: false }), client('ccc', { hasPresharedKey: true }), client('dddd', { expiresAt: '2020-01-01T00:00:00Z' })];
    const d = deps(g, sender, peers, clock);
    const outcome = await syncGateway(d, 'n', 'gw-aaaaaaaaaa', 10_000);
    assert.equal(outcome.state, 'in-sync');
    assert.deepEqual(sent.map((s) => s.kind), ['init', 'apply']);
    assert.equal(g.current.status, 'ready');
    assert.equal(g.current.publicKey, gatewayKey);
    assert.equal(g.current.appliedGeneration, g.current.desiredGeneration);
    const [text] = [...d.objects.stored.values()];
    const parsed = parsePeerSet(text!);
    assert.deepEqual(parsed.map((p) => p.publicKey).sort(), [peers[0]!.publicKey, peers[2]!.publicKey].sort(), 'disabled and expired clients are left out');
    assert.ok(parsed.find((p) => p.publicKey === peers[2]!.publicKey)?.presharedKey, 'the preshared key travels with its peer');
    assert.equal(sent[1]!.params.peerSetSha256![0], peerSetDigest(text!));
    const [key] = [...d.objects.stored.keys()];
    assert.deepEqual(sent[1]!.params.peerSetBucket, ['wg-ingress-test']);
    assert.deepEqual(sent[1]!.params.peerSetKey, [key]);
    assert.match(key!, /^peer-sets\/n\/gw-aaaaaaaaaa\/\d+-[0-9a-f]{16}\.conf$/);
    assert.deepEqual(d.objects.deleted, [key], 'the peer set is deleted once its apply result is recorded');
    assert.equal(g.current.lastSync?.peerSetKey, undefined, 'the recorded result no longer names it');
  });

  it('deletes the peer set of a failed apply too, after recording the failure, and every retry uploads its own', async () => {
    const clock = { t: 1_000_000 };
    const g = memoryGateways({ ...pendingGateway(), status: 'ready', publicKey: gatewayKey, desiredGeneration: 9 });
    const { sender, sent } = fakeGateway({ failApplies: 1 });
    const d = deps(g, sender, [client('a')], clock);
    const deletedWhenRecorded: number[] = [];
    const record = g.recordSync.bind(g);
    g.recordSync = async (...args) => {
      deletedWhenRecorded.push(d.objects.deleted.length);
      return record(...args);
    };
    const outcome = await syncGateway(d, 'n', 'gw-aaaaaaaaaa', 60_000);
    assert.equal(outcome.state, 'in-sync');
    const keys = sent.map((c) => c.params.peerSetKey![0]!);
    assert.equal(keys.length, 2);
    assert.notEqual(keys[0], keys[1]);
    assert.deepEqual(d.objects.deleted, keys, 'failed and applied alike');
    // sent, failed (nothing deleted yet), sent, applied (the failed one's deleted by then).
    assert.deepEqual(deletedWhenRecorded, [0, 0, 1, 1]);
  });

  it('deletes the peer set again when the command cannot be sent', async () => {
    const clock = { t: 1_000_000 };
    const g = memoryGateways({ ...pendingGateway(), status: 'ready', publicKey: gatewayKey, desiredGeneration: 9 });
    const { sender } = fakeGateway();
    sender.sendApply = async () => {
      throw new Error('ThrottlingException');
    };
    const d = deps(g, sender, [client('a')], clock);
    await assert.rejects(syncGateway(d, 'n', 'gw-aaaaaaaaaa', 1000), /ThrottlingException/);
    assert.deepEqual(d.objects.deleted, [...d.objects.stored.keys()]);
  });

  it('leaves clients it cannot render out, applies the others and reports them in lastSync instead of stalling', async () => {
    const clock = { t: 1_000_000 };
    const g = memoryGateways({ ...pendingGateway(), status: 'ready', publicKey: gatewayKey, desiredGeneration: 9 });
    const { sender, sent } = fakeGateway();
    const shared = generateKeyPair().publicKey;
    const peers = [
      client('good', { address: '10.0.0.20' }),
      client('twin-a', { address: '10.0.0.21', publicKey: shared }),
      client('twin-b', { address: '10.0.0.22', publicKey: shared }),
      client('mimic', { address: '10.0.0.23', publicKey: gatewayKey }),
      client('broken', { address: '10.0.0.x' }),
      client('off', { address: '10.0.0.25', publicKey: shared, enabled: false }),
    ];
    const d = deps(g, sender, peers, clock);
    const outcome = await syncGateway(d, 'n', 'gw-aaaaaaaaaa', 1000);
    assert.equal(outcome.state, 'in-sync');
    assert.equal(outcome.peersLeftOut, 4, 'the worker reports it too (a warning and a metric)');
    assert.equal(g.current.appliedGeneration, 9);
    assert.deepEqual(sent.map((c) => c.kind), ['apply']);
    const [text] = [...d.objects.stored.values()];
    assert.deepEqual(parsePeerSet(text!).map((p) => p.publicKey), [peers[0]!.publicKey]);
    const last = g.current.lastSync!;
    assert.equal(last.outcome, 'applied');
    assert.deepEqual(last.skipped?.map((x) => [x.client, x.code]), [
      ['broken', 'invalid_address'],
      ['mimic', 'gateway_public_key'],
      ['twin-a', 'repeated_public_key'],
      ['twin-b', 'repeated_public_key'],
    ]);
    assert.equal(last.skippedCount, 4);
    assert.match(last.message ?? '', /4 clients left out of the peer set/);
  });

  it('lists at most SKIPPED_LISTED left-out clients by name and counts them all', async () => {
    const clock = { t: 1_000_000 };
    const g = memoryGateways({ ...pendingGateway(), status: 'ready', publicKey: gatewayKey, desiredGeneration: 9 });
    const { sender } = fakeGateway();
    const peers = Array.from({ length: SKIPPED_LISTED + 5 }, (_, i) => client(`bad-${String(i).padStart(3, '0')}`, { publicKey: 'x' }));
    await syncGateway(deps(g, sender, peers, clock), 'n', 'gw-aaaaaaaaaa', 1000);
    assert.equal(g.current.appliedGeneration, 9);
    assert.equal(g.current.lastSync?.skipped?.length, SKIPPED_LISTED);
    assert.equal(g.current.lastSync?.skippedCount, SKIPPED_LISTED + 5);
  });

  it('does nothing for a gateway that is in sync', async () => {
    const clock = { t: 1_000_000 };
    const g = memoryGateways({ ...pendingGateway(), status: 'ready', publicKey: gatewayKey, desiredGeneration: 5, appliedGeneration: 5 });
    const { sender, sent } = fakeGateway();
    assert.equal((await syncGateway(deps(g, sender, [], clock), 'n', 'gw-aaaaaaaaaa', 1000)).state, 'in-sync');
    assert.equal(sent.length, 0);
  });

  it('records a failed apply and retries it after the backoff, not before', async () => {
    const clock = { t: 1_000_000 };
    const g = memoryGateways({ ...pendingGateway(), status: 'ready', publicKey: gatewayKey, desiredGeneration: 7 });
    const { sender, sent } = fakeGateway({ failApplies: 1 });
    const d = deps(g, sender, [client('a')], clock);
    const first = await syncGateway(d, 'n', 'gw-aaaaaaaaaa', 1000);
    assert.equal(first.state, 'waiting');
    assert.equal(g.current.lastSync?.outcome, 'failed');
    assert.equal(g.current.lastSync?.failures, 1);
    assert.match(g.current.lastSync?.message ?? '', /exit code 1/);
    assert.equal(sent.length, 1);
    const second = await syncGateway(d, 'n', 'gw-aaaaaaaaaa', retryDelay(1) + 1000);
    assert.equal(second.state, 'in-sync');
    assert.equal(sent.length, 2);
    // The retry carries a number above the failed one's (the gateway ignores one not above the
    // last it ran) and covers the generation read.
    assert.deepEqual(sent.map((c) => Number(c.params.generation![0])), [7, 8]);
    assert.equal(g.current.appliedGeneration, 8);
    assert.deepEqual(g.current.appliedShards, { gw: 7 });
  });

  it('marks the gateway error with the reason when init fails', async () => {
    const clock = { t: 1_000_000 };
    const g = memoryGateways(pendingGateway());
    const sender: GatewayCommandSender = {
      sendInit: async () => ({ commandId: 'x' }),
      sendApply: async () => ({ commandId: 'y' }),
      sendTeardown: async () => ({ commandId: 'z' }),
      getResult: async () => ({ status: 'failed', reason: 'Undeliverable: instance not managed' }),
    };
    const outcome = await syncGateway(deps(g, sender, [], clock), 'n', 'gw-aaaaaaaaaa', 1000);
    assert.equal(outcome.state, 'error');
    assert.equal(g.current.status, 'error');
    assert.match(g.current.statusReason ?? '', /Undeliverable/);
  });
});

describe('expiries and retries', () => {
  it('finds clients that expired after the applied peer set was made', () => {
    const now = new Date('2026-06-01T00:00:10Z');
    const applied = Date.parse('2026-06-01T00:00:05Z') * 100;
    const expired = expiredSinceApplied(
      [
        client('a', { expiresAt: '2026-06-01T00:00:08Z' }),
        client('b', { expiresAt: '2026-06-01T00:00:01Z' }),
        client('c', { expiresAt: '2026-06-01T00:00:20Z' }),
        client('d', { expiresAt: '2026-06-01T00:00:09Z', enabled: false }),
      ],
      { appliedGeneration: applied },
      now,
    );
    assert.deepEqual(expired.map((c) => c.name), ['a'], 'b was gone before the applied set, c is not due, d is disabled');
  });

  it('backs off failed applies from 5 s to at most 5 minutes', () => {
    assert.deepEqual([1, 2, 3, 10].map(retryDelay), [5000, 10000, 20000, 300000]);
  });
  it('leaves disabled and expired clients out of the peer set', () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const entries = peerEntries(
      [client('a', { address6: 'fd00::5' }), client('b', { enabled: false }), client('c', { expiresAt: '2026-05-31T23:59:59Z' }), client('d', { expiresAt: '2026-06-01T00:00:01Z' })],
      new Map(),
      now,
    );
    assert.deepEqual(entries.map((e) => e.allowedIps), [['10.0.0.11/32', 'fd00::5/128'], ['10.0.0.11/32']]);
  });
});

describe('generation stamps', () => {
  it('grow with the clock and always exceed the floor', () => {
    assert.equal(generationStamp(1000), 100_000);
    assert.equal(generationStamp(1000, 100_000), 100_001);
    assert.equal(generationStamp(1000, 5), 100_000);
    assert.ok(String(generationStamp(Date.parse('2286-01-01T00:00:00Z'))).length <= 15, 'fits the documents GENERATION pattern');
  });
});
