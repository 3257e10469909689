/**
 * Multi-row INSERTs for the bulk write paths (import, the restore engine's upserts, the vault's
 * appends). Building a thousand-row statement through the query builder costs more than running it,
 * so the SQL text is made once per (table, row count, dialect, columns the rows share) and only the
 * flat parameter array is built per call. Row counts come from a few fixed sizes and each write path
 * shares the same few columns, so both the text cache here and the store's prepared statement cache
 * stay small whatever the batch sizes are (a batch of 1,000 messages is two statements, its change
 * log one).
 */
import { CompiledQuery } from 'kysely';
import type { DialectName } from './dialect.js';
import type { Trx } from './store.js';

export interface BulkInsert {
  table: string;
  /** The columns of each row given (and of the table, unless `from` says otherwise). */
  columns: readonly string[];
  /** What follows the VALUES list (or the SELECT), e.g. an ON CONFLICT clause (the same text on both databases). */
  tail?: string;
  /**
   * The rows given are not inserted as they are but read by a SELECT: they become the relation `r`
   * (named by `columns`; on PostgreSQL their values are text, so the SELECT casts what is not) and
   * `select` is the query over it whose rows go into the table's `into` columns. Its own parameters
   * are insertRows' `after`, written `param(0)`, `param(1)`, ... (the placeholders of either database).
   */
  from?: { into: readonly string[]; select: (dialect: DialectName, param: (i: number) => string) => string };
}

/** Rows per statement, largest first, as far as a statement stays within MAX_PARAMS. */
const SIZES = [1000, 500, 100, 20, 5, 1];
/** Well under both databases' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535). */
const MAX_PARAMS = 10_000;

const texts = new WeakMap<BulkInsert, Map<string, string>>();

/**
 * SQLite: the columns holding one value in every row of a statement (the tenant, the mailbox, the
 * time of the write...), as a bit mask, 0 when none or every column does. Such a value is bound
 * once instead of once a row: binding costs about half a microsecond a value, a good part of a
 * thousand-row insert. PostgreSQL keeps the plain VALUES list, whose parameters take their types
 * from the table's columns (under a SELECT they would be text).
 */
function uniformMask(dialect: DialectName, values: unknown[], offset: number, rows: number, width: number): number {
  if (dialect !== 'sqlite' || rows < 2 || width > 30) return 0;
  let mask = 0;
  for (let c = 0; c < width; c++) {
    const first = values[offset + c];
    let same = true;
    for (let r = 1; r < rows && same; r++) same = values[offset + r * width + c] === first;
    if (same) mask |= 1 << c;
  }
  return mask === 2 ** width - 1 ? 0 : mask;
}

function textFor(dialect: DialectName, spec: BulkInsert, rows: number, uniform: number): string {
  let bySize = texts.get(spec);
  if (!bySize) texts.set(spec, (bySize = new Map()));
  const key = `${dialect}${rows}/${uniform}`;
  let text = bySize.get(key);
  if (text === undefined) {
    const width = spec.columns.length;
    const varying = spec.columns.filter((_, c) => !(uniform & (1 << c))).length;
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const marks: string[] = [];
      for (let c = 0; c < varying; c++) marks.push(dialect === 'postgres' ? `$${r * width + c + 1}` : '?');
      tuples.push(`(${marks.join(', ')})`);
    }
    const list = `values ${tuples.join(', ')}`;
    // The rows as a relation of every column: the uniform ones as parameters (bound first), the rest
    // as the VALUES list's columns (column1, column2, ...).
    let next = 0;
    const relation = uniform ? `select ${spec.columns.map((_, c) => (uniform & (1 << c) ? '?' : `column${++next}`)).join(', ')} from (${list})` : list;
    const tail = spec.tail ? ` ${spec.tail}` : '';
    text = spec.from
      ? `with r (${spec.columns.join(', ')}) as (${relation}) insert into ${spec.table} (${spec.from.into.join(', ')}) ${spec.from.select(dialect, (i) => (dialect === 'postgres' ? `$${rows * width + 1 + i}` : '?'))}${tail}`
      : // an upsert's SELECT needs a WHERE clause (SQLite would read ON CONFLICT as a join's)
        `insert into ${spec.table} (${spec.columns.join(', ')}) ${relation}${uniform && spec.tail ? ' where true' : ''}${tail}`;
    if (bySize.size >= 64) bySize.clear();
    bySize.set(key, text);
  }
  return text;
}

/** The parameters of `rows` rows from `offset`: the uniform columns' values once, then each row's others. */
function paramsOf(values: unknown[], offset: number, rows: number, width: number, uniform: number): unknown[] {
  if (!uniform) return offset === 0 && rows * width === values.length ? values : values.slice(offset, offset + rows * width);
  const params: unknown[] = [];
  for (let c = 0; c < width; c++) if (uniform & (1 << c)) params.push(values[offset + c]);
  for (let r = 0; r < rows; r++) {
    const at = offset + r * width;
    for (let c = 0; c < width; c++) if (!(uniform & (1 << c))) params.push(values[at + c]);
  }
  return params;
}

/**
 * Inserts rows given as one flat array of values (row after row, in `spec.columns` order); returns
 * the rows the database reports written. `after`: the parameters of `spec.from.select`, if any.
 */
export async function insertRows(trx: Trx, dialect: DialectName, spec: BulkInsert, values: unknown[], after: readonly unknown[] = []): Promise<number> {
  const width = spec.columns.length;
  let left = values.length / width;
  let offset = 0;
  let written = 0;
  for (const size of SIZES) {
    if (size > 1 && size * width > MAX_PARAMS) continue;
    while (left >= size) {
      const uniform = uniformMask(dialect, values, offset, size, width);
      const params = paramsOf(values, offset, size, width, uniform);
      const r = await trx.executeQuery(CompiledQuery.raw(textFor(dialect, spec, size, uniform), after.length ? [...params, ...after] : params));
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
