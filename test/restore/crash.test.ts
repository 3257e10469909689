/**
 * Crash safety: the server is killed with SIGKILL during restores, at exact places (fault points:
 * right after claiming, right after starting, inside a batch before its commit, after a commit, after
 * completing) and at an arbitrary moment, then restarted on the same data directory. Every session
 * completes with exact counts, and no message is restored twice.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresDatabase, startServer, type TestServer } from '../helpers/server.js';
import { killAll, serve as serveProcess, type Child } from '../helpers/serveProcess.js';
import { ok, type Tenant } from '../helpers/protect.js';
import { artifacts, attackedMailbox, createSession, listMessages, seedMessages, waitForSession, SESSIONS, type Seeded } from './drill.js';

const N = 1500;
const BATCH = 300;
/** The server processes' lease: on PostgreSQL a restarted server waits for the killed one's to lapse. */
const LEASE_MS = 3000;

/** `mailvault serve` in its own process on `dir`, optionally set to kill itself at a fault point. */
function serve(dir: string, fault?: string): Promise<Child> {
  return serveProcess({ data: dir, databaseUrl: pg?.url, env: { MAILVAULT_FAULT: fault ?? '', MAILVAULT_RESTORE_BATCH: String(BATCH), MAILVAULT_LEASE_MS: String(LEASE_MS) } });
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
    let inbox: string, pointId: string;
    ({ t, userId, inbox, seeded, pointId } = await attackedMailbox(s, N));
    late = await seedMessages(s.app.core, t.id, userId, [inbox], 20, { tag: 'late' });
    await s.advance('PT15M');
    const draft = (destinationType: string) => createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: pointId }, destinationType }] });
    sessions = { copy: await draft('new'), inPlace: await draft('inPlace') };
  } finally {
    await s.close();
  }
});
after(async () => {
  await killAll();
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
