/**
 * Continuous capture. Inside the transaction that changes a protected mailbox, every change becomes
 * one appended vault version (an upsert with the item's full snapshot, or a delete tombstone);
 * message upserts are also added to the keyword index. When a unit becomes protected, the mailbox's
 * whole current state is captured at that instant and its first restore point is recorded.
 * Drafts are never captured.
 */
import { insertRows, type BulkInsert } from '../store/bulk.js';
import type { MailChange, ProtectionChange } from '../core.js';
import type { Trx } from '../store/store.js';
import { mailboxKey, type VaultContext } from './context.js';
import { createPoint, duePoints, markDirty } from './restorePoints.js';
import { latestVersions, versionProps } from './latest.js';

/** One version to append, its snapshot already serialized (once, here) as it is stored. */
export interface NewVersion {
  tenantId: string;
  mailboxId: string;
  itemKind: 'message' | 'folder';
  itemId: string;
  op: 'upsert' | 'delete';
  at: string;
  folderId: string | null;
  json: string | null;
  mimeSha256: string | null;
  /** The version whose snapshot text this upsert shares instead of holding a copy (`json` is then null). */
  propsSeq: number | null;
}

/** A change as the vault receives it: the snapshot as an object. */
export type VersionInput = Omit<NewVersion, 'json' | 'propsSeq'> & { props: Record<string, unknown> | null };

/** Snapshot fields that change on every write and are ignored when an item is recreated: not kept. */
const isInformational = (k: string) => k === 'changeKey' || k === 'lastModifiedDateTime' || k === 'parentFolderId';

/** The snapshot as kept (a copy without the informational fields; copying beats deleting, which slows serialization). */
function kept(props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in props) if (!isInformational(k)) out[k] = props[k];
  return out;
}

/**
 * `json`: the snapshot already serialized as kept, when known (a message row's text, which is the
 * same: the mail service stores the snapshot without the same three fields, in the same key order).
 * `propsSeq`: a version of the same mailbox holding exactly that text (a restore writing it back), to
 * refer to instead of storing the text again.
 */
export function newVersion(v: VersionInput, json?: string, propsSeq?: number | null): NewVersion {
  const upsert = v.op === 'upsert';
  const shared = upsert && propsSeq != null;
  return {
    tenantId: v.tenantId,
    mailboxId: v.mailboxId,
    itemKind: v.itemKind,
    itemId: v.itemId,
    op: v.op,
    at: v.at,
    folderId: v.folderId,
    json: upsert && !shared && v.props ? (json ?? JSON.stringify(kept(v.props))) : null,
    mimeSha256: upsert ? v.mimeSha256 : null,
    propsSeq: shared ? propsSeq : null,
  };
}

const VERSION_COLUMNS = ['tenant_id', 'mailbox_id', 'item_kind', 'item_id', 'op', 'at', 'folder_id', 'props', 'mime_sha256', 'props_seq'] as const;
const APPEND: BulkInsert = { table: 'vault_versions', columns: VERSION_COLUMNS };
/**
 * The same, for versions of one mailbox, inserted only if the mailbox is protected: the table, not a
 * cache, decides (it moves with the transaction). On PostgreSQL the rows' values are text under the
 * SELECT, so `props_seq` is cast.
 */
const APPEND_IF_PROTECTED: BulkInsert = {
  table: 'vault_versions',
  columns: VERSION_COLUMNS,
  from: {
    into: VERSION_COLUMNS,
    select: (dialect, p) => {
      const seq = dialect === 'postgres' ? 'cast(props_seq as bigint)' : 'props_seq';
      return `select ${VERSION_COLUMNS.slice(0, -1).join(', ')}, ${seq} from r
        where exists (select 1 from vault_mailboxes where tenant_id = ${p(0)} and mailbox_id = ${p(1)} and protected = 1)`;
    },
  },
};

/**
 * Appends versions (on the write path: multi-row statements whose texts are built once, their
 * parameters a flat array, no query builder; see store/bulk.ts). The keyword index follows behind the
 * capture (indexer.ts), so a protected write costs one more row, not an index update.
 * `onlyIfProtected`: the rows are of one mailbox, kept only if it is protected.
 */
