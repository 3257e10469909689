/**
 * Bulk import and export of a mailbox. Import streams messages from an mbox file or a directory of
 * .eml files into a folder in batches (one transaction each, through the MailService so events
 * fire); a message that is not MIME is reported and skipped. The stored MIME is the original bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Core } from '../core.js';
import { mailService } from './service.js';
import { summarizeMime, type MimeSummary } from './mime.js';
import type { ImportItem } from './service.js';
import { mboxEntry, readMbox } from './mbox.js';
import { WELL_KNOWN_DISPLAY_NAMES, WELL_KNOWN_FOLDERS, type WellKnownFolder } from './model.js';

export interface SourceMessage {
  data: Buffer;
  /** How to name it in a report ("message 12 at byte 3456", a file name). */
  label: string;
  /** Progress so far, in the source's unit (bytes of an mbox, files of a directory). */
  progress: number;
}

export class ImportError extends Error {}

export async function* mboxSource(file: string): AsyncGenerator<SourceMessage> {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const m of readMbox(stream)) yield { data: m.data, label: `message ${m.index} at byte ${m.offset}`, progress: m.consumed };
}

export async function* emlSource(dir: string): AsyncGenerator<SourceMessage> {
  const names = fs.readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.eml')).sort();
  let i = 0;
  for (const name of names) yield { data: await fs.promises.readFile(path.join(dir, name)), label: name, progress: ++i };
}

export function emlCount(dir: string): number {
  return fs.readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.eml')).length;
}

export interface ImportOptions {
  tenantId: string;
  user: string;
  folder?: string;
  batchSize?: number;
  onProgress?: (progress: number, imported: number) => void;
  onSkip?: (label: string, reason: string) => void;
}

export interface ImportResult {
  imported: number;
  skipped: number;
  folderId: string;
  folderName: string;
  seconds: number;
}

/** The mailbox of `user` (id, UPN or mail); a live user only. */
export async function mailboxOf(core: Core, tenantId: string, user: string): Promise<string> {
  const u = await mailService(core).findUser(tenantId, user);
  if (!u || u.deleted) throw new ImportError(`no user '${user}' in tenant ${tenantId}`);
  return u.id;
}

/** A folder by well-known name or top-level display name (created if missing). */
export async function folderFor(core: Core, tenantId: string, mailboxId: string, name: string, create: boolean): Promise<{ id: string; displayName: string }> {
  const svc = mailService(core);
  const folders = await svc.listFolders(tenantId, mailboxId);
  const lower = name.toLowerCase();
  const wk = (WELL_KNOWN_FOLDERS as readonly string[]).find((w) => w === lower || WELL_KNOWN_DISPLAY_NAMES[w as WellKnownFolder].toLowerCase() === lower);
  const root = folders.find((f) => f.wellKnownName === 'msgfolderroot')!;
  const found = wk ? folders.find((f) => f.wellKnownName === wk) : folders.find((f) => f.parentFolderId === root.id && f.displayName.toLowerCase() === lower);
  if (found) return found;
  if (!create) throw new ImportError(`no folder '${name}'`);
  return core.store.write((trx) => svc.createFolder(trx, tenantId, mailboxId, { parentId: root.id, displayName: name }));
}

/**
 * Bytes of parsed messages per transaction. With one batch committing while the next is parsed, the
 * messages held at once stay within two batches: memory is flat whatever the size of the source.
 */
const BATCH_BYTES = 4 << 20;

export async function importMessages(core: Core, source: AsyncIterable<SourceMessage>, o: ImportOptions): Promise<ImportResult> {
  const started = performance.now();
  const svc = mailService(core);
  const mailboxId = await mailboxOf(core, o.tenantId, o.user);
  const folder = await folderFor(core, o.tenantId, mailboxId, o.folder ?? 'inbox', true);
  const batchSize = o.batchSize ?? 500;
  let batch: ImportItem[] = [];
  let batchBytes = 0;
  let progress = 0;
  let imported = 0;
  let skipped = 0;
  // the previous batch, committing (its fsync runs off the event loop) while the next one is parsed
  let writing: Promise<void> | undefined;

  const flush = async () => {
    if (writing) await writing;
    writing = undefined;
    if (batch.length === 0) return;
    const items = batch;
    const at = progress;
    batch = [];
    batchBytes = 0;
    writing = core.store.write((trx) => svc.importMime(trx, o.tenantId, mailboxId, folder.id, items)).then(() => {
      imported += items.length;
      o.onProgress?.(at, imported);
    });
    writing.catch(() => {}); // awaited (and thrown) at the next flush
  };

  // Messages are parsed here one at a time: a parse is ~150 µs of CPU, about what writing the message
  // costs, and a parsing thread would cost more memory (a second heap, copies of every batch) than
  // it saves time on two shared cores.
  for await (const m of source) {
    progress = m.progress;
    let summary: MimeSummary;
    try {
      summary = await summarizeMime(m.data);
    } catch (e) {
      // whatever a message does to the parser, it is that message's fault: report it and go on
      skipped++;
      o.onSkip?.(m.label, (e as Error).message);
      continue;
    }
    batch.push({ mime: m.data, summary });
    batchBytes += m.data.length;
    if (batch.length >= batchSize || batchBytes >= BATCH_BYTES) await flush();
  }
  await flush();
  await writing;
  return { imported, skipped, folderId: folder.id, folderName: folder.displayName, seconds: (performance.now() - started) / 1000 };
}

/** Writes a mailbox (or one folder) as mboxrd, streaming; returns the number of messages. */
export async function exportMbox(core: Core, o: { tenantId: string; user: string; folder?: string; file: string }): Promise<number> {
  const svc = mailService(core);
  const mailboxId = await mailboxOf(core, o.tenantId, o.user);
  const folderId = o.folder ? (await folderFor(core, o.tenantId, mailboxId, o.folder, false)).id : undefined;
  const out = fs.createWriteStream(o.file);
  const write = (b: Buffer) => (out.write(b) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  let n = 0;
  for await (const page of svc.iterateMessages(o.tenantId, mailboxId, 500, folderId)) {
    const blobs = await svc.readBlobs(page.map((m) => m.mimeSha256));
    for (const m of page) {
      const data = blobs.get(m.mimeSha256);
      if (!data) continue;
      await write(mboxEntry(data, m.props.from?.emailAddress.address ?? null, new Date(m.props.receivedDateTime)));
      n++;
    }
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return n;
}
