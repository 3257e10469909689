/**
 * Multi-row INSERTs for the bulk write paths (import, the restore engine's upserts). Building a
 * thousand-row statement through the query builder costs more than running it, so the SQL text is
 * made once per (table, row count, dialect) and only the flat parameter array is built per call.
 * Row counts come from a few fixed sizes, so both the text cache here and the store's prepared
 * statement cache stay small whatever the batch sizes are (a batch of 1,000 messages is two
 * statements, its change log one).
 */
import { CompiledQuery } from 'kysely';
import type { DialectName } from '../store/dialect.js';
import type { Trx } from '../store/store.js';

export interface BulkInsert {
  table: string;
  /** The columns of each row given (and of the table, unless `from` says otherwise). */
  columns: readonly string[];
  /** What follows the VALUES list (or the SELECT), e.g. an ON CONFLICT clause (the same text on both databases). */
  tail?: string;
  /**
   * The rows given are not inserted as they are but read by a SELECT: they become the relation `r`
   * (named by `columns`; on PostgreSQL their values are text, so the SELECT casts what is not) and
   * `select` is the query over it whose rows go into the table's `into` columns.
   */
  from?: { into: readonly string[]; select: (dialect: DialectName) => string };
}

/** Rows per statement, largest first, as far as a statement stays within MAX_PARAMS. */
const SIZES = [1000, 500, 100, 20, 5, 1];
/** Well under both databases' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535). */
const MAX_PARAMS = 10_000;

const texts = new WeakMap<BulkInsert, Map<string, string>>();

function textFor(dialect: DialectName, spec: BulkInsert, rows: number): string {
  let bySize = texts.get(spec);
  if (!bySize) texts.set(spec, (bySize = new Map()));
  const key = `${dialect}${rows}`;
  let text = bySize.get(key);
  if (text === undefined) {
    const width = spec.columns.length;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const marks: string[] = [];
      for (let c = 0; c < width; c++) marks.push(dialect === 'postgres' ? `$${r * width + c + 1}` : '?');
      tuples.push(`(${marks.join(', ')})`);
    }
    const tail = spec.tail ? ` ${spec.tail}` : '';
    text = spec.from
      ? `with r (${spec.columns.join(', ')}) as (values ${tuples.join(', ')}) insert into ${spec.table} (${spec.from.into.join(', ')}) ${spec.from.select(dialect)}${tail}`
      : `insert into ${spec.table} (${spec.columns.join(', ')}) values ${tuples.join(', ')}${tail}`;
    bySize.set(key, text);
  }
  return text;
}

/** Inserts rows given as one flat array of values (row after row, in `spec.columns` order); returns the rows the database reports written. */
export async function insertRows(trx: Trx, dialect: DialectName, spec: BulkInsert, values: unknown[]): Promise<number> {
  const width = spec.columns.length;
  let left = values.length / width;
  let offset = 0;
  let written = 0;
  for (const size of SIZES) {
    if (size > 1 && size * width > MAX_PARAMS) continue;
    while (left >= size) {
      const params = offset === 0 && size * width === values.length ? values : values.slice(offset, offset + size * width);
      const r = await trx.executeQuery(CompiledQuery.raw(textFor(dialect, spec, size), params));
      written += Number(r.numAffectedRows ?? 0);
      offset += size * width;
      left -= size;
    }
  }
  return written;
}

/** `col = excluded.col` for every column but the key, for an upsert's DO UPDATE SET. */
export function updateFromExcluded(columns: readonly string[], key: readonly string[]): string {
  return columns
    .filter((c) => !key.includes(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
}
