/**
 * The engine: long-running work as jobs in the database (jobs.ts), run by an in-process worker
 * (runner.ts). Other areas queue jobs through its service and app.ts registers what runs them; today
 * the one kind is restoring an artifact of an activated restore session (restore/).
 */
import type { Area } from '../area.js';
import type { Core } from '../core.js';
import type { Trx } from '../store/store.js';
import { enqueue, recoverOrphans, type NewJob } from './jobs.js';
import { Runner, type JobHandler } from './runner.js';

/**
 * How often an idle worker looks for work it was not told about (real time): jobs enqueued by another
 * node, a lapsed lease. Activation wakes the worker itself, and so does every scheduler tick.
 */
const POLL_MS = 1000;

export interface EngineService {
  /** Queues jobs in the caller's transaction. */
  enqueue(trx: Trx, jobs: NewJob[]): Promise<void>;
  /** Starts on queued jobs now rather than at the next poll; never fails (the worker logs its own failures). */
  wake(): void;
  /** Runs due jobs now; resolves when none is left (jobs paced for later stay queued). Never rejects. */
  runDue(): Promise<void>;
  /** What runs jobs of a kind; every kind is registered before `start`. */
  register(kind: string, handler: JobHandler): void;
  /** Takes back jobs a previous process left and starts the worker. */
  start(): Promise<void>;
  /** Stops the worker (at close; tests that drive artifacts by hand stop it first). */
  stop(): Promise<void>;
}

export function engineArea(core: Core): Area<EngineService> {
  const log = (message: string, error?: unknown) => {
    if (core.config.logLevel !== 'silent') console.error(`[mailvault] ${message}`, error ?? '');
  };
  const r = new Runner(core, log);
  const service: EngineService = {
    enqueue: (trx, jobs) => enqueue(trx, jobs, core.clock.now().toISOString()),
    wake: () => void r.wake(),
    runDue: () => r.wake(),
    register: (kind, handler) => r.register(kind, handler),
    async start() {
      await recoverOrphans(core.store);
      let offset = core.clock.offset;
      core.scheduler.register('engine.jobs', async () => {
        // A clock move waits for the work it made due, so a client sees its effect when the move returns.
        const moved = core.clock.offset !== offset;
        offset = core.clock.offset;
        const run = r.wake();
        if (moved) await run;
      });
      r.start(POLL_MS);
      // Jobs a previous process left (taken back above) resume now, not at the first poll.
      setImmediate(() => void r.wake());
    },
    stop: () => r.stop(),
  };
  return { name: 'engine', service, close: () => r.stop() };
}
