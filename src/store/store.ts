import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { CompiledQuery, Kysely, Migrator, SqliteDialect, type Transaction } from 'kysely';
import type { DB } from './schema.js';
import type { DialectName } from './dialect.js';
import { migrations } from './migrations/index.js';
import { AUTOCHECKPOINT_PAGES, checkpointer } from './checkpointer.js';
import { Availability, postgresDialect } from './outage.js';
import { createPrivateFile, makePrivateDir } from '../files.js';

export type Trx = Transaction<DB>;
export type Reader = Kysely<DB>;

export interface StoreOptions {
  /** SQLite file; undefined = in memory. Ignored when `databaseUrl` is set. */
  file?: string;
  /** PostgreSQL connection string. */
  databaseUrl?: string;
}

interface PendingWrite {
  fn: (trx: Trx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** The statements group commit runs around each write of a batch. */
const SAVEPOINT = 'savepoint w';
const RELEASE = 'release savepoint w';
const ROLLBACK_TO = 'rollback to savepoint w';

/**
 * The metadata store. Reads go through `db`; every change goes through `write()`, which is
 * group-committed: concurrent writes share one transaction (each in its own savepoint, so one
 * failure does not undo the others) and each promise resolves only after the commit is durable
 * (SQLite WAL with synchronous=FULL, or a PostgreSQL commit).
 *
 * Inside a write function use only the given transaction: reading through `db` there would wait
 * for the very transaction that is running.
 */
export class Store {
  private queue: PendingWrite[] = [];
  private draining = false;
  private closed = false;
  /** The transaction of the batch being run, and what runs when it ends (see `afterTransaction`). */
  private current: { trx: Trx; ended: Array<() => void> } | undefined;

  private constructor(
    readonly dialect: DialectName,
    /** Reader; on SQLite files a second connection, so reads never wait for a write batch. */
    readonly db: Reader,
    private readonly writer: Kysely<DB>,
    private readonly extraClose: () => Promise<void>,
    /** Makes every committed transaction durable (no-op where the commit itself already is). */
    private readonly sync: () => Promise<void> = async () => {},
    /** SQLite: the writer connection's prepared statements, for `run` and the savepoints. */
    private readonly writerStatements?: StatementCache,
    /** SQLite files: the reader connection's prepared statements, for `readNow`. */
    private readonly readerStatements?: StatementCache,
  ) {}

  private syncing = new Set<Promise<void>>();

  static async open(options: StoreOptions): Promise<Store> {
    if (options.databaseUrl) {
      pg.types.setTypeParser(20, (v) => Number(v));
      // While the server is away every query fails at once with a DatabaseUnavailable (a 503 to a
      // client), and the pool connects anew once it is back (outage.ts).
      const availability = new Availability((message) => console.error(`[mailvault] ${message}`));
      const db = new Kysely<DB>({ dialect: postgresDialect(options.databaseUrl, availability) });
      const store = new Store('postgres', db, db, async () => {});
      await store.migrate();
      return store;
    }
    const file = options.file;
    if (file) {
      makePrivateDir(path.dirname(file));
      // SQLite creates the -wal and -shm files with the database file's mode: a 0600 database keeps them 0600 too.
      createPrivateFile(file);
    }
    const writerConn = new Database(file ?? ':memory:');
    writerConn.pragma('journal_mode = WAL');
    // With a file, commits are made durable by an fdatasync of the WAL on libuv's thread pool before
    // any write is acknowledged (see `sync`), so the event loop never waits on the disk and the next
    // batch runs while the previous one is being synced: as durable as synchronous=FULL, without the stall.
    writerConn.pragma(file ? 'synchronous = NORMAL' : 'synchronous = FULL');
    writerConn.pragma('busy_timeout = 5000');
    writerConn.pragma('foreign_keys = OFF');
    // Until the checkpoint thread starts (and should it fail), checkpoints run inside COMMIT on the
    // event loop: fewer, larger ones copy each hot page once.
    writerConn.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    writerConn.pragma('cache_size = -32000');
    // Group commit runs each write of a batch in a savepoint, and inside a savepoint SQLite copies every
    // page it is about to change into a statement journal. Past 64 KiB that journal spills to a temporary
    // file, and every page a write touches then costs a file write: a restore page of 1,000 items made
    // about 18,000 such writes per 100,000 items; 64 session creates a transaction, 48 µs a create
    // instead of 26. Kept in memory, the journal lives only as long as its transaction. The writer's
    // temporary tables and sorts stay in memory too; the largest, the daily collection's set of the
    // messages' content hashes, holds about 75 bytes a message while it runs.
    writerConn.pragma('temp_store = MEMORY');
    // Lower-casing as every write of the application does (String.prototype.toLowerCase, whole
    // Unicode), for the values a statement derives itself; SQLite's lower() folds ASCII only.
    writerConn.function('unicode_lower', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? s.toLowerCase() : s));
    const writerStatements = cachingStatements(writerConn);
    const writer = new Kysely<DB>({ dialect: new SqliteDialect({ database: writerStatements }) });
    let reader = writer;
    let readerStatements: StatementCache | undefined;
    const store0 = new Store('sqlite', writer, writer, async () => {});
    await store0.migrate();
    if (file) {
      const readerConn = new Database(file, { readonly: true });
      readerConn.pragma('busy_timeout = 5000');
      // Reads by key (a session polled by id, a message by id) find their index and table pages here
      // rather than in the kernel's cache: 8-9 µs a session row instead of 13-14 in a 170 MB database.
      readerConn.pragma('cache_size = -32000');
      readerStatements = cachingStatements(readerConn);
      reader = new Kysely<DB>({ dialect: new SqliteDialect({ database: readerStatements }) });
    }
    const wal = file ? walSyncer(file + '-wal') : undefined;
    const checkpoints = file ? checkpointer(file, writerConn, (message) => console.error(`[mailvault] ${message}`)) : undefined;
    return new Store(
      'sqlite',
      reader,
      writer,
      async () => {
        await checkpoints?.close();
        if (reader !== writer) await reader.destroy();
        await wal?.close();
      },
      wal &&
        (async () => {
          await wal.sync();
          checkpoints?.committed();
        }),
      writerStatements,
      readerStatements,
    );
  }

  private async migrate(): Promise<void> {
    const migrator = new Migrator({
      db: this.writer,
      provider: { getMigrations: async () => migrations(this.dialect) },
      // Numbers are reserved per area (see migrations/index.ts), so a lower number may land after a higher one.
      allowUnorderedMigrations: true,
    });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }

  /** Runs `fn` in a transaction shared with other concurrent writes; resolves once durable. */
  write<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) {
        // Start at the next turn of the event loop, so every write queued by the requests read in this
        // turn joins one batch (the SQLite driver is synchronous: a batch started now would hold one).
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /**
   * Runs `fn` synchronously as soon as the transaction of the write that holds `trx` has ended
   * (committed, or rolled back), before any write of it is acknowledged: for caches of rows the
   * write changes, so that no read after the acknowledgement finds the old row.
   */
  afterTransaction(trx: Trx, fn: () => void): void {
    if (this.current?.trx !== trx) throw new Error('afterTransaction needs the transaction of a running write');
    this.current.ended.push(fn);
  }

  /**
   * Runs one statement whose SQL text is fixed (compiled once for this dialect) inside a write. On
   * SQLite it runs the writer connection's prepared statement directly: the batch holds that
   * connection, and Kysely's executor would cost more than a small insert itself.
   */
  async run(trx: Trx, text: string, parameters: readonly unknown[]): Promise<void> {
    if (this.current?.trx !== trx) throw new Error('run needs the transaction of a running write');
    if (this.writerStatements) this.writerStatements.prepare(text).run(parameters);
    else await trx.executeQuery(CompiledQuery.raw(text, parameters as unknown[]));
  }

  /**
   * Runs a read whose SQL text is fixed (compiled once for this dialect) at once, on SQLite files only:
   * the reader connection is a connection of its own that sees committed transactions only, and
   * better-sqlite3 answers synchronously, so Kysely's promise round trips are all a read would add.
   * Answers the first row as the values of its columns in the select list's order, or null when there
   * is none: the caller knows its columns, and naming each column of a row (a string the engine looks
   * up in its table of names) costs more than reading it. Undefined where reads must go through Kysely
   * (in memory the one connection is shared with the write batch in progress; PostgreSQL is asynchronous).
   */
  readFirstNow(text: string, parameters: readonly unknown[]): unknown[] | null | undefined {
    if (!this.readerStatements) return undefined;
    return (this.readerStatements.prepareRaw(text).get(parameters) as unknown[] | undefined) ?? null;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 512);
        const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
        const ended: Array<() => void> = [];
        try {
          await this.writer.transaction().execute(async (trx) => {
            this.current = { trx, ended };
            if (batch.length === 1) {
              // A lone write needs no savepoint: its failure rolls the transaction back.
              outcomes.push({ ok: true, value: await batch[0].fn(trx) });
              return;
            }
            for (const item of batch) {
              await this.control(trx, SAVEPOINT);
              try {
                const value = await item.fn(trx);
                await this.control(trx, RELEASE);
                outcomes.push({ ok: true, value });
              } catch (error) {
                await this.control(trx, ROLLBACK_TO);
                await this.control(trx, RELEASE);
                outcomes.push({ ok: false, error });
              }
            }
          });
        } catch (error) {
          if (batch.length === 1 && outcomes.length === 0) {
            batch[0].reject(error);
            continue;
          }
          for (const item of batch) item.reject(error);
          continue;
        } finally {
          this.current = undefined;
          for (const fn of ended) fn();
        }
        const settle = () =>
          batch.forEach((item, i) => {
            const o = outcomes[i];
            if (o.ok) item.resolve(o.value);
            else item.reject(o.error);
          });
        const synced = this.sync().then(settle, (error) => batch.forEach((item) => item.reject(error)));
        this.syncing.add(synced);
        void synced.finally(() => this.syncing.delete(synced));
      }
    } finally {
      this.draining = false;
    }
  }

  /** A savepoint statement: on SQLite straight on the writer connection, which the batch holds. */
  private async control(trx: Trx, text: string): Promise<void> {
    if (this.writerStatements) this.writerStatements.prepare(text).run();
    else await trx.executeQuery(CompiledQuery.raw(text));
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.draining || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await Promise.allSettled([...this.syncing]);
    await this.extraClose();
    await this.writer.destroy();
  }
}

