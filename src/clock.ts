/**
 * The injected clock. Everything that depends on time (schedulers, status transitions, restore
 * point ticks, token expiry for emulator-minted tokens) reads `clock.now()`; tests and demos move it.
 * The clock runs with real time but can be moved forward by an offset; it never goes back.
 */
export interface Clock {
  now(): Date;
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): Date;
  /** Moves the clock to `to`; refuses to go back. */
  set(to: Date): Date;
}

/**
 * The latest time the clock may show: every date the system derives from it (a restore point's
 * expiry a year on, a job due hours later) must still be a four-digit-year ISO date that both
 * databases store and every reader parses. Moves beyond it are refused.
 */
export const LATEST_CLOCK_MS = Date.UTC(9998, 0, 1);

export class ClockRangeError extends RangeError {}

export class OffsetClock implements Clock {
  private offsetMs: number;
  constructor(start?: Date, private readonly real: () => number = Date.now) {
    this.offsetMs = start ? start.getTime() - real() : 0;
  }
  now(): Date {
    return new Date(this.real() + this.offsetMs);
  }
  advance(ms: number): Date {
    if (!(ms >= 0)) throw new ClockRangeError('the clock never moves back');
    if (!(this.real() + this.offsetMs + ms <= LATEST_CLOCK_MS)) throw new ClockRangeError(`the clock cannot move past ${new Date(LATEST_CLOCK_MS).toISOString()}`);
    this.offsetMs += ms;
    return this.now();
  }
  set(to: Date): Date {
    const delta = to.getTime() - this.now().getTime();
    if (!(delta >= 0)) throw new ClockRangeError('the clock never moves back');
    return this.advance(delta);
  }
  /** Offset persisted so a restarted server keeps its emulated time. */
  get offset(): number {
    return this.offsetMs;
  }
  /**
   * Takes a persisted offset back. One that would put the clock past LATEST_CLOCK_MS (a data
   * directory from a version that let it go there) is brought back to it, so the server starts and
   * works; true when that happened.
   */
  restoreOffset(offsetMs: number): boolean {
    if (!Number.isFinite(offsetMs) || this.real() + offsetMs > LATEST_CLOCK_MS) {
      this.offsetMs = LATEST_CLOCK_MS - this.real();
      return true;
    }
    if (offsetMs > this.offsetMs) this.offsetMs = offsetMs;
    return false;
  }
}

/** ISO 8601 duration (PnYnMnDTnHnMnS, PnW) to milliseconds; months are 30 days, years 365. */
export function parseIsoDuration(text: string): number | undefined {
  const m = /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [y, mo, w, d, h, mi, s] = m.slice(1).map((v) => (v ? Number(v) : 0));
  const day = 86_400_000;
  return Math.round(y * 365 * day + mo * 30 * day + w * 7 * day + d * day + h * 3_600_000 + mi * 60_000 + s * 1000);
}
