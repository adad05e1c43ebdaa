import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXPORT_COLUMNS, clientsCsv, importItemOf, importItemsFromCsv, type ExportedClient } from '../../../functions/domain/client-table.js';
import { decodeCsv, encodeCsv, encodeCsvField } from '../../../functions/domain/csv.js';
import { ValidationError } from '../../../functions/domain/errors.js';

describe('RFC 4180 CSV', () => {
  it('quotes exactly the fields with a comma, a quote, CR or LF, doubling quotes', () => {
    assert.equal(encodeCsvField('plain'), 'plain');
    assert.equal(encodeCsvField(''), '');
    assert.equal(encodeCsvField('a,b'), '"a,b"');
    assert.equal(encodeCsvField('say "hi"'), '"say ""hi"""');
    assert.equal(encodeCsvField('two\nlines'), '"two\nlines"');
    assert.equal(encodeCsvField('cr\rhere'), '"cr\rhere"');
    assert.equal(encodeCsv([['a', 'b'], ['1', '']]), 'a,b\r\n1,\r\n');
  });

  it('reads back what it writes, for values with commas, quotes, newlines and empty fields', () => {
    const rows = [
      ['name', 'note', 'empty'],
      ['x', 'a,b', ''],
      ['"quoted"', 'line one\r\nline two', ','],
      ['', '""', 'tail\n'],
    ];
    assert.deepEqual(decodeCsv(encodeCsv(rows)), rows);
  });

  it('takes LF line ends, no final line end and a byte order mark', () => {
    assert.deepEqual(decodeCsv('\ufeffa,b\n1,2'), [['a', 'b'], ['1', '2']]);
    assert.deepEqual(decodeCsv('a\n\n'), [['a'], ['']]);
    assert.deepEqual(decodeCsv(''), []);
  });

  it('refuses what RFC 4180 does not allow, naming the line', () => {
    assert.throws(() => decodeCsv('a,b\r\n1,x"y\r\n'), (e: unknown) => e instanceof ValidationError && /line 2: a quote inside an unquoted field/.test(e.message));
    assert.throws(() => decodeCsv('a\r\n"open\r\n'), (e: unknown) => e instanceof ValidationError && /line 2: a quoted field is never closed/.test(e.message));
    assert.throws(() => decodeCsv('"a"b\r\n'), (e: unknown) => e instanceof ValidationError && /line 1: text after a closing quote/.test(e.message));
  });
});

const client = (over: Partial<ExportedClient> = {}): ExportedClient => ({
  id: 'alice',
  name: 'alice',
  network: 'office',
  gatewayId: 'gw-0a1b2c3d4e',
  address: '10.0.0.2',
  publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  dns: ['10.0.0.53', 'fd00::53'],
  enabled: true,
  hasPrivateKey: false,
  hasPresharedKey: false,
  generation: 170000000000000,
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
  version: 1,
  inEffect: true,
  ...over,
});

describe('clients as a table', () => {
  it('writes a header of the client answer fields in order, dns joined by spaces, absent fields empty', () => {
    const rows = decodeCsv(clientsCsv([client(), client({ id: 'bob', name: 'bob', address6: 'fd00::2', expiresAt: '2030-01-01T00:00:00.000Z', dns: [] })]));
    assert.deepEqual(rows[0], [...EXPORT_COLUMNS]);
    const at = (row: string[], column: (typeof EXPORT_COLUMNS)[number]) => row[EXPORT_COLUMNS.indexOf(column)];
    assert.equal(at(rows[1]!, 'dns'), '10.0.0.53 fd00::53');
    assert.equal(at(rows[1]!, 'address6'), '');
    assert.equal(at(rows[1]!, 'inEffect'), 'true');
    assert.equal(at(rows[2]!, 'address6'), 'fd00::2');
    assert.equal(at(rows[2]!, 'dns'), '');
  });

  it('reads an export back as import items: the columns an import takes, empty cells absent', () => {
    const items = importItemsFromCsv(clientsCsv([client(), client({ id: 'bob', name: 'bob', dns: [], address6: 'fd00::2' })]));
    assert.deepEqual(items, [
      { name: 'alice', publicKey: client().publicKey, address: '10.0.0.2', dns: ['10.0.0.53', 'fd00::53'] },
      { name: 'bob', publicKey: client().publicKey, address: '10.0.0.2', address6: 'fd00::2' },
    ]);
    assert.deepEqual(importItemOf(client()), items[0]);
  });

  it('takes a sheet with only some columns, and refuses unknown or repeated columns and ragged rows', () => {
    assert.deepEqual(importItemsFromCsv('name\r\nx\r\n\r\ny\r\n'), [{ name: 'x' }, { name: 'y' }]);
    assert.throws(() => importItemsFromCsv('name,colour\r\nx,red\r\n'), /CSV column 'colour' is unknown/);
    assert.throws(() => importItemsFromCsv('name,name\r\nx,y\r\n'), /appears twice/);
    assert.throws(() => importItemsFromCsv('name,dns\r\nx\r\n'), /row 2 has 1 fields, the header 2/);
    assert.throws(() => importItemsFromCsv(''), /the CSV is empty/);
  });
});
