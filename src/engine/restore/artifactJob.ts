/**
 * The `restore-artifact` job: restores one artifact of an activated exchangeRestoreSession.
 *
 *   scheduling ──claim──► scheduled ──checks pass──► inProgress ──batches──► succeeded
 *                              └── checks fail ──► failed            └── nothing could be written ──► failed
 *
 * Checks before work begins: the restore point has not expired (InvalidRestoreTime), the mailbox
 * still exists (ArtifactNotFound), no other session is restoring the mailbox (DuplicateArtifactRestoreRequest).
 * The work is the roll-forward diff of diff.ts, in pages of BATCH source items; each page is one
 * transaction that writes the restored items and the job's progress together, so after a crash the
 * job resumes after the last committed page and every item is restored exactly once.
 */
import { sql } from 'kysely';
import type { Trx } from '../../store/store.js';
import type { StoredMessage } from '../../mail/service.js';
import { publicError } from '../../errors.js';
import { finish, loadProgress, saveProgress, sleepUntil } from '../jobs.js';
import type { JobContext, JobHandler } from '../runner.js';
import { faultPoint } from '../faults.js';
import type { RestoreEnv } from '../ports.js';
import { artifactStatus, moveArtifact, type ArtifactKey } from './artifacts.js';
import { Destination, type ArtifactRef } from './destination.js';
import { judge, type Restorable } from './diff.js';
import { messageCopyId } from './names.js';
import { pace } from './pacing.js';
import { initialProgress, noteFailure, type RestoreProgress } from './progress.js';
import { hitsPage, itemsPage, mailboxPage, type SourceRow } from './source.js';
import { writeMessages } from './write.js';

/** Source items per page (and so per transaction); MAILVAULT_RESTORE_BATCH overrides it (crash tests use small pages). */
export const BATCH = Math.max(1, Number(process.env.MAILVAULT_RESTORE_BATCH) || 1000);
/** A job whose worker died this many times is given up (something in it kills the process). */
export const MAX_RECOVERIES = 20;
/** A second artifact of the same session and mailbox waits this long (emulated) for the first. */
const SAME_SESSION_WAIT_MS = 60_000;

interface Artifact extends ArtifactKey, ArtifactRef {
  status: string;
  restorePointId: string;
  searchResponseId: string | null;
  startAt: string | null;
}

interface PageResult {
  next: RestoreProgress;
  done: boolean;
}

type Check = { ok: { at: string } } | { fail: { code: string; message: string } };

