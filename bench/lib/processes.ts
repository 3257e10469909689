/** Starting servers for benchmarks in their own processes, so the load generator does not share their event loop. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Running {
  child: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

/** Spawns `node <args>` and waits for a line matching `ready` whose first group is the base URL. */
export function spawnServer(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = ready.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({
          child,
          base: m[1],
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)));
  });
}

/**
 * Starts `mailvault serve` from the build in dist/ on a fresh data directory. `BENCH_NODE_ARGS` adds
 * options for its Node process (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile the server).
 */
export async function startMailvault(extra: string[] = []): Promise<Running & { dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-bench-'));
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const r = await spawnServer(
    [...nodeArgs, path.join(ROOT, 'dist/cli.js'), 'serve', '--port', '0', '--data', dataDir, '--log-level', 'silent', ...extra],
    /listening on (\S+)/,
  );
  return {
    ...r,
    dataDir,
    stop: async () => {
      await r.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function peakRssMb(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in ms (Linux /proc). */
export function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Waits until a process is idle: under `quietMs` of CPU in each of three 500 ms windows (at most
 * `maxMs`). A case measured right after another would otherwise be charged with the tail of the
 * earlier one (e.g. the checkpoint of the WAL that a round of creates filled).
 */
export async function settle(pid: number, quietMs = 15, maxMs = 60_000): Promise<void> {
  const until = Date.now() + maxMs;
  let quiet = 0;
  while (quiet < 3 && Date.now() < until) {
    const before = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 500));
    quiet = cpuMs(pid) - before <= quietMs ? quiet + 1 : 0;
  }
}
