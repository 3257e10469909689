/**
 * The granular search grammar (spec §8.7, PowerShell style):
 *
 *   expression := conjunction ( '-or' conjunction )*
 *   conjunction := primary ( '-and' primary )*
 *   primary    := '(' expression ')' | comparison
 *   comparison := property operator 'single-quoted value'
 *
 * Properties: Subject, Sender, Participants (-eq, -like), HasAttachment (-eq 'true'|'false'),
 * MessageKind (-eq Email|Note|Task|Contact|Calendar), PitrDumpsterActionTriggeredTime (-gt, -ge, -lt,
 * -le, -eq with '{<ISO date>}'). Keywords and property names are case-insensitive; `''` escapes a quote
 * inside a value; `-and` binds tighter than `-or`. Errors name the position (1-based) and what was expected.
 */
import { parseDateTime } from '../../http/dates.js';
import { words } from './words.js';

export const TEXT_PROPERTIES = ['Subject', 'Sender', 'Participants'] as const;
export const PROPERTIES = [...TEXT_PROPERTIES, 'HasAttachment', 'MessageKind', 'PitrDumpsterActionTriggeredTime'] as const;
export const MESSAGE_KINDS = ['Email', 'Note', 'Task', 'Contact', 'Calendar'] as const;

export type TextProperty = (typeof TEXT_PROPERTIES)[number];
export type Property = (typeof PROPERTIES)[number];
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export type Comparison =
  | { kind: 'text'; property: TextProperty; operator: 'eq'; value: string }
  /** Keyword match: the words appear in order; `prefix` when the value ended with `*`. */
  | { kind: 'text'; property: TextProperty; operator: 'like'; value: string; words: string[]; prefix: boolean }
  | { kind: 'hasAttachment'; value: boolean }
  | { kind: 'messageKind'; value: MessageKind }
  | { kind: 'dumpsterTime'; operator: 'eq' | 'gt' | 'ge' | 'lt' | 'le'; value: string };

export type QueryNode = { kind: 'and' | 'or'; children: QueryNode[] } | Comparison;

/** Limits: a longer expression or more comparisons is FilterLengthExceeded; GS allows 3 Subject/Participants terms per -and. */
export const MAX_EXPRESSION_LENGTH = 2048;
export const MAX_COMPARISONS = 20;
export const MAX_TEXT_TERMS_PER_AND = 3;

export class QueryError extends Error {
  constructor(message: string, readonly tooLong = false) {
    super(message);
  }
}

type Token =
  | { t: 'lparen' | 'rparen' | 'end'; pos: number; text: string }
  | { t: 'op'; pos: number; text: string; name: string }
  | { t: 'word'; pos: number; text: string }
  | { t: 'string'; pos: number; text: string; value: string };

function lex(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i + 1;
    if (c === '(' || c === ')') {
      out.push({ t: c === '(' ? 'lparen' : 'rparen', pos, text: c });
      i++;
    } else if (c === '-') {
      const m = /^-([A-Za-z]+)/.exec(input.slice(i));
      if (!m) throw new QueryError(`Unexpected '-' at position ${pos}: an operator such as -eq, -like, -and or -or was expected.`);
      out.push({ t: 'op', pos, text: m[0], name: m[1].toLowerCase() });
      i += m[0].length;
    } else if (c === "'" || c === '\u2018' || c === '\u2019') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= input.length) throw new QueryError(`Unterminated value starting at position ${pos}: a closing single quote is missing.`);
        const d = input[j];
        if (d === "'" || d === '\u2019') {
          if (input[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += d;
        j++;
      }
      out.push({ t: 'string', pos, text: input.slice(i, j + 1), value });
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      const m = /^[A-Za-z][A-Za-z0-9_]*/.exec(input.slice(i))!;
      out.push({ t: 'word', pos, text: m[0] });
      i += m[0].length;
    } else if (c === '"') {
      throw new QueryError(`Unexpected '"' at position ${pos}: values are enclosed in single quotes.`);
    } else {
      throw new QueryError(`Unexpected character '${c}' at position ${pos}.`);
    }
  }
  out.push({ t: 'end', pos: input.length + 1, text: 'the end of the expression' });
  return out;
}

const describe = (tok: Token) => (tok.t === 'end' ? tok.text : `'${tok.text}'`);

