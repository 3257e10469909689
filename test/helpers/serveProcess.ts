/**
 * `mailvault serve` as a child process (random port, silent), for tests that kill a server with
 * SIGKILL or run several nodes at once. Every child still alive when the test process exits is
 * killed, so a failing test leaves no server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestServer, TestResponse } from './server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  process: ChildProcess;
  base: string;
  exited: Promise<NodeJS.Signals | number | null>;
  /** Enough of a TestServer for the drill's helpers (`base`, `request`), against this process. */
  server: TestServer;
  /** SIGKILLs the process (if still alive) and waits for it to be gone. */
  kill(): Promise<void>;
}

export interface ServeOptions {
  data: string;
  databaseUrl?: string;
  /** More `serve` flags, e.g. ['--timing', 'realistic']. */
  args?: string[];
  /** More environment variables (MAILVAULT_FAULT, MAILVAULT_RESTORE_BATCH, MAILVAULT_LEASE_MS, ...). */
  env?: Record<string, string>;
}

const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of alive) c.kill('SIGKILL');
});

/** Kills every child this process started that is still running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...alive].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

/** Starts `mailvault serve` on `o.data`; resolves once it listens. */
export function serve(o: ServeOptions): Promise<Child> {
  const database = o.databaseUrl ? ['--database-url', o.databaseUrl] : [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--data', o.data, ...database, '--port', '0', '--log-level', 'silent', ...(o.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, MAILVAULT_FAULT: '', ...o.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  alive.add(child);
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    child.once('exit', (code, signal) => {
      alive.delete(child);
      r(signal ?? code);
    }),
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m && !out.includes('\u0000')) {
        out += '\u0000';
        resolve({ process: child, base: m[1], exited, server: remote(m[1]), kill });
      }
    });
    void exited.then((how) => reject(new Error(`server exited before listening (${String(how)}): ${out}`)));
  });
}

/** `request` against a server at `base`, shaped like TestServer's (no default token). */
export function remote(base: string): TestServer {
  const request = async (method: string, p: string, o: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(p.startsWith('http') ? p : base + p, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined, text };
  };
  return { base, request } as unknown as TestServer;
}