export async function appendVersions(ctx: VaultContext, trx: Trx, rows: NewVersion[], onlyIfProtected = false): Promise<number> {
  if (rows.length === 0) return 0;
  const values: unknown[] = new Array(rows.length * VERSION_COLUMNS.length);
  let k = 0;
  for (const v of rows) {
    values[k++] = v.tenantId;
    values[k++] = v.mailboxId;
    values[k++] = v.itemKind;
    values[k++] = v.itemId;
    values[k++] = v.op;
    values[k++] = v.at;
    values[k++] = v.folderId;
    values[k++] = v.json;
    values[k++] = v.mimeSha256;
    values[k++] = v.propsSeq;
  }
  const dialect = ctx.core.store.dialect;
  const appended = onlyIfProtected
    ? await insertRows(trx, dialect, APPEND_IF_PROTECTED, values, [rows[0].tenantId, rows[0].mailboxId])
    : await insertRows(trx, dialect, APPEND, values);
  if (appended > 0) {
    ctx.unindexed = true;
    ctx.capturedSinceTick = true;
  }
  return appended;
}

export async function onMailChanged(ctx: VaultContext, trx: Trx, events: MailChange[]): Promise<void> {
  // On SQLite this process is the only writer and knows every mailbox ever protected. On PostgreSQL
  // another node may have protected one since this node started: the table alone decides there.
  const everyMailbox = ctx.core.store.dialect === 'postgres';
  let byMailbox: Map<string, NewVersion[]> | undefined;
  for (const e of events) {
    if (e.itemKind === 'message' && e.isDraft) continue;
    const key = mailboxKey(e.tenantId, e.mailboxId);
    if (!everyMailbox && !ctx.everProtected.has(key)) continue;
    byMailbox ??= new Map();
    let list = byMailbox.get(key);
    if (!list) byMailbox.set(key, (list = []));
    list.push(newVersion(e, e.json, e.propsSeq));
  }
  if (!byMailbox) return;
  for (const [key, rows] of byMailbox) {
    if ((await appendVersions(ctx, trx, rows, true)) > 0) markDirty(ctx, key);
  }
}

export async function onProtectionChanged(ctx: VaultContext, trx: Trx, events: ProtectionChange[]): Promise<void> {
  for (const e of events) {
    const key = mailboxKey(e.tenantId, e.mailboxId);
    const row = await trx
      .selectFrom('vault_mailboxes')
      .selectAll()
      .where('tenant_id', '=', e.tenantId)
      .where('mailbox_id', '=', e.mailboxId)
      .executeTakeFirst();
    if (!e.protected) {
      if (row?.protected === 1 && row.unit_id === e.unitId) {
        await trx
          .updateTable('vault_mailboxes')
          .set({ protected: 0, unprotected_at: e.at })
          .where('tenant_id', '=', e.tenantId)
          .where('mailbox_id', '=', e.mailboxId)
          .execute();
        ctx.dirty.set(key, null); // the last point is now due at once, at the moment protection ended
      }
      continue;
    }
    if (row?.protected === 1 && row.unit_id === e.unitId) continue;
    // Points still owed to the previous protection period are made before the new one begins.
    if (row) await duePoints(trx, row, e.at);
    const hasHistory = !!(await trx
      .selectFrom('vault_versions')
      .select('seq')
      .where('tenant_id', '=', e.tenantId)
      .where('mailbox_id', '=', e.mailboxId)
      .limit(1)
      .executeTakeFirst());
    await captureMailbox(ctx, trx, e.tenantId, e.mailboxId, e.at, hasHistory);
    const values = { unit_id: e.unitId, protected: 1, protected_since: e.at, unprotected_at: null, last_point_at: e.at };
    await trx
      .insertInto('vault_mailboxes')
      .values({ tenant_id: e.tenantId, mailbox_id: e.mailboxId, gc_horizon: null, ...values })
      .onConflict((oc) => oc.columns(['tenant_id', 'mailbox_id']).doUpdateSet(values))
      .execute();
    await createPoint(trx, { tenantId: e.tenantId, unitId: e.unitId, mailboxId: e.mailboxId, at: e.at });
    ctx.everProtected.add(key);
  }
}

