/**
 * Every write to mailbox items goes through here, so that each one, in the same transaction,
 * (1) changes the rows, (2) appends to `mail_changes` (the delta log), and (3) emits
 * `core.events.mailChanged` with a complete snapshot (the vault's capture). Writes are multi-row
 * so that bulk callers (import, the restore engine) stay fast.
 */
import { sql, type Kysely } from 'kysely';
import type { Core, MailChange } from '../core.js';
import type { Trx } from '../store/store.js';
import type { DB, FolderTable, MessageTable } from '../store/schema.js';
import type { DialectName } from '../store/dialect.js';
import { changeKeys, sha256Hex } from './ids.js';
import { insertRows, updateFromExcluded, type BulkInsert } from '../store/bulk.js';
import type { FolderRecord, FolderSnapshot, MessageRecord, MessageSnapshot } from './model.js';

/** `items` in slices of `size` (ids per `in (...)` list, rows per statement). */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---- blobs -------------------------------------------------------------------------------------

/** Stores content once per SHA-256; returns the hashes in input order. */
export async function putBlobs(trx: Trx, now: string, data: Buffer[]): Promise<string[]> {
  const hashes = data.map((d) => sha256Hex(d));
  const seen = new Set<string>();
  const rows: Array<{ sha256: string; size: number; data: Buffer; created_at: string }> = [];
  data.forEach((d, i) => {
    if (seen.has(hashes[i])) return;
    seen.add(hashes[i]);
    rows.push({ sha256: hashes[i], size: d.length, data: d, created_at: now });
  });
  for (const part of chunks(rows, 200)) {
    await trx.insertInto('blobs').values(part).onConflict((oc) => oc.column('sha256').doNothing()).execute();
  }
  return hashes;
}

export async function readBlob(db: Kysely<DB>, sha256: string): Promise<Buffer | undefined> {
  const row = await db.selectFrom('blobs').select('data').where('sha256', '=', sha256).executeTakeFirst();
  return row ? Buffer.from(row.data) : undefined;
}

export async function readBlobs(db: Kysely<DB>, hashes: string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const part of chunks([...new Set(hashes)], 500)) {
    const rows = await db.selectFrom('blobs').select(['sha256', 'data']).where('sha256', 'in', part).execute();
    for (const r of rows) out.set(r.sha256, Buffer.from(r.data));
  }
  return out;
}

// ---- rows <-> records --------------------------------------------------------------------------

export function messageFromRow(r: Pick<MessageTable, 'id' | 'folder_id' | 'props' | 'mime_sha256' | 'change_key' | 'modified_at'>): MessageRecord {
  const props = JSON.parse(r.props) as MessageSnapshot;
  props.changeKey = r.change_key;
  props.lastModifiedDateTime = r.modified_at;
  props.parentFolderId = r.folder_id;
  return { id: r.id, folderId: r.folder_id, props, mimeSha256: r.mime_sha256 };
}

export function folderFromRow(r: FolderTable): FolderRecord {
  return {
    id: r.id,
    displayName: r.display_name,
    parentFolderId: r.parent_id,
    wellKnownName: r.well_known_name as FolderRecord['wellKnownName'],
    isHidden: r.is_hidden === 1,
    createdDateTime: r.created_at,
    lastModifiedDateTime: r.modified_at,
  };
}

const MESSAGE_KEY = ['tenant_id', 'mailbox_id', 'id'] as const;
const MESSAGE_COLUMNS = [
  ...MESSAGE_KEY,
  'folder_id',
  'props',
  'subject',
  'sender_address',
  'internet_message_id',
  'conversation_id',
  'mime_sha256',
  'has_attachments',
  'is_read',
  'is_draft',
  'importance',
  'received_at',
  'sent_at',
  'created_at',
  'modified_at',
  'change_key',
  'change_seq',
] as const satisfies ReadonlyArray<keyof MessageTable>;

const INSERT_MESSAGES: BulkInsert = { table: 'messages', columns: MESSAGE_COLUMNS };

