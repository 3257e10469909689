/**
 * Mirrors one IMAP mailbox into a hosted mailbox (docs: README "External mail sources").
 *
 * A pass: LIST-STATUS every folder; make the hosted folder of each new one; for every folder whose
 * status changed, collect what vanished and whose flags changed (CHANGEDSINCE + VANISHED under
 * QRESYNC, else a UID SEARCH diff and a FLAGS scan); then stream the new messages (UID FETCH
 * lastUid+1:*) in batches; a new message whose bytes (or, in the same folder, Message-ID) match one
 * that vanished in this pass is that message moved or replaced — the same hosted message, updated —
 * never a second copy; what is still unmatched at the end is deleted from the hosted mailbox.
 *
 * Exactly once: each batch of hosted writes commits in one store transaction with its mapping rows
 * (source_items) and the folder's cursor (last_uid); the flag changes and deletions of a folder commit
 * with its HIGHESTMODSEQ. A crash at any point replays from the committed cursors; a replayed message
 * is recognised by its mapping row, so nothing is lost or written twice. A UIDVALIDITY change leaves
 * the old rows keyed by the old UIDVALIDITY: they are matched to the re-fetched messages by content
 * hash, then Message-ID, like a move.
 */
import crypto from 'node:crypto';
import { ImapFlow, type FetchMessageObject, type ListResponse, type StatusObject } from 'imapflow';
import type { Core } from '../core.js';
import type { Trx } from '../store/store.js';
import type { SourceFolderTable, SourceItemTable } from '../store/schema.js';
import { mailService } from '../mail/service.js';
import { summarizeMime, type MimeSummary } from '../mail/mime.js';
import { snapshotFromSummary } from '../mail/messages.js';
import { newItemId } from '../mail/ids.js';
import { emptyFlag, type MessageRecord, type MessageSnapshot, type WellKnownFolder } from '../mail/model.js';

export interface ImapSettings {
  host: string;
  port: number;
  tls: 'none' | 'starttls' | 'implicit';
  username: string;
}

export interface SourceRef {
  id: string;
  tenantId: string;
  mailboxId: string;
  settings: ImapSettings;
  password: string;
}

/** Only the lease holder syncs a source; every write of the sync renews it or fails. */
export interface Lease {
  /**
   * Takes or renews the lease; false when another node holds it; 'stale' when this worker should end:
   * the source is gone, paused, or its settings changed (a worker with the new ones takes over).
   */
  acquire(): Promise<boolean | 'stale'>;
  /** Inside a write: renews the lease, or throws LeaseLost (the write is then undone). */
  hold(trx: Trx): Promise<void>;
  release(): Promise<void>;
  /** How long to wait before trying to take a lease another node holds (ms). */
  retryMs: number;
}

export class LeaseLost extends Error {
  constructor() {
    super('another node syncs this source now');
  }
}

export interface SyncOptions {
  /** How often every folder is polled besides IDLE on INBOX (ms). */
  pollMs: number;
  /** Messages and bytes per store transaction. */
  batchMessages: number;
  batchBytes: number;
  log: (message: string) => void;
  lease: Lease;
}

const SPECIAL_USE: Record<string, WellKnownFolder> = {
  '\\Inbox': 'inbox',
  '\\Sent': 'sentitems',
  '\\Trash': 'deleteditems',
  '\\Drafts': 'drafts',
  '\\Junk': 'junkemail',
  '\\Archive': 'archive',
};
/** Virtual views: every message in them is also in a real folder. */
const SKIPPED_USES = new Set(['\\All', '\\Flagged']);

type Folder = SourceFolderTable;
type Item = SourceItemTable;

/** The hosted properties an IMAP message's flags give. */
export function flagProps(flags: Iterable<string>): Pick<MessageSnapshot, 'isRead' | 'flag' | 'categories'> {
  const set = new Set(flags);
  const categories = [...set].filter((f) => !f.startsWith('\\') && !f.startsWith('$')).sort();
  return { isRead: set.has('\\Seen'), flag: set.has('\\Flagged') ? { flagStatus: 'flagged' } : emptyFlag(), categories };
}

