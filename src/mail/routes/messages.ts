/**
 * `/users/{id}/messages`, `/users/{id}/mailFolders/{id}/messages`: list, create (JSON draft, JSON
 * with PR_MESSAGE_FLAGS, or base64 MIME), get, update, delete, move, copy, `$value` (the MIME),
 * and `/attachments` (fileAttachment).
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core.js';
import { errors } from '../../errors.js';
import { graphOf, sendCollection, sendEntity } from '../../http/context.js';
import { normalizeQuery, orderSql, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../http/odata.js';
import * as items from '../items.js';
import { newItemId } from '../ids.js';
import { htmlToText, MimeError, readMimeContent, summarizeMime, type MimeAttachment } from '../mime.js';
import { applyPatch, draftFromJson, mimeFor, parseFileAttachment, snapshotFromSummary } from '../messages.js';
import type { MessageRecord } from '../model.js';
import { applyPreference, preferTextBody, checkMessageId, graphTime, itemNotFound, mailboxRoute, messageWire, objectBody, resolveFolder, sendDownload, MESSAGE_SELECTABLE, type MailboxRef } from './common.js';

const lower = (s: string) => s.toLowerCase();

const MESSAGES: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    subject: { column: 'subject', type: 'string' },
    receivedDateTime: { column: 'received_at', type: 'date', precision: 'seconds' },
    sentDateTime: { column: 'sent_at', type: 'date', precision: 'seconds' },
    createdDateTime: { column: 'created_at', type: 'date', precision: 'seconds' },
    lastModifiedDateTime: { column: 'modified_at', type: 'date', precision: 'seconds' },
    isRead: { column: 'is_read', type: 'boolean' },
    isDraft: { column: 'is_draft', type: 'boolean' },
    hasAttachments: { column: 'has_attachments', type: 'boolean' },
    importance: { column: 'importance', type: 'enum', members: ['low', 'normal', 'high'] },
    'from/emailAddress/address': { column: 'sender_address', type: 'string', toStored: lower },
    'sender/emailAddress/address': { column: 'sender_address', type: 'string', toStored: lower },
    conversationId: { column: 'conversation_id', type: 'string' },
    internetMessageId: { column: 'internet_message_id', type: 'string' },
    parentFolderId: { column: 'folder_id', type: 'string' },
  },
  selectable: MESSAGE_SELECTABLE,
  defaultOrder: [['received_at', 'desc']],
  key: 'id',
  defaultTop: 10,
  maxTop: 1000,
};

/** The body of a message from its MIME (text when the client prefers text). */
export async function bodyFor(core: Core, m: MessageRecord, preferText: boolean): Promise<{ contentType: string; content: string }> {
  const c = await contentOf(core, m);
  if (preferText && c.body.contentType === 'html') return { contentType: 'text', content: htmlToText(c.body.content).replace(/[ \t]+/g, ' ').trim() };
  return c.body;
}

function contentOf(core: Core, m: MessageRecord) {
  return readMimeContent(m.mimeSha256, async () => {
    const data = await items.readBlob(core.store.db, m.mimeSha256);
    if (!data) throw new Error(`blob ${m.mimeSha256} is missing`);
    return data;
  });
}

async function loadMessage(core: Core, mb: MailboxRef, req: FastifyRequest): Promise<MessageRecord> {
  const params = req.params as { messageId: string; folderId?: string };
  checkMessageId(params.messageId);
  const m = await items.getMessage(core.store.db, mb.tenantId, mb.mailboxId, params.messageId);
  if (!m) itemNotFound();
  if (params.folderId !== undefined) {
    const f = await resolveFolder(core.store.db, mb, params.folderId);
    if (f.id !== m.folderId) itemNotFound();
  }
  return m;
}

/** Attachment ids are stable: derived from the message, the attachment's content and its position among equals. */
function attachmentIds(messageId: string, list: MimeAttachment[]): string[] {
  const seen = new Map<string, number>();
  return list.map((a) => {
    const h = crypto.createHash('sha256').update(messageId).update('\0').update(a.name).update('\0').update(a.contentType).update('\0').update(a.content).digest('hex');
    const n = seen.get(h) ?? 0;
    seen.set(h, n + 1);
    return 'AAMkAGAtt' + crypto.createHash('sha256').update(`${h}:${n}`).digest().subarray(0, 24).toString('base64url');
  });
}

/** How the request named the message, for @odata.context: `users('…')[/mailFolders('…')]/messages('…')`. */
function messagePath(req: FastifyRequest, mb: MailboxRef): string {
  const { messageId, folderId } = req.params as { messageId: string; folderId?: string };
  return `${mb.contextPrefix}${folderId === undefined ? '' : `/mailFolders('${folderId}')`}/messages('${messageId}')`;
}

