/**
 * Where restored messages go. `inPlace`: back into the folder they were in at the restore point,
 * recreated (same id, name and parent) when it is gone. `new`: into a folder created for this
 * restore under the top of the mailbox, with the restore point's folder tree rebuilt beneath it;
 * folders are created only when a message needs them, so a restore that finds nothing creates none.
 */
import type { Trx } from '../../store/store.js';
import type { FolderRecord, FolderSnapshot } from '../../mail/model.js';
import type { RestoreEnv } from '../ports.js';
import { folderVersionsAt } from './source.js';
import { folderCopyId, freeName, restoredFolderName, restoredRootId } from './names.js';
import type { RestoreProgress } from './progress.js';

export interface ArtifactRef {
  tenantId: string;
  id: string;
  kind: 'mailbox' | 'granular';
  mailboxId: string;
  destination: 'inPlace' | 'new';
}

export class Destination {
  private constructor(
    private readonly env: RestoreEnv,
    private readonly a: ArtifactRef,
    /** The folders of the mailbox at the restore point. */
    private readonly foldersAt: Map<string, FolderRecord>,
    private readonly rootAt: string | undefined,
    private readonly liveRoot: string,
    private readonly liveInbox: string,
  ) {}

  static async load(env: RestoreEnv, a: ArtifactRef, at: string): Promise<Destination> {
    const core = env.core;
    const foldersAt = new Map<string, FolderRecord>();
    for (const f of await folderVersionsAt(core.store.db, a.tenantId, a.mailboxId, at)) {
      let s: FolderSnapshot;
      try {
        s = JSON.parse(f.props ?? '') as FolderSnapshot;
      } catch {
        continue; // a folder whose captured version is unreadable is one the restore point does not know
      }
      foldersAt.set(f.id, { ...s, id: f.id, parentFolderId: f.parentId });
    }
    const rootAt = [...foldersAt.values()].find((f) => f.wellKnownName === 'msgfolderroot' || f.parentFolderId === null)?.id;
    const mail = env.mail;
    const liveRoot = await mail.wellKnownFolderId(a.tenantId, a.mailboxId, 'msgfolderroot');
    const liveInbox = await mail.wellKnownFolderId(a.tenantId, a.mailboxId, 'inbox');
    if (!liveRoot || !liveInbox) throw new Error(`the mailbox ${a.mailboxId} has no root or inbox folder`);
    return new Destination(env, a, foldersAt, rootAt, liveRoot, liveInbox);
  }

  /** The mailbox's top folder (what an in-place artifact reports as its restored folder). */
  get rootFolderId(): string {
    return this.liveRoot;
  }

  private async existing(trx: Trx, ids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += 900) {
      const rows = await trx
        .selectFrom('folders')
        .select('id')
        .where('tenant_id', '=', this.a.tenantId)
        .where('mailbox_id', '=', this.a.mailboxId)
        .where('id', 'in', ids.slice(i, i + 900))
        .execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }

  /** In place, a full-mailbox restore first brings back every folder of the restore point that is gone. */
  async recreateMissingFolders(trx: Trx): Promise<number> {
    const ids = [...this.foldersAt.keys()].filter((id) => id !== this.rootAt);
    const live = await this.existing(trx, ids);
    return (await this.recreate(trx, ids.filter((id) => !live.has(id)), live)).length;
  }

  /** Recreates folders of the restore point (parents first), keeping their ids; returns those made. */
  private async recreate(trx: Trx, missing: string[], live: Set<string>): Promise<string[]> {
    const made: FolderRecord[] = [];
    const placed = new Set<string>();
    const place = (id: string, depth = 0): void => {
      if (placed.has(id) || live.has(id)) return;
      const f = this.foldersAt.get(id)!;
      let parent = f.parentFolderId;
      if (!parent || parent === this.rootAt || depth > 64) parent = this.liveRoot;
      else if (!live.has(parent)) {
        if (this.foldersAt.has(parent)) place(parent, depth + 1);
        else parent = this.liveRoot;
      }
      placed.add(id);
      made.push({ ...f, parentFolderId: parent });
    };
    for (const id of missing) if (this.foldersAt.has(id)) place(id);
    if (made.length > 0) await this.env.mail.upsertFolders(trx, this.a.tenantId, this.a.mailboxId, made);
    return made.map((f) => f.id);
  }

