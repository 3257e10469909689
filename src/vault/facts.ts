/**
 * What granular search looks at in a captured message (its MailChange snapshot): subject, sender,
 * participants (To, Cc, Bcc), whether it has attachments, and its kind. Every captured message is an
 * `Email`: the mailbox holds no notes, tasks, contacts or calendar items.
 */
import type { MessageKind } from './query/parser.js';

export interface Address {
  name: string;
  address: string;
}

export interface MessageFacts {
  subject: string;
  sender: Address[];
  participants: Address[];
  hasAttachments: boolean;
  kind: MessageKind;
}

function address(v: unknown): Address | undefined {
  const e = (v as { emailAddress?: { name?: unknown; address?: unknown } } | null | undefined)?.emailAddress;
  if (!e) return undefined;
  return { name: typeof e.name === 'string' ? e.name : '', address: typeof e.address === 'string' ? e.address : '' };
}

function addresses(v: unknown): Address[] {
  return Array.isArray(v) ? v.map(address).filter((a): a is Address => !!a) : [];
}

export function messageFacts(props: Record<string, unknown>): MessageFacts {
  const from = address(props.from) ?? address(props.sender);
  return {
    subject: typeof props.subject === 'string' ? props.subject : '',
    sender: from ? [from] : [],
    participants: [...addresses(props.toRecipients), ...addresses(props.ccRecipients), ...addresses(props.bccRecipients)],
    hasAttachments: props.hasAttachments === true,
    kind: 'Email',
  };
}

const ASCII = /^[\x00-\x7f]*$/;
/** What -eq compares: case-folded, trimmed text (NFKC leaves ASCII as it is, and ASCII is most of it). */
export const fold = (s: string): string => (ASCII.test(s) ? s : s.normalize('NFKC')).trim().toLowerCase();

/**
 * 53-bit string hash (cyrb53). A collision only adds a candidate the evaluator then rejects, so a
 * cheap non-cryptographic hash is enough; a SHA-256 per token cost more than the rest of the indexing.
 */
function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Recent addresses and names (they repeat from message to message; subjects mostly do not). */
const recent = new Map<string, string>();

/** One token for a whole value (subject, address or display name), so -eq is a single index lookup. */
export function exactToken(field: 'Subject' | 'Sender' | 'Participants', value: string): string {
  const prefix = field === 'Subject' ? 'u' : field === 'Sender' ? 's' : 'p';
  if (field === 'Subject') return prefix + hash53(fold(value)).toString(36);
  const key = prefix + value;
  let token = recent.get(key);
  if (token === undefined) {
    token = prefix + hash53(fold(value)).toString(36);
    if (recent.size >= 4096) recent.clear();
    recent.set(key, token);
  }
  return token;
}

/** The tokens that stand for the non-text facts in the keyword index's `facets` column. */
export function facetTokens(f: Pick<MessageFacts, 'hasAttachments' | 'kind'>): string[] {
  return [`hasattachment${f.hasAttachments ? 1 : 0}`, `kind${f.kind.toLowerCase()}`];
}

/** Every facet token of a message: the facts above and an exact token per subject, address and name. */
export function allFacetTokens(f: MessageFacts): string[] {
  const out = facetTokens(f);
  if (f.subject) out.push(exactToken('Subject', f.subject));
  for (const [field, list] of [['Sender', f.sender], ['Participants', f.participants]] as const) {
    for (const a of list) {
      if (a.address) out.push(exactToken(field, a.address));
      if (a.name) out.push(exactToken(field, a.name));
    }
  }
  return [...new Set(out)];
}
