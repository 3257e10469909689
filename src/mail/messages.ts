/**
 * Messages as Graph creates and changes them: a JSON POST makes a draft (MIME composed here), the
 * PR_MESSAGE_FLAGS extended property (Integer 0x0E07) without the unsent bit makes a sent/received
 * message, PATCH changes metadata (and, for drafts, content), attachments rebuild the MIME.
 */
import { parseDateTime } from '../http/dates.js';
import { errors } from '../errors.js';
import { conversationIdFor, newInternetMessageId } from './ids.js';
import { composeMime, type MimeAttachment, type MimeContent, type MimeSummary, previewOf, htmlToText } from './mime.js';
import { emptyFlag, type FollowupFlag, type Importance, type MessageSnapshot, type Recipient } from './model.js';

/** A snapshot of a message that arrives as MIME (import, MIME POST, the demo). */
export function snapshotFromSummary(s: MimeSummary, o: { id: string; now: string; isDraft: boolean; isRead: boolean; receivedDateTime?: string; sentDateTime?: string }): MessageSnapshot {
  return {
    subject: s.subject,
    bodyPreview: s.bodyPreview,
    bodyContentType: s.bodyContentType,
    from: s.from,
    sender: s.sender,
    toRecipients: s.toRecipients,
    ccRecipients: s.ccRecipients,
    bccRecipients: s.bccRecipients,
    replyTo: s.replyTo,
    receivedDateTime: o.receivedDateTime ?? s.receivedDateTime ?? s.sentDateTime ?? o.now,
    sentDateTime: o.sentDateTime ?? s.sentDateTime,
    createdDateTime: o.now,
    importance: s.importance,
    isRead: o.isRead || s.seen,
    isDraft: o.isDraft,
    isReadReceiptRequested: s.isReadReceiptRequested,
    isDeliveryReceiptRequested: false,
    inferenceClassification: 'focused',
    flag: emptyFlag(),
    categories: [],
    internetMessageId: s.internetMessageId,
    conversationId: conversationIdFor(s.threadRootId ?? o.id),
    hasAttachments: s.hasAttachments,
  };
}

