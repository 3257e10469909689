/**
 * Restore points: a point is a time, not a copy. A unit gets one when protection begins and one at
 * each 10-minute tick at which its mailbox changed since the previous point; an idle mailbox gets
 * none. A point expires one calendar year after its time. `fastRestore` is carried while the point is
 * younger than 14 days (the policy's `R/PT10M`/`P2W` tier), `none` after.
 */
import crypto from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Trx } from '../store/store.js';
import type { DB, RestorePointTable, VaultMailboxTable } from '../store/schema.js';
import { FAST_RESTORE_MS, TICK_MS, ceilTick, floorTick, plusOneYear } from './time.js';
import { mailboxKey, splitKey, type VaultContext } from './context.js';

export interface RestorePoint {
  tenantId: string;
  id: string;
  unitId: string;
  mailboxId: string;
  protectionDateTime: string;
  expirationDateTime: string;
  /** restorePointTags flags: 1 = fastRestore */
  tags: number;
}

export const FAST_RESTORE = 1;

export function toPoint(row: Selectable<RestorePointTable>, now: Date): RestorePoint {
  const young = now.getTime() - new Date(row.protection_at).getTime() < FAST_RESTORE_MS;
  return {
    tenantId: row.tenant_id,
    id: row.id,
    unitId: row.unit_id,
    mailboxId: row.mailbox_id,
    protectionDateTime: row.protection_at,
    expirationDateTime: row.expires_at,
    tags: row.tags & (young ? FAST_RESTORE : 0),
  };
}

/** Oldest protection time that still carries fastRestore. */
export function fastRestoreSince(now: Date): string {
  return new Date(now.getTime() - FAST_RESTORE_MS + 1).toISOString();
}

/** Records a point (idempotent per unit and time); returns its id. */
export async function createPoint(trx: Trx, p: { tenantId: string; unitId: string; mailboxId: string; at: string; id?: string }): Promise<string> {
  const id = p.id ?? crypto.randomUUID();
  await trx
    .insertInto('restore_points')
    .values({ tenant_id: p.tenantId, id, unit_id: p.unitId, mailbox_id: p.mailboxId, protection_at: p.at, expires_at: plusOneYear(p.at), tags: FAST_RESTORE })
    .onConflict((oc) => oc.columns(['tenant_id', 'unit_id', 'protection_at']).doNothing())
    .execute();
  const row = await trx
    .selectFrom('restore_points')
    .select('id')
    .where('tenant_id', '=', p.tenantId)
    .where('unit_id', '=', p.unitId)
    .where('protection_at', '=', p.at)
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Makes the points a mailbox is owed up to `now`: walking its captured changes after the last point,
 * one point per tick that saw a change. Once the unit left protection, the last point is at that
 * moment rather than the tick after it. Returns the tick of the changes left for later, if any.
 */
export async function duePoints(trx: Trx, row: Selectable<VaultMailboxTable>, now: string): Promise<string | undefined> {
  let last = row.last_point_at ?? '';
  let made = false;
  let pending: string | undefined;
  for (;;) {
    const next = await trx
      .selectFrom('vault_versions')
      .select((eb) => eb.fn.min('at').as('at'))
      .where('tenant_id', '=', row.tenant_id)
      .where('mailbox_id', '=', row.mailbox_id)
      .where('at', '>', last)
      .executeTakeFirst();
    if (!next?.at) break;
    let tick = ceilTick(next.at);
    if (row.protected === 0 && row.unprotected_at && next.at <= row.unprotected_at && tick > row.unprotected_at) tick = row.unprotected_at;
    if (tick > now) {
      pending = tick;
      break;
    }
    await createPoint(trx, { tenantId: row.tenant_id, unitId: row.unit_id, mailboxId: row.mailbox_id, at: tick });
    last = tick;
    made = true;
  }
  if (made) {
    await trx.updateTable('vault_mailboxes').set({ last_point_at: last }).where('tenant_id', '=', row.tenant_id).where('mailbox_id', '=', row.mailbox_id).execute();
    row.last_point_at = last;
  }
  return pending;
}

/** The scheduler task: points for every mailbox that changed, up to the clock (no transaction when none is due). */
export async function makeDuePoints(ctx: VaultContext, now: Date): Promise<number> {
  const nowIso = now.toISOString();
  const keys = [...ctx.dirty].filter(([, due]) => due === null || due <= nowIso).map(([key]) => key);
  if (keys.length === 0) return 0;
  return ctx.core.store.write(async (trx) => {
    let count = 0;
    for (const key of keys) {
      const [tenantId, mailboxId] = splitKey(key);
      const row = await trx.selectFrom('vault_mailboxes').selectAll().where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).executeTakeFirst();
      if (!row) {
        ctx.dirty.delete(key);
        continue;
      }
      const before = row.last_point_at;
      const pending = await duePoints(trx, row, nowIso);
      if (row.last_point_at !== before) count++;
      if (pending) ctx.dirty.set(key, pending);
      else ctx.dirty.delete(key);
    }
    return count;
  });
}

/** Notes that a mailbox may owe points (a later change never makes its next due tick earlier). */
export function markDirty(ctx: VaultContext, key: string): void {
  if (!ctx.dirty.has(key)) ctx.dirty.set(key, null);
}

