import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_NAME_WORDS, generateClientName } from '../../../functions/domain/names.js';
import { NAME } from '../../../functions/domain/patterns.js';

describe('client names', () => {
  it('draws from at least 50 adjectives × 50 nouns × 100 numbers, without duplicates', () => {
    const { adjectives, nouns, numbers } = CLIENT_NAME_WORDS;
    assert.ok(adjectives.length >= 50);
    assert.ok(nouns.length >= 50);
    assert.ok(numbers >= 100);
    assert.equal(new Set(adjectives).size, adjectives.length);
    assert.equal(new Set(nouns).size, nouns.length);
  });

  it('always matches the name pattern, including at the edges of random()', () => {
    for (const r of [() => 0, () => 0.5, () => 0.9999999999999999, () => 1]) assert.match(generateClientName(r), NAME);
    for (let i = 0; i < 5000; i++) assert.match(generateClientName(), NAME);
    for (const a of CLIENT_NAME_WORDS.adjectives) {
      for (const n of CLIENT_NAME_WORDS.nouns) assert.match(`${a}-${n}-99`, NAME);
    }
  });

  it('reads like adjective-noun-number', () => {
    assert.match(generateClientName(), /^[a-z]+-[a-z]+-[0-9]{1,2}$/);
    assert.equal(generateClientName(() => 0), `${CLIENT_NAME_WORDS.adjectives[0]}-${CLIENT_NAME_WORDS.nouns[0]}-0`);
  });

  it('spreads names widely', () => {
    const names = new Set(Array.from({ length: 2000 }, () => generateClientName()));
    assert.ok(names.size > 1900, String(names.size));
  });
});
