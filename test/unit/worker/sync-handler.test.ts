import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamoDBRecord } from 'aws-lambda';
import { wantsSync } from '../../../functions/adapters/dynamo/stream-records.js';
import { needsWork } from '../../../functions/app/gateway-worker.js';
import type { Gateway } from '../../../functions/domain/model.js';

const record = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', sk: string, prev?: Record<string, unknown>, next?: Record<string, unknown>): DynamoDBRecord =>
  ({
    eventName,
    dynamodb: {
      Keys: { pk: { S: 'NET#office' }, sk: { S: sk } },
      ...(prev ? { OldImage: prev } : {}),
      ...(next ? { NewImage: next } : {}),
      SequenceNumber: '1',
    },
  }) as unknown as DynamoDBRecord;

describe('which stream records wake the worker', () => {
  it('wakes for a new gateway and for a moved generation', () => {
    assert.deepEqual(wantsSync(record('INSERT', 'GW#gw-1', undefined, { status: { S: 'pending' } })), { network: 'office', gatewayId: 'gw-1' });
    assert.ok(wantsSync(record('MODIFY', 'GW#gw-1', { desiredGeneration: { N: '5' } }, { desiredGeneration: { N: '6' } })));
  });
  it("wakes for a client change, which moves one of the gateway's generation shards, not the gateway item", () => {
    assert.deepEqual(wantsSync(record('MODIFY', 'GWGEN#gw-1#07', { generation: { N: '5' } }, { generation: { N: '6' } })), { network: 'office', gatewayId: 'gw-1' });
    assert.equal(wantsSync(record('MODIFY', 'GWGEN#gw-1#07', { generation: { N: '6' }, expiring: { SS: ['a'] } }, { generation: { N: '6' } })), undefined, 'only its expiry list moved');
    assert.equal(wantsSync(record('INSERT', 'GWGEN#gw-1#07', undefined, { generation: { N: '0' } })), undefined, 'a new gateway wakes the worker by its own item');
    assert.equal(wantsSync(record('REMOVE', 'GWGEN#gw-1#07', { generation: { N: '6' } })), undefined);
  });
  it('wakes when a gateway goes back to pending (re-init)', () => {
    assert.ok(wantsSync(record('MODIFY', 'GW#gw-1', { status: { S: 'error' }, desiredGeneration: { N: '5' } }, { status: { S: 'pending' }, desiredGeneration: { N: '5' } })));
  });
  it('ignores its own bookkeeping, other items and removals', () => {
    const same = { desiredGeneration: { N: '6' }, status: { S: 'ready' } };
    assert.equal(wantsSync(record('MODIFY', 'GW#gw-1', same, { ...same, lastSync: { M: {} } })), undefined);
    assert.equal(wantsSync(record('INSERT', 'CLIENT#alice', undefined, {})), undefined);
    assert.equal(wantsSync(record('INSERT', 'IP4#0a000001', undefined, {})), undefined);
    assert.equal(wantsSync(record('REMOVE', 'GW#gw-1', same)), undefined);
  });
  it('sweeps gateways that are pending, behind, or waiting for a command', () => {
    const base = { status: 'ready', desiredGeneration: 5, appliedGeneration: 5 } as Gateway;
    assert.equal(needsWork(base), false);
    assert.equal(needsWork({ ...base, appliedGeneration: 4 }), true);
    assert.equal(needsWork({ ...base, status: 'pending' }), true);
    assert.equal(needsWork({ ...base, lastSync: { at: '', generation: 5, outcome: 'sent' } }), true);
    assert.equal(needsWork({ ...base, status: 'error', appliedGeneration: 0 }), false);
  });
});
