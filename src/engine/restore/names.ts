/**
 * Names and ids the restore creates. Ids of everything written into a new folder are derived from
 * the artifact and the source item, so a restore that is resumed after a crash writes the same
 * folders and messages again instead of second copies.
 */
import { bytesFor, newItemId } from '../../mail/ids.js';

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The folder a restore to a new location creates, named from the UTC time the restore began:
 * `Restored Items YYYY-DD-MM, HH:MM` for full-mailbox restores (the date order Microsoft's UI shows)
 * and `Recovered Items YYYY-MM-DD, HH:MM` for granular ones.
 */
export function restoredFolderName(kind: 'mailbox' | 'granular', at: Date): string {
  const y = at.getUTCFullYear();
  const mo = pad(at.getUTCMonth() + 1);
  const d = pad(at.getUTCDate());
  const time = `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}`;
  return kind === 'mailbox' ? `Restored Items ${y}-${d}-${mo}, ${time}` : `Recovered Items ${y}-${mo}-${d}, ${time}`;
}

/** `name`, or `name (2)`, `name (3)`, ... whichever no sibling already uses. */
export function freeName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name} (${i})`)) return `${name} (${i})`;
}

export function restoredRootId(artifactId: string): string {
  return newItemId('folder', bytesFor(`restore:${artifactId}:root`));
}

export function folderCopyId(artifactId: string, sourceFolderId: string): string {
  return newItemId('folder', bytesFor(`restore:${artifactId}:folder:${sourceFolderId}`));
}

export function messageCopyId(artifactId: string, sourceMessageId: string): string {
  return newItemId('message', bytesFor(`restore:${artifactId}:message:${sourceMessageId}`));
}
