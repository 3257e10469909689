/**
 * How fast a restore writes, per timing profile. `instant`: as fast as the machine goes.
 * `realistic`: Microsoft's documented pace for one mailbox, 200-300 items a minute (we take 250),
 * measured on the emulated clock from the moment the artifact started, so moving the clock lets
 * a paced restore catch up.
 */
export const REALISTIC_ITEMS_PER_MINUTE = 250;

export interface Pace {
  /** How many more items may be written now (Infinity when unpaced). */
  allowance: number;
  /** When the next item may be written, if none may now. */
  nextAt?: Date;
}

export function pace(profile: 'instant' | 'realistic', startedAt: string, done: number, now: Date): Pace {
  if (profile === 'instant') return { allowance: Infinity };
  const perMs = REALISTIC_ITEMS_PER_MINUTE / 60_000;
  const start = new Date(startedAt).getTime();
  const allowed = Math.floor((now.getTime() - start) * perMs);
  const allowance = allowed - done;
  if (allowance > 0) return { allowance };
  return { allowance: 0, nextAt: new Date(start + Math.ceil((done + 1) / perMs)) };
}
