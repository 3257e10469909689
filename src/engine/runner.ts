/**
 * The in-process worker: claims due jobs one at a time and runs them with their handler. It is woken
 * by activation (the work it enqueued starts at once), by the scheduler (each tick and each clock move;
 * a clock move waits until the work it made due has run), and by a poll of the jobs table for work
 * no one told it about.
 *
 * While the database is unavailable the worker waits: its polls back off (0.5 s, then twice as long,
 * up to a few seconds) and log nothing (the store logs the outage once), and the job the outage
 * interrupted keeps its lease and resumes from its last committed step once the database answers,
 * instead of being recorded as failed or waiting for its lease to lapse.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import type { Core } from '../core.js';
import type { Trx } from '../store/store.js';
import { Backoff, DatabaseUnavailable } from '../store/outage.js';
import { claim, DueProbe, holdLease, LeaseLost, type JobRow } from './jobs.js';

export interface JobContext {
  readonly job: JobRow;
  /** The worker's lease owner name. */
  readonly owner: string;
  /** One transaction of the job: checks (and renews) the lease first, so a worker that lost its job changes nothing. */
  step<T>(fn: (trx: Trx) => Promise<T>): Promise<T>;
  /** True once the server is shutting down: stop between steps (the job resumes later). */
  readonly stopping: boolean;
}

export interface JobHandler {
  /** Runs the job; its last step ends it (done, failed, or back to the queue until later). */
  run(ctx: JobContext): Promise<void>;
  /** Records an unexpected failure and ends the job. */
  fail(ctx: JobContext, error: unknown): Promise<void>;
}

export class Runner {
  private readonly handlers = new Map<string, JobHandler>();
  private loop: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private dueProbe: DueProbe | undefined;
  private readonly backoff = new Backoff();
  /** The job an outage interrupted, still leased to this worker: the loop takes it up first. */
  private interrupted: number | undefined;
  readonly owner = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;

  constructor(private readonly core: Core, private readonly log: (message: string, error?: unknown) => void) {}

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
    this.dueProbe = undefined;
  }

  private kinds(): string[] {
    return [...this.handlers.keys()];
  }

  /** Is a job of a registered kind due? */
  private anyDue(): Promise<boolean> {
    this.dueProbe ??= new DueProbe(this.core.store, this.kinds());
    return this.dueProbe.any(this.core.clock.now());
  }

  /**
   * Starts the loop if idle (or makes it look again); resolves when nothing due is left. Never rejects:
   * the loop logs its own failures, and the next poll or tick tries again.
   */
  wake(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.loop) {
      this.again = true;
      return this.loop;
    }
    this.loop = this.drain().finally(() => {
      this.loop = undefined;
    });
    return this.loop;
  }

  /** Polls the queue every `ms` while idle (a cheap read). */
  start(ms: number): void {
    this.stopPolling();
    this.timer = setInterval(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.loop || this.polling || this.stopped || this.backoff.waiting()) return;
    this.polling = true;
    try {
      if (this.interrupted !== undefined || (await this.anyDue())) void this.wake();
      else this.backoff.succeeded();
    } catch (error) {
      if (error instanceof DatabaseUnavailable) this.backoff.failed();
      else if (!this.stopped) this.log('job poll failed', error);
    } finally {
      this.polling = false;
    }
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops claiming; the job in progress stops at its next step boundary. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopPolling();
    await this.loop;
  }

  private async drain(): Promise<void> {
    const kinds = this.kinds();
    if (kinds.length === 0) return;
    try {
      do {
        this.again = false;
        while (!this.stopped) {
          const resumed = this.interrupted !== undefined ? await this.resume(this.interrupted) : undefined;
          if (resumed) {
            await this.execute(resumed);
            continue;
          }
          if (!(await this.anyDue())) break;
          const job = await this.core.store.write((trx) => claim(trx, this.core.store.dialect, this.owner, kinds, this.core.clock.now()));
          if (!job) break;
          await this.execute(job);
        }
      } while (this.again && !this.stopped);
      this.backoff.succeeded();
    } catch (error) {
      // The database is away: polls back off until it answers. Otherwise reading or claiming from the
      // queue failed (a job's own failure is execute's): logged like a poll's.
      if (error instanceof DatabaseUnavailable) this.backoff.failed();
      else if (!this.stopped) this.log('job queue failed', error);
    }
  }

  /** The interrupted job's row, its lease renewed; undefined when another worker has taken it since. */
  private async resume(jobId: number): Promise<JobRow | undefined> {
    const row = await this.core.store
      .write(async (trx) => {
        await holdLease(trx, jobId, this.owner);
        return trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
      })
      .catch((error: unknown) => {
        if (error instanceof LeaseLost) return undefined;
        throw error;
      });
    this.interrupted = undefined;
    return row;
  }

  private async execute(job: JobRow): Promise<void> {
    const handler = this.handlers.get(job.kind)!;
    const runner = this;
    const ctx: JobContext = {
      job,
      owner: this.owner,
      step: (fn) =>
        this.core.store.write(async (trx) => {
          await holdLease(trx, job.id, this.owner);
          return fn(trx);
        }),
      get stopping() {
        return runner.stopped;
      },
    };
    try {
      await handler.run(ctx);
    } catch (error) {
      if (error instanceof LeaseLost || this.stopped) return;
      if (error instanceof DatabaseUnavailable) {
        // Not the job's failure: it resumes when the database is back (drain backs off on this).
        this.interrupted = job.id;
        throw error;
      }
      this.log(`job ${job.id} (${job.kind}) failed`, error);
      try {
        await handler.fail(ctx, error);
      } catch (again) {
        if (!(again instanceof LeaseLost)) this.log(`job ${job.id} (${job.kind}): recording the failure failed`, again);
      }
    }
  }
}