/** Columns of the secondary index (messages_folder). */
const FOLDER_INDEXED = ['folder_id', 'received_at'];

/**
 * The upsert, in two variants by whether the overwrite leaves the folder index unchanged. SQLite
 * rewrites an index entry whenever its columns are SET, even to the same value, so leaving out
 * columns known to hold the same value already makes rewriting an unchanged message much cheaper.
 * Variant 1: folder and received time unchanged.
 */
const UPSERT_MESSAGES: BulkInsert[] = [0, 1].map((variant) => {
  const set = updateFromExcluded(
    MESSAGE_COLUMNS.filter((c) => !(variant === 1 && FOLDER_INDEXED.includes(c))),
    MESSAGE_KEY,
  );
  return { table: 'messages', columns: MESSAGE_COLUMNS, tail: `on conflict (${MESSAGE_KEY.join(', ')}) do update set ${set}` };
});

const CHANGE_COLUMNS = ['tenant_id', 'mailbox_id', 'item_kind', 'item_id', 'from_folder_id', 'to_folder_id', 'op', 'at'] as const;
const INSERT_CHANGES: BulkInsert = { table: 'mail_changes', columns: CHANGE_COLUMNS };

// ---- the change log ----------------------------------------------------------------------------

/**
 * Appends one mail_changes row per event (`fromFolderIds[i]`: where events[i]'s item was before,
 * null if nowhere; the event's folderId is where it is now, null for deletes) and emits the events.
 */
async function logChanges(core: Core, trx: Trx, events: MailChange[], fromFolderIds: Array<string | null>): Promise<void> {
  if (events.length === 0) return;
  const values: unknown[] = new Array(events.length * CHANGE_COLUMNS.length);
  let k = 0;
  events.forEach((e, i) => {
    values[k++] = e.tenantId;
    values[k++] = e.mailboxId;
    values[k++] = e.itemKind;
    values[k++] = e.itemId;
    values[k++] = fromFolderIds[i];
    values[k++] = e.op === 'delete' ? null : e.folderId;
    values[k++] = e.op;
    values[k++] = e.at;
  });
  await insertRows(trx, core.store.dialect, INSERT_CHANGES, values);
  await core.events.mailChanged.emit(trx, events);
}

