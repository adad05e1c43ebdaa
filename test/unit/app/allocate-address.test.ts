import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressPoolExhausted, pickCandidate } from '../../../functions/app/allocate-address.js';
import { contains, formatAddress, leaseKey, parseAddress, parseRange } from '../../../functions/domain/address-pool.js';
import { fakeWorld, seededRandom } from '../../support/fakes.js';

function leased(addresses: string[]) {
  const w = fakeWorld();
  for (const a of addresses) w.table.leasesOf('n').set(leaseKey(parseAddress(a, 4), 4), 'client:x');
  return w;
}
const hosts = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `10.0.0.${from + i}`);

describe('pickCandidate', () => {
  it('picks the one address of the range that is neither leased nor to be avoided', async () => {
    const w = leased(hosts(1, 60));
    const avoid = new Set([parseAddress('10.0.0.61', 4)]);
    const picked = await pickCandidate(w.clients, 'n', parseRange('10.0.0.0/26', 4), avoid, seededRandom(3));
    assert.equal(formatAddress(picked, 4), '10.0.0.62');
  });

  it('moves on to the next block when the one it starts in is full', async () => {
    const w = leased(hosts(1, 63)); // block 0 of a /25 is full; block 1 (64..126) is free
    for (let seed = 1; seed <= 20; seed++) {
      const picked = formatAddress(await pickCandidate(w.clients, 'n', parseRange('10.0.0.0/25', 4), new Set(), seededRandom(seed)), 4);
      assert.ok(Number(picked.split('.')[3]) >= 64, picked);
    }
    assert.ok(w.faults.calls('clients.leasesBetween') > 20, 'some picks started in the full block and read the next');
  });

  it('throws AddressPoolExhausted once every usable address is leased', async () => {
    const w = leased(hosts(1, 126));
    await assert.rejects(pickCandidate(w.clients, 'n', parseRange('10.0.0.0/25', 4), new Set(), seededRandom(1)), AddressPoolExhausted);
    assert.equal(w.faults.calls('clients.leasesBetween'), 2, 'both blocks read, once each');
  });

  it('picks blindly in an IPv6 range too large to walk, reading no leases', async () => {
    const w = fakeWorld();
    const range = parseRange('fd00::/64', 6);
    const picked = await pickCandidate(w.clients, 'n', range, new Set(), seededRandom(1));
    assert.ok(contains(range, picked));
    assert.equal(w.faults.calls('clients.leasesBetween'), 0);
  });
});
