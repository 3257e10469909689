/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the COMMIT that
 * crosses its threshold, on the writer connection, so the event loop stops while thousands of pages
 * are copied into the database file (half of a bulk write's commit time). Here the writer does not
 * checkpoint (`wal_autocheckpoint = 0`); after commits, a thread of its own runs a PASSIVE
 * checkpoint on its own connection, which neither waits for nor blocks the writer and the readers.
 * A checkpoint starts at most every INTERVAL_MS while commits keep coming, so the WAL stays small.
 * Should the thread fail, the writer goes back to checkpointing itself.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

const INTERVAL_MS = 200;
/** What the writer falls back to: a checkpoint inside the commit that makes the WAL this many pages. */
export const AUTOCHECKPOINT_PAGES = 10_000;

export interface Checkpointer {
  /** A commit was made durable: checkpoint soon. */
  committed(): void;
  close(): Promise<void>;
}

export function checkpointer(file: string, writer: Database.Database, log: (message: string) => void): Checkpointer {
  const worker = new Worker(`(${checkpointThread.toString()})()`, {
    eval: true,
    workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  worker.unref();
  writer.pragma('wal_autocheckpoint = 0');
  let running = false;
  let dirty = false;
  let failed = false;
  let timer: NodeJS.Timeout | undefined;
  let idle: (() => void) | undefined;

  const fallBack = (why: string) => {
    if (failed) return;
    failed = true;
    running = false;
    log(`WAL checkpoints run in the writer again: ${why}`);
    writer.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    idle?.();
  };
  const start = () => {
    timer = undefined;
    if (failed || running || !dirty) return;
    dirty = false;
    running = true;
    worker.postMessage(0);
  };
  const schedule = () => {
    if (dirty && !running && !failed) timer ??= setTimeout(start, INTERVAL_MS).unref();
  };
  // The thread answers each checkpoint with null, or with the message of the error that stopped it.
  worker.on('message', (error: string | null) => {
    running = false;
    if (error !== null) return fallBack(error);
    if (idle) return idle();
    schedule();
  });
  worker.on('error', (error) => fallBack(error.message));
  worker.on('exit', () => fallBack('the checkpoint thread ended'));

  return {
    committed() {
      dirty = true;
      schedule();
    },
    async close() {
      if (timer) clearTimeout(timer);
      if (running) await new Promise<void>((r) => (idle = r));
      failed = true; // the exit below is not a failure
      await worker.terminate();
    },
  };
}

/**
 * The checkpoint thread, run from its source text (so it needs no file of its own, compiled or not):
 * on each message a PASSIVE checkpoint on a connection of its own.
 */
function checkpointThread(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { file, driver } = workerData as { file: string; driver: string };
  const Sqlite = require(driver) as typeof Database;
  const db = new Sqlite(file);
  // A checkpoint reads WAL frames and writes database pages once each: no page cache to speak of.
  db.pragma('cache_size = -2000');
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  parentPort!.on('message', () => {
    try {
      checkpoint.get();
      parentPort!.postMessage(null);
    } catch (error) {
      parentPort!.postMessage((error as Error).message);
    }
  });
  parentPort!.on('close', () => db.close());
}
