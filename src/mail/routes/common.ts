/**
 * What the mail routes share: registering a route for both `/users/{id|upn}` and `/me`, finding
 * the mailbox a request may touch (tenancy, deleted users, delegated own-mailbox rule), folder
 * lookup by id or well-known name, and the Graph wire shapes of users, groups, folders, messages.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Core } from '../../core.js';
import type { Operation } from '../../http/permissions.js';
import { errors } from '../../errors.js';
import { graphOf } from '../../http/context.js';
import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.js';
import { findUser } from '../directory.js';
import { isPlausibleId } from '../ids.js';
import { WELL_KNOWN_FOLDERS, type DirectoryGroup, type DirectoryUser, type FolderRecord, type MessageRecord } from '../model.js';
import { FolderGone, StaleMessage, folderFromRow } from '../items.js';
import { MEDIA_TYPE } from '../messages.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

export interface MailboxRef {
  tenantId: string;
  /** == user id */
  mailboxId: string;
  user: DirectoryUser;
  /** How the request named the user, for @odata.context ('users('<id>')' or 'me'). */
  contextPrefix: string;
}

/** Registers `path` under `/users/:userId` and `/me`. */
export function mailboxRoute(
  app: FastifyInstance,
  method: Method,
  path: string,
  op: Operation,
  handler: (req: FastifyRequest, reply: FastifyReply, mailbox: () => Promise<MailboxRef>) => Promise<unknown>,
  core: Core,
  extra: { acceptsText?: boolean } = {},
): void {
  for (const base of ['/users/:userId', '/me']) {
    const h: RouteHandlerMethod = async (req, reply) => {
      if (prefersImmutableIds(req)) applyPreference(reply, 'IdType="ImmutableId"');
      // A change to a message read before its write is made again from a fresh read when another
      // request changed the message in between (StaleMessage is thrown before anything is written).
      for (let attempt = 1; ; attempt++) {
        try {
          return await handler(req, reply, () => resolveMailbox(core, req));
        } catch (error) {
          if (error instanceof FolderGone) itemNotFound();
          if (!(error instanceof StaleMessage)) throw error;
          if (attempt >= STALE_ATTEMPTS) throw errors.errorIrresolvableConflict('The message was changed by other requests at the same time; try again.');
        }
      }
    };
    app.route({ method, url: base + path, config: { op, ...extra }, handler: h });
  }
}

/**
 * `Prefer: IdType="ImmutableId"`. Mailvault's ids never change (a move keeps them), so every id it
 * gives is already the immutable one; the preference is acknowledged, as Graph does, and changes
 * nothing else (docs/differences.md).
 */
export function prefersImmutableIds(req: FastifyRequest): boolean {
  const prefer = req.headers.prefer;
  return prefer !== undefined && /(^|[,;])\s*IdType\s*=\s*"?ImmutableId"?\s*(?=[,;]|$)/i.test(String(prefer));
}

/** Adds a preference to the response's `Preference-Applied`, beside those already applied (include-unknown-enum-members, ...). */
export function applyPreference(reply: FastifyReply, preference: string): void {
  const applied = reply.getHeader('Preference-Applied');
  const list = applied === undefined ? [] : String(applied).split(',').map((p) => p.trim()).filter(Boolean);
  if (!list.some((p) => p.toLowerCase() === preference.toLowerCase())) list.push(preference);
  reply.header('Preference-Applied', list.join(', '));
}

/** How often a change to a message is made again before it gives up with 409 ErrorIrresolvableConflict. */
const STALE_ATTEMPTS = 8;

export async function resolveMailbox(core: Core, req: FastifyRequest): Promise<MailboxRef> {
  const g = graphOf(req);
  const params = req.params as { userId?: string };
  let key = params.userId;
  let contextPrefix: string;
  if (key === undefined) {
    if (g.principal.kind !== 'delegated' || !g.principal.userId) throw errors.badRequest('/me request is only valid with delegated authentication flow.');
    key = g.principal.userId;
    contextPrefix = 'me';
  } else {
    contextPrefix = `users('${key}')`;
  }
  const user = await findUser(core.store.db, g.tenantId, key);
  if (!user || user.deleted) throw errors.errorInvalidUser(`The requested user '${key}' is invalid.`);
  if (g.principal.kind === 'delegated' && g.principal.userId?.toLowerCase() !== user.id) {
    throw errors.errorAccessDenied('Access is denied. Check credentials and try again.');
  }
  return { tenantId: g.tenantId, mailboxId: user.id, user, contextPrefix };
}

