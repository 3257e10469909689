/** A CPU profile of part of a benchmark, taken in its own process through the inspector. */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Starts profiling when `enabled`; the returned stop writes the profile to `file` (a no-op when disabled). */
export async function startProfile(enabled: boolean, file: string): Promise<() => Promise<void>> {
  if (!enabled) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}
