/**
 * store/bulk.ts, the multi-row insert under every bulk write path (import, restore, the vault's
 * appends): on the server's own store (SQLite, or PostgreSQL under test:postgres), rows read back
 * exactly as given, whichever of their columns hold one value in every row of a statement (bound
 * once on SQLite), across the statement sizes a count is cut into, with an upsert's tail, and
 * through a SELECT over the rows with parameters of its own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { startServer, type TestServer } from '../helpers/server.js';
import { insertRows, type BulkInsert } from '../../src/store/bulk.js';

let s: TestServer;
before(async () => {
  s = await startServer();
  await s.app.core.store.write(async (trx) => {
    await sql`create table bulk_probe (k text primary key, a text, b text, n integer, c text)`.execute(trx);
    await sql`create table bulk_gate (name text primary key, open integer not null)`.execute(trx);
    await sql`insert into bulk_gate (name, open) values ('on', 1), ('off', 0)`.execute(trx);
  });
});
after(() => s.close());

const COLUMNS = ['k', 'a', 'b', 'n', 'c'] as const;
type Row = [string, string | null, string | null, number | null, string | null];
const PLAIN: BulkInsert = { table: 'bulk_probe', columns: COLUMNS };
const UPSERT: BulkInsert = { table: 'bulk_probe', columns: COLUMNS, tail: 'on conflict (k) do update set a = excluded.a, b = excluded.b, n = excluded.n, c = excluded.c' };

async function insert(spec: BulkInsert, rows: Row[], after: unknown[] = []): Promise<number> {
  const store = s.app.core.store;
  return store.write((trx) => insertRows(trx, store.dialect, spec, rows.flat(), after));
}

async function stored(prefix: string): Promise<Row[]> {
  const r = await sql<{ k: string; a: string | null; b: string | null; n: number | null; c: string | null }>`
    select k, a, b, n, c from bulk_probe where k like ${prefix + '%'} order by k`.execute(s.app.core.store.db);
  return r.rows.map((x) => [x.k, x.a, x.b, x.n === null ? null : Number(x.n), x.c]);
}

const key = (prefix: string, i: number) => `${prefix}${String(i).padStart(5, '0')}`;

test('rows read back as given, whichever columns they share, in every statement size', async () => {
  const cases: Record<string, (i: number) => Row> = {
    // one shared text, one shared null, the rest varying
    mixed: (i) => [key('mixed', i), 'tenant', `b${i}`, null, i % 3 === 0 ? null : `c${i}`],
    // every column but the key shared
    keyOnly: (i) => [key('keyOnly', i), 'x', 'y', 7, 'z'],
    // nothing shared: numbers, nulls and texts all varying
    none: (i) => [key('none', i), `a${i}`, i % 2 ? null : `b${i}`, i, i % 5 ? `c${i}` : null],
    // values alternating with nulls
    alternating: (i) => [key('alternating', i), 'same', i % 2 ? '1' : null, i % 2 ? 1 : null, 'same'],
  };
  // 1,234 rows are cut into statements of 1,000, 100, 100, 20, 5, 5, 1, 1, 1 and 1 rows.
  for (const [name, make] of Object.entries(cases)) {
    for (const count of [1, 2, 7, 1234]) {
      const prefix = `${name}-${count}-`;
      const rows = Array.from({ length: count }, (_, i) => make(i)).map((r) => [prefix + r[0], ...r.slice(1)] as Row);
      assert.equal(await insert(PLAIN, rows), count, `${prefix}: rows written`);
      assert.deepEqual(await stored(prefix), rows, `${prefix}: rows read back`);
    }
  }
});

test('identical rows (every column shared) are all written', async () => {
  const store = s.app.core.store;
  await store.write((trx) => sql`create table bulk_dupes (a text, n integer)`.execute(trx));
  const spec: BulkInsert = { table: 'bulk_dupes', columns: ['a', 'n'] };
  const written = await store.write((trx) => insertRows(trx, store.dialect, spec, Array.from({ length: 6 }, () => ['same', 1]).flat()));
  assert.equal(written, 6);
  const r = await sql<{ n: number }>`select count(*) as n from bulk_dupes where a = 'same' and n = 1`.execute(store.db);
  assert.equal(Number(r.rows[0].n), 6);
});

test('an upsert with shared columns overwrites the rows it meets and adds the others', async () => {
  const before = Array.from({ length: 30 }, (_, i): Row => [key('up-', i), 'old', `b${i}`, i, null]);
  await insert(PLAIN, before);
  // the first 20 exist, the last 25 are new; `a` and `c` are shared by every row of the upsert
  const upsert = Array.from({ length: 45 }, (_, i): Row => [key('up-', i + 10), 'new', `nb${i}`, null, 'c']);
  await insert(UPSERT, upsert);
  const expected = [...before.slice(0, 10), ...upsert];
  assert.deepEqual(await stored('up-'), expected);
});

test('a SELECT over the rows, with parameters of its own after the rows', async () => {
  const dialect = s.app.core.store.dialect;
  // the rows go in only while the named gate is open: the SELECT's own parameter decides
  const gated: BulkInsert = {
    table: 'bulk_probe',
    columns: COLUMNS,
    from: {
      into: COLUMNS,
      select: (d, param) => {
        const n = d === 'postgres' ? 'cast(n as integer)' : 'n';
        return `select k, a, b, ${n}, c from r where exists (select 1 from bulk_gate where name = ${param(0)} and open = 1)`;
      },
    },
  };
  assert.ok(dialect === 'sqlite' || dialect === 'postgres');
  const rows = (prefix: string) => Array.from({ length: 27 }, (_, i): Row => [key(prefix, i), 'shared', `b${i}`, i % 4 ? i : null, null]);
  assert.equal(await insert(gated, rows('gate-on-'), ['on']), 27);
  assert.deepEqual(await stored('gate-on-'), rows('gate-on-'));
  assert.equal(await insert(gated, rows('gate-off-'), ['off']), 0);
  assert.deepEqual(await stored('gate-off-'), []);
});
