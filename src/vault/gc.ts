/**
 * Retention. Restore points expire one year after their time; what only expired points needed goes
 * (a point or search response that work in progress holds, VaultService.holdRetention, counts as live):
 *  - versions: per mailbox, with P0 the time of its oldest live point (or of its last point when it
 *    has none but is still protected), every item keeps only its latest version at or before P0
 *    (none if that is a delete); later versions are untouched. A mailbox no longer protected and
 *    without live points is forgotten entirely. Work is incremental: only items changed since the
 *    previous horizon are looked at.
 *  - blobs: content no live message and no remaining version refers to (after an hour's grace, so
 *    content written just before its message is safe).
 *  - search responses once their points expired, with their hits.
 */
import { sql } from 'kysely';
import type { Trx } from '../store/store.js';
import type { GcReport, VaultContext } from './context.js';

export type { GcReport } from './context.js';
import { mailboxKey } from './context.js';


export const GC_INTERVAL_MS = 86_400_000;
const BLOB_GRACE_MS = 3_600_000;
const CHUNK = 500;

export async function collectGarbage(ctx: VaultContext, now: Date): Promise<GcReport> {
  const started = performance.now();
  const { store } = ctx.core;
  const nowIso = now.toISOString();
  const report: GcReport = {
    at: nowIso,
    expiredRestorePoints: 0,
    expiredSearchResponses: 0,
    versionsRemoved: 0,
    versionBytesFreed: 0,
    blobsRemoved: 0,
    blobBytesFreed: 0,
    mailboxesForgotten: 0,
    durationMs: 0,
  };

  // What work in progress still reads stays, expired or not.
  const heldPoints = new Set<string>();
  const heldSearches = new Set<string>();
  for (const hold of ctx.holds) {
    const h = await hold();
    for (const id of h.restorePointIds) heldPoints.add(id);
    for (const id of h.searchResponseIds) heldSearches.add(id);
  }

  // Expired points and search responses.
  await store.write(async (trx) => {
    const expired = (await trx.selectFrom('restore_points').select('id').where('expires_at', '<=', nowIso).execute()).filter((r) => !heldPoints.has(r.id));
    for (let i = 0; i < expired.length; i += CHUNK) {
      const ids = expired.slice(i, i + CHUNK).map((r) => r.id);
      await trx.deleteFrom('search_hits').where('restore_point_id', 'in', ids).execute();
      await trx.deleteFrom('restore_points').where('id', 'in', ids).where('expires_at', '<=', nowIso).execute();
    }
    report.expiredRestorePoints = expired.length;
    const responses = (await trx.selectFrom('search_responses').select('id').where('expires_at', '<=', nowIso).execute()).filter((r) => !heldSearches.has(r.id));
    for (let i = 0; i < responses.length; i += CHUNK) {
      const ids = responses.slice(i, i + CHUNK).map((r) => r.id);
      await trx.deleteFrom('search_hits').where('search_response_id', 'in', ids).execute();
      await trx.deleteFrom('search_response_points').where('search_response_id', 'in', ids).execute();
      await trx.deleteFrom('search_responses').where('id', 'in', ids).execute();
    }
    report.expiredSearchResponses = responses.length;
  });

  // Versions no live or held point needs, mailbox by mailbox (those whose horizon moved).
  const oldestLive = new Map<string, string>();
  for (const r of await store.db
    .selectFrom('restore_points')
    .select((e) => ['tenant_id', 'mailbox_id', e.fn.min('protection_at').as('t')])
    .where((e) => (heldPoints.size > 0 ? e.or([e('expires_at', '>', nowIso), e('id', 'in', [...heldPoints])]) : e('expires_at', '>', nowIso)))
    .groupBy(['tenant_id', 'mailbox_id'])
    .execute()) {
    oldestLive.set(mailboxKey(r.tenant_id, r.mailbox_id), r.t);
  }
  const mailboxes = await store.db.selectFrom('vault_mailboxes').selectAll().execute();
  for (const m of mailboxes) {
    const oldest = oldestLive.get(mailboxKey(m.tenant_id, m.mailbox_id));
    if (!oldest && m.protected === 0) {
      const pending = await store.db
        .selectFrom('vault_versions')
        .select('seq')
        .where('tenant_id', '=', m.tenant_id)
        .where('mailbox_id', '=', m.mailbox_id)
        .where('at', '>', m.last_point_at ?? '')
        .limit(1)
        .executeTakeFirst();
      if (!pending) {
        await forgetMailbox(ctx, m.tenant_id, m.mailbox_id, report);
        continue;
      }
    }
    const horizon = oldest ?? m.last_point_at;
    if (!horizon || (m.gc_horizon && horizon <= m.gc_horizon)) continue;
    await reduceTo(ctx, m.tenant_id, m.mailbox_id, m.gc_horizon ?? '', horizon, report);
    await store.write((trx) =>
      trx.updateTable('vault_mailboxes').set({ gc_horizon: horizon }).where('tenant_id', '=', m.tenant_id).where('mailbox_id', '=', m.mailbox_id).execute(),
    );
  }

  // Content nothing refers to any more.
  const graceCut = new Date(now.getTime() - BLOB_GRACE_MS).toISOString();
  await store.write(async (trx) => {
    const orphans = await trx
      .selectFrom('blobs as b')
      .select(['b.sha256', 'b.size'])
      .where('b.created_at', '<=', graceCut)
      // One pass over the messages and one over the versions (no index on their content hash: it would cost every write).
      .where('b.sha256', 'not in', (eb) => eb.selectFrom('messages').select('mime_sha256'))
      .where('b.sha256', 'not in', (eb) => eb.selectFrom('vault_versions').select('mime_sha256').where('mime_sha256', 'is not', null).$narrowType<{ mime_sha256: string }>())
      .execute();
    for (let i = 0; i < orphans.length; i += CHUNK) {
      await trx.deleteFrom('blobs').where('sha256', 'in', orphans.slice(i, i + CHUNK).map((o) => o.sha256)).execute();
    }
    report.blobsRemoved = orphans.length;
    report.blobBytesFreed = orphans.reduce((n, o) => n + Number(o.size), 0);
  });

  report.durationMs = Math.round(performance.now() - started);
  ctx.lastGc = report;
  if (['info', 'debug', 'trace'].includes(ctx.core.config.logLevel)) {
    console.info(`[mailvault] vault gc at ${nowIso}: ${JSON.stringify(report)}`);
  }
  return report;
}