type StatementCache = ReturnType<typeof cachingStatements>;

/**
 * Kysely prepares every query anew; preparing costs more than running a small query. Statements are
 * cached by their SQL text (queries are parameterized, so the set of texts is small and bounded).
 */
function cachingStatements(db: Database.Database, max = 2000) {
  const cached = (cache: Map<string, Database.Statement>, text: string, raw: boolean) => {
    let stmt = cache.get(text);
    if (!stmt) {
      stmt = db.prepare(text);
      if (raw) stmt.raw(true);
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(text, stmt);
    }
    return stmt;
  };
  const objects = new Map<string, Database.Statement>();
  const arrays = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    /** Rows as objects keyed by column name (what Kysely expects). */
    prepare: (text: string) => cached(objects, text, false),
    /** Rows as arrays of their values, in the select list's order (better-sqlite3's raw mode). */
    prepareRaw: (text: string) => cached(arrays, text, true),
  };
}

/** fdatasync of the WAL file through a descriptor of our own (any descriptor of a file flushes it). */
function walSyncer(walFile: string) {
  let fd: fs.promises.FileHandle | undefined;
  return {
    async sync(): Promise<void> {
      fd ??= await fs.promises.open(walFile, 'r');
      await fd.datasync();
    },
    async close(): Promise<void> {
      await fd?.close();
      fd = undefined;
    },
  };
}
