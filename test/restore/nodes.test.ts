/**
 * Two nodes, one PostgreSQL database: node A runs a paced restore (`--timing realistic`), is killed
 * with SIGKILL while it holds the job's lease with part of the items restored, and node B takes the
 * job over once the lease lapses and finishes it, every item restored exactly once.
 *
 * Each node keeps its own emulated clock (read from the database when it starts), so moving A's
 * clock leaves B's behind: the job is never due on B while A lives, and B can only get it by taking
 * over A's lease.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { postgresDatabase, startServer, type TestServer } from '../helpers/server.js';
import { killAll, serve, type Child } from '../helpers/serveProcess.js';
import { ok, type Tenant } from '../helpers/protect.js';
import { activate, artifacts, attackedMailbox, createSession, listMessages, waitForSession, type Seeded } from './drill.js';

const N = 800;
/** Items per page (one transaction each): small, so a step of the clock takes many commits on A. */
const BATCH = 20;
/** The nodes' lease, so B takes over a few seconds after A dies instead of 30. */
const LEASE_MS = 3000;

const DATABASE = process.env.MAILVAULT_TEST_DATABASE_URL;
const skip = DATABASE ? false : 'needs PostgreSQL (set MAILVAULT_TEST_DATABASE_URL): nodes share work only through one PostgreSQL database';

let db: Awaited<ReturnType<typeof postgresDatabase>>;
let client: pg.Client;
let dirs: string[] = [];
let t: Tenant;
let admin: string;
let userId: string;
let seeded: Seeded[];
let sessionId: string;
let artifactId: string;

before(async () => {
  if (skip) return;
  db = await postgresDatabase();
  client = new pg.Client({ connectionString: db!.url });
  await client.connect();
  dirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-node-a-')), fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-node-b-'))];
  // Setup in-process on the shared database (instant timing), then hand it over to the two nodes.
  const s = await startServer({ memory: false, data: dirs[0], databaseUrl: db!.url });
  try {
    admin = s.adminToken;
    let pointId: string;
    ({ t, userId, seeded, pointId } = await attackedMailbox(s, N));
    await s.advance('PT15M');
    sessionId = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: pointId }, destinationType: 'new' }] });
    artifactId = (await artifacts(s, t, sessionId))[0].id;
  } finally {
    await s.close();
  }
});

