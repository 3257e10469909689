/**
 * What a restore job records in `jobs.progress` with every batch, in the same transaction as the
 * batch's writes: a restarted worker continues from `cursor` and never repeats a committed batch.
 */
export interface RestoreProgress {
  /** folders: (in place, full mailbox) recreating the folders that are gone; messages: the diff. */
  phase: 'folders' | 'messages';
  /** The last source item id handled; the next page starts after it. */
  cursor: string | null;
  /** Source items looked at. */
  examined: number;
  /** Messages written. */
  restored: number;
  /** Messages that could not be restored (the first few are listed in `failures`). */
  failed: number;
  failures: Array<{ itemId: string; message: string }>;
  /** Folders recreated in place. */
  foldersRecreated: number;
  /** `new`: the folder made for this restore, once made. */
  rootFolderId: string | null;
  rootFolderName: string | null;
  /** The restore point's time: the state restored is the mailbox as it was then. */
  at: string;
  /** Emulated time the artifact went in progress: pacing and the new folder's name count from it. */
  startedAt: string;
}

export const LISTED_FAILURES = 10;

export function initialProgress(at: string, startedAt: string, phase: RestoreProgress['phase']): RestoreProgress {
  return { at, phase, cursor: null, examined: 0, restored: 0, failed: 0, failures: [], foldersRecreated: 0, rootFolderId: null, rootFolderName: null, startedAt };
}

export function noteFailure(p: RestoreProgress, itemId: string, message: string): void {
  p.failed++;
  if (p.failures.length < LISTED_FAILURES) p.failures.push({ itemId, message });
}
