import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../store/schema.js';

/**
 * `vault_versions as v` narrowed to the latest version of each item of a mailbox (optionally only
 * some items, one kind, as of a time, or a page in item order): the one question every reader of the vault asks.
 */
export function latestVersions(db: Kysely<DB>, tenantId: string, mailboxId: string, o: LatestOptions = {}) {
  return db.selectFrom('vault_versions as v').innerJoin(latestSeqs(db, tenantId, mailboxId, o).as('l'), (j) => j.onRef('l.seq', '=', 'v.seq'));
}

export interface LatestOptions {
  itemIds?: string[];
  itemKind?: 'message' | 'folder';
  at?: string;
  afterId?: string;
  limit?: number;
}

/** The (item_id, seq) of the latest version of each item, narrowed as latestVersions' options say. */
export function latestSeqs(db: Kysely<DB>, tenantId: string, mailboxId: string, o: LatestOptions = {}) {
  let q = db
    .selectFrom('vault_versions')
    .select((e) => ['item_id', e.fn.max('seq').as('seq')])
    .where('tenant_id', '=', tenantId)
    .where('mailbox_id', '=', mailboxId);
  // A literal, so the planner can use the folder versions' partial index (304).
  if (o.itemKind) q = q.where('item_kind', '=', sql.lit(o.itemKind));
  if (o.itemIds) q = q.where('item_id', 'in', o.itemIds);
  if (o.at) q = q.where('at', '<=', o.at);
  if (o.afterId !== undefined) q = q.where('item_id', '>', o.afterId);
  const grouped = q.groupBy('item_id');
  return o.limit === undefined ? grouped : grouped.orderBy('item_id').limit(o.limit);
}

/**
 * A version's snapshot text, whether it holds it or shares an earlier version's (`props_seq`): every
 * reader of `props` goes through this, but the restore's diff (engine/restore/source.ts), which joins
 * the sharing version once for the two places it needs the text. `alias` names the version row.
 */
export function versionProps(alias: string): RawBuilder<string | null> {
  return sql.raw<string | null>(versionPropsSql(alias));
}

/** `versionProps` as SQL text, for statements written as text. */
export function versionPropsSql(alias: string): string {
  return `coalesce(${alias}.props, (select s.props from vault_versions s where s.seq = ${alias}.props_seq))`;
}