/**
 * Captures the mailbox's current state at `at`. With earlier history (protection resumed after a
 * gap) only items that differ from the vault's latest version are appended, and items the vault
 * still holds but the mailbox no longer has get a tombstone, so the history stays true.
 */
async function captureMailbox(ctx: VaultContext, trx: Trx, tenantId: string, mailboxId: string, at: string, hasHistory: boolean): Promise<void> {
  const m = ctx.mail;
  const base = { tenantId, mailboxId, at, op: 'upsert' as const };
  const folders = await m.listFolders(tenantId, mailboxId, trx);
  const folderRows = folders.map(({ id, ...snapshot }) =>
    newVersion({ ...base, itemKind: 'folder', itemId: id, folderId: snapshot.parentFolderId, props: snapshot as unknown as Record<string, unknown>, mimeSha256: null }),
  );
  await appendVersions(ctx, trx, hasHistory ? await changedOnly(trx, tenantId, mailboxId, folderRows) : folderRows);
  let afterId: string | undefined;
  for (;;) {
    const page = await m.messagesInTrx(trx, tenantId, mailboxId, { afterId, limit: 1000 });
    if (page.length === 0) break;
    const rows = page
      .filter((msg) => !msg.props.isDraft)
      .map((msg) =>
        newVersion({ ...base, itemKind: 'message', itemId: msg.id, folderId: msg.folderId, props: msg.props as unknown as Record<string, unknown>, mimeSha256: msg.mimeSha256 }),
      );
    await appendVersions(ctx, trx, hasHistory ? await changedOnly(trx, tenantId, mailboxId, rows) : rows);
    if (page.length < 1000) break;
    afterId = page[page.length - 1].id;
  }
  if (hasHistory) await tombstoneVanished(ctx, trx, tenantId, mailboxId, at);
}

/** The rows whose item's latest vault version differs (or that the vault does not hold). */
async function changedOnly(trx: Trx, tenantId: string, mailboxId: string, rows: NewVersion[]): Promise<NewVersion[]> {
  if (rows.length === 0) return rows;
  const latest = new Map<string, { op: string; folder_id: string | null; props: string | null; mime_sha256: string | null }>();
  for (let i = 0; i < rows.length; i += 500) {
    const ids = rows.slice(i, i + 500).map((r) => r.itemId);
    const found = await latestVersions(trx, tenantId, mailboxId, { itemIds: ids })
      .select(['v.item_id', 'v.op', 'v.folder_id', versionProps('v').as('props'), 'v.mime_sha256'])
      .execute();
    for (const f of found) latest.set(f.item_id, f);
  }
  return rows.filter((r) => {
    const l = latest.get(r.itemId);
    return !l || l.op !== 'upsert' || l.folder_id !== r.folderId || l.props !== r.json || l.mime_sha256 !== r.mimeSha256;
  });
}

/** Tombstones for items alive in the vault that the mailbox no longer has (deleted while unprotected). */
async function tombstoneVanished(ctx: VaultContext, trx: Trx, tenantId: string, mailboxId: string, at: string): Promise<void> {
  const vanished = await latestVersions(trx, tenantId, mailboxId)
    .select(['v.item_id', 'v.item_kind', 'v.folder_id'])
    .where('v.op', '=', 'upsert')
    .where((eb) =>
      eb.and([
        eb.not(
          eb.exists(
            eb
              .selectFrom('messages as m')
              .select('m.id')
              .whereRef('m.id', '=', 'v.item_id')
              .where('m.tenant_id', '=', tenantId)
              .where('m.mailbox_id', '=', mailboxId)
              .where('m.is_draft', '=', 0),
          ),
        ),
        eb.not(
          eb.exists(
            eb.selectFrom('folders as f').select('f.id').whereRef('f.id', '=', 'v.item_id').where('f.tenant_id', '=', tenantId).where('f.mailbox_id', '=', mailboxId),
          ),
        ),
      ]),
    )
    .execute();
  await appendVersions(
    ctx,
    trx,
    vanished.map((v) =>
      newVersion({ tenantId, mailboxId, at, itemKind: v.item_kind, itemId: v.item_id, op: 'delete', folderId: v.folder_id, props: null, mimeSha256: null }),
    ),
  );
}