export function parseQuery(input: string): QueryNode {
  if (typeof input !== 'string' || input.trim() === '') throw new QueryError('The query expression is empty.');
  if (input.length > MAX_EXPRESSION_LENGTH) {
    throw new QueryError(`The query expression is ${input.length} characters long; at most ${MAX_EXPRESSION_LENGTH} are allowed.`, true);
  }
  const tokens = lex(input);
  let k = 0;
  let comparisons = 0;
  const peek = () => tokens[k];
  const next = () => tokens[k++];

  const expression = (): QueryNode => {
    const parts = [conjunction()];
    while (peek().t === 'op' && (peek() as { name: string }).name === 'or') {
      next();
      parts.push(conjunction());
    }
    return parts.length === 1 ? parts[0] : { kind: 'or', children: parts };
  };
  const conjunction = (): QueryNode => {
    const start = peek().pos;
    // A parenthesized conjunction joins this one (a -and b is associative), so its terms count toward the limit.
    const parts: QueryNode[] = [];
    const add = (n: QueryNode) => parts.push(...(n.kind === 'and' ? n.children : [n]));
    add(primary());
    while (peek().t === 'op' && (peek() as { name: string }).name === 'and') {
      next();
      add(primary());
    }
    for (const p of ['Subject', 'Participants'] as const) {
      const n = parts.filter((x) => x.kind === 'text' && x.property === p).length;
      if (n > MAX_TEXT_TERMS_PER_AND) {
        throw new QueryError(`At most ${MAX_TEXT_TERMS_PER_AND} ${p} conditions can be joined with -and (position ${start} has ${n}).`);
      }
    }
    return parts.length === 1 ? parts[0] : { kind: 'and', children: parts };
  };
  const primary = (): QueryNode => {
    const tok = peek();
    if (tok.t === 'lparen') {
      next();
      const inner = expression();
      const close = next();
      if (close.t !== 'rparen') throw new QueryError(`Expected ')' at position ${close.pos} to close the '(' at position ${tok.pos}, found ${describe(close)}.`);
      return inner;
    }
    if (tok.t === 'word') return comparison();
    throw new QueryError(`Expected a property (${PROPERTIES.join(', ')}) or '(' at position ${tok.pos}, found ${describe(tok)}.`);
  };
  const comparison = (): Comparison => {
    const propTok = next();
    const property = PROPERTIES.find((p) => p.toLowerCase() === propTok.text.toLowerCase());
    if (!property) throw new QueryError(`Unknown property '${propTok.text}' at position ${propTok.pos}; the properties are ${PROPERTIES.join(', ')}.`);
    const opTok = next();
    if (opTok.t !== 'op' || opTok.name === 'and' || opTok.name === 'or') {
      throw new QueryError(`Expected a comparison operator after '${property}' at position ${opTok.pos}, found ${describe(opTok)}.`);
    }
    const valueTok = next();
    if (valueTok.t !== 'string') {
      throw new QueryError(`Expected a single-quoted value after '${property} ${opTok.text}' at position ${valueTok.pos}, found ${describe(valueTok)}.`);
    }
    if (++comparisons > MAX_COMPARISONS) throw new QueryError(`The query expression has more than ${MAX_COMPARISONS} conditions.`, true);
    return makeComparison(property, opTok.name, opTok.text, valueTok.value, valueTok.pos);
  };

  const root = expression();
  const rest = peek();
  if (rest.t !== 'end') {
    throw new QueryError(
      rest.t === 'rparen' ? `Unbalanced ')' at position ${rest.pos}.` : `Expected -and, -or or the end of the expression at position ${rest.pos}, found ${describe(rest)}.`,
    );
  }
  return root;
}

const OPERATORS: Record<Property, readonly string[]> = {
  Subject: ['eq', 'like'],
  Sender: ['eq', 'like'],
  Participants: ['eq', 'like'],
  HasAttachment: ['eq'],
  MessageKind: ['eq'],
  PitrDumpsterActionTriggeredTime: ['eq', 'gt', 'ge', 'lt', 'le'],
};

function makeComparison(property: Property, op: string, opText: string, value: string, pos: number): Comparison {
  if (!OPERATORS[property].includes(op)) {
    throw new QueryError(`The operator '${opText}' cannot be used with ${property}; use ${OPERATORS[property].map((o) => '-' + o).join(' or ')}.`);
  }
  const at = `(value at position ${pos})`;
  switch (property) {
    case 'Subject':
    case 'Sender':
    case 'Participants': {
      if (op === 'eq') {
        if (value.trim() === '') throw new QueryError(`${property} -eq needs a non-empty value ${at}.`);
        if (value.includes('*')) throw new QueryError(`Wildcards are only allowed with -like: ${property} -eq '${value}' ${at}.`);
        return { kind: 'text', property, operator: 'eq', value: value.trim() };
      }
      let body = value.trim();
      const prefix = body.endsWith('*');
      if (prefix) body = body.slice(0, -1);
      if (body.startsWith('*')) body = body.slice(1);
      if (body.includes('*')) throw new QueryError(`'*' is only allowed at the end of a -like value: ${property} -like '${value}' ${at}.`);
      const w = words(body);
      if (w.length === 0) throw new QueryError(`${property} -like '${value}' has no word to search for ${at}.`);
      return { kind: 'text', property, operator: 'like', value: body, words: w, prefix };
    }
    case 'HasAttachment': {
      const v = value.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') throw new QueryError(`HasAttachment takes 'true' or 'false', not '${value}' ${at}.`);
      return { kind: 'hasAttachment', value: v === 'true' };
    }
    case 'MessageKind': {
      const kind = MESSAGE_KINDS.find((m) => m.toLowerCase() === value.trim().toLowerCase());
      if (!kind) throw new QueryError(`MessageKind takes one of ${MESSAGE_KINDS.join(', ')}, not '${value}' ${at}.`);
      return { kind: 'messageKind', value: kind };
    }
    case 'PitrDumpsterActionTriggeredTime': {
      const text = value.trim().replace(/^\{(.*)\}$/, '$1').trim();
      const d = parseDateTime(text);
      if (!d) {
        throw new QueryError(`PitrDumpsterActionTriggeredTime needs a date such as '{2024-09-21T08:20:00.0000000Z}', not '${value}' ${at}.`);
      }
      return { kind: 'dumpsterTime', operator: op as 'eq', value: d.toISOString() };
    }
  }
}

/** Whether the expression looks at PitrDumpsterActionTriggeredTime (which needs each item's later history). */
export function usesDumpsterTime(node: QueryNode): boolean {
  if (node.kind === 'and' || node.kind === 'or') return node.children.some(usesDumpsterTime);
  return node.kind === 'dumpsterTime';
}
