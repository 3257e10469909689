/**
 * The five forms of an Outlook item's id that `translateExchangeIds` converts between, for
 * Mailvault's ids (ids.ts). A Mailvault id never changes, so it is both the item's REST id and its
 * REST immutable id; the others are made from the bytes the id stands for — its base64url decoding
 * for every id Mailvault makes, its UTF-8 for any other id a caller gave an item (the mail service
 * takes ids):
 *
 * - `restId`, `restImmutableEntryId`: the id itself.
 * - `ewsId`: the same bytes in standard base64 with padding, as Exchange's EWS ids are the REST ids
 *   with `-`/`_` as `/`/`+` (an id that is not base64url is its own EWS id).
 * - `entryId`, `immutableEntryId`: a MAPI-style binary id — 4 flag bytes (0), a 16-byte provider
 *   UID (one for entry ids, another for immutable entry ids), a form byte (1: the id's base64url
 *   bytes, 2: its UTF-8) and the bytes — in Graph's URL-safe base64: `-` and `_`, no padding, and a
 *   last digit counting the padding taken off.
 *
 * Every form of an id translates back to the id. docs/differences.md says the same.
 */
import { bytesFor } from './ids.js';

export const EXCHANGE_ID_FORMATS = ['entryId', 'ewsId', 'immutableEntryId', 'restId', 'restImmutableEntryId'] as const;
export type ExchangeIdFormat = (typeof EXCHANGE_ID_FORMATS)[number];

const PROVIDER: Record<'entryId' | 'immutableEntryId', Buffer> = {
  entryId: bytesFor('mailvault:entryId'),
  immutableEntryId: bytesFor('mailvault:immutableEntryId'),
};
const FORM_BASE64URL = 1;
const FORM_UTF8 = 2;
const HEADER = 4 + 16 + 1;

/** The bytes an id stands for, if it is canonical base64url (every id Mailvault makes is). */
function base64urlBytes(id: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  const bytes = Buffer.from(id, 'base64url');
  return bytes.toString('base64url') === id ? bytes : undefined;
}

/** Graph's URL-safe base64 of a binary id: `-` and `_`, no padding, and how much padding was taken off. */
function urlSafe(bytes: Buffer): string {
  const b64 = bytes.toString('base64');
  const unpadded = b64.replace(/=+$/, '');
  return unpadded.replace(/\+/g, '-').replace(/\//g, '_') + String(b64.length - unpadded.length);
}

function fromUrlSafe(text: string): Buffer | undefined {
  const m = /^([A-Za-z0-9_-]*)([012])$/.exec(text);
  if (!m) return undefined;
  const bytes = Buffer.from(m[1].replace(/-/g, '+').replace(/_/g, '/') + '='.repeat(Number(m[2])), 'base64');
  return urlSafe(bytes) === text ? bytes : undefined;
}

/** The id (a REST id) in the given format. */
export function formatId(id: string, format: ExchangeIdFormat): string {
  const bytes = base64urlBytes(id);
  switch (format) {
    case 'restId':
    case 'restImmutableEntryId':
      return id;
    case 'ewsId':
      return bytes ? bytes.toString('base64') : id;
    case 'entryId':
    case 'immutableEntryId': {
      const flags = Buffer.alloc(4);
      const form = Buffer.of(bytes ? FORM_BASE64URL : FORM_UTF8);
      return urlSafe(Buffer.concat([flags, PROVIDER[format], form, bytes ?? Buffer.from(id, 'utf8')]));
    }
  }
}

/**
 * The REST ids an id in the given format may stand for, most likely first (the caller keeps the
 * first that names an item); none when it is not of that format.
 */
export function restIdCandidates(text: string, format: ExchangeIdFormat): string[] {
  switch (format) {
    case 'restId':
    case 'restImmutableEntryId':
      return [text];
    case 'ewsId': {
      const canonical = /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined;
      const id = canonical && canonical.length > 0 && canonical.toString('base64') === text ? canonical.toString('base64url') : undefined;
      return id !== undefined && id !== text ? [id, text] : [text];
    }
    case 'entryId':
    case 'immutableEntryId': {
      const bytes = fromUrlSafe(text);
      if (!bytes || bytes.length <= HEADER || bytes.readUInt32BE(0) !== 0 || !bytes.subarray(4, 20).equals(PROVIDER[format])) return [];
      const body = bytes.subarray(HEADER);
      if (bytes[20] === FORM_BASE64URL) return [body.toString('base64url')];
      const id = bytes[20] === FORM_UTF8 ? body.toString('utf8') : undefined;
      return id !== undefined && Buffer.from(id, 'utf8').equals(body) ? [id] : [];
    }
  }
}
