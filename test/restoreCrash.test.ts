/**
 * Crash safety: the server is killed with SIGKILL during restores, at exact places (fault points:
 * right after claiming, right after starting, inside a batch before its commit, after a commit, after
 * completing) and at an arbitrary moment, then restarted on the same data directory. Every session
 * completes with exact counts, and no message is restored twice.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresDatabase, startServer, type TestServer, type TestResponse } from './helpers/server.js';
import { createFolder, createUser, listPoints, newTenant, ok, protectMailboxes, type Tenant } from './helpers/protect.js';
import { LEASE_MS } from '../src/engine/jobs.js';
import { artifacts, attack, createSession, listMessages, seedMessages, waitForSession, SESSIONS, type Seeded } from './restoreDrill.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const N = 1500;
const BATCH = 300;

interface Child {
  process: ChildProcess;
  base: string;
  exited: Promise<NodeJS.Signals | number | null>;
  /** Enough of a TestServer for the drill's helpers, against this process. */
  server: TestServer;
}

/** `mailvault serve` in its own process on `dir`, optionally set to kill itself at a fault point. */
function serve(dir: string, fault?: string): Promise<Child> {
  const database = pg ? ['--database-url', pg.url] : [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--data', dir, ...database, '--port', '0', '--log-level', 'silent'], {
    cwd: ROOT,
    env: { ...process.env, MAILVAULT_FAULT: fault ?? '', MAILVAULT_RESTORE_BATCH: String(BATCH) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once('exit', (code, signal) => r(signal ?? code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m && !out.includes('\u0000')) {
        out += '\u0000';
        resolve({ process: child, base: m[1], exited, server: remote(m[1]) });
      }
    });
    void exited.then((how) => reject(new Error(`server exited before listening (${String(how)}): ${out}`)));
  });
}

function remote(base: string): TestServer {
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

let dir: string;
/** With MAILVAULT_TEST_DATABASE_URL: the one PostgreSQL database every server of this file uses. */
let pg: Awaited<ReturnType<typeof postgresDatabase>>;
let t: Tenant;
let userId: string;
let seeded: Seeded[];
let late: Seeded[];
let sessions: { copy: string; inPlace: string };

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-crash-'));
  pg = await postgresDatabase();
  // Setup in-process on the data directory, then hand it over to server processes.
  const s = await startServer(onData());
  try {
    t = await newTenant(s);
    t.app = await s.token({ tenantId: t.id, expires: '2h' });
    const user = await createUser(s, t, 'Victim');
    userId = user.id;
    const inbox = ok(await s.request('GET', `/v1.0/users/${userId}/mailFolders/inbox`, { token: t.app }), 200).id;
    const projects = await createFolder(s, t, userId, 'Projects');
    seeded = await seedMessages(s.app.core, t.id, userId, [inbox, projects], N);
    const unitId = (await protectMailboxes(s, t, [userId])).unitOf.get(userId)!;
    await s.advance('PT15M');
    const [point] = await listPoints(s, t.app, unitId);
    await attack(s.app.core, t.id, userId, seeded);
    late = await seedMessages(s.app.core, t.id, userId, [inbox], 20, { tag: 'late' });
    await s.advance('PT15M');
    const draft = (destinationType: string) => createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: point.id }, destinationType }] });
    sessions = { copy: await draft('new'), inPlace: await draft('inPlace') };
  } finally {
    await s.close();
  }
});
after(async () => {
  await pg?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Flags of an in-process server on this file's data directory (and database). */
function onData(): Record<string, string | boolean> {
  return { memory: false, data: dir, ...(pg ? { databaseUrl: pg.url } : {}) };
}

async function activateOn(c: Child, sessionId: string): Promise<void> {
  ok(await c.server.request('POST', `${SESSIONS}/${sessionId}/activate`, { token: t.app }), 200);
}

/**
 * How long a restarted server may take to resume a killed one's job: at once on SQLite (one process
 * owns the data directory, so it takes its jobs back on start); on PostgreSQL, where other nodes may
 * be alive, only when the dead worker's lease has lapsed.
 */
const reclaimMs = () => 20_000 + (pg ? LEASE_MS : 0);

async function diesAtFault(c: Child): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const how = await Promise.race([c.exited, new Promise((r) => (timer = setTimeout(() => r('still running'), reclaimMs())))]);
  clearTimeout(timer);
  assert.equal(how, 'SIGKILL', 'the server killed itself at the fault point');
}

/** Messages under a folder, recursively: subject → count. */
async function subjectsUnder(s: TestServer, folderId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await listMessages(s, t, userId, folderId)).values()) out.set(m.subject, (out.get(m.subject) ?? 0) + 1);
  const children = ok(await s.request('GET', `/v1.0/users/${userId}/mailFolders/${folderId}/childFolders?$top=100`, { token: t.app }), 200).value;
  for (const f of children) for (const [k, n] of await subjectsUnder(s, f.id)) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}

async function expectCopies(s: TestServer, sessionId: string): Promise<void> {
  const session = await waitForSession(s, t, sessionId, reclaimMs());
  assert.equal(session.status, 'completed');
  assert.deepEqual(session.restoreSessionArtifactCount, { total: 1, completed: 1, inProgress: 0, failed: 0 });
  const [a] = await artifacts(s, t, sessionId);
  assert.equal(a.restoredItemCount, N);
  const copies = await subjectsUnder(s, a.restoredFolderId);
  assert.equal(copies.size, N, 'every pre-attack message is in the restored folder');
  for (const m of seeded) assert.equal(copies.get(m.subject), 1, `${m.subject} restored exactly once`);
}

/** The last restart: in this process (already warm), on the same data directory. */
async function resume<T>(fn: (s: TestServer) => Promise<T>): Promise<T> {
  const s = await startServer(onData());
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

test('killed after claiming, inside an uncommitted batch, after a committed batch and right after completing, a restore to a new folder resumes and copies every item exactly once', async () => {
  let c = await serve(dir, 'restore.scheduled:1');
  await activateOn(c, sessions.copy);
  await diesAtFault(c);
  for (const fault of ['restore.batch.uncommitted:2', 'restore.batch.committed:1', 'restore.completed:1']) {
    c = await serve(dir, fault);
    await diesAtFault(c);
  }
  await resume((s) => expectCopies(s, sessions.copy));
});

test('killed right after it started and then at an arbitrary moment, an in-place restore ends with every item back once', async () => {
  let c = await serve(dir, 'restore.started:1');
  await activateOn(c, sessions.inPlace);
  await diesAtFault(c);
  c = await serve(dir);
  await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
  c.process.kill('SIGKILL');
  await c.exited;
  await resume(async (s) => {
    const session = await waitForSession(s, t, sessions.inPlace, reclaimMs());
    assert.equal(session.status, 'completed');
    assert.deepEqual(session.restoreSessionArtifactCount, { total: 1, completed: 1, inProgress: 0, failed: 0 });
    const [a] = await artifacts(s, t, sessions.inPlace);
    assert.equal(a.restoredItemCount, N);
    const live = await listMessages(s, t, userId);
    for (const m of seeded) assert.equal(live.get(m.id)?.subject, m.subject, 'back in place');
    for (const m of late) assert.equal(live.get(m.id)?.subject, m.subject, 'later mail untouched');
    assert.equal(live.size, N + late.length + N, 'originals, later mail, and the one set of copies');
  });
});
