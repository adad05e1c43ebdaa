import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  answeredGenerations,
  behindComponents,
  changeApplied,
  desiredVector,
  gatewayAnswer,
  isInSync,
  nextApplyGeneration,
  pickShard,
  GENERATION_SHARDS,
} from '../../../functions/domain/generation.js';
import type { Gateway } from '../../../functions/domain/model.js';

const shards = (gens: Record<string, number>) => Object.fromEntries(Object.entries(gens).map(([k, g]) => [k, { generation: g, clientCount: 1 }]));
const gateway = (extra: Partial<Gateway>): Gateway => ({ desiredGeneration: 10, appliedGeneration: 0, ...extra }) as Gateway;

describe('generation vectors', () => {
  it("reads the gateway's own component and each shard's", () => {
    assert.deepEqual(desiredVector(gateway({ shards: shards({ '00': 5, '03': 40 }) })), { gw: 10, '00': 5, '03': 40 });
  });

  it('is in sync only when every component is applied', () => {
    const g = gateway({ shards: shards({ '00': 5, '03': 40 }), appliedGeneration: 41, appliedShards: { gw: 10, '00': 5, '03': 39 } });
    assert.deepEqual(behindComponents(g), ['03']);
    assert.equal(isInSync(g), false);
    assert.equal(isInSync({ ...g, appliedShards: { gw: 10, '00': 5, '03': 40 } }), true);
  });

  it('says a client is in effect exactly when its own shard is applied at or above its stamp', () => {
    const g = gateway({ appliedGeneration: 50, appliedShards: { gw: 10, '00': 5, '03': 40 } });
    assert.equal(changeApplied(g, { generation: 40, genShard: 3 }), true);
    assert.equal(changeApplied(g, { generation: 41, genShard: 3 }), false);
    // A larger stamp applied on another shard says nothing about this client's change.
    assert.equal(changeApplied(g, { generation: 6, genShard: 0 }), false);
  });

  it('judges a client written before shards by the own component, and a gateway applied before shards by appliedGeneration', () => {
    assert.equal(changeApplied(gateway({ appliedGeneration: 10, appliedShards: { gw: 10 } }), { generation: 10 }), true);
    assert.equal(changeApplied(gateway({ appliedGeneration: 9 }), { generation: 10 }), false);
    assert.equal(changeApplied(gateway({ appliedGeneration: 10 }), { generation: 10 }), true);
  });

  it('gives every apply a number above every one sent before, even when only a smaller shard moved', () => {
    const g = gateway({ shards: shards({ '00': 5, '03': 40 }), appliedGeneration: 41, appliedShards: { gw: 10, '00': 4, '03': 40 } });
    assert.equal(nextApplyGeneration(g), 42);
    assert.equal(nextApplyGeneration({ ...g, lastSync: { at: '', generation: 60, outcome: 'failed' } }), 61);
    assert.equal(nextApplyGeneration(gateway({ shards: shards({ '01': 900 }), appliedGeneration: 41 })), 900);
  });

  it('answers one pair: equal when in sync, applied below desired otherwise', () => {
    const behind = gateway({ shards: shards({ '00': 5, '03': 40 }), appliedGeneration: 41, appliedShards: { gw: 10, '00': 4, '03': 40 } });
    assert.deepEqual(answeredGenerations(behind), { desiredGeneration: 40, appliedGeneration: 4 });
    assert.deepEqual(answeredGenerations({ ...behind, appliedShards: { gw: 10, '00': 5, '03': 40 } }), { desiredGeneration: 40, appliedGeneration: 40 });
    const answer = gatewayAnswer({ ...behind, lastSync: { at: '', generation: 41, outcome: 'applied', vector: { gw: 10 } } });
    assert.deepEqual(Object.keys(answer).filter((k) => ['shards', 'appliedShards', 'expiringClients'].includes(k)), []);
    assert.equal(answer.lastSync?.vector, undefined);
  });

  it('picks every shard, and only those', () => {
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => pickShard(() => i / 1000)));
    assert.equal(seen.size, GENERATION_SHARDS);
    assert.equal(pickShard(() => 0.9999999999), GENERATION_SHARDS - 1);
  });
});