/** Writable message properties (Graph's message resource) and where each may change. */
const ALWAYS = ['isRead', 'flag', 'categories', 'importance', 'inferenceClassification', 'isDeliveryReceiptRequested', 'isReadReceiptRequested'] as const;
const DRAFT_ONLY = ['subject', 'body', 'from', 'sender', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'internetMessageId'] as const;
/** Read-only properties a client may echo back; accepted and ignored, as Graph does. */
const READ_ONLY = ['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'receivedDateTime', 'sentDateTime', 'hasAttachments', 'bodyPreview', 'parentFolderId', 'conversationId', 'conversationIndex', 'isDraft', 'webLink', 'uniqueBody'] as const;
const CREATE_ONLY = ['attachments', 'singleValueExtendedProperties', 'multiValueExtendedProperties', 'internetMessageHeaders'] as const;

export const MESSAGE_PROPERTIES = new Set<string>([...ALWAYS, ...DRAFT_ONLY, ...READ_ONLY, ...CREATE_ONLY, 'extensions', 'mentions']);

function checkKeys(body: Record<string, unknown>, allowed: Set<string>, type: string): void {
  for (const key of Object.keys(body)) {
    if (key.startsWith('@odata.')) continue;
    if (!allowed.has(key)) {
      throw errors.badRequest(
        `The property '${key}' does not exist on type 'microsoft.graph.${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      );
    }
  }
}

const bad = (message: string) => errors.badRequest(message);

function str(v: unknown, name: string): string {
  if (typeof v !== 'string') throw bad(`Property '${name}' must be a string.`);
  return v;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw bad(`Property '${name}' must be a boolean.`);
  return v;
}

function recipient(v: unknown, name: string): Recipient {
  const e = (v as { emailAddress?: { address?: unknown; name?: unknown } } | null)?.emailAddress;
  if (!e || typeof e !== 'object' || typeof e.address !== 'string' || !/^[^\s@<>]+@[^\s@<>]+$/.test(e.address)) {
    throw bad(`Property '${name}' must be a recipient with an emailAddress.address.`);
  }
  if (e.name !== undefined && e.name !== null && typeof e.name !== 'string') throw bad(`Property '${name}' has an invalid emailAddress.name.`);
  return { emailAddress: { name: typeof e.name === 'string' && e.name ? e.name : e.address, address: e.address } };
}

function recipients(v: unknown, name: string): Recipient[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw bad(`Property '${name}' must be a collection of recipients.`);
  return v.map((r) => recipient(r, name));
}

function importance(v: unknown): Importance {
  if (v !== 'low' && v !== 'normal' && v !== 'high') throw bad(`Invalid value '${String(v)}' for property 'importance'; expected low, normal or high.`);
  return v;
}

function flag(v: unknown): FollowupFlag {
  const f = v as Record<string, unknown> | null;
  if (!f || typeof f !== 'object') throw bad(`Property 'flag' must be a followupFlag.`);
  const status = f.flagStatus ?? 'notFlagged';
  if (status !== 'notFlagged' && status !== 'complete' && status !== 'flagged') throw bad(`Invalid value '${String(status)}' for property 'flagStatus'.`);
  const out: FollowupFlag = { flagStatus: status };
  for (const k of ['startDateTime', 'dueDateTime', 'completedDateTime'] as const) {
    const d = f[k] as { dateTime?: unknown; timeZone?: unknown } | null | undefined;
    if (d === undefined) continue;
    if (d === null) out[k] = null;
    else if (parseDateTime(d.dateTime)) out[k] = { dateTime: d.dateTime as string, timeZone: typeof d.timeZone === 'string' ? d.timeZone : 'UTC' };
    else throw bad(`Property 'flag.${k}' must be a dateTimeTimeZone.`);
  }
  return out;
}

function categories(v: unknown): string[] {
  if (!Array.isArray(v) || v.some((c) => typeof c !== 'string')) throw bad(`Property 'categories' must be a collection of strings.`);
  return v as string[];
}

function body(v: unknown): { contentType: 'text' | 'html'; content: string } {
  const b = v as { contentType?: unknown; content?: unknown } | null;
  if (!b || typeof b !== 'object') throw bad(`Property 'body' must be an itemBody.`);
  const t = b.contentType ?? 'text';
  if (t !== 'text' && t !== 'html') throw bad(`Invalid value '${String(t)}' for property 'contentType'; expected text or html.`);
  if (b.content !== undefined && b.content !== null && typeof b.content !== 'string') throw bad(`Property 'body.content' must be a string.`);
  return { contentType: t, content: typeof b.content === 'string' ? b.content : '' };
}

/** `type/subtype`, optionally with parameters; it becomes a MIME header, so no control characters. */
/** type/subtype and parameters. */
export const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;[^\x00-\x1f\x7f]*)?$/;

/** A fileAttachment from Graph JSON. Other attachment kinds are not implemented. */
export function parseFileAttachment(v: unknown): MimeAttachment {
  const a = v as Record<string, unknown> | null;
  if (!a || typeof a !== 'object' || Array.isArray(a)) throw bad('An attachment must be a JSON object.');
  const type = a['@odata.type'];
  if (type !== '#microsoft.graph.fileAttachment' && type !== 'microsoft.graph.fileAttachment') {
    if (type === '#microsoft.graph.itemAttachment' || type === '#microsoft.graph.referenceAttachment') throw errors.notImplemented(`Attachments of type '${String(type)}' are not implemented; use #microsoft.graph.fileAttachment.`);
    throw bad(`The attachment needs "@odata.type": "#microsoft.graph.fileAttachment".`);
  }
  checkKeys(a, new Set(['name', 'contentType', 'contentBytes', 'isInline', 'contentId', 'contentLocation', 'size', 'id', 'lastModifiedDateTime']), 'fileAttachment');
  const name = str(a.name, 'name');
  if (name.length === 0) throw bad(`Property 'name' must not be empty.`);
  const b64 = str(a.contentBytes, 'contentBytes');
  if (!/^[A-Za-z0-9+/\s]*={0,2}$/.test(b64)) throw bad(`Property 'contentBytes' must be base64.`);
  const contentType = a.contentType === undefined || a.contentType === null ? 'application/octet-stream' : str(a.contentType, 'contentType');
  if (!MEDIA_TYPE.test(contentType)) throw bad(`Property 'contentType' must be a media type such as 'text/plain'.`);
  const contentId = a.contentId === undefined || a.contentId === null ? null : str(a.contentId, 'contentId');
  if (contentId !== null && !/^[^\s<>\x00-\x1f\x7f]+$/.test(contentId)) throw bad(`Property 'contentId' must not contain blanks, control characters or angle brackets.`);
  return {
    name,
    contentType,
    content: Buffer.from(b64, 'base64'),
    isInline: a.isInline === undefined || a.isInline === null ? false : bool(a.isInline, 'isInline'),
    contentId,
  };
}

export interface Draft {
  snapshot: MessageSnapshot;
  body: { contentType: 'text' | 'html'; content: string };
  attachments: MimeAttachment[];
  extraHeaders: Record<string, string>;
}

/** PR_MESSAGE_FLAGS (0x0E07): MSGFLAG_READ = 1, MSGFLAG_UNSENT = 8. */
const MSGFLAG_READ = 1;
const MSGFLAG_UNSENT = 8;

/** The message a JSON POST describes. */
export function draftFromJson(input: Record<string, unknown>, o: { id: string; now: string }): Draft {
  checkKeys(input, MESSAGE_PROPERTIES, 'message');
  let isDraft = true;
  let isRead: boolean | undefined;
  let receivedDateTime: string | undefined;
  let sentDateTime: string | undefined;
  if (input.singleValueExtendedProperties !== undefined) {
    if (!Array.isArray(input.singleValueExtendedProperties)) throw bad(`Property 'singleValueExtendedProperties' must be a collection.`);
    for (const p of input.singleValueExtendedProperties as Array<Record<string, unknown>>) {
      const id = typeof p?.id === 'string' ? p.id.trim() : '';
      const m = /^(\w+)\s+0x([0-9a-f]{1,4})$/i.exec(id);
      if (!m && !/^\w+\s+\{[0-9a-f-]{36}\}\s+(Name|Id)\s+\S+/i.test(id)) throw bad(`The extended property id '${id}' is not valid.`);
      if (typeof p.value !== 'string') throw bad(`The value of extended property '${id}' must be a string.`);
      if (!m) continue;
      const tag = parseInt(m[2], 16);
      const kind = m[1].toLowerCase();
      if (tag === 0x0e07 && kind === 'integer') {
        const v = Number(p.value);
        if (!Number.isInteger(v)) throw bad(`The value of extended property '${id}' must be an integer.`);
        isDraft = (v & MSGFLAG_UNSENT) !== 0;
        isRead = (v & MSGFLAG_READ) !== 0;
      } else if ((tag === 0x0e06 || tag === 0x0039) && kind === 'systemtime') {
        const d = parseDateTime(p.value);
        if (!d) throw bad(`The value of extended property '${id}' must be a date and time.`);
        if (tag === 0x0e06) receivedDateTime = d.toISOString();
        else sentDateTime = d.toISOString();
      }
    }
  }
  const extraHeaders: Record<string, string> = {};
  if (input.internetMessageHeaders !== undefined) {
    if (!Array.isArray(input.internetMessageHeaders)) throw bad(`Property 'internetMessageHeaders' must be a collection.`);
    for (const h of input.internetMessageHeaders as Array<Record<string, unknown>>) {
      const name = typeof h?.name === 'string' ? h.name : '';
      if (!/^x-[\w-]+$/i.test(name) || typeof h.value !== 'string') throw bad(`Only custom headers (x-...) with string values can be set in internetMessageHeaders.`);
      extraHeaders[name] = h.value;
    }
  }
  const b = input.body === undefined ? { contentType: 'text' as const, content: '' } : body(input.body);
  const attachments = input.attachments === undefined ? [] : Array.isArray(input.attachments) ? input.attachments.map(parseFileAttachment) : (() => { throw bad(`Property 'attachments' must be a collection.`); })();
  const from = input.from === undefined || input.from === null ? null : recipient(input.from, 'from');
  const internetMessageId = input.internetMessageId === undefined || input.internetMessageId === null ? newInternetMessageId() : str(input.internetMessageId, 'internetMessageId');
  if (!/^<[^<>\s]+>$/.test(internetMessageId)) throw bad(`Property 'internetMessageId' must look like <local@domain>.`);
  const snapshot: MessageSnapshot = {
    subject: input.subject === undefined || input.subject === null ? '' : str(input.subject, 'subject'),
    bodyPreview: previewOf(b.contentType === 'html' ? htmlToText(b.content) : b.content),
    bodyContentType: b.contentType,
    from,
    sender: input.sender === undefined || input.sender === null ? from : recipient(input.sender, 'sender'),
    toRecipients: input.toRecipients === undefined ? [] : recipients(input.toRecipients, 'toRecipients'),
    ccRecipients: input.ccRecipients === undefined ? [] : recipients(input.ccRecipients, 'ccRecipients'),
    bccRecipients: input.bccRecipients === undefined ? [] : recipients(input.bccRecipients, 'bccRecipients'),
    replyTo: input.replyTo === undefined ? [] : recipients(input.replyTo, 'replyTo'),
    receivedDateTime: receivedDateTime ?? o.now,
    sentDateTime: sentDateTime ?? (isDraft ? null : receivedDateTime ?? o.now),
    createdDateTime: o.now,
    importance: input.importance === undefined ? 'normal' : importance(input.importance),
    isRead: input.isRead !== undefined ? bool(input.isRead, 'isRead') : isRead ?? isDraft,
    isDraft,
    isReadReceiptRequested: input.isReadReceiptRequested === undefined ? false : bool(input.isReadReceiptRequested, 'isReadReceiptRequested'),
    isDeliveryReceiptRequested: input.isDeliveryReceiptRequested === undefined ? false : bool(input.isDeliveryReceiptRequested, 'isDeliveryReceiptRequested'),
    inferenceClassification: input.inferenceClassification === undefined ? 'focused' : classification(input.inferenceClassification),
    flag: input.flag === undefined ? emptyFlag() : flag(input.flag),
    categories: input.categories === undefined ? [] : categories(input.categories),
    internetMessageId,
    conversationId: conversationIdFor(internetMessageId),
    hasAttachments: attachments.some((a) => !a.isInline),
  };
  return { snapshot, body: b, attachments, extraHeaders };
}

function classification(v: unknown): 'focused' | 'other' {
  if (v !== 'focused' && v !== 'other') throw bad(`Invalid value '${String(v)}' for property 'inferenceClassification'.`);
  return v;
}

export interface PatchResult {
  snapshot: MessageSnapshot;
  /** A new body/recipient set for a draft: the MIME must be rebuilt. */
  content?: { body: { contentType: 'text' | 'html'; content: string } };
  recompose: boolean;
}

/** Applies a PATCH body to a message. Content fields change only on drafts. */
export function applyPatch(current: MessageSnapshot, input: Record<string, unknown>, currentBody: () => { contentType: 'text' | 'html'; content: string }): PatchResult {
  checkKeys(input, new Set([...ALWAYS, ...DRAFT_ONLY, ...READ_ONLY, 'singleValueExtendedProperties', 'multiValueExtendedProperties', 'extensions']), 'message');
  const next: MessageSnapshot = { ...current };
  let recompose = false;
  let newBody: { contentType: 'text' | 'html'; content: string } | undefined;
  for (const key of DRAFT_ONLY) {
    if (input[key] === undefined) continue;
    if (!current.isDraft) throw errors.errorInvalidPropertyUpdateSentMessage(`The property '${key}' can only be updated on draft messages.`);
    recompose = true;
    switch (key) {
      case 'subject':
        next.subject = input.subject === null ? '' : str(input.subject, 'subject');
        break;
      case 'body':
        newBody = body(input.body);
        next.bodyContentType = newBody.contentType;
        next.bodyPreview = previewOf(newBody.contentType === 'html' ? htmlToText(newBody.content) : newBody.content);
        break;
      case 'from':
        next.from = input.from === null ? null : recipient(input.from, 'from');
        if (input.sender === undefined) next.sender = next.from;
        break;
      case 'sender':
        next.sender = input.sender === null ? null : recipient(input.sender, 'sender');
        break;
      case 'internetMessageId': {
        const v = str(input.internetMessageId, 'internetMessageId');
        if (!/^<[^<>\s]+>$/.test(v)) throw bad(`Property 'internetMessageId' must look like <local@domain>.`);
        next.internetMessageId = v;
        break;
      }
      default:
        next[key] = recipients(input[key], key);
    }
  }
  if (input.isRead !== undefined) next.isRead = bool(input.isRead, 'isRead');
  if (input.flag !== undefined) next.flag = flag(input.flag);
  if (input.categories !== undefined) next.categories = categories(input.categories);
  if (input.importance !== undefined) {
    next.importance = importance(input.importance);
    if (current.isDraft && next.importance !== current.importance) recompose = true;
  }
  if (input.inferenceClassification !== undefined) next.inferenceClassification = classification(input.inferenceClassification);
  if (input.isDeliveryReceiptRequested !== undefined) next.isDeliveryReceiptRequested = bool(input.isDeliveryReceiptRequested, 'isDeliveryReceiptRequested');
  if (input.isReadReceiptRequested !== undefined) next.isReadReceiptRequested = bool(input.isReadReceiptRequested, 'isReadReceiptRequested');
  return { snapshot: next, content: recompose ? { body: newBody ?? currentBody() } : undefined, recompose };
}

/** MIME for a message from its snapshot, body and attachments (drafts, attachment edits). */
export function mimeFor(s: MessageSnapshot, content: { body: MimeContent['body']; attachments: MimeAttachment[] }, extra: { baseBoundary?: string; headers?: Record<string, string> } = {}): Promise<Buffer> {
  return composeMime({
    from: s.from,
    sender: s.sender,
    toRecipients: s.toRecipients,
    ccRecipients: s.ccRecipients,
    bccRecipients: s.bccRecipients,
    replyTo: s.replyTo,
    subject: s.subject,
    body: content.body,
    importance: s.importance,
    internetMessageId: s.internetMessageId ?? newInternetMessageId(),
    date: new Date(s.sentDateTime ?? s.createdDateTime),
    isReadReceiptRequested: s.isReadReceiptRequested,
    attachments: content.attachments,
    baseBoundary: extra.baseBoundary,
    headers: extra.headers,
  });
}