after(async () => {
  await killAll();
  await client?.end();
  await db?.drop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Job {
  state: string;
  owner: string | null;
  leaseUntil: string | null;
  attempts: number;
  /** Whether the artifact has started (its start time, from which pacing counts, is recorded). */
  started: boolean;
  /** Items restored as of the job's last commit. */
  restored: number;
}

/** The restore job as the database has it (committed state, whatever the nodes are doing). */
async function job(): Promise<Job> {
  const r = await client.query('select state, lease_owner, lease_until, attempts, progress from jobs where tenant_id = $1 and ref_id = $2', [t.id, artifactId]);
  assert.equal(r.rows.length, 1, 'one job for the artifact');
  const row = r.rows[0];
  return { state: row.state, owner: row.lease_owner, leaseUntil: row.lease_until, attempts: Number(row.attempts), started: row.progress !== null, restored: row.progress ? JSON.parse(row.progress).restored : 0 };
}

/** Is the job running under a lease of this node's worker (its owner name is host:pid:random)? */
const heldBy = (j: Job, c: Child) => j.state === 'running' && (j.owner ?? '').startsWith(`${os.hostname()}:${c.process.pid}:`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function advance(c: Child, duration: string): Promise<void> {
  ok(await c.server.request('POST', '/_mailvault/clock', { token: admin, body: { advance: duration } }), 200);
}

/** Messages under a folder, recursively. */
async function messagesUnder(s: TestServer, folderId: string): Promise<any[]> {
  const out = [...(await listMessages(s, t, userId, folderId)).values()];
  const children = ok(await s.request('GET', `/v1.0/users/${userId}/mailFolders/${folderId}/childFolders?$top=100`, { token: t.app }), 200).value;
  for (const f of children) out.push(...(await messagesUnder(s, f.id)));
  return out;
}

/**
 * Moves A's clock a minute (250 more items allowed) and, while A works through them, stops A
 * (SIGSTOP) at a moment it holds the job's lease with more items committed than before. The job row
 * is read again with A stopped: when A still holds the lease, the row is A's for good and A is
 * killed; when A had let the job go meanwhile, A goes on (SIGCONT) and the next step tries again.
 */
async function killWhileHolding(a: Child): Promise<Job> {
  for (let step = 0; step < 4; step++) {
    const before = await job();
    let moved = false;
    const move = advance(a, 'PT1M').then(
      () => void (moved = true),
      () => void (moved = true), // A killed under the request
    );
    while (!moved) {
      const j = await job();
      if (heldBy(j, a) && j.restored > before.restored) {
        a.process.kill('SIGSTOP');
        await sleep(300);
        const frozen = await job();
        if (heldBy(frozen, a)) {
          await a.kill();
          return frozen;
        }
        a.process.kill('SIGCONT');
      }
      await sleep(5);
    }
    await move;
  }
  assert.fail('node A never held the job with items restored when looked at');
}

test('two nodes on one database: the node running a restore is killed and the other finishes it, every item restored once', { skip, timeout: 120_000 }, async () => {
  const env = { MAILVAULT_RESTORE_BATCH: String(BATCH), MAILVAULT_LEASE_MS: String(LEASE_MS) };
  const [a, b] = await Promise.all(dirs.map((data) => serve({ data, databaseUrl: db!.url, args: ['--timing', 'realistic'], env })));

  // A a minute ahead of B, then the restore through A: A claims it and starts (nothing allowed yet).
  await advance(a, 'PT1M');
  await activate(a.server, t, sessionId);
  for (const until = Date.now() + 15_000; !(await job()).started; await sleep(20)) assert.ok(Date.now() < until, 'A started the restore');
  // One paced step: a minute of emulated time lets about 250 items through on A.
  await advance(a, 'PT1M');
  const first = await job();
  assert.ok(first.restored >= 250 && first.restored < N, `a minute's worth restored on A (${first.restored})`);
  const [inProgress] = await artifacts(b.server, t, sessionId);
  assert.equal(inProgress.status, 'inProgress');
  assert.ok(inProgress.restoredItemCount >= first.restored, 'progress is shared: B reports what A restored');

  const atKill = await killWhileHolding(a);
  assert.ok(atKill.restored > first.restored && atKill.restored < N, `A died part way (${atKill.restored} of ${N})`);
  assert.ok(atKill.leaseUntil, 'the dead node left its lease');

  // B takes the job over once A's lease lapses (real time), from A's last commit.
  const until = Date.now() + LEASE_MS + 15_000;
  let taken = await job();
  while (taken.attempts === atKill.attempts) {
    assert.ok(Date.now() < until, 'B took the job over after the lease lapsed');
    await sleep(50);
    taken = await job();
  }
  assert.ok(Date.now() >= Date.parse(atKill.leaseUntil!), 'B took it over only once the lease had lapsed');
  assert.equal(taken.attempts, atKill.attempts + 1, 'one takeover');
  assert.ok(taken.restored >= atKill.restored, 'nothing A committed is lost');

  // Enough emulated time on B for the rest.
  await advance(b, 'PT10M');
  const session = await waitForSession(b.server, t, sessionId, 30_000);
  assert.equal(session.status, 'completed');
  assert.deepEqual(session.restoreSessionArtifactCount, { total: 1, completed: 1, inProgress: 0, failed: 0 });
  const [done] = await artifacts(b.server, t, sessionId);
  assert.equal(done.restoredItemCount, N);
  const end = await job();
  assert.equal(end.state, 'done');
  assert.equal(end.attempts, atKill.attempts + 1, 'no other takeover');
  assert.equal(end.restored, N);

  // Every item once: N copies, each original subject and internetMessageId exactly once.
  const copies = await messagesUnder(b.server, done.restoredFolderId);
  assert.equal(copies.length, N, 'as many copies as items');
  const count = (keys: string[]) => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
  const subjects = count(copies.map((m) => m.subject));
  const messageIds = count(copies.map((m) => m.internetMessageId));
  for (const m of seeded) {
    assert.equal(subjects.get(m.subject), 1, `${m.subject} restored exactly once`);
    const messageId = /^Message-ID: (.+)$/m.exec(m.mime.toString())![1].trim();
    assert.equal(messageIds.get(messageId), 1, `${messageId} restored exactly once`);
  }
  await b.kill();
});
