/**
 * MIME in and out. `summarizeMime` reads the metadata Graph shows (headers, attachment presence,
 * preview) by walking the MIME tree with mailsplit without decoding bodies it does not need — fast
 * enough for bulk import. `readMimeContent` fully decodes a message (mailparser) for body and
 * attachment endpoints. `composeMime` builds MIME for mail created from JSON (nodemailer).
 */
import { Splitter } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import iconv from 'iconv-lite';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { simpleParser } from 'mailparser';
import type { Importance, Recipient } from './model.js';

export class MimeError extends Error {}

export interface MimeSummary {
  subject: string;
  from: Recipient | null;
  sender: Recipient | null;
  toRecipients: Recipient[];
  ccRecipients: Recipient[];
  bccRecipients: Recipient[];
  replyTo: Recipient[];
  /** Date header */
  sentDateTime: string | null;
  /** first Received header's date */
  receivedDateTime: string | null;
  internetMessageId: string | null;
  /** Message-ID of the thread's first message (References[0], In-Reply-To, or own). */
  threadRootId: string | null;
  importance: Importance;
  isReadReceiptRequested: boolean;
  /** mbox `Status:` header says the message was read */
  seen: boolean;
  hasAttachments: boolean;
  bodyPreview: string;
  bodyContentType: 'text' | 'html';
}

interface LeafInfo {
  contentType: string;
  disposition: string | false;
  filename: string | false;
  charset: string | false;
  collect: boolean;
  chunks: Buffer[];
  decoder: NodeJS.ReadWriteStream | null;
  written: number;
}

/** Encoded body bytes read for the preview (255 characters, after whitespace and markup are dropped). */
const PREVIEW_SOURCE_BYTES = 8192;

const MAX_HEAD = 256 * 1024;

/** Metadata of a MIME message; throws MimeError when the bytes are not a message. */
export function summarizeMime(mime: Buffer): Promise<MimeSummary> {
  if (mime.length === 0) return Promise.reject(new MimeError('empty message'));
  const firstLine = mime.subarray(0, Math.min(mime.length, 1000)).toString('latin1').split(/\r?\n/, 1)[0];
  if (!/^[!-9;-~]+:/.test(firstLine)) return Promise.reject(new MimeError('the message does not start with a header field'));
  return new Promise((resolve, reject) => {
    const splitter: NodeJS.ReadWriteStream = new Splitter({ ignoreEmbedded: true, maxHeadSize: MAX_HEAD }) as unknown as NodeJS.ReadWriteStream;
    let root: any = null;
    let hasAttachments = false;
    let textLeaf: LeafInfo | null = null;
    let htmlLeaf: LeafInfo | null = null;
    let current: LeafInfo | null = null;
    splitter.on('data', (d: any) => {
      if (d.type === 'node') {
        current = null;
        if (d.root) root = d;
        if (d.multipart) return;
        const contentType = String(d.contentType || 'text/plain').toLowerCase();
        const isAttachment = d.disposition === 'attachment' || (!!d.filename && d.disposition !== 'inline') || contentType === 'message/rfc822';
        if (isAttachment) {
          hasAttachments = true;
          return;
        }
        const leaf: LeafInfo = { contentType, disposition: d.disposition, filename: d.filename, charset: d.charset, collect: false, chunks: [], decoder: null, written: 0 };
        if (contentType === 'text/plain' && !textLeaf) textLeaf = leaf;
        else if (contentType === 'text/html' && !htmlLeaf) htmlLeaf = leaf;
        else return;
        leaf.collect = leaf === textLeaf || !textLeaf;
        if (leaf.collect) {
          leaf.decoder = d.getDecoder();
          leaf.decoder!.on('data', (c: Buffer) => leaf.chunks.push(c));
        }
        current = leaf;
      } else if (d.type === 'body' && current?.decoder && d.value.length > 0 && current.written < PREVIEW_SOURCE_BYTES) {
        // the preview needs only the beginning of the body
        current.written += d.value.length;
        current.decoder.write(d.value);
      }
    });
    splitter.on('error', (e: Error) => reject(new MimeError(e.message)));
    splitter.on('end', () => {
      try {
        for (const leaf of [textLeaf, htmlLeaf] as Array<LeafInfo | null>) leaf?.decoder?.end();
        // decoders are synchronous transforms: their output is already collected
        if (!root?.headers) throw new MimeError('no header block');
        resolve(buildSummary(root.headers, hasAttachments, textLeaf, htmlLeaf));
      } catch (e) {
        reject(e instanceof MimeError ? e : new MimeError((e as Error).message));
      }
    });
    splitter.resume();
    splitter.end(mime);
  });
}

