// Clients as a table: the export's columns (the client answer's fields, in its order, never a
// secret) and the way back, from an export's CSV to import items (the columns an import takes).
import { decodeCsv, encodeCsv } from './csv.js';
import { ValidationError } from './errors.js';
import type { Client, ShownClient } from './model.js';

/** The client answer's fields in its order; `dns` is joined with single spaces (its entries are IP addresses). */
export const EXPORT_COLUMNS = [
  'id',
  'name',
  'network',
  'gatewayId',
  'address',
  'address6',
  'publicKey',
  'dns',
  'enabled',
  'hasPrivateKey',
  'hasPresharedKey',
  'expiresAt',
  'createdAt',
  'updatedAt',
  'version',
  'generation',
  'inEffect',
] as const;

/** The columns an import reads; every other export column is ignored there. */
export const IMPORT_COLUMNS = ['name', 'publicKey', 'address', 'address6', 'dns', 'expiresAt'] as const;
type ImportColumn = (typeof IMPORT_COLUMNS)[number];

export const DNS_SEPARATOR = ' ';

export type ExportedClient = ShownClient & { inEffect: boolean };

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(DNS_SEPARATOR);
  return String(value);
}

/** The CSV of an export: a header row, then one row per client. */
export function clientsCsv(clients: readonly ExportedClient[]): string {
  const rows: string[][] = [[...EXPORT_COLUMNS]];
  for (const c of clients) {
    const record = c as unknown as Record<string, unknown>;
    rows.push(EXPORT_COLUMNS.map((column) => cell(record[column])));
  }
  return encodeCsv(rows);
}

/**
 * Import items from a CSV with a header row (an export, or a sheet with some of its columns). Empty
 * cells are absent fields; `dns` is split on whitespace. A header that is neither an import nor an
 * export column is refused, so a misspelt column cannot be silently dropped.
 */
export function importItemsFromCsv(text: string): Record<string, unknown>[] {
  const rows = decodeCsv(text).filter((row) => !(row.length === 1 && row[0] === ''));
  const header = rows.shift();
  if (!header) throw new ValidationError('body', 'the CSV is empty: it needs a header row, then one row per client');
  const known = new Set<string>(EXPORT_COLUMNS);
  const seen = new Set<string>();
  for (const name of header) {
    if (!known.has(name)) {
      throw new ValidationError('body', `CSV column '${name.slice(0, 40)}' is unknown; columns read: ${IMPORT_COLUMNS.join(', ')} (the export's other columns are ignored)`);
    }
    if (seen.has(name)) throw new ValidationError('body', `CSV column '${name}' appears twice`);
    seen.add(name);
  }
  const read = IMPORT_COLUMNS.map((column) => [column, header.indexOf(column)] as const).filter(([, at]) => at >= 0);
  return rows.map((row, r) => {
    if (row.length !== header.length) {
      throw new ValidationError('body', `CSV row ${r + 2} has ${row.length} fields, the header ${header.length}`);
    }
    const item: Partial<Record<ImportColumn, unknown>> = {};
    for (const [column, at] of read) {
      const value = row[at]!;
      if (value === '') continue;
      item[column] = column === 'dns' ? value.split(/\s+/).filter((v) => v !== '') : value;
    }
    return item;
  });
}

/** The import item a client of an export becomes (JSON round trip): the fields an import takes. */
export function importItemOf(client: Pick<Client, ImportColumn> & Partial<Client>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const column of IMPORT_COLUMNS) {
    const value = client[column];
    if (value !== undefined && value !== null) item[column] = value;
  }
  return item;
}
