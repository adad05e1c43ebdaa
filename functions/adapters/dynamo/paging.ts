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
  const values = Object.values(key ?? {});
  const ok =
    key !== undefined &&
    key[partitionAttribute] === partition &&
    values.every((v) => typeof v === 'string' && v.length <= 600) &&
    Object.entries(key).some(([k, v]) => k !== partitionAttribute && typeof v === 'string' && (v as string).startsWith(sortPrefix));
  if (!ok) throw new ValidationError('cursor', 'cursor must be a value returned as nextCursor by this list');
  return key;
}

export function encodePage<T>(items: T[], lastKey: Record<string, unknown> | undefined): Page<T> {
  const nextCursor = encodeCursor(lastKey);
  return nextCursor ? { items, nextCursor } : { items };
}
