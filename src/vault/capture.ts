/**
 * Continuous capture. Inside the transaction that changes a protected mailbox, every change becomes
 * one appended vault version (an upsert with the item's full snapshot, or a delete tombstone);
 * message upserts are also added to the keyword index. When a unit becomes protected, the mailbox's
 * whole current state is captured at that instant and its first restore point is recorded.
 * Drafts are never captured.
 */
import type { MailChange, ProtectionChange } from '../core.js';
import type { Trx } from '../store/store.js';
import type { VaultVersionTable } from '../store/schema.js';
import type { MailService } from '../mail/service.js';
import type { Insertable } from 'kysely';
import { mailboxKey, type VaultContext } from './context.js';
import { createPoint, duePoints } from './restorePoints.js';

type NewVersion = Insertable<VaultVersionTable>;

/** Appends versions and indexes the message upserts among them. */
export async function appendVersions(ctx: VaultContext, trx: Trx, rows: NewVersion[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const part = rows.slice(i, i + 500);
    const inserted = await trx.insertInto('vault_versions').values(part).returning('seq').execute();
    // One statement assigns ascending seqs in row order.
    const seqs = inserted.map((r) => Number(r.seq)).sort((a, b) => a - b);
    const indexed = part
      .map((r, k) => ({ r, seq: seqs[k] }))
      .filter(({ r }) => r.item_kind === 'message' && r.op === 'upsert' && r.props)
      .map(({ r, seq }) => ({ seq, tenantId: r.tenant_id, mailboxId: r.mailbox_id, props: JSON.parse(r.props!) as Record<string, unknown> }));
    if (indexed.length > 0) await ctx.index.add(trx, indexed);
  }
}

export async function onMailChanged(ctx: VaultContext, trx: Trx, events: MailChange[]): Promise<void> {
  const candidates = events.filter((e) => ctx.everProtected.has(mailboxKey(e.tenantId, e.mailboxId)));
  if (candidates.length === 0) return;
  const protectedNow = new Map<string, boolean>();
  const rows: NewVersion[] = [];
  for (const e of candidates) {
    if (e.itemKind === 'message' && e.isDraft) continue;
    const key = mailboxKey(e.tenantId, e.mailboxId);
    let on = protectedNow.get(key);
    if (on === undefined) {
      const row = await trx
        .selectFrom('vault_mailboxes')
        .select('protected')
        .where('tenant_id', '=', e.tenantId)
        .where('mailbox_id', '=', e.mailboxId)
        .executeTakeFirst();
      on = row?.protected === 1;
      protectedNow.set(key, on);
    }
    if (!on) continue;
    rows.push({
      tenant_id: e.tenantId,
      mailbox_id: e.mailboxId,
      item_kind: e.itemKind,
      item_id: e.itemId,
      op: e.op,
      at: e.at,
      folder_id: e.folderId,
      props: e.op === 'upsert' && e.props ? JSON.stringify(e.props) : null,
      mime_sha256: e.op === 'upsert' ? e.mimeSha256 : null,
    });
    ctx.dirty.add(key);
  }
  if (rows.length > 0) await appendVersions(ctx, trx, rows);
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
        ctx.dirty.add(key);
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

function mail(ctx: VaultContext): MailService {
  const m = ctx.core.services.mail as MailService | undefined;
  if (!m) throw new Error('the vault needs the mail service');
  return m;
}

/**
 * Captures the mailbox's current state at `at`. With earlier history (protection resumed after a
 * gap) only items that differ from the vault's latest version are appended, and items the vault
 * still holds but the mailbox no longer has get a tombstone, so the history stays true.
 */
async function captureMailbox(ctx: VaultContext, trx: Trx, tenantId: string, mailboxId: string, at: string, hasHistory: boolean): Promise<void> {
  const m = mail(ctx);
  const base = { tenant_id: tenantId, mailbox_id: mailboxId, at };
  const folders = await m.listFolders(tenantId, mailboxId, trx);
  const folderRows: NewVersion[] = folders.map(({ id, ...snapshot }) => ({
    ...base,
    item_kind: 'folder',
    item_id: id,
    op: 'upsert',
    folder_id: snapshot.parentFolderId,
    props: JSON.stringify(snapshot),
    mime_sha256: null,
  }));
  await appendVersions(ctx, trx, hasHistory ? await changedOnly(trx, tenantId, mailboxId, folderRows) : folderRows);
  let afterId: string | undefined;
  for (;;) {
    const page = await m.messagesInTrx(trx, tenantId, mailboxId, { afterId, limit: 1000 });
    if (page.length === 0) break;
    const rows: NewVersion[] = page
      .filter((msg) => !msg.props.isDraft)
      .map((msg) => ({
        ...base,
        item_kind: 'message',
        item_id: msg.id,
        op: 'upsert',
        folder_id: msg.folderId,
        props: JSON.stringify(msg.props),
        mime_sha256: msg.mimeSha256,
      }));
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
    const ids = rows.slice(i, i + 500).map((r) => r.item_id);
    const found = await trx
      .selectFrom('vault_versions as v')
      .innerJoin(
        (eb) =>
          eb
            .selectFrom('vault_versions')
            .select((e) => ['item_id', e.fn.max('seq').as('seq')])
            .where('tenant_id', '=', tenantId)
            .where('mailbox_id', '=', mailboxId)
            .where('item_id', 'in', ids)
            .groupBy('item_id')
            .as('l'),
        (j) => j.onRef('l.seq', '=', 'v.seq'),
      )
      .select(['v.item_id', 'v.op', 'v.folder_id', 'v.props', 'v.mime_sha256'])
      .execute();
    for (const f of found) latest.set(f.item_id, f);
  }
  return rows.filter((r) => {
    const l = latest.get(r.item_id);
    return !l || l.op !== 'upsert' || l.folder_id !== r.folder_id || l.props !== r.props || l.mime_sha256 !== r.mime_sha256;
  });
}

/** Tombstones for items alive in the vault that the mailbox no longer has (deleted while unprotected). */
async function tombstoneVanished(ctx: VaultContext, trx: Trx, tenantId: string, mailboxId: string, at: string): Promise<void> {
  const vanished = await trx
    .selectFrom('vault_versions as v')
    .innerJoin(
      (eb) =>
        eb
          .selectFrom('vault_versions')
          .select((e) => ['item_id', e.fn.max('seq').as('seq')])
          .where('tenant_id', '=', tenantId)
          .where('mailbox_id', '=', mailboxId)
          .groupBy('item_id')
          .as('l'),
      (j) => j.onRef('l.seq', '=', 'v.seq'),
    )
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
    vanished.map((v) => ({
      tenant_id: tenantId,
      mailbox_id: mailboxId,
      at,
      item_kind: v.item_kind,
      item_id: v.item_id,
      op: 'delete' as const,
      folder_id: v.folder_id,
      props: null,
      mime_sha256: null,
    })),
  );
}