function buildSummary(headers: any, hasAttachments: boolean, textLeaf: LeafInfo | null, htmlLeaf: LeafInfo | null): MimeSummary {
  const first = (key: string): string => {
    const v = headers.getFirst(key) as string;
    return v ? libmime.decodeWords(v).trim() : '';
  };
  const addresses = (key: string): Recipient[] => {
    const lines = headers.get(key) as string[];
    const out: Recipient[] = [];
    for (const line of lines) {
      const value = line.slice(line.indexOf(':') + 1);
      for (const a of addressparser(value, { flatten: true })) {
        if (!a.address) continue;
        out.push({ emailAddress: { name: decodeName(a.name) || a.address, address: a.address } });
      }
    }
    return out;
  };
  const from = addresses('from')[0] ?? null;
  const sender = addresses('sender')[0] ?? from;
  const messageId = first('message-id') || null;
  const references = first('references').match(/<[^>]+>/g) ?? [];
  const inReplyTo = first('in-reply-to').match(/<[^>]+>/)?.[0];
  const received = headers.get('received') as string[];
  let receivedDateTime: string | null = null;
  if (received.length > 0) {
    const semi = received[0].lastIndexOf(';');
    if (semi > 0) receivedDateTime = isoDate(received[0].slice(semi + 1));
  }
  const leaf = textLeaf ?? htmlLeaf;
  let preview = '';
  if (leaf?.collect) {
    const text = decodeText(Buffer.concat(leaf.chunks), leaf.charset);
    preview = leaf === htmlLeaf && !textLeaf ? htmlToText(text) : text;
  }
  return {
    subject: first('subject'),
    from,
    sender,
    toRecipients: addresses('to'),
    ccRecipients: addresses('cc'),
    bccRecipients: addresses('bcc'),
    replyTo: addresses('reply-to'),
    sentDateTime: isoDate(first('date')),
    receivedDateTime,
    internetMessageId: messageId,
    threadRootId: references[0] ?? inReplyTo ?? messageId,
    importance: importanceOf(first('importance'), first('x-priority')),
    isReadReceiptRequested: headers.hasHeader('disposition-notification-to'),
    seen: /R/.test(first('status')),
    hasAttachments,
    bodyPreview: previewOf(preview),
    bodyContentType: htmlLeaf ? 'html' : 'text',
  };
}

function decodeName(name: string): string {
  try {
    return libmime.decodeWords(name).trim();
  } catch {
    return name;
  }
}

