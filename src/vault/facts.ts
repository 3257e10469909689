/**
 * What granular search looks at in a captured message (its MailChange snapshot): subject, sender,
 * participants (To, Cc, Bcc), whether it has attachments, and its kind. Every captured message is an
 * `Email`: the mailbox holds no notes, tasks, contacts or calendar items.
 */
import crypto from 'node:crypto';
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

/** What -eq compares: case-folded, trimmed text. */
export const fold = (s: string): string => s.normalize('NFKC').trim().toLowerCase();

/** One token for a whole value (subject, address or display name), so -eq is a single index lookup. */
export function exactToken(field: 'Subject' | 'Sender' | 'Participants', value: string): string {
  const prefix = field === 'Subject' ? 'u' : field === 'Sender' ? 's' : 'p';
  return prefix + crypto.createHash('sha256').update(fold(value)).digest('hex').slice(0, 20);
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
