/**
 * A private PostgreSQL server for a test that stops and starts its database: initdb into a temporary
 * directory, listening on a free port of 127.0.0.1 and a socket in that directory, so the shared
 * server other tests use is never touched. PostgreSQL refuses to run as root: as root, its commands
 * run as the `postgres` user, who owns the directory. It runs with fsync off: a test stops the server
 * process, never the machine, so what PostgreSQL wrote survives in the kernel's cache either way, and
 * recovery after an immediate stop takes under a second instead of four.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface PostgresInstance {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** Stops the server: `immediate` kills it as a crash would (recovery at the next start), `fast` ends every session first. */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it if running and removes its directory. */
  destroy(): Promise<void>;
}

/** The newest `/usr/lib/postgresql/<version>/bin` holding initdb and pg_ctl, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = fs.readdirSync(root);
  } catch {
    return undefined;
  }
  const dirs = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'bin'))
    .filter((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl')));
  return dirs[0];
}

export async function startPostgresInstance(): Promise<PostgresInstance> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql/*/bin');
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-pg-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pgRun = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const port = await freePort();
  let running = false;
  // A test that ends without destroying its instance (a timeout, a crash) does not leave it running.
  const onExit = () => {
    if (!fs.existsSync(path.join(data, 'postmaster.pid'))) return;
    const stop = [path.join(bin, 'pg_ctl'), 'stop', '-D', data, '-m', 'immediate'];
    try {
      if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', ...stop], { stdio: 'ignore' });
      else execFileSync(stop[0], stop.slice(1), { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  };
  process.once('exit', onExit);
  const start = async () => {
    try {
      await pgRun('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', log, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`]);
    } catch (error) {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
      throw new Error(`pg_ctl start failed: ${(error as Error).message}\n${tail}`, { cause: error });
    }
    running = true;
  };
  const stop = async (mode: 'immediate' | 'fast' = 'immediate') => {
    if (!running) return;
    await pgRun('pg_ctl', ['stop', '-w', '-t', '30', '-D', data, '-m', mode]);
    running = false;
  };
  try {
    await pgRun('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await start();
  } catch (error) {
    onExit();
    process.removeListener('exit', onExit);
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async destroy() {
      try {
        await stop('immediate');
      } finally {
        process.removeListener('exit', onExit);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
