/**
 * Roll-forward, never roll-back: of the mailbox at the restore point, an item comes back when it was
 * deleted since, or modified since (moved, edited, re-flagged, read: any change of folder, content
 * or properties). Unchanged items are left alone, and items created after the restore point are
 * never looked at.
 */
import { isDeepStrictEqual } from 'node:util';
import type { SourceRow } from './source.js';

export type Change = 'deleted' | 'modified';

export interface Restorable {
  itemId: string;
  change: Change;
  /** Where the item was at the restore point. */
  folderId: string;
  /** The vault version holding the item's snapshot text at the restore point (as a message row stores it). */
  propsSeq: number;
  mimeSha256: string;
  fromAddress: string | null;
}

export const UNREADABLE = 'The captured version of the item is not readable.';

export type Verdict = { restore: Restorable } | { skip: 'unchanged' | 'absent' } | { bad: string };

/** Properties that change on every write, so they never make an item "modified". */
function comparable(p: Record<string, unknown>): Record<string, unknown> {
  const { changeKey: _c, lastModifiedDateTime: _l, parentFolderId: _p, ...rest } = p;
  return rest;
}

/** A top-level function, not a closure made per item (a build that keeps names wraps every closure it makes). */
function restorable(row: SourceRow, change: Change): Verdict {
  return { restore: { itemId: row.item_id, change, folderId: row.folder_id!, propsSeq: row.props_seq, mimeSha256: row.mime_sha256!, fromAddress: row.from_address } };
}

export function judge(row: SourceRow): Verdict {
  if (row.op !== 'upsert') return { skip: 'absent' };
  if (row.unchanged === 1) return { skip: 'unchanged' };
  if (row.folder_id === null || row.mime_sha256 === null) return { bad: 'The captured version of the item is incomplete.' };
  if (row.text_ok !== 1) return { bad: UNREADABLE };
  if (row.has_content !== 1) return { bad: 'The content of the item is no longer stored.' };
  if (row.live !== 1) return restorable(row, 'deleted');
  // The database compares texts; equal values written in another key order are still equal.
  if (row.live_folder_id === row.folder_id && row.live_mime === row.mime_sha256 && row.props !== null && row.live_props !== null) {
    try {
      if (isDeepStrictEqual(comparable(JSON.parse(row.props)), comparable(JSON.parse(row.live_props)))) return { skip: 'unchanged' };
    } catch {
      // an unreadable live item is overwritten by its good version
    }
  }
  return restorable(row, 'modified');
}
