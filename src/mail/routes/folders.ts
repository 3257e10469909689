/** `/users/{id}/mailFolders` (with childFolders) and the delta queries of folders and of a folder's messages. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Core } from '../../core.js';
import type { Trx } from '../../store/store.js';
import { errors } from '../../errors.js';
import { contextUrl, graphOf, nextLink, sendCollection, sendEntity, type GraphRequest } from '../../http/context.js';
import { normalizeQuery, orderSql, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../http/odata.js';
import * as items from '../items.js';
import { newItemId } from '../ids.js';
import { changedItemIds, decodeToken, encodeToken, logEnd, type DeltaPosition } from '../delta.js';
import { folderFromRow } from '../items.js';
import type { FolderRecord } from '../model.js';
import { applyPreference, preferTextBody, folderCounts, folderWire, itemNotFound, mailboxRoute, messageWire, objectBody, resolveFolder, MESSAGE_SELECTABLE, type MailboxRef } from './common.js';
import { bodyFor } from './messages.js';

const FOLDER_SELECTABLE = ['id', 'displayName', 'parentFolderId', 'childFolderCount', 'unreadItemCount', 'totalItemCount', 'sizeInBytes', 'isHidden'];

const FOLDERS: CollectionSpec = {
  fields: {
    displayName: { column: 'display_name', type: 'string' },
    id: { column: 'id', type: 'string' },
    isHidden: { column: 'is_hidden', type: 'boolean' },
  },
  selectable: FOLDER_SELECTABLE,
  defaultOrder: [['display_name', 'asc']],
  key: 'id',
  defaultTop: 10,
  maxTop: 1000,
};

const DELTA_PAGE = 100;

async function wireFolders(core: Core, mb: MailboxRef, folders: FolderRecord[]): Promise<Array<Record<string, unknown>>> {
  const counts = await folderCounts(core.store.db, mb, folders.map((f) => f.id));
  return folders.map((f) => folderWire(f, counts.get(f.id)!));
}

function checkDisplayName(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw errors.errorInvalidRequest(`The property 'displayName' is required and must be a non-empty string.`);
  if (v.length > 255) throw errors.errorInvalidRequest(`The property 'displayName' is longer than 255 characters.`);
  return v;
}

/**
 * Inside the write that names a folder `name` under `parentId`: the parent (and the folder renamed,
 * `exceptId`) still exist, and no other child has the name (409 ErrorFolderExists). Checked in the write, so concurrent creates cannot both
 * pass; on PostgreSQL the mailbox's folder names are locked for the transaction first.
 */