/** A folder by id or well-known name; 400 for a malformed id, 404 when absent. */
export async function resolveFolder(db: Kysely<DB>, mb: MailboxRef, key: string): Promise<FolderRecord & { row: true }> {
  const lower = key.toLowerCase();
  let q = db.selectFrom('folders').selectAll().where('tenant_id', '=', mb.tenantId).where('mailbox_id', '=', mb.mailboxId);
  if ((WELL_KNOWN_FOLDERS as readonly string[]).includes(lower)) q = q.where('well_known_name', '=', lower);
  else {
    if (!isPlausibleId(key)) throw errors.errorInvalidIdMalformed('Id is malformed.');
    q = q.where('id', '=', key);
  }
  const r = await q.executeTakeFirst();
  if (!r) throw errors.errorItemNotFound('The specified object was not found in the store.');
  return { row: true, ...folderFromRow(r) };
}

export function checkMessageId(id: string): void {
  if (!isPlausibleId(id)) throw errors.errorInvalidIdMalformed('Id is malformed.');
}

export function itemNotFound(): never {
  throw errors.errorItemNotFound('The specified object was not found in the store.');
}

/** Graph shows message and folder times without fractions. */
export function graphTime(iso: string | null | undefined): string | null {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : null;
}

export interface FolderCounts {
  total: number;
  unread: number;
  size: number;
  children: number;
}

/** Item and child counts of the given folders. */
export async function folderCounts(db: Kysely<DB>, mb: MailboxRef, folderIds: string[]): Promise<Map<string, FolderCounts>> {
  const out = new Map<string, FolderCounts>(folderIds.map((id) => [id, { total: 0, unread: 0, size: 0, children: 0 }]));
  if (folderIds.length === 0) return out;
  const items = await db
    .selectFrom('messages as m')
    .leftJoin('blobs as b', 'b.sha256', 'm.mime_sha256')
    .select((eb) => [
      'm.folder_id',
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when('m.is_read', '=', 0).then(1).else(0).end()).as('unread'),
      eb.fn.sum<number>(eb.fn.coalesce('b.size', eb.val(0))).as('size'),
    ])
    .where('m.tenant_id', '=', mb.tenantId)
    .where('m.mailbox_id', '=', mb.mailboxId)
    .where('m.folder_id', 'in', folderIds)
    .groupBy('m.folder_id')
    .execute();
  for (const r of items) Object.assign(out.get(r.folder_id)!, { total: Number(r.total), unread: Number(r.unread), size: Number(r.size) });
  const kids = await db
    .selectFrom('folders')
    .select((eb) => ['parent_id', eb.fn.countAll<number>().as('n')])
    .where('tenant_id', '=', mb.tenantId)
    .where('mailbox_id', '=', mb.mailboxId)
    .where('parent_id', 'in', folderIds)
    .groupBy('parent_id')
    .execute();
  for (const r of kids) if (r.parent_id) out.get(r.parent_id)!.children = Number(r.n);
  return out;
}

export function folderWire(f: FolderRecord, c: FolderCounts): Record<string, unknown> {
  return {
    id: f.id,
    displayName: f.displayName,
    parentFolderId: f.parentFolderId,
    childFolderCount: c.children,
    unreadItemCount: c.unread,
    totalItemCount: c.total,
    sizeInBytes: c.size,
    isHidden: f.isHidden,
  };
}

