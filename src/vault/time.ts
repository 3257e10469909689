/** The vault's clock arithmetic: 10-minute restore point ticks, one-year retention, the fast-restore window. */

export const TICK_MS = 10 * 60_000;

/** Restore points younger than this carry `fastRestore` (the policy's `R/PT10M` / `P2W` retention tier). */
export const FAST_RESTORE_MS = 14 * 86_400_000;

/** The first tick at or after `t`: a change at t is part of the restore point at that tick. */
export function ceilTick(t: string | Date): string {
  const ms = new Date(t).getTime();
  return new Date(Math.ceil(ms / TICK_MS) * TICK_MS).toISOString();
}

/** The last tick at or before `t`. */
export function floorTick(t: string | Date): string {
  const ms = new Date(t).getTime();
  return new Date(Math.floor(ms / TICK_MS) * TICK_MS).toISOString();
}

/** One calendar year later (2023-01-04T00:00Z → 2024-01-04T00:00Z). */
export function plusOneYear(t: string): string {
  const d = new Date(t);
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString();
}

export function iso(t: string | Date): string {
  return new Date(t).toISOString();
}
