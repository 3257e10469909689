/**
 * `restorePoints/search`: per protection unit, the restore points in the time window (inclusive),
 * chosen by preference; with an artifact query, the messages matching it at each chosen point. The
 * answer is remembered under an opaque searchResponseId, as long as its points live, with (for
 * granular searches) the matched item ids per point, which granular restore artifacts restore.
 *
 * Choice of points: with `restorePointPreference`, one point per unit, the latest or the oldest in the
 * window as if every 10-minute tick had a point (restorePoints.ts preferredPoint); without it, the
 * most recent recorded points of all the units together. Never more than 5.
 */
import crypto from 'node:crypto';
import type { VaultContext } from './context.js';
import { pointsIn, preferredTick, recordTicks, type RestorePoint } from './restorePoints.js';
import { granularHits } from './granular.js';
import type { QueryNode } from './query/parser.js';

export const MAX_RESULTS = 5;
/** A response lives as long as the latest of its points; one that found none, a day. */
export const EMPTY_RESPONSE_TTL_MS = 86_400_000;

export interface SearchRequest {
  unitIds: string[];
  start?: string;
  end?: string;
  preference?: 'latest' | 'oldest';
  tags?: number;
  query?: { expression: string; node: QueryNode };
}

export interface SearchResult {
  point: RestorePoint;
  hitCount?: number;
}

export interface SearchOutcome {
  id: string;
  results: SearchResult[];
  noResultUnitIds: string[];
}

export function newSearchResponseId(): string {
  return crypto.randomBytes(18).toString('base64url');
}

export async function runSearch(ctx: VaultContext, tenantId: string, req: SearchRequest, o: { id?: string } = {}): Promise<SearchOutcome> {
  const now = ctx.core.clock.now();
  const db = ctx.core.store.db;
  const window = { start: req.start, end: req.end, tags: req.tags };
  const found = new Map<string, RestorePoint[]>();
  if (req.preference) {
    const choices = [];
    for (const unitId of req.unitIds) choices.push(await preferredTick(ctx, tenantId, { unitId }, window, req.preference, now));
    const points = await recordTicks(ctx, choices, now);
    req.unitIds.forEach((unitId, i) => found.set(unitId, points[i] ? [points[i]!] : []));
  } else {
    for (const unitId of req.unitIds) found.set(unitId, await pointsIn(db, tenantId, { unitId }, window, 'desc', MAX_RESULTS, now));
  }
  let points = [...found.values()].flat();
  if (!req.preference) points.sort((a, b) => (a.protectionDateTime < b.protectionDateTime ? 1 : a.protectionDateTime > b.protectionDateTime ? -1 : 0));
  points = points.slice(0, MAX_RESULTS);
  const noResultUnitIds = req.unitIds.filter((u) => found.get(u)!.length === 0);

  const hits = new Map<string, string[]>();
  if (req.query) {
    for (const p of points) hits.set(p.id, await granularHits(ctx, tenantId, p.mailboxId, p.protectionDateTime, req.query.node));
  }
  const id = o.id ?? newSearchResponseId();
  await ctx.core.store.write(async (trx) => {
    await trx
      .insertInto('search_responses')
      .values({
        tenant_id: tenantId,
        id,
        unit_id: req.unitIds.length === 1 ? req.unitIds[0] : null,
        query_expression: req.query?.expression ?? null,
        created_at: now.toISOString(),
        expires_at: points.reduce((t, p) => (p.expirationDateTime > t ? p.expirationDateTime : t), new Date(now.getTime() + EMPTY_RESPONSE_TTL_MS).toISOString()),
      })
      .execute();
    if (points.length > 0) {
      await trx
        .insertInto('search_response_points')
        .values(points.map((p, ordinal) => ({ search_response_id: id, ordinal, restore_point_id: p.id, hit_count: hits.get(p.id)?.length ?? null })))
        .execute();
    }
    for (const [pointId, items] of hits) {
      for (let i = 0; i < items.length; i += 500) {
        await trx
          .insertInto('search_hits')
          .values(items.slice(i, i + 500).map((item_id) => ({ search_response_id: id, restore_point_id: pointId, item_id })))
          .execute();
      }
    }
  });
  return {
    id,
    results: points.map((point) => (req.query ? { point, hitCount: hits.get(point.id)!.length } : { point })),
    noResultUnitIds,
  };
}

export async function getSearchResponse(ctx: VaultContext, tenantId: string, id: string) {
  const db = ctx.core.store.db;
  const row = await db
    .selectFrom('search_responses')
    .select(['id', 'unit_id'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('expires_at', '>', ctx.core.clock.now().toISOString())
    .executeTakeFirst();
  if (!row) return undefined;
  const points = await db.selectFrom('search_response_points').select('restore_point_id').where('search_response_id', '=', id).orderBy('ordinal').execute();
  return { id: row.id, unitId: row.unit_id, restorePointIds: points.map((p) => p.restore_point_id) };
}

export async function* searchHitIds(ctx: VaultContext, searchResponseId: string, restorePointId: string): AsyncGenerator<string[]> {
  let after: string | undefined;
  for (;;) {
    let q = ctx.core.store.db
      .selectFrom('search_hits')
      .select('item_id')
      .where('search_response_id', '=', searchResponseId)
      .where('restore_point_id', '=', restorePointId);
    if (after !== undefined) q = q.where('item_id', '>', after);
    const rows = await q.orderBy('item_id').limit(2000).execute();
    if (rows.length === 0) return;
    yield rows.map((r) => r.item_id);
    if (rows.length < 2000) return;
    after = rows[rows.length - 1].item_id;
  }
}