  /**
   * The destination folder of each source folder among `sources`, creating folders as needed; for
   * `new`, the restore's own folder is made on first need and recorded in `progress`.
   */
  async resolve(trx: Trx, sources: string[], progress: RestoreProgress): Promise<Map<string, string>> {
    const distinct = [...new Set(sources)];
    return this.a.destination === 'inPlace' ? this.resolveInPlace(trx, distinct) : this.resolveNew(trx, distinct, progress);
  }

  private async resolveInPlace(trx: Trx, sources: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const live = await this.existing(trx, sources);
    const missing = sources.filter((id) => !live.has(id));
    if (missing.length > 0) {
      const all = await this.existing(trx, [...this.foldersAt.keys()]);
      await this.recreate(trx, missing, all);
    }
    for (const id of sources) {
      // A folder the restore point does not know (it cannot be recreated) sends its items to the Inbox.
      out.set(id, live.has(id) || this.foldersAt.has(id) ? id : this.liveInbox);
    }
    return out;
  }

  private async resolveNew(trx: Trx, sources: string[], progress: RestoreProgress): Promise<Map<string, string>> {
    const root = await this.ensureRoot(trx, progress);
    const out = new Map<string, string>();
    const chains = new Map<string, FolderRecord>();
    for (const src of sources) {
      let f = this.foldersAt.get(src);
      if (!f || src === this.rootAt) {
        out.set(src, root);
        continue;
      }
      out.set(src, folderCopyId(this.a.id, src));
      for (let depth = 0; f && f.id !== this.rootAt && depth < 64; depth++) {
        chains.set(f.id, f);
        f = f.parentFolderId ? this.foldersAt.get(f.parentFolderId) : undefined;
      }
    }
    if (chains.size === 0) return out;
    const copyOf = (id: string) => folderCopyId(this.a.id, id);
    const live = await this.existing(trx, [...chains.keys()].map(copyOf));
    const made: FolderRecord[] = [];
    const placed = new Set<string>();
    const now = this.env.core.clock.now().toISOString();
    const place = (f: FolderRecord): void => {
      if (placed.has(f.id) || live.has(copyOf(f.id))) return;
      placed.add(f.id);
      const parent = f.parentFolderId && f.parentFolderId !== this.rootAt ? chains.get(f.parentFolderId) : undefined;
      if (parent) place(parent);
      made.push({
        id: copyOf(f.id),
        displayName: f.displayName,
        parentFolderId: parent ? copyOf(parent.id) : root,
        wellKnownName: null,
        isHidden: false,
        createdDateTime: now,
      });
    };
    for (const f of chains.values()) place(f);
    if (made.length > 0) await this.env.mail.upsertFolders(trx, this.a.tenantId, this.a.mailboxId, made);
    return out;
  }

  /** The restore's own folder: made once, with a name no sibling uses; recreated if it was deleted meanwhile. */
  private async ensureRoot(trx: Trx, progress: RestoreProgress): Promise<string> {
    const id = restoredRootId(this.a.id);
    if (progress.rootFolderId && (await this.existing(trx, [id])).has(id)) return id;
    let name = progress.rootFolderName;
    if (!name) {
      const siblings = await trx
        .selectFrom('folders')
        .select('display_name')
        .where('tenant_id', '=', this.a.tenantId)
        .where('mailbox_id', '=', this.a.mailboxId)
        .where('parent_id', '=', this.liveRoot)
        .execute();
      name = freeName(restoredFolderName(this.a.kind, new Date(progress.startedAt)), new Set(siblings.map((s) => s.display_name)));
    }
    await this.env.mail.upsertFolders(trx, this.a.tenantId, this.a.mailboxId, [
      { id, displayName: name, parentFolderId: this.liveRoot, wellKnownName: null, isHidden: false, createdDateTime: this.env.core.clock.now().toISOString() },
    ]);
    progress.rootFolderId = id;
    progress.rootFolderName = name;
    return id;
  }
}
