/**
 * The engine: long-running work as jobs in the database (jobs.ts), run by an in-process worker
 * (runner.ts); today the one kind of job is restoring an artifact of an activated restore session
 * (restore/). `core.services.engine` is an EngineService.
 */
import type { Area } from '../area.js';
import type { Core } from '../core.js';
import { RESTORE_ARTIFACT_JOB } from '../backup/restoreSessions/service.js';
import { recoverOrphans } from './jobs.js';
import { Runner } from './runner.js';
import { restoreArtifactJob } from './restore/artifactJob.js';

/** How often an idle worker looks for newly enqueued work (real time). */
const POLL_MS = 100;

export interface EngineService {
  /** Runs due jobs now; resolves when none is left (jobs paced for later stay queued). */
  runDue(): Promise<void>;
}

/** One worker per app (tests run several apps in one process). */
const runners = new WeakMap<Core, Runner>();

export const engineArea: Area = {
  name: 'engine',
  async setup(core: Core) {
    const log = (message: string, error?: unknown) => {
      if (core.config.logLevel !== 'silent') console.error(`[mailvault] ${message}`, error ?? '');
    };
    const r = new Runner(core, log);
    runners.set(core, r);
    r.register(RESTORE_ARTIFACT_JOB, restoreArtifactJob(core));
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
    const service: EngineService = { runDue: () => r.wake() };
    core.services.engine = service;
  },
  async close(core) {
    await runners.get(core)?.stop();
    runners.delete(core);
  },
};
