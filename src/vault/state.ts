/**
 * "The mailbox as it was at T": for every item, its latest version at or before T, unless that
 * version is a delete. Read in item-id order in batches (keyset paging), so memory stays flat for
 * mailboxes of any size: folders first, then messages.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.js';
import { latestVersions, versionProps } from './latest.js';

export interface ItemVersion {
  itemKind: 'message' | 'folder';
  itemId: string;
  /** A message's folder; a folder's parent. */
  folderId: string | null;
  /** The item's full snapshot as captured (MailChange.props). */
  props: Record<string, unknown>;
  mimeSha256: string | null;
  /** When this version was captured. */
  at: string;
}
export type FolderVersion = ItemVersion & { itemKind: 'folder' };
export type MessageVersion = ItemVersion & { itemKind: 'message' };
export type StateBatch = { folders: FolderVersion[]; messages?: undefined } | { messages: MessageVersion[]; folders?: undefined };

export const STATE_BATCH = 2000;

/** One page of the latest versions at `at` of a kind, after `afterId`; `last` is where the next page starts. */
export async function latestPage(
  db: Kysely<DB>,
  tenantId: string,
  mailboxId: string,
  kind: 'message' | 'folder',
  at: string,
  afterId: string | undefined,
  limit: number,
): Promise<{ items: ItemVersion[]; last: string | undefined }> {
  // Every id is after '': with a lower bound on the id even the first page streams through the item
  // index and stops at the limit, instead of grouping the whole mailbox's versions at `at` first.
  const rows = await latestVersions(db, tenantId, mailboxId, { itemKind: kind, at, afterId: afterId ?? '', limit })
    .select(['v.item_id', 'v.op', 'v.folder_id', versionProps('v').as('props'), 'v.mime_sha256', 'v.at'])
    .orderBy('v.item_id')
    .execute();
  const items = rows
    .filter((r) => r.op === 'upsert')
    .map((r) => ({
      itemKind: kind,
      itemId: r.item_id,
      folderId: r.folder_id,
      props: JSON.parse(r.props ?? '{}') as Record<string, unknown>,
      mimeSha256: r.mime_sha256,
      at: r.at,
    }));
  return { items, last: rows.length < limit ? undefined : rows[rows.length - 1].item_id };
}

export async function* stateAt(db: Kysely<DB>, tenantId: string, mailboxId: string, at: string): AsyncGenerator<StateBatch> {
  for (const kind of ['folder', 'message'] as const) {
    let afterId: string | undefined;
    for (;;) {
      const page = await latestPage(db, tenantId, mailboxId, kind, at, afterId, STATE_BATCH);
      if (page.items.length > 0) {
        yield kind === 'folder' ? { folders: page.items as FolderVersion[] } : { messages: page.items as MessageVersion[] };
      }
      if (page.last === undefined) break;
      afterId = page.last;
    }
  }
}

/** The versions at `at` of the given messages (those that existed then), for granular restores. */
export async function messageVersionsAt(db: Kysely<DB>, tenantId: string, mailboxId: string, at: string, itemIds: string[]): Promise<MessageVersion[]> {
  const out: MessageVersion[] = [];
  for (let i = 0; i < itemIds.length; i += 500) {
    const ids = itemIds.slice(i, i + 500);
    const rows = await latestVersions(db, tenantId, mailboxId, { itemKind: 'message', itemIds: ids, at })
      .select(['v.item_id', 'v.op', 'v.folder_id', versionProps('v').as('props'), 'v.mime_sha256', 'v.at'])
      .orderBy('v.item_id')
      .execute();
    for (const r of rows) {
      if (r.op !== 'upsert') continue;
      out.push({ itemKind: 'message', itemId: r.item_id, folderId: r.folder_id, props: JSON.parse(r.props ?? '{}'), mimeSha256: r.mime_sha256, at: r.at });
    }
  }
  return out;
}
