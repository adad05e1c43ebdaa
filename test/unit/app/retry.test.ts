import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, isVersionConflict, lostRace, retry, type RetryDecision } from '../../../functions/app/retry.js';
import { AddressTakenError, ConflictError, NameTakenError, WriteConflictError } from '../../../functions/domain/errors.js';

/** An attempt that fails with `errors` in turn, then answers 'done'; records the attempt numbers. */
function flaky(errors: unknown[]) {
  const seen: number[] = [];
  const attempt = async (n: number) => {
    seen.push(n);
    if (errors.length) throw errors.shift();
    return 'done';
  };
  return { attempt, seen };
}

function recordingSleep() {
  const slept: number[] = [];
  return { slept, sleep: async (ms: number) => void slept.push(ms) };
}

const almostOne = () => 0.999_999;

describe('retry', () => {
  it('answers the first success without waiting', async () => {
    const { attempt, seen } = flaky([]);
    const { slept, sleep } = recordingSleep();
    assert.equal(await retry(attempt, { attempts: 3, retryOn: lostRace, random: almostOne, sleep }), 'done');
    assert.deepEqual(seen, [1]);
    assert.deepEqual(slept, []);
  });

  it('waits a full-jitter backoff that doubles from 5 ms up to 200 ms before each "later" attempt', async () => {
    const { attempt, seen } = flaky(Array.from({ length: 7 }, () => new WriteConflictError()));
    const { slept, sleep } = recordingSleep();
    assert.equal(await retry(attempt, { attempts: 8, retryOn: lostRace, random: almostOne, sleep }), 'done');
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(slept, [9, 19, 39, 79, 159, 199, 199]);
  });

  it('draws each pause at random below its cap', async () => {
    const draws = [0, 0.5, 0.25];
    const { attempt } = flaky([new WriteConflictError(), new WriteConflictError(), new WriteConflictError()]);
    const { slept, sleep } = recordingSleep();
    await retry(attempt, { attempts: 4, retryOn: lostRace, random: () => draws.shift()!, sleep });
    assert.deepEqual(slept, [0, 10, 10]);
  });

  it('goes again at once, without a pause, when the error says what to do differently', async () => {
    const { attempt, seen } = flaky([new NameTakenError('client', 'a'), new NameTakenError('client', 'b')]);
    const { slept, sleep } = recordingSleep();
    const retryOn = (err: unknown): RetryDecision => (err instanceof NameTakenError ? 'now' : false);
    assert.equal(await retry(attempt, { attempts: 5, retryOn, random: almostOne, sleep }), 'done');
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(slept, []);
  });

  it('hands an error that is not retryable to the caller after one attempt', async () => {
    const boom = new Error('boom');
    const { attempt, seen } = flaky([boom]);
    const { slept, sleep } = recordingSleep();
    await assert.rejects(retry(attempt, { attempts: 5, retryOn: lostRace, random: almostOne, sleep }), (err) => err === boom);
    assert.deepEqual(seen, [1]);
    assert.deepEqual(slept, []);
  });

  it('tells the caller to try again (409 busy) once the attempts run out, after exactly that many attempts', async () => {
    const { attempt, seen } = flaky(Array.from({ length: 10 }, () => new AddressTakenError('IP4#0a000002')));
    const { slept, sleep } = recordingSleep();
    const retryOn = (err: unknown): RetryDecision => (err instanceof AddressTakenError ? 'later' : false);
    await assert.rejects(retry(attempt, { attempts: 4, retryOn, random: almostOne, sleep }), (err) => {
      assert.ok(err instanceof WriteConflictError);
      assert.equal(err.code, 'busy');
      return true;
    });
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.equal(slept.length, 3, 'no pause after the last attempt');
  });

  it('passes on the error retryOn throws instead (a chosen name that is taken)', async () => {
    const { attempt, seen } = flaky([new NameTakenError('client', 'alice')]);
    const answer = new ConflictError('name_taken', 'taken', 'name');
    const retryOn = (): RetryDecision => {
      throw answer;
    };
    await assert.rejects(retry(attempt, { attempts: 5, retryOn, random: almostOne, sleep: async () => {} }), (err) => err === answer);
    assert.deepEqual(seen, [1]);
  });

  it('waits on a real timer when no sleep is given', async (t) => {
    const timers = t.mock.method(globalThis, 'setTimeout');
    const { attempt } = flaky([new WriteConflictError()]);
    assert.equal(await retry(attempt, { attempts: 2, retryOn: lostRace, random: () => 0.3 }), 'done');
    assert.equal(timers.mock.callCount(), 1);
    assert.equal(timers.mock.calls[0]!.arguments[1], 3);
  });
});

describe('backoffMs', () => {
  it('stays below a cap of 5 ms × 2^attempt, never above 200 ms', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(200, 5 * 2 ** attempt);
      assert.equal(backoffMs(attempt, () => 0), 0);
      assert.equal(backoffMs(attempt, almostOne), cap - 1, `attempt ${attempt}`);
    }
  });
});

describe('retry decisions', () => {
  it('retries a lost race later and nothing else', () => {
    assert.equal(lostRace(new WriteConflictError()), 'later');
    assert.equal(lostRace(new ConflictError('version_conflict', 'x')), false);
    assert.equal(lostRace(new Error('x')), false);
  });

  it('recognises a version conflict by its code', () => {
    assert.equal(isVersionConflict(new ConflictError('version_conflict', 'x', 'version')), true);
    assert.equal(isVersionConflict(new ConflictError('name_taken', 'x')), false);
    assert.equal(isVersionConflict(new WriteConflictError()), false);
  });
});
