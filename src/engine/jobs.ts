/**
 * The durable work queue (`jobs`). A worker claims a due job by taking a lease (owner + expiry);
 * while it holds the lease it may change the job, and each of its steps is one transaction that
 * first checks the lease is still its own. A job whose lease expired (its worker died) is claimed
 * again by whoever comes next.
 *
 * Two times meet here: `run_at` is emulated time (the injected clock: when paced work is due), while
 * `lease_until` is real time, because a lease is about whether a process is alive, and moving the
 * emulated clock must not make a live worker's lease lapse.
 */
import { CompiledQuery, sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { Store, Trx } from '../store/store.js';
import type { JobTable } from '../store/schema.js';
import { statesLeadingTo, type Machine } from '../stateMachine.js';

export type JobRow = Selectable<JobTable>;

/**
 * How long a lease lasts without renewal; every step renews it. MAILVAULT_LEASE_MS overrides it
 * (multi-node tests use a short lease, so a killed node's job is taken over in seconds).
 */
export const LEASE_MS = Math.max(1, Number(process.env.MAILVAULT_LEASE_MS) || 30_000);

type JobState = JobTable['state'];

/** job.state: queued → running (claimed) → done | failed, and running → queued when paced work sleeps. */
export const JOB: Machine<JobState, 'claim' | 'sleep' | 'finish' | 'fail'> = {
  queued: { claim: 'running' },
  running: { sleep: 'queued', finish: 'done', fail: 'failed' },
  done: {},
  failed: {},
};

/** The states a job may be in to move to `to`. */
function movingTo(to: JobState): JobState[] {
  return statesLeadingTo(JOB, to);
}

export class LeaseLost extends Error {
  constructor(jobId: number) {
    super(`job ${jobId}: the lease was taken over by another worker`);
  }
}

const realIso = (ms = Date.now()) => new Date(ms).toISOString();

/** Due: queued with its time come (emulated time), or running with a lapsed lease (real time). */
function dueSql(kinds: readonly string[], nowIso: string, real: string) {
  return sql`kind in (${sql.join(kinds)}) and ((state = 'queued' and run_at <= ${nowIso}) or (state = 'running' and lease_until < ${real}))`;
}

/**
 * Is any job of these kinds due? The question the worker asks on every poll and before every claim,
 * so its SQL is compiled once: building and compiling it with Kysely, in code this rare never gets
 * optimized, cost far more than SQLite answering it (with a poll ten times a second, an idle demo
 * server used 57 ms of CPU a second; 26 with the SQL compiled once). On a SQLite file it is read at once.
 */
export class DueProbe {
  private readonly text: string;

  constructor(private readonly store: Store, private readonly kinds: readonly string[]) {
    const compiled = sql`select id from jobs where ${dueSql(kinds, '', '')} limit 1`.compile(store.db);
    if (compiled.parameters.length !== kinds.length + 2) throw new Error('the due-job probe compiled to unexpected parameters');
    this.text = compiled.sql;
  }

  async any(now: Date): Promise<boolean> {
    const parameters = [...this.kinds, now.toISOString(), realIso()];
    const row = this.store.readFirstNow(this.text, parameters);
    if (row !== undefined) return row !== null;
    return (await this.store.db.executeQuery(CompiledQuery.raw(this.text, parameters))).rows.length > 0;
  }
}

/**
 * Claims the oldest due job (queued and due, or running with a lapsed lease) for `owner`. On
 * PostgreSQL the candidate row is locked with SKIP LOCKED, so workers on several nodes never take
 * the same job; on SQLite the single writer serializes claims. Taking over a lapsed lease counts an
 * attempt (the job's previous worker died).
 */
export async function claim(trx: Trx, dialect: string, owner: string, kinds: readonly string[], now: Date): Promise<JobRow | undefined> {
  const nowIso = now.toISOString();
  const real = realIso();
  const lock = dialect === 'postgres' ? sql`for update skip locked` : sql``;
  const result = await sql<JobRow>`
    update jobs set
      attempts = attempts + (case when state = 'running' then 1 else 0 end),
      state = 'running', lease_owner = ${owner}, lease_until = ${realIso(Date.now() + LEASE_MS)}, updated_at = ${nowIso}
    where id = (
      select id from jobs
      where ${dueSql(kinds, nowIso, real)}
      order by run_at, id
      limit 1 ${lock})
    returning *`.execute(trx);
  return result.rows[0];
}

/** Inside a step: the lease must still be ours; renews it. */
export async function holdLease(trx: Trx, jobId: number, owner: string): Promise<void> {
  const r = await trx
    .updateTable('jobs')
    .set({ lease_until: realIso(Date.now() + LEASE_MS) })
    .where('id', '=', jobId)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new LeaseLost(jobId);
}

/** The progress the job last recorded, as of this transaction. */
export async function loadProgress<T>(trx: Trx, jobId: number): Promise<T> {
  const row = await trx.selectFrom('jobs').select('progress').where('id', '=', jobId).executeTakeFirstOrThrow();
  if (row.progress === null) throw new Error(`job ${jobId} has no record of its progress`);
  return JSON.parse(row.progress) as T;
}

export async function saveProgress(trx: Trx, jobId: number, progress: unknown, now: Date): Promise<void> {
  await trx.updateTable('jobs').set({ progress: JSON.stringify(progress), updated_at: now.toISOString() }).where('id', '=', jobId).execute();
}

/** Ends the job (done or failed) and gives up the lease. */
export async function finish(trx: Trx, jobId: number, state: 'done' | 'failed', progress: unknown, now: Date): Promise<void> {
  await trx
    .updateTable('jobs')
    .set({ state, progress: JSON.stringify(progress), lease_owner: null, lease_until: null, updated_at: now.toISOString() })
    .where('id', '=', jobId)
    .where('state', 'in', movingTo(state))
    .execute();
}

/** Puts the job back in the queue until `runAt` (emulated time): paced work waiting for its next slot. */
export async function sleepUntil(trx: Trx, jobId: number, runAt: Date, progress: unknown, now: Date): Promise<void> {
  await trx
    .updateTable('jobs')
    .set({ state: 'queued', run_at: runAt.toISOString(), progress: JSON.stringify(progress), lease_owner: null, lease_until: null, updated_at: now.toISOString() })
    .where('id', '=', jobId)
    .where('state', 'in', movingTo('queued'))
    .execute();
}

/**
 * At start of a SQLite server: jobs left running were this data directory's previous process (only
 * one process serves a SQLite file), so they are taken back at once instead of after their lease.
 */
export async function recoverOrphans(store: Store): Promise<number> {
  if (store.dialect !== 'sqlite') return 0;
  return store.write(async (trx) => {
    const r = await trx
      .updateTable('jobs')
      .set((eb) => ({ state: 'queued', lease_owner: null, lease_until: null, attempts: eb('attempts', '+', 1) }))
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  });
}

/** A job to run: `kind` names its handler, `refId` what it works on. */
export interface NewJob {
  kind: string;
  tenantId: string;
  refId: string;
  payload: unknown;
}

/** Queues jobs, due at once, in the caller's transaction (so they exist exactly when what they work on does). */
export async function enqueue(trx: Trx, jobs: NewJob[], now: string): Promise<void> {
  const rows = jobs.map((j) => ({
    kind: j.kind,
    tenant_id: j.tenantId,
    ref_id: j.refId,
    payload: JSON.stringify(j.payload),
    state: 'queued' as const,
    run_at: now,
    lease_owner: null,
    lease_until: null,
    attempts: 0,
    progress: null,
    created_at: now,
    updated_at: now,
  }));
  for (let i = 0; i < rows.length; i += 500) await trx.insertInto('jobs').values(rows.slice(i, i + 500)).execute();
}
