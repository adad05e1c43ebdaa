import { ValidationError } from '../../domain/errors.js';
import type { Page } from '../../app/ports.js';
import { decodeCursor, encodeCursor } from './table.js';

/**
 * A cursor is the LastEvaluatedKey the client got back. It is checked to stay in the partition and
 * key prefix of the query it continues, so a crafted cursor cannot read another partition.
 */
export function decodeCursorFor(
  cursor: string | undefined,
  partition: string,
  sortPrefix: string,
  partitionAttribute = 'pk',
): Record<string, unknown> | undefined {
  if (cursor === undefined) return undefined;
  let key: Record<string, unknown> | undefined;
  try {
    key = decodeCursor(cursor);
  } catch {
    throw new ValidationError('cursor', 'cursor must be a value returned as nextCursor by this list');
  }
  // Exactly the key attributes such a query returns: the table's, plus the index's for a GSI query.
  const expected = partitionAttribute === 'pk' ? ['pk', 'sk'] : ['gsi1pk', 'gsi1sk', 'pk', 'sk'];
  const sortAttribute = partitionAttribute === 'pk' ? 'sk' : 'gsi1sk';
  const ok =
    key !== undefined &&
    Object.keys(key).sort().join() === [...expected].sort().join() &&
    Object.values(key).every((v) => typeof v === 'string' && v.length <= 600) &&
    key[partitionAttribute] === partition &&
    (key[sortAttribute] as string).startsWith(sortPrefix);
  if (!ok) throw new ValidationError('cursor', 'cursor must be a value returned as nextCursor by this list');
  return key;
}

export function encodePage<T>(items: T[], lastKey: Record<string, unknown> | undefined): Page<T> {
  const nextCursor = encodeCursor(lastKey);
  return nextCursor ? { items, nextCursor } : { items };
}
