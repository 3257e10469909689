/**
 * Read-only questions the control plane asks of the directory (users, groups, members), owned by the
 * mail area. They take an executor so they also work inside a write transaction, where the mail
 * service's own readers must not be used.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.js';

export type Executor = Kysely<DB>;

export interface DirectoryUser {
  id: string;
  displayName: string;
  email: string;
}

const CHUNK = 500;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function toUser(r: { id: string; display_name: string; mail: string | null; user_principal_name: string }): DirectoryUser {
  return { id: r.id, displayName: r.display_name, email: r.mail ?? r.user_principal_name };
}

/** Live users among `ids`, by id. */
export async function usersByIds(db: Executor, tenantId: string, ids: string[]): Promise<Map<string, DirectoryUser>> {
  const out = new Map<string, DirectoryUser>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = await db
      .selectFrom('users')
      .select(['id', 'display_name', 'mail', 'user_principal_name'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', part)
      .where('deleted_at', 'is', null)
      .execute();
    for (const r of rows) out.set(r.id, toUser(r));
  }
  return out;
}

/** Live users by SMTP address (mail or user principal name, case-insensitive), keyed by the lower-cased address. */
export async function usersByAddresses(db: Executor, tenantId: string, addresses: string[]): Promise<Map<string, DirectoryUser>> {
  const keys = [...new Set(addresses.map((a) => a.toLowerCase()))];
  const out = new Map<string, DirectoryUser>();
  for (const part of chunks(keys)) {
    const rows = await db
      .selectFrom('users')
      .select(['id', 'display_name', 'mail', 'user_principal_name', 'mail_key', 'upn_key'])
      .where('tenant_id', '=', tenantId)
      .where('deleted_at', 'is', null)
      .where((eb) => eb.or([eb('mail_key', 'in', part), eb('upn_key', 'in', part)]))
      .execute();
    for (const r of rows) {
      if (r.mail_key && !out.has(r.mail_key)) out.set(r.mail_key, toUser(r));
      if (!out.has(r.upn_key)) out.set(r.upn_key, toUser(r));
    }
  }
  return out;
}

/** Which of `groupIds` exist (not deleted). */
export async function existingGroups(db: Executor, tenantId: string, groupIds: string[]): Promise<Set<string>> {
  if (groupIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('groups')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', groupIds)
    .where('deleted_at', 'is', null)
    .execute();
  return new Set(rows.map((r) => r.id.toLowerCase()));
}

/**
 * Live users that are direct members of the groups, sorted by id. Nested groups are not followed
 * (R:protectionrulebase: nested groups are not supported in rule expressions).
 */
export async function memberUserIds(db: Executor, tenantId: string, groupIds: string[]): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const rows = await db
    .selectFrom('group_members as gm')
    .innerJoin('users as u', (j) => j.onRef('u.tenant_id', '=', 'gm.tenant_id').onRef('u.id', '=', 'gm.member_id'))
    .select('u.id')
    .distinct()
    .where('gm.tenant_id', '=', tenantId)
    .where('gm.group_id', 'in', groupIds)
    .where('u.deleted_at', 'is', null)
    .orderBy('u.id')
    .execute();
  return rows.map((r) => r.id);
}

/** Protection units of the given mailboxes. */
export async function unitsForMailboxes(db: Executor, tenantId: string, mailboxIds: string[]) {
  const out = [];
  for (const part of chunks([...new Set(mailboxIds)])) {
    out.push(...(await db.selectFrom('protection_units').selectAll().where('tenant_id', '=', tenantId).where('mailbox_id', 'in', part).execute()));
  }
  return out;
}

/** Every live user of the tenant (for the demo seed). */
export async function allUserIds(db: Executor, tenantId: string): Promise<string[]> {
  const rows = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => r.id);
}
