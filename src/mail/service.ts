/**
 * MailService — what other areas (protection, vault, restore engine) may use of the mail area,
 * handed to them by app.ts. CONTRACT:
 *
 * Directory
 *   findUser(tenantId, idOrUpnOrMail): Promise<DirectoryUser | undefined>  — soft-deleted users too, `deleted: true`
 *   findGroup(tenantId, groupId): Promise<DirectoryGroup | undefined>
 *   groupMemberIds(tenantId, groupId): Promise<string[]>                  — direct members that are live users
 *   listMailboxIds(tenantId): Promise<string[]>                            — live mailboxes (mailbox id == user id)
 *   mailboxExists(tenantId, mailboxId): Promise<boolean>                   — false once the user is deleted
 *   createUser(trx, tenantId, NewUser) / deleteUser(trx, tenantId, userId) — false when no live user
 *
 * Content (every write takes the `store.write` transaction first and is multi-row)
 *   putBlob(trx, data): Promise<sha256>;  putBlobs(trx, data[]): Promise<sha256[]>
 *   readBlob(sha256, trx?): Promise<Buffer | undefined>;  readBlobs(hashes, trx?): Promise<Map<sha256, Buffer>>
 *   createFolder(trx, tenantId, mailboxId, {id?, parentId, displayName, isHidden?}): Promise<FolderRecord>
 *   upsertFolders(trx, tenantId, mailboxId, FolderRecord[]): Promise<FolderRecord[]>   — keeps ids
 *   listFolders(tenantId, mailboxId, trx?): Promise<FolderRecord[]>
 *   wellKnownFolderId(tenantId, mailboxId, name, trx?): Promise<string | undefined>
 *   upsertMessages(trx, tenantId, mailboxId, MessageRecord[]): Promise<MessageRecord[]>
 *       creates or overwrites by id from the snapshot (dates, internetMessageId, content kept;
 *       changeKey and lastModifiedDateTime new); FolderGone (items.ts) when a folder named does not exist
 *   upsertStoredMessages(trx, tenantId, mailboxId, StoredMessage[], StoredTexts): Promise<void>
 *       the same from snapshot texts the database holds (a restore: vault versions), never read here
 *   readStoredText(trx, key, StoredTexts): Promise<void>  — fails where upsertStoredMessages would on that text
 *   deleteMessages(trx, tenantId, mailboxId, ids): Promise<string[]>  — the ids that existed
 *   iterateMessages(tenantId, mailboxId, batchSize = 1000, folderId?): AsyncGenerator<MessageRecord[]>  — id order, via core.store.db
 *   messagesInTrx(trx, tenantId, mailboxId, {afterId?, limit, folderId?}): Promise<MessageRecord[]> — id order
 *   getMessage(tenantId, mailboxId, id, trx?): Promise<MessageRecord | undefined>
 *   importMime(trx, tenantId, mailboxId, folderId, items: ImportItem[]): Promise<MessageRecord[]>
 *
 * Events: every change to a message or folder, by any path, emits core.events.mailChanged inside
 * its transaction with a complete snapshot in `props` (MessageSnapshot / FolderSnapshot of
 * model.ts), `mimeSha256`, `folderId` (messages: their folder; folders: their parent) and `isDraft`;
 * message upserts also carry `json`, the text their row stores, except when written from a stored text
 * (a restore): their `props` is then null and `propsSeq` names the vault version holding the text.
 */
import type { Kysely } from 'kysely';
import type { Core } from '../core.js';
import type { Trx } from '../store/store.js';
import type { DB } from '../store/schema.js';
import * as directory from './directory.js';
import * as items from './items.js';
import type { StoredMessage, StoredTexts } from './items.js';
import { newItemId } from './ids.js';
import type { MimeSummary } from './mime.js';
import { snapshotFromSummary } from './messages.js';
import type { DirectoryGroup, DirectoryUser, FolderRecord, MessageRecord, WellKnownFolder } from './model.js';

export type { StoredMessage, StoredTexts };

export interface ImportItem {
  mime: Buffer;
  summary: MimeSummary;
  id?: string;
  isRead?: boolean;
  isDraft?: boolean;
}

export interface MailService {
  findUser(tenantId: string, idOrUpnOrMail: string): Promise<DirectoryUser | undefined>;
  findGroup(tenantId: string, groupId: string): Promise<DirectoryGroup | undefined>;
  groupMemberIds(tenantId: string, groupId: string): Promise<string[]>;
  listMailboxIds(tenantId: string): Promise<string[]>;
  mailboxExists(tenantId: string, mailboxId: string): Promise<boolean>;
  createUser(trx: Trx, tenantId: string, user: directory.NewUser): Promise<DirectoryUser>;
  deleteUser(trx: Trx, tenantId: string, userId: string): Promise<boolean>;