export function messageWire(m: MessageRecord, body: { contentType: string; content: string } | undefined): Record<string, unknown> {
  const p = m.props;
  return {
    '@odata.etag': `W/"${p.changeKey}"`,
    id: m.id,
    createdDateTime: graphTime(p.createdDateTime),
    lastModifiedDateTime: graphTime(p.lastModifiedDateTime),
    changeKey: p.changeKey,
    categories: p.categories,
    receivedDateTime: graphTime(p.receivedDateTime),
    sentDateTime: graphTime(p.sentDateTime),
    hasAttachments: p.hasAttachments,
    internetMessageId: p.internetMessageId,
    subject: p.subject,
    bodyPreview: p.bodyPreview,
    importance: p.importance,
    parentFolderId: m.folderId,
    conversationId: p.conversationId,
    isDeliveryReceiptRequested: p.isDeliveryReceiptRequested,
    isReadReceiptRequested: p.isReadReceiptRequested,
    isRead: p.isRead,
    isDraft: p.isDraft,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(m.id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: p.inferenceClassification,
    ...(body ? { body } : {}),
    sender: p.sender,
    from: p.from,
    toRecipients: p.toRecipients,
    ccRecipients: p.ccRecipients,
    bccRecipients: p.bccRecipients,
    replyTo: p.replyTo,
    flag: p.flag,
  };
}

export const MESSAGE_SELECTABLE = [
  'id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'receivedDateTime', 'sentDateTime', 'hasAttachments',
  'internetMessageId', 'subject', 'bodyPreview', 'importance', 'parentFolderId', 'conversationId', 'isDeliveryReceiptRequested',
  'isReadReceiptRequested', 'isRead', 'isDraft', 'webLink', 'inferenceClassification', 'body', 'sender', 'from', 'toRecipients',
  'ccRecipients', 'bccRecipients', 'replyTo', 'flag',
] as const;

const USER_DEFAULT = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id', 'accountEnabled'];
export const USER_SELECTABLE = [...USER_DEFAULT, 'mailNickname', 'createdDateTime', 'usageLocation', 'department', 'companyName', 'deletedDateTime'];

/** The user as Graph shows it: the default property set unless $select names others. */
export function userWire(u: DirectoryUser, select?: Set<string>): Record<string, unknown> {
  const x = u.extra;
  const full: Record<string, unknown> = {
    businessPhones: (x.businessPhones as string[] | undefined) ?? [],
    displayName: u.displayName,
    givenName: u.givenName,
    jobTitle: u.jobTitle,
    mail: u.mail,
    mobilePhone: (x.mobilePhone as string | undefined) ?? null,
    officeLocation: (x.officeLocation as string | undefined) ?? null,
    preferredLanguage: (x.preferredLanguage as string | undefined) ?? null,
    surname: u.surname,
    userPrincipalName: u.userPrincipalName,
    id: u.id,
    accountEnabled: u.accountEnabled,
    mailNickname: (x.mailNickname as string | undefined) ?? null,
    createdDateTime: graphTime(u.createdDateTime),
    usageLocation: (x.usageLocation as string | undefined) ?? null,
    department: (x.department as string | undefined) ?? null,
    companyName: (x.companyName as string | undefined) ?? null,
    deletedDateTime: graphTime(u.deletedDateTime),
  };
  if (select) return full;
  return Object.fromEntries(USER_DEFAULT.map((k) => [k, full[k]]));
}

export const GROUP_SELECTABLE = ['id', 'deletedDateTime', 'createdDateTime', 'description', 'displayName', 'groupTypes', 'mail', 'mailEnabled', 'mailNickname', 'securityEnabled', 'visibility'];

export function groupWire(g: DirectoryGroup): Record<string, unknown> {
  return {
    id: g.id,
    deletedDateTime: null,
    createdDateTime: graphTime(g.createdDateTime),
    description: g.description,
    displayName: g.displayName,
    groupTypes: g.groupTypes,
    mail: g.mail,
    mailEnabled: g.mailEnabled,
    mailNickname: g.mailNickname,
    securityEnabled: g.securityEnabled,
    visibility: g.groupTypes.includes('Unified') ? 'Public' : null,
  };
}

/**
 * Stored content as a download (a message's or an attachment's `$value`): always `attachment` with
 * its file name, never sniffed, and sandboxed should anything still render it. The content type is
 * the one stored when it is a well-formed media type in ASCII (application/octet-stream otherwise): a
 * browser downloads an attachment whatever its type, so stored HTML or SVG never runs on the
 * server's origin.
 */
export function sendDownload(reply: FastifyReply, data: Buffer, contentType: string, fileName: string): FastifyReply {
  return reply
    .code(200)
    .header('Content-Type', MEDIA_TYPE.test(contentType) && /^[\x20-\x7e]+$/.test(contentType) ? contentType : 'application/octet-stream')
    .header('Content-Disposition', contentDisposition(fileName))
    .header('X-Content-Type-Options', 'nosniff')
    .header('Content-Security-Policy', "sandbox; default-src 'none'")
    .send(data);
}

/**
 * `attachment; filename="..."` (RFC 6266) for any name: printable ASCII as it is (quotes,
 * backslashes, percent signs and path separators made `_`), anything else in `filename*` as UTF-8
 * (RFC 5987) beside an ASCII fallback.
 */
export function contentDisposition(name: string): string {
  const clean = [...name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').replace(/[\\/]/g, '_').trim()].slice(0, 200).join('') || 'download';
  const ascii = clean.replace(/[^\x20-\x7e]|["%]/g, '_');
  if (ascii === clean) return `attachment; filename="${ascii}"`;
  let encoded = '';
  for (const byte of Buffer.from(clean, 'utf8')) {
    const c = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9!#$&+.^_`|~-]/.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A JSON object body, or 400. */
export function objectBody(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) throw errors.badRequest('The request body must be a JSON object.');
  return b as Record<string, unknown>;
}

/** `Prefer: outlook.body-content-type="text"`: bodies are answered as text. */
export function preferTextBody(req: FastifyRequest): boolean {
  return /outlook\.body-content-type\s*=\s*"?text"?/i.test(String(req.headers.prefer ?? ''));
}
