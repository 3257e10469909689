/**
 * Compiles a granular query to an FTS5 MATCH expression that selects a superset of the matching
 * message versions (the evaluator then decides). A part that the index cannot express (a date
 * comparison, a value without words) widens its branch to "everything": under -and it is dropped,
 * under -or it makes the whole -or unusable, and a query with nothing left is answered by a scan.
 */
import type { QueryNode } from './parser.js';
import { facetOf } from './evaluate.js';
import { exactToken } from '../facts.js';

const COLUMN = { Subject: 'subject', Sender: 'sender', Participants: 'participants' } as const;

const phrase = (w: string[]) => `"${w.join(' ')}"`;

export function toFtsMatch(node: QueryNode): string | null {
  switch (node.kind) {
    case 'and': {
      const parts = node.children.map(toFtsMatch).filter((p): p is string => p !== null);
      return parts.length === 0 ? null : parts.length === 1 ? parts[0] : `(${parts.join(' AND ')})`;
    }
    case 'or': {
      const parts = node.children.map(toFtsMatch);
      if (parts.some((p) => p === null)) return null;
      return `(${parts.join(' OR ')})`;
    }
    case 'text': {
      if (node.operator === 'eq') return `facets : ${exactToken(node.property, node.value)}`;
      const w = node.words;
      if (w.length === 0) return null;
      const prefix = node.prefix ? ' *' : '';
      return `${COLUMN[node.property]} : ${phrase(w)}${prefix}`;
    }
    case 'hasAttachment':
    case 'messageKind':
      return `facets : ${facetOf(node)}`;
    case 'dumpsterTime':
      return null;
  }
}