  putBlob(trx: Trx, data: Buffer): Promise<string>;
  putBlobs(trx: Trx, data: Buffer[]): Promise<string[]>;
  readBlob(sha256: string, trx?: Trx): Promise<Buffer | undefined>;
  readBlobs(hashes: string[], trx?: Trx): Promise<Map<string, Buffer>>;
  createFolder(trx: Trx, tenantId: string, mailboxId: string, f: { id?: string; parentId: string; displayName: string; isHidden?: boolean }): Promise<FolderRecord>;
  upsertFolders(trx: Trx, tenantId: string, mailboxId: string, folders: FolderRecord[]): Promise<FolderRecord[]>;
  listFolders(tenantId: string, mailboxId: string, trx?: Trx): Promise<FolderRecord[]>;
  wellKnownFolderId(tenantId: string, mailboxId: string, name: WellKnownFolder, trx?: Trx): Promise<string | undefined>;
  upsertMessages(trx: Trx, tenantId: string, mailboxId: string, messages: MessageRecord[]): Promise<MessageRecord[]>;
  upsertStoredMessages(trx: Trx, tenantId: string, mailboxId: string, messages: StoredMessage[], texts: StoredTexts): Promise<void>;
  readStoredText(trx: Trx, key: number, texts: StoredTexts): Promise<void>;
  deleteMessages(trx: Trx, tenantId: string, mailboxId: string, ids: string[]): Promise<string[]>;
  iterateMessages(tenantId: string, mailboxId: string, batchSize?: number, folderId?: string): AsyncGenerator<MessageRecord[]>;
  messagesInTrx(trx: Trx, tenantId: string, mailboxId: string, o: { afterId?: string; limit: number; folderId?: string }): Promise<MessageRecord[]>;
  getMessage(tenantId: string, mailboxId: string, id: string, trx?: Trx): Promise<MessageRecord | undefined>;
  importMime(trx: Trx, tenantId: string, mailboxId: string, folderId: string, items: ImportItem[]): Promise<MessageRecord[]>;
}

/** The mail service bound to a core; it keeps no state of its own, so any number may be made. */
export function mailService(core: Core): MailService {
  const db = (trx?: Trx): Kysely<DB> => trx ?? core.store.db;
  return {
    findUser: (tenantId, key) => directory.findUser(core.store.db, tenantId, key),
    findGroup: (tenantId, groupId) => directory.findGroup(core.store.db, tenantId, groupId),
    groupMemberIds: (tenantId, groupId) => directory.groupMemberIds(core.store.db, tenantId, groupId),
    async listMailboxIds(tenantId) {
      const rows = await core.store.db.selectFrom('mailboxes').select('id').where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).orderBy('id').execute();
      return rows.map((r) => r.id);
    },
    async mailboxExists(tenantId, mailboxId) {
      const row = await core.store.db.selectFrom('mailboxes').select('id').where('tenant_id', '=', tenantId).where('id', '=', mailboxId).where('deleted_at', 'is', null).executeTakeFirst();
      return !!row;
    },
    createUser: (trx, tenantId, user) => directory.createUser(core, trx, tenantId, user),
    deleteUser: (trx, tenantId, userId) => directory.deleteUser(core, trx, tenantId, userId),

    async putBlob(trx, data) {
      return (await items.putBlobs(trx, core.clock.now().toISOString(), [data]))[0];
    },
    putBlobs: (trx, data) => items.putBlobs(trx, core.clock.now().toISOString(), data),
    readBlob: (sha256, trx) => items.readBlob(db(trx), sha256),
    readBlobs: (hashes, trx) => items.readBlobs(db(trx), hashes),
    async createFolder(trx, tenantId, mailboxId, f) {
      const [created] = await items.upsertFolders(core, trx, tenantId, mailboxId, [
        { id: f.id ?? newItemId('folder'), parentFolderId: f.parentId, displayName: f.displayName, wellKnownName: null, isHidden: f.isHidden ?? false, createdDateTime: core.clock.now().toISOString() },
      ]);
      return created;
    },
    upsertFolders: (trx, tenantId, mailboxId, folders) => items.upsertFolders(core, trx, tenantId, mailboxId, folders),
    listFolders: (tenantId, mailboxId, trx) => items.listFolders(db(trx), tenantId, mailboxId),
    async wellKnownFolderId(tenantId, mailboxId, name, trx) {
      const row = await db(trx).selectFrom('folders').select('id').where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).where('well_known_name', '=', name).executeTakeFirst();
      return row?.id;
    },
    upsertMessages: (trx, tenantId, mailboxId, messages) => items.upsertMessages(core, trx, tenantId, mailboxId, messages),
    upsertStoredMessages: (trx, tenantId, mailboxId, messages, texts) => items.upsertStoredMessages(core, trx, tenantId, mailboxId, messages, texts),
    readStoredText: (trx, key, texts) => items.readStoredText(core, trx, key, texts),
    deleteMessages: (trx, tenantId, mailboxId, ids) => items.deleteMessages(core, trx, tenantId, mailboxId, ids),
    async *iterateMessages(tenantId, mailboxId, batchSize = 1000, folderId) {
      let afterId: string | undefined;
      for (;;) {
        const page = await items.messagesPage(core.store.db, tenantId, mailboxId, { afterId, limit: batchSize, folderId });
        if (page.length === 0) return;
        yield page;
        if (page.length < batchSize) return;
        afterId = page[page.length - 1].id;
      }
    },
    messagesInTrx: (trx, tenantId, mailboxId, o) => items.messagesPage(trx, tenantId, mailboxId, o),
    getMessage: (tenantId, mailboxId, id, trx) => items.getMessage(db(trx), tenantId, mailboxId, id),
    async importMime(trx, tenantId, mailboxId, folderId, list) {
      const now = core.clock.now().toISOString();
      const hashes = await items.putBlobs(trx, now, list.map((i) => i.mime));
      const fresh = list.every((item) => item.id === undefined);
      return items.upsertMessages(
        core,
        trx,
        tenantId,
        mailboxId,
        list.map((item, i) => {
          const id = item.id ?? newItemId('message');
          return {
            id,
            folderId,
            mimeSha256: hashes[i],
            props: snapshotFromSummary(item.summary, { id, now, isDraft: item.isDraft ?? false, isRead: item.isRead ?? false }),
          };
        }),
        { fresh },
      );
    },
  };
}
