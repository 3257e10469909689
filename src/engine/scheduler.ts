/**
 * Runs time-driven work: every registered task is called with the injected clock's `now` on each
 * real-time tick and whenever the clock is moved. Runs never overlap; a clock move waits until
 * everything that became due has run.
 */
export type Task = (now: Date) => Promise<void>;

export class Scheduler {
  private tasks: Array<{ name: string; run: Task }> = [];
  private running: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => Date, private readonly onError: (name: string, error: unknown) => void) {}

  register(name: string, run: Task): void {
    this.tasks.push({ name, run });
  }

  /** Runs every task once (after any run in progress). */
  runDue(): Promise<void> {
    const next = this.running.then(async () => {
      for (const t of this.tasks) {
        try {
          await t.run(this.now());
        } catch (error) {
          this.onError(t.name, error);
        }
      }
    });
    this.running = next;
    return next;
  }

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.runDue(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for the run in progress, if any. */
  idle(): Promise<void> {
    return this.running;
  }
}