/** Text in its declared charset, decoded as mailparser decodes a full body (iconv-lite): Node's TextDecoder reads windows-1252's 0x80-0x9F as control characters. */
function decodeText(buf: Buffer, charset: string | false): string {
  const label = (charset || 'utf-8').toLowerCase();
  return iconv.encodingExists(label) ? iconv.decode(buf, label) : buf.toString('latin1');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<\/?(p|div|br|li|tr|td|th|h[1-6]|table|ul|ol|blockquote|hr)\b[^>]*>/gi, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/**
 * Graph's bodyPreview: the first 255 characters of the text (of its first 4096), whitespace
 * collapsed. A growing prefix is collapsed until it gives 255 characters, so a long body costs a
 * few hundred characters of work instead of 4096 (the same result: the collapsed prefix is a prefix
 * of the collapsed whole).
 */
export function previewOf(text: string): string {
  for (let end = 512; ; end *= 2) {
    const cut = Math.min(end, 4096);
    const s = text.slice(0, cut).replace(/\s+/g, ' ').trim();
    if (s.length >= 255 || cut === 4096 || cut >= text.length) return s.slice(0, 255);
  }
}

function isoDate(text: string): string | null {
  if (!text) return null;
  const d = new Date(text.replace(/\s*\([^)]*\)\s*$/, '').trim());
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function importanceOf(importance: string, priority: string): Importance {
  const i = importance.toLowerCase();
  if (i === 'high' || i === 'low' || i === 'normal') return i;
  const p = parseInt(priority, 10);
  if (p === 1 || p === 2) return 'high';
  if (p === 4 || p === 5) return 'low';
  return 'normal';
}

export interface MimeAttachment {
  name: string;
  contentType: string;
  content: Buffer;
  isInline: boolean;
  contentId: string | null;
}

export interface MimeContent {
  body: { contentType: 'text' | 'html'; content: string };
  attachments: MimeAttachment[];
}

const contentCache = new Map<string, MimeContent>();
const CONTENT_CACHE_SIZE = 256;

/** Body and attachments of a message, fully decoded; cached by content hash. */
export async function readMimeContent(sha256: string, load: () => Promise<Buffer>): Promise<MimeContent> {
  const hit = contentCache.get(sha256);
  if (hit) {
    contentCache.delete(sha256);
    contentCache.set(sha256, hit);
    return hit;
  }
  const parsed = await simpleParser(await load(), { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  const html = typeof parsed.html === 'string' ? parsed.html : null;
  const content: MimeContent = {
    body: html !== null ? { contentType: 'html', content: trimEol(html) } : { contentType: 'text', content: trimEol(parsed.text ?? '') },
    attachments: parsed.attachments.map((a) => ({
      name: a.filename ?? (a.contentType === 'message/rfc822' ? 'message.eml' : 'attachment'),
      contentType: a.contentType,
      content: a.content,
      isInline: a.contentDisposition === 'inline' && !!a.related,
      contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
    })),
  };
  contentCache.set(sha256, content);
  if (contentCache.size > CONTENT_CACHE_SIZE) contentCache.delete(contentCache.keys().next().value!);
  return content;
}

/** The line end a MIME part closes with is not part of the body. */
function trimEol(s: string): string {
  return s.replace(/\r?\n$/, '');
}

export interface ComposeInput {
  from: Recipient | null;
  sender: Recipient | null;
  toRecipients: Recipient[];
  ccRecipients: Recipient[];
  bccRecipients: Recipient[];
  replyTo: Recipient[];
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  importance: Importance;
  internetMessageId: string;
  date: Date;
  isReadReceiptRequested?: boolean;
  attachments: MimeAttachment[];
  /** Custom x- headers (internetMessageHeaders). */
  headers?: Record<string, string>;
  /** Fixed MIME boundaries, for reproducible output (the demo). */
  baseBoundary?: string;
}

const addr = (r: Recipient | null) =>
  r ? (r.emailAddress.name && r.emailAddress.name !== r.emailAddress.address ? { name: r.emailAddress.name, address: r.emailAddress.address } : r.emailAddress.address) : undefined;
const addrs = (rs: Recipient[]) => (rs.length ? rs.map((r) => addr(r)!) : undefined);

/** MIME for a message made from Graph JSON (Bcc kept, as in a draft). */
export function composeMime(m: ComposeInput): Promise<Buffer> {
  const headers: Record<string, string> = { ...(m.headers ?? {}) };
  if (m.importance !== 'normal') headers.Importance = m.importance === 'high' ? 'High' : 'Low';
  if (m.isReadReceiptRequested && m.from) headers['Disposition-Notification-To'] = m.from.emailAddress.address;
  const composer = new MailComposer({
    from: addr(m.from),
    sender: m.sender && m.from && m.sender.emailAddress.address !== m.from.emailAddress.address ? addr(m.sender) : undefined,
    to: addrs(m.toRecipients),
    cc: addrs(m.ccRecipients),
    bcc: addrs(m.bccRecipients),
    replyTo: addrs(m.replyTo),
    subject: m.subject,
    ...(m.body.contentType === 'html' ? { html: m.body.content } : { text: m.body.content }),
    messageId: m.internetMessageId,
    date: m.date,
    headers,
    baseBoundary: m.baseBoundary,
    attachments: m.attachments.map((a) => ({
      filename: a.name,
      content: a.content,
      contentType: a.contentType,
      cid: a.contentId ?? undefined,
      contentDisposition: a.isInline ? ('inline' as const) : ('attachment' as const),
    })),
  } as any);
  const node = composer.compile() as any;
  node.keepBcc = true;
  return new Promise((resolve, reject) => node.build((err: Error | null, buf: Buffer) => (err ? reject(err) : resolve(buf))));
}

