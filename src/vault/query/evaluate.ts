/**
 * The meaning of a granular query, evaluated on one message as it was at a restore point. The
 * keyword index only narrows the candidates; this is the definition every hit must satisfy.
 *
 *  - `-like 'w1 w2*'`: the words appear consecutively in the field (the subject, the sender's name or
 *    address, any one participant's name or address); a trailing `*` makes the last word a prefix;
 *    a leading `*` is accepted and means nothing more (keyword search, not substring search).
 *  - `-eq 'v'`: the whole field equals v, ignoring case (Subject), or an address or display name does
 *    (Sender, Participants).
 *  - PitrDumpsterActionTriggeredTime: when the item's version at the restore point was superseded in
 *    the mailbox (modified, moved or deleted); an item untouched since then has none and never matches.
 */
import type { Address, MessageFacts } from '../facts.js';
import { facetTokens, fold } from '../facts.js';
import { words } from './words.js';
import type { Comparison, QueryNode } from './parser.js';

export interface Candidate {
  facts: MessageFacts;
  /** ISO time the version was superseded, or null; only looked at when the query uses it. */
  dumpsterTime: string | null;
}

export function evaluate(node: QueryNode, c: Candidate): boolean {
  switch (node.kind) {
    case 'and':
      return node.children.every((n) => evaluate(n, c));
    case 'or':
      return node.children.some((n) => evaluate(n, c));
    default:
      return compare(node, c);
  }
}

function containsPhrase(haystack: string[], needle: string[], prefix: boolean): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      const h = haystack[i + j];
      const n = needle[j];
      const last = j === needle.length - 1;
      if (!(h === n || (last && prefix && h.startsWith(n)))) continue outer;
    }
    return true;
  }
  return false;
}

function textValues(p: 'Subject' | 'Sender' | 'Participants', f: MessageFacts): string[] {
  if (p === 'Subject') return [f.subject];
  const list: Address[] = p === 'Sender' ? f.sender : f.participants;
  return list.flatMap((a) => [a.name, a.address]).filter(Boolean);
}

function compare(n: Comparison, c: Candidate): boolean {
  switch (n.kind) {
    case 'text': {
      const values = textValues(n.property, c.facts);
      if (n.operator === 'eq') return values.some((v) => fold(v) === fold(n.value));
      return values.some((v) => containsPhrase(words(v), n.words, n.prefix));
    }
    case 'hasAttachment':
      return c.facts.hasAttachments === n.value;
    case 'messageKind':
      return c.facts.kind === n.value;
    case 'dumpsterTime': {
      if (!c.dumpsterTime) return false;
      const t = c.dumpsterTime;
      switch (n.operator) {
        case 'eq':
          return t === n.value;
        case 'gt':
          return t > n.value;
        case 'ge':
          return t >= n.value;
        case 'lt':
          return t < n.value;
        case 'le':
          return t <= n.value;
      }
    }
  }
}

/** Facet tokens of a comparison on a non-text fact, for the keyword index. */
export function facetOf(n: Comparison): string | undefined {
  if (n.kind === 'hasAttachment') return facetTokens({ hasAttachments: n.value, kind: 'Email' })[0];
  if (n.kind === 'messageKind') return facetTokens({ hasAttachments: false, kind: n.value })[1];
  return undefined;
}