export function restoreArtifactJob(env: RestoreEnv): JobHandler {
  const { core } = env;
  const now = () => core.clock.now();

  async function load(ctx: JobContext): Promise<Artifact | undefined> {
    const r = await core.store.db.selectFrom('restore_artifacts').selectAll().where('tenant_id', '=', ctx.job.tenant_id).where('id', '=', ctx.job.ref_id).executeTakeFirst();
    if (!r) return undefined;
    return {
      tenantId: r.tenant_id,
      id: r.id,
      sessionId: r.session_id,
      kind: r.kind,
      mailboxId: r.mailbox_id,
      destination: r.destination_type === 'new' ? 'new' : 'inPlace',
      status: r.status,
      restorePointId: r.restore_point_id,
      searchResponseId: r.search_response_id,
      startAt: r.start_at,
    };
  }

  /** What must hold before an artifact may start (read outside any transaction). */
  async function check(a: Artifact): Promise<Check> {
    const point = await env.vault.getRestorePoint(a.tenantId, a.restorePointId);
    if (!point) return { fail: { code: 'InvalidRestoreTime', message: `The restore point '${a.restorePointId}' expired before the restore ran.` } };
    if (a.kind === 'granular' && (!a.searchResponseId || !(await env.vault.getSearchResponse(a.tenantId, a.searchResponseId)))) {
      return { fail: { code: 'InvalidRestoreTime', message: `The search '${a.searchResponseId}' expired before the restore ran.` } };
    }
    if (!(await env.mail.mailboxExists(a.tenantId, a.mailboxId))) {
      return { fail: { code: 'ArtifactNotFound', message: `The mailbox '${a.mailboxId}' no longer exists.` } };
    }
    return { ok: { at: point.protectionDateTime } };
  }

  /**
   * Inside the starting transaction: is another artifact restoring this mailbox? One of another
   * session fails this one; one of the same session makes it wait its turn. Of two artifacts that
   * were scheduled at once, the one with the smaller id goes first.
   */
  async function rival(trx: Trx, a: Artifact): Promise<'otherSession' | 'sameSession' | undefined> {
    if (core.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${a.tenantId + '/' + a.mailboxId}))`.execute(trx);
    const others = await trx
      .selectFrom('restore_artifacts')
      .select(['id', 'session_id', 'status'])
      .where('tenant_id', '=', a.tenantId)
      .where('mailbox_id', '=', a.mailboxId)
      .where('id', '<>', a.id)
      .where('status', 'in', ['scheduled', 'inProgress'])
      .execute();
    const busy = others.filter((o) => o.status === 'inProgress' || o.id < a.id);
    if (busy.some((o) => o.session_id !== a.sessionId)) return 'otherSession';
    if (busy.length > 0) return 'sameSession';
    return undefined;
  }

  async function failArtifact(ctx: JobContext, a: ArtifactKey, code: string, message: string): Promise<void> {
    await ctx.step(async (trx) => {
      const status = await artifactStatus(trx, a);
      if (status && status !== 'failed' && status !== 'succeeded') {
        await moveArtifact(env, trx, a, 'failed', {
          completion_at: now().toISOString(),
          error: JSON.stringify(publicError(code, message)),
        });
      }
      await finish(trx, ctx.job.id, 'failed', { error: { code, message } }, now());
    });
  }

  /**
   * Reads the next page of source rows (`ids`: the page's items in order, when not every item has a
   * row). The read never parses a text it cannot: a captured text that is not JSON is found by the
   * write (write.ts), which reports its item as unreadable.
   */
  async function readPage(trx: Trx, a: Artifact, p: RestoreProgress): Promise<{ rows: SourceRow[]; ids?: string[] }> {
    const dialect = core.store.dialect;
    if (a.kind !== 'granular') return { rows: await mailboxPage(trx, dialect, a.tenantId, a.mailboxId, p.at, p.cursor, BATCH) };
    const ids = await hitsPage(trx, a.searchResponseId!, a.restorePointId, p.cursor, BATCH);
    return { rows: await itemsPage(trx, dialect, a.tenantId, a.mailboxId, p.at, ids), ids };
  }

  /** Reads and diffs the next page; the items to write and where the page ends. */
  async function nextPage(trx: Trx, a: Artifact, p: RestoreProgress, allowance: number): Promise<{ items: Restorable[]; cursor: string | null; examined: number; bad: Array<{ itemId: string; message: string }>; done: boolean }> {
    const { rows, ids } = await readPage(trx, a, p);
    const byId = ids ? new Map(rows.map((r) => [r.item_id, r])) : undefined;
    const order = ids ?? rows.map((r) => r.item_id);
    const items: Restorable[] = [];
    const bad: Array<{ itemId: string; message: string }> = [];
    let cursor = p.cursor;
    let examined = 0;
    let cut = false;
    for (let i = 0; i < order.length; i++) {
      const row = byId ? byId.get(order[i]) : rows[i];
      const verdict = row ? judge(row) : { skip: 'absent' as const };
      if ('restore' in verdict) {
        if (items.length >= allowance) {
          cut = true;
          break;
        }
        items.push(verdict.restore);
      } else if ('bad' in verdict) bad.push({ itemId: order[i], message: verdict.bad });
      cursor = order[i];
      examined++;
    }
    return { items, cursor, examined, bad, done: !cut && order.length < BATCH };
  }

  /**
   * One page: diff, write, record progress — one transaction. The page starts from the progress the
   * jobs row holds in that transaction (what the pages before it committed), never from memory, so
   * it is right even when it runs before the previous page's commit is known to have succeeded.
   * `computed` settles when the page's work is done inside its transaction, `durable` when it is committed and durable.
   */
  function page(ctx: JobContext, a: Artifact, dest: Destination, allowance: number): { computed: Promise<PageResult>; durable: Promise<PageResult> } {
    let settle!: { resolve: (r: PageResult) => void; reject: (e: unknown) => void };
    const computed = new Promise<PageResult>((resolve, reject) => (settle = { resolve, reject }));
    const durable = ctx.step(async (trx) => {
      try {
        const r = await pageWork(trx, ctx, a, dest, allowance);
        settle.resolve(r);
        return r;
      } catch (error) {
        settle.reject(error);
        throw error;
      }
    });
    // The step can fail before its work runs (a lost lease): `computed` then fails with it.
    durable.catch(settle.reject);
    return { computed, durable };
  }

  async function pageWork(trx: Trx, ctx: JobContext, a: Artifact, dest: Destination, allowance: number): Promise<PageResult> {
    const p = await loadProgress<RestoreProgress>(trx, ctx.job.id);
    const next: RestoreProgress = { ...p, failures: [...p.failures] };
    const pg = await nextPage(trx, a, next, allowance);
    const folders = pg.items.length > 0 ? await dest.resolve(trx, pg.items.map((i) => i.folderId), next) : new Map<string, string>();
    const records: StoredMessage[] = pg.items.map((i) => ({
      id: a.destination === 'inPlace' ? i.itemId : messageCopyId(a.id, i.itemId),
      folderId: folders.get(i.folderId)!,
      mimeSha256: i.mimeSha256,
      textKey: i.propsSeq,
    }));
    const outcome = await writeMessages(env, trx, a.tenantId, a.mailboxId, records, pg.items.map((i) => i.itemId));
    next.cursor = pg.cursor;
    next.examined += pg.examined;
    next.restored += outcome.written;
    for (const f of [...pg.bad, ...outcome.failures]) noteFailure(next, f.itemId, f.message);
    if (outcome.written > 0 || next.rootFolderId !== p.rootFolderId) {
      await trx
        .updateTable('restore_artifacts')
        .set({ restored_item_count: next.restored, restored_folder_id: next.rootFolderId ?? undefined, restored_folder_name: next.rootFolderName ?? undefined })
        .where('tenant_id', '=', a.tenantId)
        .where('id', '=', a.id)
        .execute();
    }
    await saveProgress(trx, ctx.job.id, next, now());
    faultPoint('restore.batch.uncommitted');
    return { next, done: pg.done };
  }

  async function complete(ctx: JobContext, a: Artifact, dest: Destination, p: RestoreProgress): Promise<void> {
    const owner = a.destination === 'inPlace' ? await env.mail.findUser(a.tenantId, a.mailboxId) : undefined;
    await ctx.step(async (trx) => {
      const nothing = p.restored === 0 && p.failed > 0;
      const error =
        p.failed === 0
          ? null
          : publicError(
              'UnknownError',
              `${p.failed} of ${p.failed + p.restored} items could not be restored.`,
              p.failures.map((f) => ({ code: 'ItemNotRestored', message: f.message, target: f.itemId })),
            );
      const folder =
        a.destination === 'inPlace'
          ? { restored_folder_id: dest.rootFolderId, restored_folder_name: owner?.displayName ?? a.mailboxId }
          : { restored_folder_id: p.rootFolderId, restored_folder_name: p.rootFolderName };
      await moveArtifact(env, trx, a, nothing ? 'failed' : 'succeeded', {
        completion_at: now().toISOString(),
        restored_item_count: p.restored,
        error: error ? JSON.stringify(error) : null,
        ...folder,
      });
      await finish(trx, ctx.job.id, nothing ? 'failed' : 'done', p, now());
    });
    faultPoint('restore.completed');
  }

  return {
    async run(ctx) {
      const a = await load(ctx);
      if (!a) {
        await ctx.step((trx) => finish(trx, ctx.job.id, 'failed', { error: { code: 'ArtifactNotFound', message: 'The artifact no longer exists.' } }, now()));
        return;
      }
      if (a.status === 'succeeded' || a.status === 'failed') {
        await ctx.step((trx) => finish(trx, ctx.job.id, a.status === 'succeeded' ? 'done' : 'failed', JSON.parse(ctx.job.progress ?? 'null'), now()));
        return;
      }
      if (ctx.job.attempts > MAX_RECOVERIES) {
        await failArtifact(ctx, a, 'UnknownError', `The restore was interrupted ${ctx.job.attempts} times and was given up.`);
        return;
      }
      if (a.status === 'scheduling') {
        await ctx.step((trx) => moveArtifact(env, trx, a, 'scheduled'));
        a.status = 'scheduled';
        faultPoint('restore.scheduled');
      }

      let progress: RestoreProgress;
      if (a.status === 'scheduled') {
        const c = await check(a);
        if ('fail' in c) {
          await failArtifact(ctx, a, c.fail.code, c.fail.message);
          return;
        }
        const startedAt = now();
        const fresh = initialProgress(c.ok.at, startedAt.toISOString(), a.kind === 'mailbox' && a.destination === 'inPlace' ? 'folders' : 'messages');
        const started = await ctx.step(async (trx) => {
          const r = await rival(trx, a);
          if (r === 'otherSession') return r;
          if (r === 'sameSession') {
            await sleepUntil(trx, ctx.job.id, new Date(startedAt.getTime() + SAME_SESSION_WAIT_MS), null, startedAt);
            return r;
          }
          await moveArtifact(env, trx, a, 'inProgress', { start_at: startedAt.toISOString(), restored_item_count: 0 });
          await saveProgress(trx, ctx.job.id, fresh, startedAt);
          return 'started';
        });
        if (started === 'otherSession') {
          await failArtifact(ctx, a, 'DuplicateArtifactRestoreRequest', `The mailbox '${a.mailboxId}' is already being restored by another restore session.`);
          return;
        }
        if (started === 'sameSession') return;
        progress = fresh;
        faultPoint('restore.started');
      } else {
        progress = JSON.parse(ctx.job.progress ?? 'null') as RestoreProgress;
        if (!progress) throw new Error(`job ${ctx.job.id} is in progress without a record of its progress`);
      }

      const dest = await Destination.load(env, a, progress.at);
      if (progress.phase === 'folders') {
        progress = await ctx.step(async (trx) => {
          const next: RestoreProgress = { ...progress, phase: 'messages', foldersRecreated: await dest.recreateMissingFolders(trx) };
          await saveProgress(trx, ctx.job.id, next, now());
          return next;
        });
      }
      // Pages run back to back: the next page is computed while the previous one's commit is made
      // durable (its fdatasync), and at most that one page is unconfirmed at a time.
      let unconfirmed: Promise<PageResult> | undefined;
      const confirm = async () => {
        if (!unconfirmed) return;
        const previous = unconfirmed;
        unconfirmed = undefined;
        await previous;
        faultPoint('restore.batch.committed');
      };
      try {
        for (;;) {
          if (ctx.stopping) {
            // Shutting down: hand the job back at once rather than leaving it to a lapsed lease.
            await confirm();
            await ctx.step((trx) => sleepUntil(trx, ctx.job.id, now(), progress, now()));
            return;
          }
          const p = pace(core.config.timing, progress.startedAt, progress.restored + progress.failed, now());
          if (p.allowance <= 0) {
            await confirm();
            await ctx.step((trx) => sleepUntil(trx, ctx.job.id, p.nextAt!, progress, now()));
            return;
          }
          const { computed, durable } = page(ctx, a, dest, p.allowance);
          const r = await computed;
          await confirm();
          unconfirmed = durable;
          progress = r.next;
          if (r.done) break;
        }
        await confirm();
      } finally {
        // Leaving on an error: the page still in flight settles on its own (its failure is the job's, reported by the runner).
        unconfirmed?.catch(() => undefined);
      }
      await complete(ctx, a, dest, progress);
    },

    async fail(ctx, error) {
      const a = await load(ctx);
      if (!a) return;
      const gone = !(await env.mail.mailboxExists(a.tenantId, a.mailboxId).catch(() => true));
      if (gone) await failArtifact(ctx, a, 'ArtifactNotFound', `The mailbox '${a.mailboxId}' no longer exists.`);
      else await failArtifact(ctx, a, 'UnknownError', `The restore failed: ${(error as Error)?.message ?? String(error)}`);
    },
  };
}