function sameFlagProps(a: MessageSnapshot, b: Pick<MessageSnapshot, 'isRead' | 'flag' | 'categories'>): boolean {
  return a.isRead === b.isRead && a.flag.flagStatus === b.flag.flagStatus && JSON.stringify([...a.categories].sort()) === JSON.stringify(b.categories);
}

const flagList = (flags: Set<string> | undefined) => JSON.stringify([...(flags ?? [])].filter((f) => f !== '\\Recent').sort());

/** What vanished from the server in this pass and is not yet matched to a new message. */
class Vanished {
  private byHosted = new Map<string, Item>();
  /** Lookups by content and by (folder, Message-ID); entries of items taken since are skipped. */
  private bySha = new Map<string, Item[]>();
  private byMessageId = new Map<string, Item[]>();
  add(item: Item): void {
    this.byHosted.set(item.hosted_message_id, item);
    push(this.bySha, item.sha256, item);
    if (item.message_id_hdr) push(this.byMessageId, `${item.folder_id} ${item.message_id_hdr}`, item);
  }
  get size(): number {
    return this.byHosted.size;
  }
  take(sha256: string, folderId: string, messageId: string | null): Item | undefined {
    const found = this.first(this.bySha, sha256) ?? (messageId ? this.first(this.byMessageId, `${folderId} ${messageId}`) : undefined);
    if (found) this.byHosted.delete(found.hosted_message_id);
    return found;
  }
  private first(index: Map<string, Item[]>, key: string): Item | undefined {
    const list = index.get(key);
    if (!list) return undefined;
    while (list.length > 0 && this.byHosted.get(list[0].hosted_message_id) !== list[0]) list.shift();
    if (list.length === 0) index.delete(key);
    return list[0];
  }
  inFolder(folderId: string): Item[] {
    return [...this.byHosted.values()].filter((i) => i.folder_id === folderId);
  }
  remove(items: Item[]): void {
    for (const i of items) this.byHosted.delete(i.hosted_message_id);
  }
  all(): Item[] {
    return [...this.byHosted.values()];
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

interface FolderWork {
  folder: Folder;
  status: ListResponse['status'];
  uidValidity: string;
  /** HIGHESTMODSEQ when the folder was opened (saved once its changes are applied). */
  modseq: string | null;
  flagChanges: Array<{ uid: number; flags: Set<string> }>;
}

export class ImapSync {
  private stopped = false;
  private client: ImapFlow | undefined;
  private wakeup: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private svc;

  constructor(
    private readonly core: Core,
    private readonly source: SourceRef,
    private readonly o: SyncOptions,
    private readonly report: (status: 'initialSync' | 'syncing' | 'idle' | 'error', error: string | null, synced?: boolean) => Promise<void>,
  ) {
    this.svc = mailService(core);
  }

  /** Starts the worker; resolves when it ends (stopped, or its source gone, paused or changed). */
  start(): Promise<void> {
    this.loop = this.run();
    return this.loop;
  }

  /** Stops the worker and waits for it (a batch being written is finished first). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup?.();
    this.client?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 1000;
    let everSynced = (await this.core.store.db.selectFrom('sources').select('last_sync_at').where('id', '=', this.source.id).executeTakeFirst())?.last_sync_at != null;
    while (!this.stopped) {
      const lease = await this.o.lease.acquire().catch(() => false);
      if (lease === 'stale') break;
      if (!lease) {
        await this.sleep(this.o.lease.retryMs);
        continue;
      }
      const client = this.connectClient();
      this.client = client;
      try {
        await client.connect();
        for (;;) {
          if (this.stopped) break;
          const held = await this.o.lease.acquire();
          if (held === 'stale') {
            this.stopped = true;
            break;
          }
          if (!held) throw new LeaseLost();
          await this.report(everSynced ? 'syncing' : 'initialSync', null);
          await this.pass(client);
          everSynced = true;
          backoff = 1000;
          await this.report('idle', null, true);
          if (this.stopped) break;
          await this.waitForChange(client);
        }
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof LeaseLost) continue; // another node took over; wait for the lease again
        const message = e instanceof Error ? e.message : String(e);
        this.o.log(`source ${this.source.id}: ${message}; retrying in ${backoff / 1000} s`);
        await this.report('error', message).catch(() => {});
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 60_000);
      } finally {
        client.close();
        this.client = undefined;
      }
    }
    await this.o.lease.release().catch(() => {});
  }

  private connectClient(): ImapFlow {
    const s = this.source.settings;
    const client = new ImapFlow({
      host: s.host,
      port: s.port,
      secure: s.tls === 'implicit',
      doSTARTTLS: s.tls === 'starttls' ? true : s.tls === 'none' ? false : undefined,
      auth: { user: s.username, pass: this.source.password },
      logger: false,
      qresync: true,
      disableAutoIdle: true,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 5 * 60_000,
    });
    client.on('error', () => {}); // the command in flight fails too; the loop reconnects
    client.on('close', () => this.wakeup?.());
    return client;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeup = done;
    });
  }

  /** IDLE on INBOX until something changes there, the poll interval passes, or the worker stops. */
  private async waitForChange(client: ImapFlow): Promise<void> {
    await client.mailboxOpen('INBOX', { readOnly: true });
    await new Promise<void>((resolve) => {
      let debounce: NodeJS.Timeout | undefined;
      const poll = setTimeout(() => done(), this.o.pollMs);
      const changed = () => {
        debounce ??= setTimeout(done, 150);
      };
      const done = () => {
        clearTimeout(poll);
        if (debounce) clearTimeout(debounce);
        client.off('exists', changed);
        client.off('expunge', changed);
        client.off('flags', changed);
        this.wakeup = undefined;
        resolve();
      };
      client.on('exists', changed);
      client.on('expunge', changed);
      client.on('flags', changed);
      this.wakeup = done;
      if (this.stopped || !client.usable) return done();
      client.idle().catch(() => done());
    });
  }

  /** One pass over every folder. */
  async pass(client: ImapFlow): Promise<void> {
    const db = this.core.store.db;
    const sourceId = this.source.id;
    const listed = (await client.list({ statusQuery: { messages: true, uidNext: true, uidValidity: true, highestModseq: true } })).filter(
      (m) => !m.flags.has('\\Noselect') && !m.flags.has('\\NonExistent') && !SKIPPED_USES.has(m.specialUse ?? ''),
    );
    listed.sort((a, b) => a.path.split(a.delimiter || '/').length - b.path.split(b.delimiter || '/').length || a.path.localeCompare(b.path));
    let folders = await db.selectFrom('source_folders').selectAll().where('source_id', '=', sourceId).execute();
    await this.ensureFolders(listed, folders);
    folders = await db.selectFrom('source_folders').selectAll().where('source_id', '=', sourceId).execute();
    const byPath = new Map(folders.map((f) => [f.remote_path, f]));
    const vanished = new Vanished();

    // folders that are gone: all their messages vanished
    const listedPaths = new Set(listed.map((m) => m.path));
    const gone = folders.filter((f) => !listedPaths.has(f.remote_path));
    for (const f of gone) for (const item of await db.selectFrom('source_items').selectAll().where('folder_id', '=', f.id).execute()) vanished.add(item);

    // 1. what changed among the messages already mirrored
    const work: FolderWork[] = [];
    for (const m of listed) {
      const f = byPath.get(m.path)!;
      const st: Partial<StatusObject> = m.status ?? {};
      const unchanged =
        f.state === 'synced' &&
        f.uidvalidity === String(st.uidValidity) &&
        f.uid_next === Number(st.uidNext) &&
        f.messages === Number(st.messages) &&
        (st.highestModseq === undefined || f.highest_modseq === String(st.highestModseq));
      if (unchanged) continue;
      work.push(await this.collectChanges(client, f, m, vanished));
    }
    // stale rows of folders whose UIDVALIDITY changed (also after a crash mid-resync)
    for (const w of work) {
      const stale = await db.selectFrom('source_items').selectAll().where('folder_id', '=', w.folder.id).where('uidvalidity', '!=', w.uidValidity).execute();
      for (const item of stale) vanished.add(item);
    }

    // 2. new messages, folder by folder, batch by batch
    for (const w of work) await this.fetchNew(client, w, vanished);

    // 3. flag changes, deletions and the folder cursors
    for (const w of work) await this.finishFolder(w, vanished);
    const rest = vanished.all(); // the messages of folders that are gone
    if (rest.length > 0 || gone.length > 0) {
      await this.core.store.write(async (trx) => {
      await this.o.lease.hold(trx);
        await this.deleteItems(trx, rest);
        for (const f of gone) await trx.deleteFrom('source_folders').where('id', '=', f.id).execute();
      });
    }
  }

  /** Makes the hosted folder of every new external folder, parents first. */
  private async ensureFolders(listed: ListResponse[], known: Folder[]): Promise<void> {
    const byPath = new Map(known.map((f) => [f.remote_path, f]));
    const fresh = listed.filter((m) => !byPath.has(m.path));
    if (fresh.length === 0) return;
    const { tenantId, mailboxId } = this.source;
    await this.core.store.write(async (trx) => {
      await this.o.lease.hold(trx);
      const hosted = await this.svc.listFolders(tenantId, mailboxId, trx);
      const wellKnown = (name: WellKnownFolder) => hosted.find((h) => h.wellKnownName === name)?.id;
      const rootId = wellKnown('msgfolderroot')!;
      const used = new Set([...byPath.values()].map((f) => f.hosted_folder_id));
      for (const m of fresh) {
        const use = m.path.toUpperCase() === 'INBOX' ? '\\Inbox' : m.specialUse && m.specialUseSource !== 'name' ? m.specialUse : undefined;
        let hostedId = use && SPECIAL_USE[use] ? wellKnown(SPECIAL_USE[use]) : undefined;
        if (hostedId && used.has(hostedId)) hostedId = undefined; // two folders claim one use: the second is a plain folder
        if (!hostedId) {
          const parentPath = m.parentPath;
          const parentId = parentPath ? (byPath.get(parentPath)?.hosted_folder_id ?? rootId) : rootId;
          const existing = hosted.find((h) => h.parentFolderId === parentId && h.displayName === m.name && !used.has(h.id));
          hostedId = existing?.id ?? (await this.svc.createFolder(trx, tenantId, mailboxId, { parentId, displayName: m.name })).id;
        }
        used.add(hostedId);
        const row: Folder = {
          id: crypto.randomUUID(),
          source_id: this.source.id,
          remote_path: m.path,
          special_use: m.specialUse ?? null,
          hosted_folder_id: hostedId,
          uidvalidity: null,
          highest_modseq: null,
          last_uid: 0,
          uid_next: null,
          messages: null,
          state: 'initial',
        };
        await trx.insertInto('source_folders').values(row).execute();
        byPath.set(m.path, row);
      }
    });
  }

  private async collectChanges(client: ImapFlow, f: Folder, m: ListResponse, vanished: Vanished): Promise<FolderWork> {
    const mb = await client.mailboxOpen(m.path, { readOnly: true });
    const uidValidity = String(mb.uidValidity);
    const modseq = mb.highestModseq !== undefined && !mb.noModseq ? String(mb.highestModseq) : null;
    const w: FolderWork = { folder: f, status: m.status, uidValidity, modseq, flagChanges: [] };
    if (f.uidvalidity !== uidValidity) {
      // first sight, or a new UIDVALIDITY: every row under the old one is a vanish candidate
      if (f.uidvalidity !== null) this.o.log(`source ${this.source.id}: ${m.path} UIDVALIDITY ${f.uidvalidity} -> ${uidValidity}: resync`);
      await this.core.store.write(async (trx) => {
        await this.o.lease.hold(trx);
        await trx.updateTable('source_folders').set({ uidvalidity: uidValidity, last_uid: 0, highest_modseq: null, state: f.uidvalidity === null ? 'initial' : 'resync' }).where('id', '=', f.id).execute();
      });
      f.uidvalidity = uidValidity;
      f.last_uid = 0;
      f.highest_modseq = null;
      return w;
    }
    if (f.last_uid === 0) return w;
    const range = `1:${f.last_uid}`;
    const rows = this.core.store.db.selectFrom('source_items').selectAll().where('folder_id', '=', f.id).where('uidvalidity', '=', uidValidity);
    if (client.enabled.has('QRESYNC') && f.highest_modseq && modseq) {
      // only what changed since the last pass: flag changes, and VANISHED (EARLIER) for expunges
      const gone: number[] = [];
      const onExpunge = (e: { path: string; uid?: number; vanished?: boolean }) => {
        if (e.path === m.path && e.vanished && e.uid !== undefined && e.uid <= f.last_uid) gone.push(e.uid);
      };
      client.on('expunge', onExpunge);
      try {
        for await (const msg of client.fetch(range, { uid: true, flags: true }, { uid: true, changedSince: BigInt(f.highest_modseq) })) {
          if (msg.uid <= f.last_uid && msg.flags) w.flagChanges.push({ uid: msg.uid, flags: msg.flags });
        }
      } finally {
        client.off('expunge', onExpunge);
      }
      for (let i = 0; i < gone.length; i += 500) for (const item of await rows.where('uid', 'in', gone.slice(i, i + 500)).execute()) vanished.add(item);
    } else {
      // neither: the UIDs still there, and every message's flags, against what was mirrored
      const known = new Map((await rows.execute()).map((i) => [i.uid, i]));
      const present = new Set((await client.search({ uid: range }, { uid: true })) || []);
      for (const [uid, item] of known) if (!present.has(uid)) vanished.add(item);
      for await (const msg of client.fetch(range, { uid: true, flags: true }, { uid: true })) {
        const item = known.get(msg.uid);
        if (item && flagList(msg.flags) !== item.flags) w.flagChanges.push({ uid: msg.uid, flags: msg.flags ?? new Set() });
      }
    }
    return w;
  }

  private async fetchNew(client: ImapFlow, w: FolderWork, vanished: Vanished): Promise<void> {
    const f = w.folder;
    const mb = await client.mailboxOpen(f.remote_path, { readOnly: true });
    if (String(mb.uidValidity) !== w.uidValidity) throw new Error(`${f.remote_path}: UIDVALIDITY changed during the pass`);
    if (mb.exists === 0 || (mb.uidNext !== undefined && Number(mb.uidNext) <= f.last_uid + 1)) return;
    let batch: FetchMessageObject[] = [];
    let bytes = 0;
    // one batch commits while the next is fetched: at most two batches are held at once
    let writing: Promise<void> | undefined;
    const flush = async () => {
      await writing;
      const full = batch;
      batch = [];
      bytes = 0;
      writing = full.length > 0 ? this.writeBatch(w, full, vanished) : undefined;
      writing?.catch(() => {}); // awaited (and thrown) at the next flush
    };
    const from = f.last_uid;
    try {
      for await (const msg of client.fetch(`${from + 1}:*`, { uid: true, flags: true, internalDate: true, size: true, source: true }, { uid: true })) {
        if (msg.uid <= from || !msg.source) continue;
        batch.push(msg);
        bytes += msg.source.length;
        if (batch.length >= this.o.batchMessages || bytes >= this.o.batchBytes) await flush();
      }
      await flush();
    } finally {
      await writing?.catch(() => {});
    }
    await writing;
  }

  /** One transaction: the hosted messages, their mapping rows and the folder's last_uid. */
  private async writeBatch(w: FolderWork, msgs: FetchMessageObject[], vanished: Vanished): Promise<void> {
    const { tenantId, mailboxId } = this.source;
    const f = w.folder;
    const prepared: Array<{ msg: FetchMessageObject; sha256: string; summary: MimeSummary | undefined }> = [];
    for (const msg of msgs) {
      const sha256 = crypto.createHash('sha256').update(msg.source!).digest('hex');
      let summary: MimeSummary | undefined;
      try {
        summary = await summarizeMime(msg.source!);
      } catch (e) {
        this.o.log(`source ${this.source.id}: ${f.remote_path} UID ${msg.uid} is not MIME (${(e as Error).message}); skipped`);
      }
      prepared.push({ msg, sha256, summary });
    }
    const maxUid = Math.max(...msgs.map((m) => m.uid));
    const taken: Item[] = [];
    try {
      await this.core.store.write(async (trx) => {
      await this.o.lease.hold(trx);
        const now = this.core.clock.now().toISOString();
        const existing = new Set(
          (await trx.selectFrom('source_items').select('uid').where('folder_id', '=', f.id).where('uidvalidity', '=', w.uidValidity).where('uid', 'in', msgs.map((m) => m.uid)).execute()).map((r) => r.uid),
        );
        const records: MessageRecord[] = [];
        const blobs: Buffer[] = [];
        const inserts: Item[] = [];
        let synced = 0;
        for (const p of prepared) {
          if (!p.summary || existing.has(p.msg.uid)) continue;
          const fp = flagProps(p.msg.flags ?? []);
          const row = {
            source_id: this.source.id,
            folder_id: f.id,
            uidvalidity: w.uidValidity,
            uid: p.msg.uid,
            message_id_hdr: p.summary.internetMessageId ?? null,
            sha256: p.sha256,
            size: p.msg.source!.length,
            internal_date: p.msg.internalDate ? new Date(p.msg.internalDate).toISOString() : null,
            flags: flagList(p.msg.flags),
          };
          const match = vanished.take(p.sha256, f.id, row.message_id_hdr);
          const hosted = match ? await this.svc.getMessage(tenantId, mailboxId, match.hosted_message_id, trx) : undefined;
          if (match) taken.push(match);
          if (match && hosted) {
            // moved (same bytes), re-keyed (new UIDVALIDITY) or replaced (same Message-ID): the same hosted message
            const sameContent = hosted.mimeSha256 === p.sha256 || match.sha256 === p.sha256;
            await trx
              .updateTable('source_items')
              .set({ ...row, hosted_message_id: match.hosted_message_id })
              .where('source_id', '=', this.source.id)
              .where('hosted_message_id', '=', match.hosted_message_id)
              .execute();
            if (sameContent && hosted.folderId === f.hosted_folder_id && sameFlagProps(hosted.props, fp)) continue;
            const props: MessageSnapshot = sameContent
              ? { ...hosted.props, ...fp }
              : {
                  ...snapshotFromSummary(p.summary, { id: hosted.id, now, isDraft: p.msg.flags?.has('\\Draft') ?? false, isRead: fp.isRead, receivedDateTime: row.internal_date ?? undefined }),
                  ...fp,
                  createdDateTime: hosted.props.createdDateTime,
                  conversationId: hosted.props.conversationId,
                };
            if (!sameContent) blobs.push(p.msg.source!);
            records.push({ id: hosted.id, folderId: f.hosted_folder_id, mimeSha256: sameContent ? hosted.mimeSha256 : p.sha256, props });
            synced++;
            continue;
          }
          if (match) {
            await trx.deleteFrom('source_items').where('source_id', '=', this.source.id).where('hosted_message_id', '=', match.hosted_message_id).execute();
          }
          const id = newItemId('message');
          const props = {
            ...snapshotFromSummary(p.summary, { id, now, isDraft: p.msg.flags?.has('\\Draft') ?? false, isRead: fp.isRead, receivedDateTime: row.internal_date ?? undefined }),
            ...fp,
          };
          blobs.push(p.msg.source!);
          records.push({ id, folderId: f.hosted_folder_id, mimeSha256: p.sha256, props });
          inserts.push({ ...row, hosted_message_id: id });
          synced++;
        }
        if (blobs.length > 0) await this.svc.putBlobs(trx, blobs);
        if (records.length > 0) await this.svc.upsertMessages(trx, tenantId, mailboxId, records);
        for (let i = 0; i < inserts.length; i += 100) await trx.insertInto('source_items').values(inserts.slice(i, i + 100)).execute();
        await trx.updateTable('source_folders').set({ last_uid: maxUid }).where('id', '=', f.id).execute();
        if (synced > 0) await trx.updateTable('sources').set((eb) => ({ items_synced: eb('items_synced', '+', synced) })).where('id', '=', this.source.id).execute();
      });
    } catch (e) {
      for (const item of taken) vanished.add(item); // not committed: still unmatched
      throw e;
    }
    f.last_uid = Math.max(f.last_uid, maxUid);
  }

  /** The folder's flag changes and deletions, with its cursors, in one transaction. */
  private async finishFolder(w: FolderWork, vanished: Vanished): Promise<void> {
    const { tenantId, mailboxId } = this.source;
    const f = w.folder;
    // what vanished here, and the rows left under an old UIDVALIDITY that no new message matched
    const deletions = vanished.inFolder(f.id);
    await this.core.store.write(async (trx) => {
      await this.o.lease.hold(trx);
      const records: MessageRecord[] = [];
      for (let i = 0; i < w.flagChanges.length; i += 500) {
        const chunk = w.flagChanges.slice(i, i + 500);
        const rows = new Map(
          (await trx.selectFrom('source_items').selectAll().where('folder_id', '=', f.id).where('uidvalidity', '=', w.uidValidity).where('uid', 'in', chunk.map((c) => c.uid)).execute()).map((r) => [r.uid, r]),
        );
        for (const c of chunk) {
          const row = rows.get(c.uid);
          if (!row || row.flags === flagList(c.flags)) continue;
          await trx.updateTable('source_items').set({ flags: flagList(c.flags) }).where('folder_id', '=', f.id).where('uidvalidity', '=', w.uidValidity).where('uid', '=', c.uid).execute();
          const hosted = await this.svc.getMessage(tenantId, mailboxId, row.hosted_message_id, trx);
          const fp = flagProps(c.flags);
          if (hosted && !sameFlagProps(hosted.props, fp)) records.push({ ...hosted, props: { ...hosted.props, ...fp } });
        }
      }
      if (records.length > 0) await this.svc.upsertMessages(trx, tenantId, mailboxId, records);
      await this.deleteItems(trx, deletions);
      const st: Partial<StatusObject> = w.status ?? {};
      await trx
        .updateTable('source_folders')
        .set({
          highest_modseq: w.modseq,
          uid_next: st.uidNext !== undefined ? Number(st.uidNext) : null,
          messages: st.messages !== undefined ? Number(st.messages) : null,
          state: 'synced',
        })
        .where('id', '=', f.id)
        .execute();
      if (records.length + deletions.length > 0) {
        await trx.updateTable('sources').set((eb) => ({ items_synced: eb('items_synced', '+', records.length + deletions.length) })).where('id', '=', this.source.id).execute();
      }
    });
    vanished.remove(deletions);
  }

  /** Expunged on the server: gone from the hosted mailbox (the vault keeps it). */
  private async deleteItems(trx: Trx, items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += 500) {
      const chunk = items.slice(i, i + 500);
      const ids = chunk.map((c) => c.hosted_message_id);
      await this.svc.deleteMessages(trx, this.source.tenantId, this.source.mailboxId, ids);
      await trx.deleteFrom('source_items').where('source_id', '=', this.source.id).where('hosted_message_id', 'in', ids).execute();
    }
  }
}
