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

export class OffsetClock implements Clock {
  private offsetMs: number;
  constructor(start?: Date, private readonly real: () => number = Date.now) {
    this.offsetMs = start ? start.getTime() - real() : 0;
  }
  now(): Date {
    return new Date(this.real() + this.offsetMs);
  }
  advance(ms: number): Date {
    if (!(ms >= 0)) throw new RangeError('the clock never moves back');
    this.offsetMs += ms;
    return this.now();
  }
  set(to: Date): Date {
    const delta = to.getTime() - this.now().getTime();
    if (delta < 0) throw new RangeError('the clock never moves back');
    return this.advance(delta);
  }
  /** Offset persisted so a restarted server keeps its emulated time. */
  get offset(): number {
    return this.offsetMs;
  }
  restoreOffset(offsetMs: number): void {
    if (offsetMs > this.offsetMs) this.offsetMs = offsetMs;
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