async function nextSeq(trx: Trx, tenantId: string, mailboxId: string): Promise<number> {
  const row = await trx
    .updateTable('mailboxes')
    .set((eb) => ({ change_seq: eb('change_seq', '+', 1) }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', mailboxId)
    .returning('change_seq')
    .executeTakeFirst();
  if (!row) throw new Error(`mailbox ${mailboxId} does not exist`);
  return Number(row.change_seq);
}

// ---- messages ----------------------------------------------------------------------------------

function withoutWriteFields(p: MessageSnapshot): MessageSnapshot {
  const { changeKey: _c, lastModifiedDateTime: _l, parentFolderId: _p, ...props } = p;
  return props;
}

interface Existing {
  folder_id: string;
  received_at: string;
  change_key: string;
}

/** What the upsert needs to know of the messages among `ids` that exist; `lock`: for the transaction (PostgreSQL). */
async function existingOf(trx: Trx, tenantId: string, mailboxId: string, ids: string[], lock = false): Promise<Map<string, Existing>> {
  const out = new Map<string, Existing>();
  for (const part of chunks(ids, 900)) {
    const q = trx
      .selectFrom('messages')
      .select(['id', 'folder_id', 'received_at', 'change_key'])
      .where('tenant_id', '=', tenantId)
      .where('mailbox_id', '=', mailboxId)
      .where('id', 'in', part);
    for (const r of await (lock ? q.forUpdate() : q).execute()) out.set(r.id, r);
  }
  return out;
}

/**
 * Creates or overwrites messages by id from complete snapshots (the folder must exist). Each gets a
 * new changeKey and lastModifiedDateTime; everything else (dates, internetMessageId, content) is
 * taken from the snapshot. Returns the records as stored. `fresh`: the ids were made just now
 * (import), so none can exist yet. `asRead`: the records change messages read before this write, and
 * each must still be as read (its snapshot's changeKey), else StaleMessage; on PostgreSQL the rows are
 * locked for the transaction, so of two concurrent changes the second sees the first's result.
 */
export async function upsertMessages(
  core: Core,
  trx: Trx,
  tenantId: string,
  mailboxId: string,
  items: MessageRecord[],
  o: { fresh?: boolean; asRead?: boolean } = {},
): Promise<MessageRecord[]> {
  if (items.length === 0) return [];
  await expectFolders(core, trx, tenantId, mailboxId, items.map((m) => m.folderId));
  const ids = items.map((m) => m.id);
  const before = o.fresh ? undefined : await existingOf(trx, tenantId, mailboxId, ids, o.asRead && core.store.dialect === 'postgres');
  if (o.asRead) for (const m of items) if (before!.get(m.id)?.change_key !== m.props.changeKey) throw new StaleMessage(m.id);
  const now = core.clock.now().toISOString();
  const seq = await nextSeq(trx, tenantId, mailboxId);
  // the lean variants rely on the values read above: an id twice in one call takes the full upsert
  const distinct = before !== undefined && new Set(ids).size === ids.length;
  const lean = distinct && before.size > 0;
  // none of the ids exists and none repeats: a plain insert, no conflict to handle (SQLite only: its one
  // writer makes the read above exact; on PostgreSQL another transaction could insert an id meanwhile)
  const none = core.store.dialect === 'sqlite' && distinct && before.size === 0;
  const variants: number[] = new Array(items.length).fill(0);
  const keys = changeKeys(items.length);
  const values: unknown[] = new Array(items.length * MESSAGE_COLUMNS.length);
  const stored: MessageRecord[] = new Array(items.length);
  const events: MailChange[] = new Array(items.length);
  const from: Array<string | null> = new Array(items.length);
  let k = 0;
  items.forEach((m, i) => {
    // the row keeps the snapshot without the per-write fields; the record and its event get them anew
    const props = withoutWriteFields(m.props);
    values[k++] = tenantId;
    values[k++] = mailboxId;
    values[k++] = m.id;
    values[k++] = m.folderId;
    const json = JSON.stringify(props);
    values[k++] = json;
    values[k++] = props.subject;
    values[k++] = props.from?.emailAddress.address.toLowerCase() ?? null;
    values[k++] = props.internetMessageId;
    values[k++] = props.conversationId;
    values[k++] = m.mimeSha256;
    values[k++] = props.hasAttachments ? 1 : 0;
    values[k++] = props.isRead ? 1 : 0;
    values[k++] = props.isDraft ? 1 : 0;
    values[k++] = props.importance;
    values[k++] = props.receivedDateTime;
    values[k++] = props.sentDateTime;
    values[k++] = props.createdDateTime;
    values[k++] = now;
    values[k++] = keys[i];
    values[k++] = seq;
    const snapshot: MessageSnapshot = props;
    snapshot.changeKey = keys[i];
    snapshot.lastModifiedDateTime = now;
    snapshot.parentFolderId = m.folderId;
    stored[i] = { id: m.id, folderId: m.folderId, mimeSha256: m.mimeSha256, props: snapshot };
    const old = before?.get(m.id);
    from[i] = old?.folder_id ?? null;
    if (lean && old && old.folder_id === m.folderId && old.received_at === props.receivedDateTime) variants[i] = 1;
    events[i] = {
      tenantId,
      mailboxId,
      itemKind: 'message',
      itemId: m.id,
      op: 'upsert',
      at: now,
      folderId: m.folderId,
      props: snapshot as unknown as Record<string, unknown>,
      mimeSha256: m.mimeSha256,
      isDraft: snapshot.isDraft,
      json,
    };
  });
  if (o.fresh || none) await insertRows(trx, core.store.dialect, INSERT_MESSAGES, values);
  else if (!lean) await insertRows(trx, core.store.dialect, UPSERT_MESSAGES[0], values);
  else {
    const width = MESSAGE_COLUMNS.length;
    for (let variant = 0; variant < UPSERT_MESSAGES.length; variant++) {
      const part: unknown[] = [];
      variants.forEach((v, i) => {
        if (v === variant) for (let c = i * width; c < (i + 1) * width; c++) part.push(values[c]);
      });
      if (part.length > 0) await insertRows(trx, core.store.dialect, UPSERT_MESSAGES[variant], part);
    }
  }
  await logChanges(core, trx, events, from);
  return stored;
}

/** A message read before its write changed (or went) meanwhile: read it again and redo the change. */
export class StaleMessage extends Error {
  constructor(readonly id: string) {
    super(`the message ${id} changed since it was read`);
  }
}

/** A write names a folder that no longer exists (deleted meanwhile). */
export class FolderGone extends Error {
  constructor(readonly id: string) {
    super(`the folder ${id} does not exist`);
  }
}

/**
 * Inside a write that puts messages into folders: every folder exists, else FolderGone (a message in
 * a deleted folder would be lost from view). On PostgreSQL the folders are share-locked for the
 * transaction, so a concurrent deleteFolderTree waits for it and then deletes the messages too.
 */
async function expectFolders(core: Core, trx: Trx, tenantId: string, mailboxId: string, folderIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(folderIds)];
  const lock = core.store.dialect === 'postgres' ? sql` for share` : sql``;
  for (const part of chunks(ids, 900)) {
    const r = await sql<{ id: string }>`select id from folders where tenant_id = ${tenantId} and mailbox_id = ${mailboxId} and id in (${sql.join(part)})${lock}`.execute(trx);
    if (r.rows.length !== part.length) {
      const found = new Set(r.rows.map((x) => x.id));
      throw new FolderGone(part.find((id) => !found.has(id))!);
    }
  }
}

/** A message written back from a snapshot text the database already holds (the restore engine: a vault version's). */
export interface StoredMessage {
  id: string;
  folderId: string;
  mimeSha256: string;
  /** The key of the row holding the snapshot text, exactly as a message row stores it (see StoredTexts). Never a draft's. */
  textKey: number;
}

/** Where stored snapshot texts are: a table, its integer key column and its text column. */
export interface StoredTexts {
  table: string;
  key: string;
  column: string;
}

/**
 * PostgreSQL: a snapshot text as jsonb. jsonb (like every json operator there) refuses the escape
 * \u0000, which a snapshot may hold (a NUL in a body's preview); as no column is derived from such a
 * string (a PostgreSQL text cannot hold a NUL), it is read as U+FFFD.
 */
function pgJsonb(text: string): string {
  return String.raw`(case when strpos(${text}, '\u0000') = 0 then ${text} else regexp_replace(${text}, '(?<!\\)((\\\\)*)\\u0000', '\1\\ufffd', 'g') end)::jsonb`;
}

/**
 * Reads the stored text under `key` as JSON, as upsertStoredMessages does, and fails as it would when
 * the database cannot (a write that failed: was it the text?). Run it in a savepoint: on PostgreSQL a
 * failed statement ends the transaction.
 */
export async function readStoredText(core: Core, trx: Trx, key: number, t: StoredTexts): Promise<void> {
  const parsed = core.store.dialect === 'postgres' ? pgJsonb(t.column) : `json(${t.column})`;
  await sql`select ${sql.raw(parsed)} is not null as ok from ${sql.table(t.table)} where ${sql.ref(t.key)} = ${key}`.execute(trx);
}

const STORED_COLUMNS = ['tenant_id', 'mailbox_id', 'id', 'folder_id', 'text_key', 'mime_sha256', 'modified_at', 'change_key', 'change_seq'] as const;

/**
 * The columns a message row derives from its snapshot, read from the snapshot text by the database,
 * in MESSAGE_COLUMNS order: the same values upsertMessages takes from the object. The sender's address
 * is lower-cased as by every write ($filter compares it so): on SQLite by JavaScript's toLowerCase
 * itself (Store's `unicode_lower`), on PostgreSQL by lower(), which agrees with it on every address
 * but for a few letters of special casing (such as a dotted capital I).
 */
function storedSelect(dialect: DialectName, t: StoredTexts): string {
  const text = `t.${t.column}`;
  const field = (name: string) => (dialect === 'postgres' ? `(j.v ->> '${name}')` : `json_extract(${text}, '$.${name}')`);
  const flag = (name: string) => (dialect === 'postgres' ? `coalesce(${field(name)}::boolean, false)::int` : `coalesce(${field(name)}, 0)`);
  const json = dialect === 'postgres' ? ` cross join lateral (select ${pgJsonb(text)} as v) j` : '';
  const sender = dialect === 'postgres' ? `lower(j.v #>> '{from,emailAddress,address}')` : `unicode_lower(json_extract(${text}, '$.from.emailAddress.address'))`;
  return `select r.tenant_id, r.mailbox_id, r.id, r.folder_id, ${text}, ${field('subject')}, ${sender},
    ${field('internetMessageId')}, ${field('conversationId')}, r.mime_sha256, ${flag('hasAttachments')}, ${flag('isRead')}, ${flag('isDraft')},
    ${field('importance')}, ${field('receivedDateTime')}, ${field('sentDateTime')}, ${field('createdDateTime')}, r.modified_at, r.change_key,
    cast(r.change_seq as bigint)
    from r join ${t.table} t on t.${t.key} = cast(r.text_key as bigint)${json} where true`;
}

const storedUpserts = new WeakMap<StoredTexts, BulkInsert>();

/**
 * Creates or overwrites messages by id from snapshot texts the database holds, without reading them:
 * the database copies each text into the row and derives the row's columns from it (the restore
 * writes back thousands of captured versions a second this way). Otherwise as upsertMessages: a new
 * changeKey and lastModifiedDateTime each, the delta log, and an event per message, whose `propsSeq`
 * is the text's key and whose `props` is null.
 */
export async function upsertStoredMessages(core: Core, trx: Trx, tenantId: string, mailboxId: string, items: StoredMessage[], texts: StoredTexts): Promise<void> {
  if (items.length === 0) return;
  let spec = storedUpserts.get(texts);
  if (!spec) {
    spec = { table: 'messages', columns: STORED_COLUMNS, tail: UPSERT_MESSAGES[0].tail, from: { into: MESSAGE_COLUMNS, select: (dialect) => storedSelect(dialect, texts) } };
    storedUpserts.set(texts, spec);
  }
  await expectFolders(core, trx, tenantId, mailboxId, items.map((m) => m.folderId));
  const now = core.clock.now().toISOString();
  const seq = await nextSeq(trx, tenantId, mailboxId);
  const before = await existingOf(trx, tenantId, mailboxId, items.map((m) => m.id));
  const keys = changeKeys(items.length);
  const values: unknown[] = new Array(items.length * STORED_COLUMNS.length);
  const events: MailChange[] = new Array(items.length);
  const from: Array<string | null> = new Array(items.length);
  let k = 0;
  items.forEach((m, i) => {
    values[k++] = tenantId;
    values[k++] = mailboxId;
    values[k++] = m.id;
    values[k++] = m.folderId;
    values[k++] = m.textKey;
    values[k++] = m.mimeSha256;
    values[k++] = now;
    values[k++] = keys[i];
    values[k++] = seq;
    from[i] = before.get(m.id)?.folder_id ?? null;
    events[i] = { tenantId, mailboxId, itemKind: 'message', itemId: m.id, op: 'upsert', at: now, folderId: m.folderId, props: null, mimeSha256: m.mimeSha256, isDraft: false, propsSeq: m.textKey };
  });
  // A text that is not there (its version removed meanwhile) makes no row: that must fail, not pass for a write.
  const written = await insertRows(trx, core.store.dialect, spec, values);
  if (written !== items.length) throw new Error(`${items.length - written} of ${items.length} snapshot texts were not found.`);
  await logChanges(core, trx, events, from);
}

/** Deletes messages by id; returns the ids that existed. */
export async function deleteMessages(core: Core, trx: Trx, tenantId: string, mailboxId: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const now = core.clock.now().toISOString();
  const existing: Array<{ id: string; folder_id: string; is_draft: number }> = [];
  for (const part of chunks(ids, 900)) {
    existing.push(
      ...(await trx
        .selectFrom('messages')
        .select(['id', 'folder_id', 'is_draft'])
        .where('tenant_id', '=', tenantId)
        .where('mailbox_id', '=', mailboxId)
        .where('id', 'in', part)
        .execute()),
    );
  }
  if (existing.length === 0) return [];
  await nextSeq(trx, tenantId, mailboxId);
  for (const part of chunks(existing.map((e) => e.id), 900)) {
    await trx.deleteFrom('messages').where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).where('id', 'in', part).execute();
  }
  await logChanges(
    core,
    trx,
    existing.map((e) => ({ tenantId, mailboxId, itemKind: 'message', itemId: e.id, op: 'delete', at: now, folderId: e.folder_id, props: null, mimeSha256: null, isDraft: e.is_draft === 1 })),
    existing.map((e) => e.folder_id),
  );
  return existing.map((e) => e.id);
}

