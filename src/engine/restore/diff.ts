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
  return { restore: { itemId: row.item_id, change, folderId: row.folder_id!, propsSeq: row.props_seq, mimeSha256: row.mime_sha256! } };
}

/** The database's finding (SourceRow.state), with the last word on texts that differ only as texts. */
export function judge(row: SourceRow): Verdict {
  switch (row.state) {
    case 'absent':
    case 'unchanged':
      return { skip: row.state };
    case 'incomplete':
      return { bad: 'The captured version of the item is incomplete.' };
    case 'unreadable':
      return { bad: UNREADABLE };
    case 'nocontent':
      return { bad: 'The content of the item is no longer stored.' };
    case 'deleted':
      return restorable(row, 'deleted');
    case 'compare':
      // Equal values written in another key order are still equal.
      try {
        if (isDeepStrictEqual(comparable(JSON.parse(row.props!)), comparable(JSON.parse(row.live_props!)))) return { skip: 'unchanged' };
      } catch {
        // a text that is not JSON: a live one is overwritten by its version; a version's, the write reports
      }
      return restorable(row, 'modified');
    default:
      return restorable(row, 'modified');
  }
}
