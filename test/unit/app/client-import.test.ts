// The import's own logic on the in-memory stores: refusals inside the import, and claims picked
// by the import that a concurrent create takes between the pick and the write (picked again, not
// refused), while a claim the item asked for is refused. The batch writer here is all or nothing
// like the DynamoDB transaction and reports every failed claim.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importClients } from '../../../functions/app/client-import.js';
import { createClient } from '../../../functions/app/clients.js';
import type { ClientBatchWriter, ClientDraft, DraftConflict } from '../../../functions/app/ports.js';
import { generateKeyPair } from '../../../functions/domain/keys.js';
import { TEST_AUDIT, fakeWorld, networkWithGateway, type FakeWorld } from '../../support/fakes.js';

/** All or nothing over the memory table, as one transaction; `before` runs ahead of each write (a rival's create). */
function memoryWriter(w: FakeWorld, before: (drafts: ClientDraft[], call: number) => Promise<void>): ClientBatchWriter & { calls: number } {
  return {
    maxDrafts: 16,
    calls: 0,
    async createMany(drafts) {
      await before(drafts, ++this.calls);
      const conflicts: DraftConflict[] = [];
      drafts.forEach((d, draft) => {
        const { network, name, publicKey } = d.client;
        if (w.table.clients.has(`${network}/${name}`)) conflicts.push({ draft, kind: 'name' });
        for (const leaseKey of d.leaseKeys) if (w.table.leasesOf(network).has(leaseKey)) conflicts.push({ draft, kind: 'lease', leaseKey });
        const owner = w.table.publicKeysOf(network).get(publicKey);
        if (owner) conflicts.push({ draft, kind: owner.startsWith('gateway:') ? 'gatewayPublicKey' : 'publicKey' });
      });
      if (conflicts.length) return conflicts;
      for (const d of drafts) await w.clients.create({ client: d.client, leaseKeys: d.leaseKeys }, d.secrets, { name: d.client.network, addressRange: '10.0.0.0/24' }, d.audit, { batch: true });
      return [];
    },
  };
}

describe('importClients', () => {
  it('refuses the later of two items with the same name, key or address, and checks each item by the create rules', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    const key = generateKeyPair().publicKey;
    const batches = memoryWriter(w, async () => {});
    const result = await importClients({ ...w.deps, batches }, network.name, {
      gatewayId: gateway.id,
      clients: [
        { name: 'a', publicKey: key, address: '10.0.0.7' },
        { name: 'a' },
        { publicKey: key },
        { address: '10.0.0.7' },
        { address: '10.0.0.255' },
        'not an object',
        { name: 'b', dns: ['not-an-ip'] },
        { publicKey: gateway.publicKey },
        { name: 'c' },
      ],
    }, TEST_AUDIT);
    const fields = result.results.map((r) => (r.status === 'failed' ? `${r.error.code}:${r.error.field ?? '-'}` : 'created'));
    assert.deepEqual(fields, [
      'created',
      'name_taken:name',
      'public_key_taken:publicKey',
      'address_taken:address',
      'validation_failed:address',
      'validation_failed:-',
      'validation_failed:dns.0',
      'public_key_taken:publicKey',
      'created',
    ]);
    assert.equal(result.created, 2);
    assert.equal(result.failed, 7);
    assert.equal(batches.calls, 1, 'the two good items in one transaction');
  });

  it('picks again a name or address a concurrent create took after the pick, and refuses one the item asked for', async () => {
    const w = fakeWorld();
    const { network, gateway } = await networkWithGateway(w, { ready: true });
    const rivals: string[] = [];
    const batches = memoryWriter(w, async (drafts, call) => {
      if (call !== 1) return;
      // Between the pick and the write, other admins create clients with the picked name of
      // item 0, the picked address of item 1, and the name item 2 asked for.
      const rival = async (body: { name?: string; address?: string }) => {
        const c = await createClient(w.deps, network.name, { gatewayId: gateway.id, ...body }, TEST_AUDIT);
        rivals.push(c.name);
      };
      await rival({ name: drafts[0]!.client.name });
      await rival({ name: 'rival-b', address: drafts[1]!.client.address });
      await rival({ name: 'asked-for' });
    });
    const result = await importClients(
      { ...w.deps, batches },
      network.name,
      { gatewayId: gateway.id, clients: [{}, { name: 'x' }, { name: 'asked-for' }, { name: 'y' }] },
      TEST_AUDIT,
    );
    const [first, second, third, fourth] = result.results;
    assert.equal(first!.status, 'created');
    assert.equal(second!.status, 'created');
    assert.equal(fourth!.status, 'created');
    assert.ok(first!.status === 'created' && !rivals.includes(first!.client.name), 'a new generated name');
    const rivalB = w.table.clients.get(`${network.name}/rival-b`)!;
    assert.ok(second!.status === 'created' && second!.client.address !== rivalB.address, 'a new picked address');
    assert.ok(third!.status === 'failed' && third!.error.code === 'name_taken' && third!.error.field === 'name');
    assert.equal(batches.calls, 2);
    // One client.create record per created client, none for the refused item.
    const imported = w.table.audit.filter((a) => a.action === 'client.create' && !rivals.includes(a.resource.id));
    assert.equal(imported.length, 3);
  });
});
