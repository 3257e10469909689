/**
 * Fault injection for crash tests: with MAILVAULT_FAULT=<point>:<n> the process kills itself with
 * SIGKILL the n-th time it reaches <point> (e.g. `restore.batch.uncommitted:3`), so a test can stop
 * the server at an exact place instead of hoping a timer lands there. Inert when the variable is unset.
 */
const spec = /^([\w.-]+):(\d+)$/.exec(process.env.MAILVAULT_FAULT ?? '');
let seen = 0;

export function faultPoint(name: string): void {
  if (!spec || spec[1] !== name) return;
  if (++seen === Number(spec[2])) process.kill(process.pid, 'SIGKILL');
}
