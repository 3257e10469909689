/**
 * Runs time-driven work: every registered task is called with the injected clock's `now` on each
 * real-time tick and whenever the clock is moved. Runs never overlap; a clock move waits until
 * everything that became due has run.
 *
 * While the database is unavailable (PostgreSQL stopped or restarting) a run stops at the first task
 * that meets it, since the others would meet it too; the store logs the outage once, and ticks back
 * off (0.5 s, then twice as long, up to a few seconds) until a run gets through. A clock move always
 * tries, and answers the outage to its caller.
 */
import { Backoff, DatabaseUnavailable } from '../store/outage.js';

export type Task = (now: Date) => Promise<void>;

export class Scheduler {
  private tasks: Array<{ name: string; run: Task }> = [];
  /** The run in progress (never rejects): what it ended on when the database was unavailable. */
  private running: Promise<DatabaseUnavailable | undefined> = Promise.resolve(undefined);
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();

  constructor(private readonly now: () => Date, private readonly onError: (name: string, error: unknown) => void) {}

  register(name: string, run: Task): void {
    this.tasks.push({ name, run });
  }

  /** Runs every task once (after any run in progress); rejects with DatabaseUnavailable when a task met an outage. */
  runDue(): Promise<void> {
    const next = this.running.then(() => this.runTasks());
    this.running = next;
    return next.then((outage) => {
      if (outage) throw outage;
    });
  }

  private async runTasks(): Promise<DatabaseUnavailable | undefined> {
    for (const t of this.tasks) {
      try {
        await t.run(this.now());
      } catch (error) {
        if (error instanceof DatabaseUnavailable) {
          this.backoff.failed();
          return error;
        }
        this.onError(t.name, error);
      }
    }
    this.backoff.succeeded();
    return undefined;
  }

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      if (!this.backoff.waiting()) this.runDue().catch(() => undefined);
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for the run in progress, if any. */
  async idle(): Promise<void> {
    await this.running;
  }
}