function attachmentWire(m: MessageRecord, id: string, a: MimeAttachment, withContent: boolean): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': a.contentType,
    id,
    lastModifiedDateTime: graphTime(m.props.lastModifiedDateTime),
    name: a.name,
    contentType: a.contentType,
    size: a.content.length,
    isInline: a.isInline,
    contentId: a.contentId,
    contentLocation: null,
    ...(withContent ? { contentBytes: a.content.toString('base64') } : {}),
  };
}

export function messageRoutes(app: FastifyInstance, core: Core): void {
  const db = core.store.db;

  const list = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef, folderKey?: string) => {
    const g = graphOf(req);
    const q = parseCollectionQuery(req.query as Record<string, unknown>, MESSAGES);
    let base = db.selectFrom('messages').where('tenant_id', '=', mb.tenantId).where('mailbox_id', '=', mb.mailboxId);
    let context = `${mb.contextPrefix}/messages`;
    if (folderKey !== undefined) {
      const f = await resolveFolder(db, mb, folderKey);
      base = base.where('folder_id', '=', f.id);
      context = `${mb.contextPrefix}/mailFolders('${folderKey}')/messages`;
    }
    if (q.where) base = base.where(q.where);
    const rows = await base
      .select(['id', 'folder_id', 'props', 'mime_sha256', 'change_key', 'modified_at'])
      .orderBy(orderSql(q.orderBy))
      .limit(q.top + 1)
      .offset(q.skip)
      .execute();
    const count = q.count ? Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) : undefined;
    const wantBody = !q.select || q.select.has('body');
    const preferText = preferTextBody(req);
    const out: Array<Record<string, unknown>> = [];
    for (const r of rows.slice(0, q.top)) {
      const m = items.messageFromRow(r);
      out.push(messageWire(m, wantBody ? await bodyFor(core, m, preferText) : undefined));
    }
    if (preferText) applyPreference(reply, 'outlook.body-content-type="text"');
    return sendCollection(reply, req, g, { type: 'message', items: out, context, query: q, hasMore: rows.length > q.top, count });
  };

  const create = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef, folderKey?: string) => {
    const g = graphOf(req);
    const folder = await resolveFolder(db, mb, folderKey ?? 'drafts');
    const id = newItemId('message');
    const now = core.clock.now().toISOString();
    let mime: Buffer;
    let record: Omit<MessageRecord, 'mimeSha256'>;
    if (typeof req.body === 'string') {
      const text = req.body.trim();
      if (text === '' || !/^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/.test(text)) throw errors.errorMimeContentInvalidBase64String('Invalid base64 string for MIME content.');
      mime = Buffer.from(text, 'base64');
      let summary;
      try {
        summary = await summarizeMime(mime);
      } catch (e) {
        if (e instanceof MimeError) throw errors.errorMimeContentInvalid(`The MIME content is not a valid message: ${e.message}.`);
        throw e;
      }
      record = { id, folderId: folder.id, props: snapshotFromSummary(summary, { id, now, isDraft: false, isRead: false }) };
    } else {
      const draft = draftFromJson(objectBody(req), { id, now });
      mime = await mimeFor(draft.snapshot, { body: draft.body, attachments: draft.attachments }, { headers: draft.extraHeaders });
      record = { id, folderId: folder.id, props: draft.snapshot };
    }
    const [stored] = await core.store.write(async (trx) => {
      const [sha] = await items.putBlobs(trx, now, [mime]);
      return items.upsertMessages(core, trx, mb.tenantId, mb.mailboxId, [{ ...record, mimeSha256: sha }]);
    });
    return sendEntity(reply, g, {
      type: 'message',
      value: messageWire(stored, await bodyFor(core, stored, false)),
      context: `${mb.contextPrefix}/messages/$entity`,
      status: 201,
      location: `users/${mb.mailboxId}/messages/${stored.id}`,
    });
  };

  const get = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const select = q.$select !== undefined ? parseSelect(q.$select, MESSAGE_SELECTABLE) : undefined;
    const m = await loadMessage(core, mb, req);
    const preferText = preferTextBody(req);
    if (preferText) applyPreference(reply, 'outlook.body-content-type="text"');
    const body = !select || select.has('body') ? await bodyFor(core, m, preferText) : undefined;
    return sendEntity(reply, g, { type: 'message', value: messageWire(m, body), context: `${mb.contextPrefix}/messages/$entity`, select });
  };

  const patch = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef) => {
    const g = graphOf(req);
    const m = await loadMessage(core, mb, req);
    const content = await contentOf(core, m);
    const result = applyPatch(m.props, objectBody(req), () => content.body);
    let mime: Buffer | undefined;
    if (result.recompose) mime = await mimeFor(result.snapshot, { body: result.content!.body, attachments: content.attachments });
    const [stored] = await core.store.write(async (trx) => {
      const sha = mime ? (await items.putBlobs(trx, core.clock.now().toISOString(), [mime]))[0] : m.mimeSha256;
      return items.upsertMessages(core, trx, mb.tenantId, mb.mailboxId, [{ id: m.id, folderId: m.folderId, props: result.snapshot, mimeSha256: sha }], { asRead: true });
    });
    return sendEntity(reply, g, { type: 'message', value: messageWire(stored, await bodyFor(core, stored, false)), context: `${mb.contextPrefix}/messages/$entity` });
  };

  const remove = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef) => {
    const m = await loadMessage(core, mb, req);
    const gone = await core.store.write((trx) => items.deleteMessages(core, trx, mb.tenantId, mb.mailboxId, [m.id]));
    // Deleted meanwhile by another request: that one answered 204.
    if (gone.length === 0) itemNotFound();
    return reply.code(204).send();
  };

  const moveOrCopy = (copy: boolean) => async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef) => {
    const g = graphOf(req);
    const m = await loadMessage(core, mb, req);
    const body = objectBody(req);
    for (const k of Object.keys(body)) if (k !== 'destinationId') throw errors.badRequest(`The parameter '${k}' is not allowed for the ${copy ? 'copy' : 'move'} action.`);
    if (typeof body.destinationId !== 'string' || body.destinationId === '') throw errors.errorInvalidRequest(`The parameter 'destinationId' is required.`);
    const dest = await resolveFolder(db, mb, body.destinationId);
    const now = core.clock.now().toISOString();
    // A move changes the message as read; a copy only reads it (a copy of what was read is a true copy).
    const [stored] = await core.store.write((trx) =>
      copy
        ? items.upsertMessages(core, trx, mb.tenantId, mb.mailboxId, [{ id: newItemId('message'), folderId: dest.id, props: { ...m.props, createdDateTime: now }, mimeSha256: m.mimeSha256 }])
        : items.upsertMessages(core, trx, mb.tenantId, mb.mailboxId, [{ ...m, folderId: dest.id }], { asRead: true }),
    );
    return sendEntity(reply, g, { type: 'message', value: messageWire(stored, await bodyFor(core, stored, false)), context: `${mb.contextPrefix}/messages/$entity`, status: 201 });
  };

  const value = async (req: FastifyRequest, reply: FastifyReply, mb: MailboxRef) => {
    const m = await loadMessage(core, mb, req);
    const data = await items.readBlob(db, m.mimeSha256);
    if (!data) throw errors.generalException('The message content is missing.');
    return sendDownload(reply, data, 'text/plain', `${m.props.subject || 'message'}.eml`);
  };

  for (const prefix of ['', '/mailFolders/:folderId']) {
    mailboxRoute(app, 'GET', `${prefix}/messages`, 'mail.read', (req, reply, mailbox) => mailbox().then((mb) => list(req, reply, mb, (req.params as { folderId?: string }).folderId)), core);
    mailboxRoute(app, 'POST', `${prefix}/messages`, 'mail.write', (req, reply, mailbox) => mailbox().then((mb) => create(req, reply, mb, (req.params as { folderId?: string }).folderId)), core, { acceptsText: true });
    mailboxRoute(app, 'GET', `${prefix}/messages/:messageId`, 'mail.read', (req, reply, mailbox) => mailbox().then((mb) => get(req, reply, mb)), core);
    mailboxRoute(app, 'PATCH', `${prefix}/messages/:messageId`, 'mail.write', (req, reply, mailbox) => mailbox().then((mb) => patch(req, reply, mb)), core);
    mailboxRoute(app, 'DELETE', `${prefix}/messages/:messageId`, 'mail.write', (req, reply, mailbox) => mailbox().then((mb) => remove(req, reply, mb)), core);
    mailboxRoute(app, 'POST', `${prefix}/messages/:messageId/move`, 'mail.write', (req, reply, mailbox) => mailbox().then((mb) => moveOrCopy(false)(req, reply, mb)), core);
    mailboxRoute(app, 'POST', `${prefix}/messages/:messageId/copy`, 'mail.write', (req, reply, mailbox) => mailbox().then((mb) => moveOrCopy(true)(req, reply, mb)), core);
    mailboxRoute(app, 'GET', `${prefix}/messages/:messageId/$value`, 'mail.read', (req, reply, mailbox) => mailbox().then((mb) => value(req, reply, mb)), core);
  }

  // ---- attachments ----

  const attachmentsOf = async (m: MessageRecord) => {
    const c = await contentOf(core, m);
    return { content: c, ids: attachmentIds(m.id, c.attachments) };
  };

  const findAttachment = async (req: FastifyRequest, m: MessageRecord) => {
    const { content, ids } = await attachmentsOf(m);
    const i = ids.indexOf((req.params as { attachmentId: string }).attachmentId);
    if (i < 0) itemNotFound();
    return { content, ids, i };
  };

  /** Rebuilds a message's MIME with another attachment list. */
  const rewriteAttachments = async (mb: MailboxRef, m: MessageRecord, body: { contentType: 'text' | 'html'; content: string }, attachments: MimeAttachment[]) => {
    const props = { ...m.props, hasAttachments: attachments.some((a) => !a.isInline) };
    const mime = await mimeFor(props, { body, attachments });
    return core.store.write(async (trx) => {
      const [sha] = await items.putBlobs(trx, core.clock.now().toISOString(), [mime]);
      return (await items.upsertMessages(core, trx, mb.tenantId, mb.mailboxId, [{ id: m.id, folderId: m.folderId, props, mimeSha256: sha }], { asRead: true }))[0];
    });
  };

  for (const prefix of ['', '/mailFolders/:folderId']) {
    mailboxRoute(app, 'GET', `${prefix}/messages/:messageId/attachments`, 'mail.read', async (req, reply, mailbox) => {
      const g = graphOf(req);
      const mb = await mailbox();
      const q = normalizeQuery(req.query as Record<string, unknown>);
      rejectUnsupported(q, ['$select']);
      const select = q.$select !== undefined ? parseSelect(q.$select, ['lastModifiedDateTime', 'name', 'contentType', 'size', 'isInline', 'contentId', 'contentLocation', 'contentBytes']) : undefined;
      const m = await loadMessage(core, mb, req);
      const { content, ids } = await attachmentsOf(m);
      return sendCollection(reply, req, g, {
        type: 'attachment',
        items: content.attachments.map((a, i) => attachmentWire(m, ids[i], a, true)),
        context: `${messagePath(req, mb)}/attachments`,
        query: select ? { select, where: undefined, orderBy: [], top: 0, skip: 0, count: false, raw: q } : undefined,
      });
    }, core);

    mailboxRoute(app, 'POST', `${prefix}/messages/:messageId/attachments`, 'mail.write', async (req, reply, mailbox) => {
      const g = graphOf(req);
      const mb = await mailbox();
      const m = await loadMessage(core, mb, req);
      const attachment = parseFileAttachment(objectBody(req));
      const { content } = await attachmentsOf(m);
      const stored = await rewriteAttachments(mb, m, content.body, [...content.attachments, attachment]);
      const after = await attachmentsOf(stored);
      const i = after.content.attachments.length - 1;
      return sendEntity(reply, g, {
        type: 'attachment',
        value: attachmentWire(stored, after.ids[i], after.content.attachments[i], true),
        context: `${messagePath(req, mb)}/attachments/$entity`,
        status: 201,
        location: `users/${mb.mailboxId}/messages/${stored.id}/attachments/${after.ids[i]}`,
      });
    }, core);

    mailboxRoute(app, 'GET', `${prefix}/messages/:messageId/attachments/:attachmentId`, 'mail.read', async (req, reply, mailbox) => {
      const g = graphOf(req);
      const mb = await mailbox();
      const m = await loadMessage(core, mb, req);
      const { content, ids, i } = await findAttachment(req, m);
      return sendEntity(reply, g, { type: 'attachment', value: attachmentWire(m, ids[i], content.attachments[i], true), context: `${messagePath(req, mb)}/attachments/$entity` });
    }, core);

    mailboxRoute(app, 'GET', `${prefix}/messages/:messageId/attachments/:attachmentId/$value`, 'mail.read', async (req, reply, mailbox) => {
      const mb = await mailbox();
      const m = await loadMessage(core, mb, req);
      const { content, i } = await findAttachment(req, m);
      const a = content.attachments[i];
      return sendDownload(reply, a.content, a.contentType, a.name);
    }, core);

    mailboxRoute(app, 'DELETE', `${prefix}/messages/:messageId/attachments/:attachmentId`, 'mail.write', async (req, reply, mailbox) => {
      const mb = await mailbox();
      const m = await loadMessage(core, mb, req);
      const { content, i } = await findAttachment(req, m);
      await rewriteAttachments(mb, m, content.body, content.attachments.filter((_, j) => j !== i));
      return reply.code(204).send();
    }, core);
  }
}
