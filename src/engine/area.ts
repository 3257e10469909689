/**
 * The engine: long-running work as jobs in the database (jobs.ts), run by an in-process worker
 * (runner.ts); today the one kind of job is restoring an artifact of an activated restore session
 * (restore/). `core.services.engine` is an EngineService.
 */
import type { Area } from '../area.js';
import type { Core } from '../core.js';
import { RESTORE_ARTIFACT_JOB } from '../backup/restoreSessions/service.js';
import { recoverOrphans } from './jobs.js';
import { vaultOf } from './ports.js';
import { Runner } from './runner.js';
import { restoreArtifactJob } from './restore/artifactJob.js';

/**
 * How often an idle worker looks for work it was not told about (real time): jobs enqueued by another
 * node, a lapsed lease. Activation wakes the worker itself, and so does every scheduler tick.
 */
const POLL_MS = 1000;

export interface EngineService {
  /** Runs due jobs now; resolves when none is left (jobs paced for later stay queued). Never rejects. */
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
    // A restore that has begun reads its point's versions (and its search's hits) to the end, even if
    // the point expires meanwhile: the vault's collection keeps them until it is done.
    vaultOf(core).holdRetention(async () => {
      const running = await core.store.db.selectFrom('restore_artifacts').select(['restore_point_id', 'search_response_id']).where('status', '=', 'inProgress').execute();
      return { restorePointIds: running.map((a) => a.restore_point_id), searchResponseIds: running.flatMap((a) => (a.search_response_id ? [a.search_response_id] : [])) };
    });
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
    const service: EngineService = { runDue: () => r.wake() };
    core.services.engine = service;
  },
  async close(core) {
    await runners.get(core)?.stop();
    runners.delete(core);
  },
};