/** At start every known mailbox is looked at once (changes may have come after its last point). */
export async function loadHints(ctx: VaultContext): Promise<void> {
  const rows = await ctx.core.store.db.selectFrom('vault_mailboxes').select(['tenant_id', 'mailbox_id']).execute();
  for (const r of rows) {
    const key = mailboxKey(r.tenant_id, r.mailbox_id);
    ctx.everProtected.add(key);
    ctx.dirty.set(key, null);
  }
}

export async function getPoint(db: Kysely<DB>, tenantId: string, id: string, now: Date): Promise<RestorePoint | undefined> {
  const row = await db
    .selectFrom('restore_points')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('expires_at', '>', now.toISOString())
    .executeTakeFirst();
  return row ? toPoint(row, now) : undefined;
}

export interface Window {
  start?: string;
  end?: string;
  /** restorePointTags flags the point must carry */
  tags?: number;
}

/** Live points of a unit (or of a mailbox, across its units) in a window, inclusive at both ends. */
export async function pointsIn(
  db: Kysely<DB>,
  tenantId: string,
  by: { unitId: string } | { mailboxId: string },
  w: Window,
  order: 'asc' | 'desc',
  limit: number,
  now: Date,
): Promise<RestorePoint[]> {
  let q = db.selectFrom('restore_points').selectAll().where('tenant_id', '=', tenantId).where('expires_at', '>', now.toISOString());
  q = 'unitId' in by ? q.where('unit_id', '=', by.unitId) : q.where('mailbox_id', '=', by.mailboxId);
  if (w.start) q = q.where('protection_at', '>=', w.start);
  if (w.end) q = q.where('protection_at', '<=', w.end);
  if (w.tags && w.tags & FAST_RESTORE) q = q.where('protection_at', '>=', fastRestoreSince(now));
  const rows = await q.orderBy('protection_at', order).orderBy('id', order).limit(limit).execute();
  return rows.map((r) => toPoint(r, now));
}

/**
 * The point a preference picks in a window, as if the unit had a point at every 10-minute tick (as
 * Microsoft 365 Backup has): the state at a tick between two recorded points is the state of the
 * earlier one, so such a tick is recorded only when it is asked for. A tick qualifies while the
 * mailbox is in its current protection period, is not older than retention allows and is not
 * before what garbage collection has reduced. Recorded points (the start of protection, the ticks
 * that saw changes, the end of protection) qualify as they are.
 */
export async function preferredPoint(
  ctx: VaultContext,
  tenantId: string,
  by: { unitId: string } | { mailboxId: string },
  w: Window,
  preference: 'latest' | 'oldest',
  now: Date,
): Promise<RestorePoint | undefined> {
  const [point] = await recordTicks(ctx, [await preferredTick(ctx, tenantId, by, w, preference, now)], now);
  return point;
}

/** A tick to record: the unit's point at that time (its state is the recorded point before it). */
export interface TickToRecord {
  tenantId: string;
  unitId: string;
  mailboxId: string;
  at: string;
}

/** Records the ticks chosen (one transaction for all) and answers every choice as a point. */
export async function recordTicks(ctx: VaultContext, choices: Array<RestorePoint | TickToRecord | undefined>, now: Date): Promise<Array<RestorePoint | undefined>> {
  const ticks = choices.filter((c): c is TickToRecord => !!c && !('id' in c));
  if (ticks.length === 0) return choices as Array<RestorePoint | undefined>;
  await ctx.core.store.write(async (trx) => {
    for (const t of ticks) await createPoint(trx, t);
  });
  const out: Array<RestorePoint | undefined> = [];
  for (const c of choices) {
    if (!c || 'id' in c) out.push(c);
    else out.push((await pointsIn(ctx.core.store.db, c.tenantId, { unitId: c.unitId }, { start: c.at, end: c.at }, 'asc', 1, now))[0]);
  }
  return out;
}

/** The choice of preferredPoint, without recording it. */
export async function preferredTick(
  ctx: VaultContext,
  tenantId: string,
  by: { unitId: string } | { mailboxId: string },
  w: Window,
  preference: 'latest' | 'oldest',
  now: Date,
): Promise<RestorePoint | TickToRecord | undefined> {
  const db = ctx.core.store.db;
  const [recorded] = await pointsIn(db, tenantId, by, w, preference === 'oldest' ? 'asc' : 'desc', 1, now);
  let q = db.selectFrom('vault_mailboxes').selectAll().where('tenant_id', '=', tenantId);
  q = 'unitId' in by ? q.where('unit_id', '=', by.unitId) : q.where('mailbox_id', '=', by.mailboxId);
  const m = await q.executeTakeFirst();
  if (!m?.protected_since) return recorded;
  const nowIso = now.toISOString();
  const floors = [m.protected_since, m.gc_horizon ?? '', new Date(now.getTime() - 365 * 86_400_000 + TICK_MS).toISOString(), w.start ?? ''];
  if (w.tags && w.tags & FAST_RESTORE) floors.push(fastRestoreSince(now));
  const lo = floors.reduce((a, b) => (a > b ? a : b));
  const ceilings = [m.protected === 1 ? nowIso : (m.unprotected_at ?? nowIso), nowIso, w.end ?? nowIso];
  const hi = ceilings.reduce((a, b) => (a < b ? a : b));
  const tick = preference === 'oldest' ? ceilTick(lo) : floorTick(hi);
  if (tick < lo || tick > hi) return recorded;
  if (recorded && (preference === 'oldest' ? recorded.protectionDateTime <= tick : recorded.protectionDateTime >= tick)) return recorded;
  return { tenantId, unitId: m.unit_id, mailboxId: m.mailbox_id, at: tick };
}
