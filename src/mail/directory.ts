/**
 * The directory: users (each with a mailbox) and groups with members. Deleting a user marks the
 * user and its mailbox deleted but keeps both rows, so backups of the mailbox stay meaningful.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Core } from '../core.js';
import type { Trx } from '../store/store.js';
import type { DB, GroupTable, UserTable } from '../store/schema.js';
import { newItemId } from './ids.js';
import { upsertFolders } from './items.js';
import { WELL_KNOWN_DISPLAY_NAMES, WELL_KNOWN_FOLDERS, type DirectoryGroup, type DirectoryUser, type FolderRecord } from './model.js';

export function userFromRow(r: UserTable): DirectoryUser {
  return {
    id: r.id,
    userPrincipalName: r.user_principal_name,
    mail: r.mail,
    displayName: r.display_name,
    givenName: r.given_name,
    surname: r.surname,
    jobTitle: r.job_title,
    accountEnabled: r.account_enabled === 1,
    createdDateTime: r.created_at,
    deleted: r.deleted_at !== null,
    deletedDateTime: r.deleted_at,
    extra: r.props ? (JSON.parse(r.props) as Record<string, unknown>) : {},
  };
}

export function groupFromRow(r: GroupTable): DirectoryGroup {
  return {
    id: r.id,
    displayName: r.display_name,
    description: r.description,
    mail: r.mail,
    mailNickname: r.mail_nickname,
    mailEnabled: r.mail_enabled === 1,
    securityEnabled: r.security_enabled === 1,
    groupTypes: JSON.parse(r.group_types) as string[],
    createdDateTime: r.created_at,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isGuid = (s: string): boolean => GUID.test(s);

/** Users and groups share one id space (directoryObjects); deleted objects keep their ids. */
export async function directoryIdTaken(db: Kysely<DB>, tenantId: string, id: string): Promise<boolean> {
  const key = id.toLowerCase();
  const user = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', key).executeTakeFirst();
  if (user) return true;
  return !!(await db.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('id', '=', key).executeTakeFirst());
}

/** A user by object id, userPrincipalName or mail (case-insensitive), deleted ones included. */
export async function findUser(db: Kysely<DB>, tenantId: string, key: string): Promise<DirectoryUser | undefined> {
  let q = db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
  const lower = key.toLowerCase();
  q = GUID.test(key) ? q.where('id', '=', lower) : q.where((eb) => eb.or([eb('upn_key', '=', lower), eb('mail_key', '=', lower)]));
  // a live user wins over a deleted one, and the owner of a UPN over a user with that mail
  const rows = await q.orderBy('deleted_at', 'desc').execute();
  const rank = (r: UserTable) => (r.deleted_at === null ? 0 : 2) + (r.upn_key === lower ? 0 : 1);
  const row = rows.sort((a, b) => rank(a) - rank(b))[0];
  return row ? userFromRow(row) : undefined;
}

/** Whether a live user other than `exceptId` has `address` as its UPN or mail (Exchange keeps addresses unique). */
export async function addressTaken(db: Kysely<DB>, tenantId: string, address: string, exceptId?: string): Promise<boolean> {
  const key = address.toLowerCase();
  let q = db
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('upn_key', '=', key), eb('mail_key', '=', key)]));
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  return !!(await q.executeTakeFirst());
}

export interface NewUser {
  id?: string;
  userPrincipalName: string;
  displayName: string;
  mail?: string | null;
  givenName?: string | null;
  surname?: string | null;
  jobTitle?: string | null;
  accountEnabled?: boolean;
  extra?: Record<string, unknown>;
}

export class UpnTakenError extends Error {}
export class IdTakenError extends Error {}
export class AddressTakenError extends Error {}

/** Refuses addresses another live user has as UPN or mail. */
async function checkAddresses(trx: Trx, tenantId: string, addresses: Array<string | null | undefined>, exceptId?: string): Promise<void> {
  for (const a of addresses) if (a && (await addressTaken(trx, tenantId, a, exceptId))) throw new AddressTakenError(a);
}

/** The id of a new directory object: the one asked for (if free) or a new one. */
async function newObjectId(trx: Trx, tenantId: string, id: string | undefined): Promise<string> {
  if (id === undefined) return crypto.randomUUID();
  if (await directoryIdTaken(trx, tenantId, id)) throw new IdTakenError(id);
  return id.toLowerCase();
}