/** Keeps, for every item changed in (from, to], only its latest version at or before `to`. */
async function reduceTo(ctx: VaultContext, tenantId: string, mailboxId: string, from: string, to: string, report: GcReport): Promise<void> {
  let afterId: string | undefined;
  for (;;) {
    const done = await ctx.core.store.write(async (trx) => {
      let q = trx
        .selectFrom('vault_versions')
        .select('item_id')
        .distinct()
        .where('tenant_id', '=', tenantId)
        .where('mailbox_id', '=', mailboxId)
        .where('at', '>', from)
        .where('at', '<=', to);
      if (afterId !== undefined) q = q.where('item_id', '>', afterId);
      const items = (await q.orderBy('item_id').limit(CHUNK).execute()).map((r) => r.item_id);
      if (items.length === 0) return true;
      afterId = items[items.length - 1];
      const rows = await trx
        .selectFrom('vault_versions')
        .select((e) => ['seq', 'item_id', 'op', e.fn.coalesce(e.fn('length', ['props']), e.lit(0)).as('bytes')])
        .where('tenant_id', '=', tenantId)
        .where('mailbox_id', '=', mailboxId)
        .where('item_id', 'in', items)
        .where('at', '<=', to)
        .orderBy('item_id')
        .orderBy('seq')
        .execute();
      const remove: number[] = [];
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        const latest = i === rows.length - 1 || rows[i + 1].item_id !== r.item_id;
        if (!latest || r.op === 'delete') {
          remove.push(Number(r.seq));
          report.versionBytesFreed += Number(r.bytes);
        }
      }
      await removeVersions(ctx, trx, remove);
      report.versionsRemoved += remove.length;
      return items.length < CHUNK;
    });
    if (done) return;
  }
}

async function removeVersions(ctx: VaultContext, trx: Trx, seqs: number[]): Promise<void> {
  for (let i = 0; i < seqs.length; i += CHUNK) {
    const part = seqs.slice(i, i + CHUNK);
    // Versions sharing the text of one that goes get the text first (found by the partial index).
    await trx
      .updateTable('vault_versions')
      .set({ props: sql<string>`(select s.props from vault_versions s where s.seq = vault_versions.props_seq)`, props_seq: null })
      .where('props_seq', 'in', part)
      .execute();
    await trx.deleteFrom('vault_versions').where('seq', 'in', part).execute();
    await ctx.index.remove(trx, part);
  }
}

/** A mailbox no longer protected whose every point expired: its history goes. */
async function forgetMailbox(ctx: VaultContext, tenantId: string, mailboxId: string, report: GcReport): Promise<void> {
  for (;;) {
    const done = await ctx.core.store.write(async (trx) => {
      const state = await trx.selectFrom('vault_mailboxes').select('protected').where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).executeTakeFirst();
      if (state?.protected !== 0) return true; // protection resumed meanwhile
      const rows = await trx
        .selectFrom('vault_versions')
        .select((e) => ['seq', e.fn.coalesce(e.fn('length', ['props']), e.lit(0)).as('bytes')])
        .where('tenant_id', '=', tenantId)
        .where('mailbox_id', '=', mailboxId)
        .orderBy('seq')
        .limit(5000)
        .execute();
      await removeVersions(ctx, trx, rows.map((r) => Number(r.seq)));
      report.versionsRemoved += rows.length;
      report.versionBytesFreed += rows.reduce((n, r) => n + Number(r.bytes), 0);
      if (rows.length < 5000) {
        const gone = await trx
          .deleteFrom('vault_mailboxes')
          .where('tenant_id', '=', tenantId)
          .where('mailbox_id', '=', mailboxId)
          .where('protected', '=', 0)
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) > 0) {
          report.mailboxesForgotten++;
          ctx.dirty.delete(mailboxKey(tenantId, mailboxId));
        }
        return true;
      }
      return false;
    });
    if (done) return;
  }
}
