/**
 * The two sides of the restore diff, read together, a page at a time, in item-id order: each
 * message's version at the restore point (its latest vault version at or before T) joined with the
 * live message of the same id. The database decides each item's state (SourceRow.state): unchanged,
 * deleted, modified, or unusable, and why. An item comes back with a few short columns and without
 * its snapshot text, which the restore writes back without reading (MailService.upsertStoredMessages);
 * only a live item in the same folder with the same content whose text differs as a text comes back
 * with both texts, for the last word on whether it changed.
 *
 * These read the vault's `vault_versions` and `search_hits` tables (with the vault's own latest-version
 * query, vault/latest.ts) rather than through VaultService.stateAt / searchHitIds, because the restore
 * needs a resumable cursor and must read inside its own transaction.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../../store/schema.js';
import { latestSeqs, latestVersions, versionProps } from '../../vault/latest.js';
import type { Trx } from '../../store/store.js';

/**
 * What the database makes of an item (in this order): `absent` (no version at the restore point, or a
 * delete), `unchanged` (the live message equals its version: same folder, content and properties),
 * `incomplete`, `unreadable` (the snapshot text is missing; a text that is not JSON is never parsed
 * here, and the write finds it), `nocontent` (the content is no longer in the blob store), `deleted`
 * (no live message), `compare` (same folder and content, texts that differ as texts: judge() has the
 * last word), `modified`.
 */
export type SourceState = 'absent' | 'unchanged' | 'incomplete' | 'unreadable' | 'nocontent' | 'deleted' | 'compare' | 'modified';

/** One item of a page: only what the restore needs, so that a page of deleted items costs few columns. */
export interface SourceRow {
  item_id: string;
  state: SourceState;
  /** Where the item was at the restore point. */
  folder_id: string | null;
  mime_sha256: string | null;
  /** The version holding the item's snapshot text: the version itself, or the one whose text it shares. */
  props_seq: number;
  /** `compare` only: the version's snapshot text and the live message's stored properties. */
  props: string | null;
  live_props: string | null;
}

/**
 * Snapshot properties equal, ignoring what changes on every write (changeKey, lastModifiedDateTime,
 * parentFolderId). On PostgreSQL the texts are compared as they are (a version's text and the row's
 * are the same text when nothing changed; judge() has the last word on texts that differ), because
 * reading them as jsonb would fail on a text holding the escape \u0000. On SQLite the texts are read
 * as JSON only when both are JSON: a damaged text makes the item differ, not the page's read fail.
 */
function samePropsSql(dialect: string): RawBuilder<unknown> {
  return dialect === 'postgres'
    ? sql`coalesce(v.props, s.props) = m.props`
    : sql`case when json_valid(coalesce(v.props, s.props)) and json_valid(m.props)
        then json_remove(coalesce(v.props, s.props), '$.changeKey', '$.lastModifiedDateTime', '$.parentFolderId') = json(m.props) else 0 end`;
}

/**
 * The page in item order. Ordered by the latest-version subquery's own item id, which SQLite reads in
 * that order already, so it does not sort the page's rows (snapshots and all) once more.
 */
async function page(trx: Trx, dialect: string, tenantId: string, mailboxId: string, latest: ReturnType<typeof latestSeqs>): Promise<SourceRow[]> {
  const compare = sql`d.live = 1 and d.unchanged = 0 and d.live_folder_id = d.folder_id and d.live_mime = d.mime_sha256`;
  const r = await sql<SourceRow>`
    select d.item_id, d.folder_id, d.mime_sha256, d.props_seq,
      case when d.op <> 'upsert' then 'absent'
        when d.unchanged = 1 then 'unchanged'
        when d.folder_id is null or d.mime_sha256 is null then 'incomplete'
        when d.vprops is null then 'unreadable'
        when not exists (select 1 from blobs b where b.sha256 = d.mime_sha256) then 'nocontent'
        when d.live = 0 then 'deleted'
        when ${compare} then 'compare'
        else 'modified' end as state,
      case when ${compare} then d.vprops end as props,
      case when ${compare} then d.lprops end as live_props
    from (
      select l.item_id, v.op, v.folder_id, v.mime_sha256, coalesce(v.props, s.props) as vprops, coalesce(v.props_seq, v.seq) as props_seq,
        case when m.id is null then 0 else 1 end as live,
        case when m.id is not null and v.op = 'upsert' and m.folder_id = v.folder_id and m.mime_sha256 = v.mime_sha256
          and ${samePropsSql(dialect)} then 1 else 0 end as unchanged,
        m.folder_id as live_folder_id, m.mime_sha256 as live_mime, m.props as lprops
      from (${latest}) l
      join vault_versions v on v.seq = l.seq
      left join vault_versions s on s.seq = v.props_seq
      left join messages m on m.tenant_id = ${tenantId} and m.mailbox_id = ${mailboxId} and m.id = v.item_id
    ) d
    order by d.item_id`.execute(trx);
  // a number on both databases (PostgreSQL answers bigints as text); the rows are ours, no copies
  for (const row of r.rows) row.props_seq = Number(row.props_seq);
  return r.rows;
}

/**
 * The next page of the whole mailbox at `at`, after item `after`. Every id is after '': the bound
 * keeps even the first page on the item index (streamed up to the limit).
 */
export function mailboxPage(trx: Trx, dialect: string, tenantId: string, mailboxId: string, at: string, after: string | null, limit: number): Promise<SourceRow[]> {
  return page(trx, dialect, tenantId, mailboxId, latestSeqs(trx, tenantId, mailboxId, { itemKind: 'message', at, afterId: after ?? '', limit }));
}

/** The given messages at `at` (those that existed then). */
export function itemsPage(trx: Trx, dialect: string, tenantId: string, mailboxId: string, at: string, ids: string[]): Promise<SourceRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return page(trx, dialect, tenantId, mailboxId, latestSeqs(trx, tenantId, mailboxId, { itemKind: 'message', at, itemIds: ids }));
}

export interface FolderAt {
  id: string;
  /** Its parent at `at`. */
  parentId: string | null;
  /** The folder's snapshot text (a FolderSnapshot). */
  props: string | null;
}

/**
 * The folders of the mailbox at `at`: each folder's latest version at or before `at`, unless a delete.
 * Only folder versions are read, so no message snapshot is read or parsed to learn the folder tree;
 * the texts come back unparsed, so that one unreadable folder does not stop the restore.
 */
export async function folderVersionsAt(db: Kysely<DB>, tenantId: string, mailboxId: string, at: string): Promise<FolderAt[]> {
  return latestVersions(db, tenantId, mailboxId, { itemKind: 'folder', at })
    .select(['v.item_id as id', 'v.folder_id as parentId', versionProps('v').as('props')])
    .where('v.op', '=', 'upsert')
    .execute();
}

/** The next page of item ids a granular search matched at a restore point, after item `after`. */
export async function hitsPage(trx: Trx, searchResponseId: string, restorePointId: string, after: string | null, limit: number): Promise<string[]> {
  let q = trx.selectFrom('search_hits').select('item_id').where('search_response_id', '=', searchResponseId).where('restore_point_id', '=', restorePointId);
  if (after !== null) q = q.where('item_id', '>', after);
  const rows = await q.orderBy('item_id').limit(limit).execute();
  return rows.map((r) => r.item_id);
}