/** Creates a user and its mailbox (with the well-known folders). */
export async function createUser(core: Core, trx: Trx, tenantId: string, u: NewUser, folderIdBytes?: (i: number) => Buffer): Promise<DirectoryUser> {
  const now = core.clock.now().toISOString();
  const id = await newObjectId(trx, tenantId, u.id);
  const upnKey = u.userPrincipalName.toLowerCase();
  const taken = await trx.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('upn_key', '=', upnKey).executeTakeFirst();
  if (taken) throw new UpnTakenError(u.userPrincipalName);
  const mail = u.mail === undefined ? u.userPrincipalName : u.mail;
  await checkAddresses(trx, tenantId, [u.userPrincipalName, mail]);
  const row: UserTable = {
    tenant_id: tenantId,
    id,
    user_principal_name: u.userPrincipalName,
    upn_key: upnKey,
    mail,
    mail_key: mail?.toLowerCase() ?? null,
    display_name: u.displayName,
    given_name: u.givenName ?? null,
    surname: u.surname ?? null,
    job_title: u.jobTitle ?? null,
    account_enabled: u.accountEnabled === false ? 0 : 1,
    created_at: now,
    deleted_at: null,
    props: JSON.stringify(u.extra ?? {}),
  };
  await trx.insertInto('users').values(row).execute();
  await createMailbox(core, trx, tenantId, id, folderIdBytes);
  return userFromRow(row);
}

/** The mailbox of a new user: the root and the well-known folders beneath it. */
export async function createMailbox(core: Core, trx: Trx, tenantId: string, mailboxId: string, folderIdBytes?: (i: number) => Buffer): Promise<void> {
  const now = core.clock.now().toISOString();
  await trx.insertInto('mailboxes').values({ tenant_id: tenantId, id: mailboxId, created_at: now, deleted_at: null, change_seq: 0 }).execute();
  const ids = WELL_KNOWN_FOLDERS.map((_, i) => newItemId('folder', folderIdBytes?.(i)));
  const folders: FolderRecord[] = WELL_KNOWN_FOLDERS.map((name, i) => ({
    id: ids[i],
    displayName: WELL_KNOWN_DISPLAY_NAMES[name],
    parentFolderId: name === 'msgfolderroot' ? null : ids[0],
    wellKnownName: name,
    isHidden: false,
    createdDateTime: now,
  }));
  await upsertFolders(core, trx, tenantId, mailboxId, folders);
}

export async function updateUser(trx: Trx, tenantId: string, id: string, patch: Partial<Omit<UserTable, 'tenant_id' | 'id'>>): Promise<void> {
  await trx.updateTable('users').set(patch).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  await checkAddresses(trx, tenantId, [patch.upn_key, patch.mail_key], id);
}

/**
 * Soft delete of a live user: it disappears from the directory, its mailbox is marked deleted (its
 * backups stay), its memberships end. False when there is no live user (deleted meanwhile).
 */
export async function deleteUser(core: Core, trx: Trx, tenantId: string, id: string): Promise<boolean> {
  const now = core.clock.now().toISOString();
  const r = await trx.updateTable('users').set({ deleted_at: now, account_enabled: 0 }).where('tenant_id', '=', tenantId).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  await trx.updateTable('mailboxes').set({ deleted_at: now }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  await trx.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('member_id', '=', id).execute();
  return true;
}

export async function findGroup(db: Kysely<DB>, tenantId: string, id: string): Promise<DirectoryGroup | undefined> {
  const row = await db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id.toLowerCase()).where('deleted_at', 'is', null).executeTakeFirst();
  return row ? groupFromRow(row) : undefined;
}

export interface NewGroup {
  id?: string;
  displayName: string;
  description?: string | null;
  mail?: string | null;
  mailNickname: string;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes?: string[];
}

export async function createGroup(core: Core, trx: Trx, tenantId: string, g: NewGroup): Promise<DirectoryGroup> {
  const row: GroupTable = {
    tenant_id: tenantId,
    id: await newObjectId(trx, tenantId, g.id),
    display_name: g.displayName,
    description: g.description ?? null,
    mail: g.mail ?? null,
    mail_nickname: g.mailNickname,
    mail_enabled: g.mailEnabled ? 1 : 0,
    security_enabled: g.securityEnabled ? 1 : 0,
    group_types: JSON.stringify(g.groupTypes ?? []),
    created_at: core.clock.now().toISOString(),
    deleted_at: null,
  };
  await trx.insertInto('groups').values(row).execute();
  return groupFromRow(row);
}

/** Adds members (those already in the group stay as they are); returns how many were added. */
export async function addMembers(core: Core, trx: Trx, tenantId: string, groupId: string, memberIds: string[]): Promise<number> {
  if (memberIds.length === 0) return 0;
  const now = core.clock.now().toISOString();
  const r = await trx
    .insertInto('group_members')
    .values(memberIds.map((m) => ({ tenant_id: tenantId, group_id: groupId, member_id: m, added_at: now })))
    .onConflict((oc) => oc.columns(['tenant_id', 'group_id', 'member_id']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0);
}

/** Direct members that are live users. */
export async function groupMemberIds(db: Kysely<DB>, tenantId: string, groupId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('group_members as gm')
    .innerJoin('users as u', (j) => j.onRef('u.tenant_id', '=', 'gm.tenant_id').onRef('u.id', '=', 'gm.member_id'))
    .select('u.id')
    .where('gm.tenant_id', '=', tenantId)
    .where('gm.group_id', '=', groupId.toLowerCase())
    .where('u.deleted_at', 'is', null)
    .orderBy('u.id')
    .execute();
  return rows.map((r) => r.id);
}
