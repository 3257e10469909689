/**
 * Delta queries over the `mail_changes` log. A token names a position in the log (a change
 * sequence number) for one mailbox and folder. A round starting at position S lists every item
 * with a change in (S, U], U being the log's end when the round began: items now in the folder as
 * they are, the others as `@removed` (moved out: reason `changed`; deleted: `deleted`). The log is
 * kept for CHANGE_RETENTION_DAYS; a token older than what is kept, or one that does not belong to
 * this tenant, mailbox and folder, is 410 SyncStateNotFound.
 *
 * A token also carries the round's `$select`, as Graph's do: a link holds the token alone, and what
 * a client sends beside it is ignored, so the link never grows however often the client adds its
 * options to it. Tokens of the previous version (without it) take `$select` from the request.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Core } from '../core.js';
import type { DB } from '../store/schema.js';
import { errors } from '../errors.js';

export const CHANGE_RETENTION_DAYS = 30;
const PRUNED_KEY = 'mail_changes_pruned_seq';

export interface DeltaPosition {
  /** m: messages of folder f; f: the mailbox's folders */
  kind: 'm' | 'f';
  tenantId: string;
  mailboxId: string;
  folderId: string | null;
  /** last change seen; null = initial round */
  since: number | null;
  /** end of this round's window */
  until: number;
  /** keyset: last item id returned in this round */
  after: string | null;
  /** the round's $select (names joined by ','), null for none; undefined in a token of the previous version */
  select?: string | null;
}

function checksum(payload: string): string {
  return crypto.createHash('sha256').update('mailvault-delta:' + payload).digest('base64url').slice(0, 12);
}

export function encodeToken(p: DeltaPosition): string {
  const payload = Buffer.from(JSON.stringify([p.kind, p.tenantId, p.mailboxId, p.folderId, p.since, p.until, p.after, p.select ?? null])).toString('base64url');
  return `${payload}.${checksum(payload)}`;
}

const syncStateNotFound = () =>
  errors.syncStateNotFound('The sync state generation is not found or has expired. Start a new synchronization without a token.');

/** Decodes a token issued for this tenant/mailbox/folder and still within the kept log, else 410. */
export async function decodeToken(core: Core, token: string, expect: Pick<DeltaPosition, 'kind' | 'tenantId' | 'mailboxId' | 'folderId'>): Promise<DeltaPosition> {
  const [payload, sum] = token.split('.');
  if (!payload || !sum || checksum(payload) !== sum) throw syncStateNotFound();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw syncStateNotFound();
  }
  if (!Array.isArray(v) || (v.length !== 7 && v.length !== 8)) throw syncStateNotFound();
  const seq = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  const text = (x: unknown): x is string | null => x === null || typeof x === 'string';
  if (!seq(v[5]) || !(v[4] === null || seq(v[4])) || !text(v[3]) || !text(v[6]) || (v.length === 8 && !text(v[7]))) throw syncStateNotFound();
  const p: DeltaPosition = { kind: v[0] as 'm', tenantId: v[1] as string, mailboxId: v[2] as string, folderId: v[3], since: v[4], until: v[5], after: v[6], ...(v.length === 8 ? { select: v[7] as string | null } : {}) };
  if (p.kind !== expect.kind || p.tenantId !== expect.tenantId || p.mailboxId !== expect.mailboxId || p.folderId !== expect.folderId) throw syncStateNotFound();
  const pruned = await prunedSeq(core.store.db);
  if (p.since !== null && p.since < pruned) throw syncStateNotFound();
  if (p.since === null && p.until < pruned && p.after !== null) throw syncStateNotFound();
  return p;
}

async function prunedSeq(db: Kysely<DB>): Promise<number> {
  const row = await db.selectFrom('server_state').select('value').where('key', '=', PRUNED_KEY).executeTakeFirst();
  return row ? Number(row.value) : 0;
}

/** The end of the change log now. */
export async function logEnd(db: Kysely<DB>): Promise<number> {
  const row = await db.selectFrom('mail_changes').select((eb) => eb.fn.max('seq').as('s')).executeTakeFirst();
  return Math.max(Number(row?.s ?? 0), await prunedSeq(db));
}

/** Ids of items of `kind` changed in (since, until] (in folder `folderId`, entering or leaving it), in id order after `after`. */
export async function changedItemIds(db: Kysely<DB>, p: DeltaPosition, limit: number): Promise<string[]> {
  let q = db
    .selectFrom('mail_changes')
    .select('item_id')
    .where('tenant_id', '=', p.tenantId)
    .where('mailbox_id', '=', p.mailboxId)
    .where('item_kind', '=', p.kind === 'm' ? 'message' : 'folder')
    .where('seq', '>', p.since ?? 0)
    .where('seq', '<=', p.until);
  if (p.kind === 'm') q = q.where((eb) => eb.or([eb('from_folder_id', '=', p.folderId), eb('to_folder_id', '=', p.folderId)]));
  if (p.after !== null) q = q.where('item_id', '>', p.after);
  const rows = await q.groupBy('item_id').orderBy('item_id').limit(limit).execute();
  return rows.map((r) => r.item_id);
}

/** Drops log entries older than the retention; tokens before them become 410. */
export async function pruneChanges(core: Core, now: Date): Promise<void> {
  const cutoff = new Date(now.getTime() - CHANGE_RETENTION_DAYS * 86_400_000).toISOString();
  const db = core.store.db;
  const oldest = await db.selectFrom('mail_changes').select(['seq', 'at']).orderBy('seq').limit(1).executeTakeFirst();
  if (!oldest || oldest.at >= cutoff) return;
  // the clock only moves forward, so `at` grows with `seq`: find the last seq before the cutoff
  const last = await db.selectFrom('mail_changes').select('seq').where('at', '<', cutoff).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (!last) return;
  const seq = Number(last.seq);
  await core.store.write(async (trx) => {
    await trx.deleteFrom('mail_changes').where('seq', '<=', seq).execute();
    await trx
      .insertInto('server_state')
      .values({ key: PRUNED_KEY, value: String(seq) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(seq) }))
      .execute();
  });
}