async function checkFolderName(core: Core, trx: Trx, mb: MailboxRef, parentId: string, name: string, exceptId?: string): Promise<void> {
  if (core.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`folders/${mb.tenantId}/${mb.mailboxId}`}))`.execute(trx);
  const rows = await trx.selectFrom('folders').select(['id', 'parent_id', 'display_name']).where('tenant_id', '=', mb.tenantId).where('mailbox_id', '=', mb.mailboxId)
    .where((eb) => eb.or([eb('parent_id', '=', parentId), eb('id', '=', parentId)])).execute();
  const gone = !rows.some((r) => r.id === parentId) || (exceptId !== undefined && !rows.some((r) => r.id === exceptId));
  if (gone) itemNotFound();
  if (rows.some((r) => r.parent_id === parentId && r.id !== exceptId && r.display_name.toLowerCase() === name.toLowerCase())) {
    throw errors.errorFolderExists('A folder with the specified name already exists.');
  }
}

export function folderRoutes(app: FastifyInstance, core: Core): void {
  const db = core.store.db;

  const listChildren = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef, parent: FolderRecord, context: string) => {
    const g = graphOf(req);
    const q = parseCollectionQuery(req.query as Record<string, unknown>, FOLDERS);
    const includeHidden = String((q.raw.includehiddenfolders ?? q.raw.includeHiddenFolders) ?? '').toLowerCase() === 'true';
    let base = db.selectFrom('folders').where('tenant_id', '=', mb.tenantId).where('mailbox_id', '=', mb.mailboxId).where('parent_id', '=', parent.id);
    if (!includeHidden) base = base.where('is_hidden', '=', 0);
    if (q.where) base = base.where(q.where);
    const rows = await base.selectAll().orderBy(orderSql(q.orderBy)).limit(q.top + 1).offset(q.skip).execute();
    const count = q.count ? Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) : undefined;
    const wire = await wireFolders(core, mb, rows.slice(0, q.top).map(folderFromRow));
    return sendCollection(reply, req, g, { type: 'mailFolder', items: wire, context, query: q, hasMore: rows.length > q.top, count });
  };

  const create = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef, parent: FolderRecord) => {
    const g = graphOf(req);
    const body = objectBody(req);
    for (const k of Object.keys(body)) {
      if (!k.startsWith('@odata.') && k !== 'displayName' && k !== 'isHidden') throw errors.badRequest(`The property '${k}' does not exist on type 'microsoft.graph.mailFolder' or cannot be set on create.`);
    }
    const displayName = checkDisplayName(body.displayName);
    if (body.isHidden !== undefined && typeof body.isHidden !== 'boolean') throw errors.errorInvalidRequest(`The property 'isHidden' must be a boolean.`);
    const now = core.clock.now().toISOString();
    const [f] = await core.store.write(async (trx) => {
      await checkFolderName(core, trx, mb, parent.id, displayName);
      return items.upsertFolders(core, trx, mb.tenantId, mb.mailboxId, [
        { id: newItemId('folder'), displayName, parentFolderId: parent.id, wellKnownName: null, isHidden: body.isHidden === true, createdDateTime: now },
      ]);
    });
    const [w] = await wireFolders(core, mb, [f]);
    return sendEntity(reply, g, { type: 'mailFolder', value: w, context: `${mb.contextPrefix}/mailFolders/$entity`, status: 201, location: `users/${mb.mailboxId}/mailFolders/${f.id}` });
  };

  mailboxRoute(app, 'GET', '/mailFolders', 'mail.read', async (req, reply, mailbox) => {
    const mb = await mailbox();
    const root = await resolveFolder(db, mb, 'msgfolderroot');
    return listChildren(req, reply, mb, root, `${mb.contextPrefix}/mailFolders`);
  }, core);

  mailboxRoute(app, 'POST', '/mailFolders', 'mail.write', async (req, reply, mailbox) => {
    const mb = await mailbox();
    return create(req, reply, mb, await resolveFolder(db, mb, 'msgfolderroot'));
  }, core);

  mailboxRoute(app, 'GET', '/mailFolders/:folderId', 'mail.read', async (req, reply, mailbox) => {
    const g = graphOf(req);
    const mb = await mailbox();
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const select = q.$select !== undefined ? parseSelect(q.$select, FOLDER_SELECTABLE) : undefined;
    const f = await resolveFolder(db, mb, (req.params as { folderId: string }).folderId);
    const [w] = await wireFolders(core, mb, [f]);
    return sendEntity(reply, g, { type: 'mailFolder', value: w, context: `${mb.contextPrefix}/mailFolders/$entity`, select });
  }, core);

  mailboxRoute(app, 'PATCH', '/mailFolders/:folderId', 'mail.write', async (req, reply, mailbox) => {
    const g = graphOf(req);
    const mb = await mailbox();
    const f = await resolveFolder(db, mb, (req.params as { folderId: string }).folderId);
    const body = objectBody(req);
    for (const k of Object.keys(body)) {
      if (!k.startsWith('@odata.') && k !== 'displayName') throw errors.badRequest(`The property '${k}' does not exist on type 'microsoft.graph.mailFolder' or cannot be updated.`);
    }
    let updated: FolderRecord = f;
    if (body.displayName !== undefined) {
      const displayName = checkDisplayName(body.displayName);
      if (f.wellKnownName === 'msgfolderroot') throw errors.errorAccessDenied('The root folder cannot be renamed.');
      const parentId = f.parentFolderId;
      [updated] = await core.store.write(async (trx) => {
        if (parentId) await checkFolderName(core, trx, mb, parentId, displayName, f.id);
        return items.upsertFolders(core, trx, mb.tenantId, mb.mailboxId, [{ ...f, displayName }]);
      });
    }
    const [w] = await wireFolders(core, mb, [updated]);
    return sendEntity(reply, g, { type: 'mailFolder', value: w, context: `${mb.contextPrefix}/mailFolders/$entity` });
  }, core);

  mailboxRoute(app, 'DELETE', '/mailFolders/:folderId', 'mail.write', async (req, reply, mailbox) => {
    const mb = await mailbox();
    const f = await resolveFolder(db, mb, (req.params as { folderId: string }).folderId);
    if (f.wellKnownName) throw errors.errorDeleteDistinguishedFolder('Distinguished folders cannot be deleted.');
    const deleted = await core.store.write((trx) => items.deleteFolderTree(core, trx, mb.tenantId, mb.mailboxId, f.id));
    // Deleted meanwhile by another request (or with its parent): that one answered 204.
    if (deleted === undefined) itemNotFound();
    return reply.code(204).send();
  }, core);

  mailboxRoute(app, 'GET', '/mailFolders/:folderId/childFolders', 'mail.read', async (req, reply, mailbox) => {
    const mb = await mailbox();
    const key = (req.params as { folderId: string }).folderId;
    const f = await resolveFolder(db, mb, key);
    return listChildren(req, reply, mb, f, `${mb.contextPrefix}/mailFolders('${key}')/childFolders`);
  }, core);

  mailboxRoute(app, 'POST', '/mailFolders/:folderId/childFolders', 'mail.write', async (req, reply, mailbox) => {
    const mb = await mailbox();
    return create(req, reply, mb, await resolveFolder(db, mb, (req.params as { folderId: string }).folderId));
  }, core);

  // ---- delta ----

  mailboxRoute(app, 'GET', '/mailFolders/delta', 'mail.read', async (req, reply, mailbox) => {
    const g = graphOf(req);
    const mb = await mailbox();
    const { position, select, pageSize } = await startDelta(core, req, { kind: 'f', tenantId: mb.tenantId, mailboxId: mb.mailboxId, folderId: null }, FOLDER_SELECTABLE);
    const value: Array<Record<string, unknown>> = [];
    let ids: string[];
    let present: FolderRecord[];
    if (position.since === null) {
      let q = db.selectFrom('folders').selectAll().where('tenant_id', '=', mb.tenantId).where('mailbox_id', '=', mb.mailboxId).where('parent_id', 'is not', null);
      if (position.after !== null) q = q.where('id', '>', position.after);
      present = (await q.orderBy('id').limit(pageSize + 1).execute()).map(folderFromRow);
      ids = present.map((f) => f.id);
    } else {
      ids = await changedItemIds(db, position, pageSize + 1);
      present = ids.length ? (await db.selectFrom('folders').selectAll().where('tenant_id', '=', mb.tenantId).where('mailbox_id', '=', mb.mailboxId).where('id', 'in', ids).execute()).map(folderFromRow) : [];
    }
    const more = ids.length > pageSize;
    ids = ids.slice(0, pageSize);
    const byId = new Map(present.map((f) => [f.id, f]));
    const wire = new Map((await wireFolders(core, mb, ids.map((id) => byId.get(id)).filter((f): f is FolderRecord => !!f && f.parentFolderId !== null))).map((w) => [w.id as string, w]));
    for (const id of ids) {
      const w = wire.get(id);
      value.push(w ? { '@odata.type': '#microsoft.graph.mailFolder', ...pick(w, select) } : { '@odata.type': '#microsoft.graph.mailFolder', id, '@removed': { reason: 'deleted' } });
    }
    return sendDelta(req, reply, g, 'Collection(mailFolder)', value, position, more ? ids[ids.length - 1] : null);
  }, core);

  mailboxRoute(app, 'GET', '/mailFolders/:folderId/messages/delta', 'mail.read', async (req, reply, mailbox) => {
    const g = graphOf(req);
    const mb = await mailbox();
    const folder = await resolveFolder(db, mb, (req.params as { folderId: string }).folderId);
    const { position, select, pageSize } = await startDelta(core, req, { kind: 'm', tenantId: mb.tenantId, mailboxId: mb.mailboxId, folderId: folder.id }, [...MESSAGE_SELECTABLE]);
    let ids: string[];
    let present;
    if (position.since === null) {
      present = await items.messagesPage(db, mb.tenantId, mb.mailboxId, { folderId: folder.id, afterId: position.after ?? undefined, limit: pageSize + 1 });
      ids = present.map((m) => m.id);
    } else {
      ids = await changedItemIds(db, position, pageSize + 1);
      present = [];
      for (const part of items.chunks(ids, 500)) {
        const rows = await db
          .selectFrom('messages')
          .select(['id', 'folder_id', 'props', 'mime_sha256', 'change_key', 'modified_at'])
          .where('tenant_id', '=', mb.tenantId)
          .where('mailbox_id', '=', mb.mailboxId)
          .where('id', 'in', part)
          .execute();
        present.push(...rows.map(items.messageFromRow));
      }
    }
    const more = ids.length > pageSize;
    ids = ids.slice(0, pageSize);
    const byId = new Map(present.map((m) => [m.id, m]));
    const wantBody = !select || select.has('body');
    const preferText = preferTextBody(req);
    const value: Array<Record<string, unknown>> = [];
    for (const id of ids) {
      const m = byId.get(id);
      if (m && m.folderId === folder.id) {
        const body = wantBody ? await bodyFor(core, m, preferText) : undefined;
        value.push({ '@odata.type': '#microsoft.graph.message', ...pick(messageWire(m, body), select) });
      } else {
        value.push({ '@odata.type': '#microsoft.graph.message', id, '@removed': { reason: m ? 'changed' : 'deleted' } });
      }
    }
    if (preferText) applyPreference(reply, 'outlook.body-content-type="text"');
    return sendDelta(req, reply, g, 'Collection(message)', value, position, more ? ids[ids.length - 1] : null);
  }, core);
}

function pick(w: Record<string, unknown>, select: Set<string> | undefined): Record<string, unknown> {
  if (!select) return w;
  return Object.fromEntries(Object.entries(w).filter(([k]) => k === 'id' || k.startsWith('@odata.') || select.has(k)));
}


/**
 * Where this delta request continues from (token or a new round), its $select and page size. The
 * $select is the one the round began with, kept in its token: one sent beside a token is ignored.
 * The page size is the request's own `Prefer: odata.maxpagesize`, as Graph reads it on every request.
 */
async function startDelta(core: Core, req: FastifyRequest, expect: Pick<DeltaPosition, 'kind' | 'tenantId' | 'mailboxId' | 'folderId'>, selectable: string[]) {
  const q = normalizeQuery(req.query as Record<string, unknown>);
  rejectUnsupported(q, ['$select', '$skiptoken', '$deltatoken']);
  if (q.$skiptoken !== undefined && q.$deltatoken !== undefined) throw errors.badRequest('Give $skiptoken or $deltatoken, not both.');
  const m = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(String(req.headers.prefer ?? ''));
  const pageSize = m ? Math.min(Math.max(Number(m[1]), 1), 1000) : DELTA_PAGE;
  let position: DeltaPosition;
  if (q.$skiptoken !== undefined) {
    position = await decodeToken(core, q.$skiptoken, expect);
  } else if (q.$deltatoken !== undefined) {
    const p = await decodeToken(core, q.$deltatoken, expect);
    position = { ...p, since: p.until, until: await logEnd(core.store.db), after: null };
  } else {
    position = { ...expect, since: null, until: await logEnd(core.store.db), after: null };
  }
  const asked = position.select !== undefined ? position.select : q.$select;
  const select = asked !== undefined && asked !== null ? parseSelect(asked, selectable) : undefined;
  position.select = select ? [...select].join(',') : null;
  return { position, select, pageSize };
}

function sendDelta(req: FastifyRequest, reply: FastifyReply, g: GraphRequest, context: string, value: Array<Record<string, unknown>>, p: DeltaPosition, nextAfter: string | null) {
  const body: Record<string, unknown> = { '@odata.context': contextUrl(g, context) };
  if (nextAfter !== null) body['@odata.nextLink'] = nextLink(req, g, '$skiptoken', encodeToken({ ...p, after: nextAfter }));
  else body['@odata.deltaLink'] = nextLink(req, g, '$deltatoken', encodeToken({ ...p, since: p.until, after: null }));
  body.value = value;
  return reply.code(200).send(body);
}
