/**
 * The job queue under the restore engine: leases, take-over of a dead worker's job, work paced for
 * later, and (on PostgreSQL, with MAILVAULT_TEST_DATABASE_URL) several nodes sharing one queue.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';
import { claim } from '../../src/engine/jobs.js';
import { Runner } from '../../src/engine/runner.js';
import { RESTORE_ARTIFACT_JOB } from '../../src/backup/restoreSessions/service.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s?.close());

type JobState = 'queued' | 'running' | 'done' | 'failed';

async function insertJob(srv: TestServer, o: { kind?: string; state?: JobState; runAt?: string; leaseOwner?: string; leaseUntil?: string }): Promise<number> {
  const now = srv.app.core.clock.now().toISOString();
  const row = await srv.app.core.store.write((trx) =>
    trx
      .insertInto('jobs')
      .values({
        kind: o.kind ?? RESTORE_ARTIFACT_JOB,
        tenant_id: srv.tenantId,
        ref_id: crypto.randomUUID(),
        payload: '{}',
        state: o.state ?? 'queued',
        run_at: o.runAt ?? now,
        lease_owner: o.leaseOwner ?? null,
        lease_until: o.leaseUntil ?? null,
        attempts: 0,
        progress: null,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow(),
  );
  return Number(row.id);
}

const job = (srv: TestServer, id: number) => srv.app.core.store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

async function until(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a job whose worker died (its lease lapsed) is taken over and counted as another attempt; a live lease is left alone', async () => {
  const real = (ms: number) => new Date(Date.now() + ms).toISOString();
  const dead = await insertJob(s, { state: 'running', leaseOwner: 'node-that-died', leaseUntil: real(-1000) });
  const alive = await insertJob(s, { state: 'running', leaseOwner: 'node-still-working', leaseUntil: real(60_000) });
  await until('the lapsed job ran', async () => (await job(s, dead)).state === 'failed');
  const taken = await job(s, dead);
  assert.equal(taken.attempts, 1);
  assert.equal(taken.lease_owner, null);
  // A job of an artifact that does not exist ends at once, saying so.
  assert.deepEqual(JSON.parse(taken.progress!), { error: { code: 'ArtifactNotFound', message: 'The artifact no longer exists.' } });
  const untouched = await job(s, alive);
  assert.equal(untouched.state, 'running');
  assert.equal(untouched.lease_owner, 'node-still-working');
});

test('a job paced for later waits for the emulated clock', async () => {
  const later = new Date(s.app.core.clock.now().getTime() + 3_600_000).toISOString();
  const id = await insertJob(s, { runAt: later });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await job(s, id)).state, 'queued');
  await s.advance('PT1H');
  assert.equal((await job(s, id)).state, 'failed', 'run by the clock move itself');
});

test('concurrent claims never hand one job to two workers', async () => {
  const kind = `test-${crypto.randomBytes(4).toString('hex')}`;
  const ids = new Set<number>();
  for (let i = 0; i < 60; i++) ids.add(await insertJob(s, { kind }));
  const url = process.env.MAILVAULT_TEST_DATABASE_URL ? (s.app.core.config.databaseUrl as string) : undefined;
  // On PostgreSQL a second node on the same database claims alongside the first.
  const other = url ? await startServer({ databaseUrl: url }) : undefined;
  try {
    const nodes = [s, other ?? s];
    const claimed: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (w) => {
        const node = nodes[w % nodes.length];
        for (;;) {
          const got = await node.app.core.store.write((trx) => claim(trx, node.app.core.store.dialect, `worker-${w}`, [kind], node.app.core.clock.now()));
          if (!got) return;
          claimed.push(Number(got.id));
        }
      }),
    );
    assert.equal(claimed.length, ids.size, 'each job claimed once');
    assert.deepEqual(new Set(claimed), ids);
  } finally {
    if (other) await other.app.close();
  }
});

test('a worker whose queue cannot be read logs it, and waking it still resolves (nothing for a caller to catch)', async () => {
  const srv = await startServer();
  const logged: string[] = [];
  const runner = new Runner(srv.app.core, (message) => logged.push(message));
  runner.register(`test-${crypto.randomBytes(4).toString('hex')}`, { run: async () => {}, fail: async () => {} });
  await srv.close(); // its store with it: the queue's read now fails
  await runner.wake();
  assert.deepEqual(logged, ['job queue failed']);
});
