/**
 * The mbox format (mboxrd): messages separated by `From ` lines; inside a message, lines that begin
 * with `>*From ` carry one extra `>`. The reader streams: it holds one message at a time plus a few
 * bytes, so memory stays flat on any file size. A separator is a `From ` line at the start of the
 * file or after a blank line (which also copes with unescaped mboxo files). The blank line before
 * a separator belongs to the format, not to the message. (No maintained npm package streams mboxrd
 * with exact byte round trips, hence this small reader.)
 */

export interface MboxMessage {
  /** The message's bytes, unescaped. */
  data: Buffer;
  /** 1-based position in the file. */
  index: number;
  /** Byte offset of the message's `From ` line. */
  offset: number;
  /** Bytes of the file consumed so far (for progress). */
  consumed: number;
}

export class MboxFormatError extends Error {}

const NL = 0x0a;
const CR = 0x0d;
const FROM_AFTER_NL = Buffer.from('\nFrom ');
/** Bytes kept unscanned at a chunk's end so a separator split across chunks is still seen. */
const KEEP = 8;

export async function* readMbox(input: AsyncIterable<Buffer | string>): AsyncGenerator<MboxMessage> {
  let buf: Buffer = Buffer.alloc(0);
  let base = 0; // file offset of buf[0]
  let parts: Buffer[] = [];
  let inMessage = false;
  let messageOffset = 0;
  let index = 0;
  let seenAny = false;

  const finish = (consumed: number): MboxMessage => {
    index++;
    const m = { data: unescapeMessage(Buffer.concat(parts)), index, offset: messageOffset, consumed };
    parts = [];
    return m;
  };

  for await (const chunk of input) {
    const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    let pos = 0;
    for (;;) {
      if (!inMessage) {
        if (!seenAny) {
          if (buf.length - pos < 5) break;
          if (buf.toString('latin1', pos, pos + 5) !== 'From ') throw new MboxFormatError('not an mbox file: it does not start with a "From " line');
        }
        const eol = buf.indexOf(NL, pos);
        if (eol < 0) break;
        seenAny = true;
        messageOffset = base + pos;
        pos = eol + 1;
        inMessage = true;
        continue;
      }
      let search = pos;
      let found = -1;
      for (;;) {
        const idx = buf.indexOf(FROM_AFTER_NL, search);
        if (idx < 0) break;
        const blank = (idx >= 1 && buf[idx - 1] === NL) || (idx >= 2 && buf[idx - 1] === CR && buf[idx - 2] === NL);
        if (blank) {
          found = idx;
          break;
        }
        search = idx + 1;
      }
      if (found >= 0) {
        parts.push(buf.subarray(pos, found + 1));
        pos = found + 1;
        inMessage = false;
        yield finish(base + pos);
        continue;
      }
      const keepFrom = Math.max(pos, buf.length - KEEP);
      if (keepFrom > pos) parts.push(buf.subarray(pos, keepFrom));
      pos = keepFrom;
      break;
    }
    // copy the small remainder so the chunk behind the parts can be collected independently
    buf = Buffer.from(buf.subarray(pos));
    base += pos;
  }
  if (inMessage) {
    parts.push(buf);
    yield finish(base + buf.length);
  } else if (!seenAny && buf.length > 0) {
    throw new MboxFormatError('not an mbox file: it does not start with a "From " line');
  }
}

/** Drops the separator's blank line and one `>` from each `>*From ` line. */
function unescapeMessage(raw: Buffer): Buffer {
  let end = raw.length;
  if (end >= 4 && raw[end - 4] === CR && raw[end - 3] === NL && raw[end - 2] === CR && raw[end - 1] === NL) end -= 2;
  else if (end >= 2 && raw[end - 2] === NL && raw[end - 1] === NL) end -= 1;
  else if (end >= 3 && raw[end - 3] === NL && raw[end - 2] === CR && raw[end - 1] === NL) end -= 2;
  const data = raw.subarray(0, end);
  if (data.indexOf('>From ') < 0) return data;
  return Buffer.from(data.toString('latin1').replace(/(^|\n)>(>*From )/g, '$1$2'), 'latin1');
}

/** One mbox entry: the `From ` line, the escaped message, a blank line. */
export function mboxEntry(mime: Buffer, sender: string | null, date: Date): Buffer {
  let body = mime;
  if (mime.indexOf('From ') >= 0) body = Buffer.from(mime.toString('latin1').replace(/(^|\n)(>*From )/g, '$1>$2'), 'latin1');
  const endsWithNl = body.length > 0 && body[body.length - 1] === NL;
  const head = Buffer.from(`From ${sender && /^\S+$/.test(sender) ? sender : 'MAILER-DAEMON'} ${asctime(date)}\n`);
  return Buffer.concat([head, body, Buffer.from(endsWithNl ? '\n' : '\n\n')]);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Sat Nov 28 12:38:32 2026`, as mbox `From ` lines carry dates. */
export function asctime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