export async function getMessage(db: Kysely<DB>, tenantId: string, mailboxId: string, id: string): Promise<MessageRecord | undefined> {
  const row = await db
    .selectFrom('messages')
    .select(['id', 'folder_id', 'props', 'mime_sha256', 'change_key', 'modified_at'])
    .where('tenant_id', '=', tenantId)
    .where('mailbox_id', '=', mailboxId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? messageFromRow(row) : undefined;
}

/** One page of a mailbox's messages in id order (keyset), optionally of one folder. */
export async function messagesPage(
  db: Kysely<DB>,
  tenantId: string,
  mailboxId: string,
  o: { afterId?: string; limit: number; folderId?: string },
): Promise<MessageRecord[]> {
  let q = db
    .selectFrom('messages')
    .select(['id', 'folder_id', 'props', 'mime_sha256', 'change_key', 'modified_at'])
    .where('tenant_id', '=', tenantId)
    .where('mailbox_id', '=', mailboxId);
  if (o.folderId !== undefined) q = q.where('folder_id', '=', o.folderId);
  if (o.afterId !== undefined) q = q.where('id', '>', o.afterId);
  const rows = await q.orderBy('id').limit(o.limit).execute();
  return rows.map(messageFromRow);
}

// ---- folders -----------------------------------------------------------------------------------

function folderEvent(tenantId: string, mailboxId: string, f: FolderRecord, now: string): MailChange {
  const { id, ...snapshot } = f;
  return {
    tenantId,
    mailboxId,
    itemKind: 'folder',
    itemId: id,
    op: 'upsert',
    at: now,
    folderId: f.parentFolderId,
    props: { ...snapshot, lastModifiedDateTime: now } as unknown as Record<string, unknown>,
    mimeSha256: null,
    isDraft: false,
  };
}

/** Creates or overwrites folders by id from snapshots (parents first in the list, or already present). */
export async function upsertFolders(core: Core, trx: Trx, tenantId: string, mailboxId: string, folders: FolderRecord[]): Promise<FolderRecord[]> {
  if (folders.length === 0) return [];
  const now = core.clock.now().toISOString();
  const seq = await nextSeq(trx, tenantId, mailboxId);
  const before = new Map<string, string | null>();
  for (const part of chunks(folders.map((f) => f.id), 900)) {
    const rows = await trx.selectFrom('folders').select(['id', 'parent_id']).where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).where('id', 'in', part).execute();
    for (const r of rows) before.set(r.id, r.parent_id);
  }
  const rows: FolderTable[] = folders.map((f) => ({
    tenant_id: tenantId,
    mailbox_id: mailboxId,
    id: f.id,
    parent_id: f.parentFolderId,
    display_name: f.displayName,
    well_known_name: f.wellKnownName,
    is_hidden: f.isHidden ? 1 : 0,
    created_at: f.createdDateTime,
    modified_at: now,
    change_seq: seq,
  }));
  for (const part of chunks(rows, 500)) {
    await trx
      .insertInto('folders')
      .values(part)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'mailbox_id', 'id']).doUpdateSet((eb) => ({
          parent_id: eb.ref('excluded.parent_id'),
          display_name: eb.ref('excluded.display_name'),
          well_known_name: eb.ref('excluded.well_known_name'),
          is_hidden: eb.ref('excluded.is_hidden'),
          created_at: eb.ref('excluded.created_at'),
          modified_at: eb.ref('excluded.modified_at'),
          change_seq: eb.ref('excluded.change_seq'),
        })),
      )
      .execute();
  }
  const stored = rows.map(folderFromRow);
  await logChanges(
    core,
    trx,
    stored.map((f) => folderEvent(tenantId, mailboxId, f, now)),
    stored.map((f) => (before.has(f.id) ? before.get(f.id)! : null)),
  );
  return stored;
}

export async function listFolders(db: Kysely<DB>, tenantId: string, mailboxId: string): Promise<FolderRecord[]> {
  const rows = await db.selectFrom('folders').selectAll().where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).orderBy('id').execute();
  return rows.map(folderFromRow);
}

/**
 * Deletes a folder with everything beneath it (subfolders and their messages); each deleted item
 * is logged and emitted. Returns the number of messages deleted, or undefined when the folder is gone
 * already (deleted meanwhile).
 */
export async function deleteFolderTree(core: Core, trx: Trx, tenantId: string, mailboxId: string, folderId: string): Promise<number | undefined> {
  // On PostgreSQL the mailbox's folders are locked first: a write putting messages into one of them
  // (expectFolders) finishes before the messages are listed here, or waits and finds the folder gone.
  if (core.store.dialect === 'postgres') await sql`select id from folders where tenant_id = ${tenantId} and mailbox_id = ${mailboxId} for update`.execute(trx);
  const all = await listFolders(trx, tenantId, mailboxId);
  if (!all.some((f) => f.id === folderId)) return undefined;
  const children = new Map<string, string[]>();
  for (const f of all) if (f.parentFolderId) children.set(f.parentFolderId, [...(children.get(f.parentFolderId) ?? []), f.id]);
  const doomed: string[] = [];
  const walk = (id: string) => {
    for (const c of children.get(id) ?? []) walk(c);
    doomed.push(id);
  };
  walk(folderId);
  let messages = 0;
  for (const fid of doomed) {
    const ids = (await trx.selectFrom('messages').select('id').where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).where('folder_id', '=', fid).execute()).map((r) => r.id);
    messages += (await deleteMessages(core, trx, tenantId, mailboxId, ids)).length;
  }
  const now = core.clock.now().toISOString();
  const byId = new Map(all.map((f) => [f.id, f]));
  await nextSeq(trx, tenantId, mailboxId);
  for (const part of chunks(doomed, 900)) {
    await trx.deleteFrom('folders').where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).where('id', 'in', part).execute();
  }
  await logChanges(
    core,
    trx,
    doomed.map((id) => ({ tenantId, mailboxId, itemKind: 'folder', itemId: id, op: 'delete', at: now, folderId: byId.get(id)?.parentFolderId ?? null, props: null, mimeSha256: null, isDraft: false })),
    doomed.map((id) => byId.get(id)?.parentFolderId ?? null),
  );
  return messages;
}

export type { FolderSnapshot };
