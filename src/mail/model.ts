/**
 * What a mailbox item is, independent of HTTP and SQL: the snapshot types carried by MailChange
 * events (and stored by the vault), and the directory records. A snapshot holds every Graph
 * property needed to recreate the item exactly; the content itself is the MIME blob.
 */

export interface EmailAddress {
  name: string;
  address: string;
}

export interface Recipient {
  emailAddress: EmailAddress;
}

export interface FollowupFlag {
  flagStatus: 'notFlagged' | 'complete' | 'flagged';
  startDateTime?: { dateTime: string; timeZone: string } | null;
  dueDateTime?: { dateTime: string; timeZone: string } | null;
  completedDateTime?: { dateTime: string; timeZone: string } | null;
}

export type Importance = 'low' | 'normal' | 'high';

/** Complete metadata of a message (MailChange.props for messages). Body content lives in the MIME blob. */
export interface MessageSnapshot {
  subject: string;
  bodyPreview: string;
  /** The type of the body the MIME carries (html when it has an HTML part). */
  bodyContentType: 'text' | 'html';
  from: Recipient | null;
  sender: Recipient | null;
  toRecipients: Recipient[];
  ccRecipients: Recipient[];
  bccRecipients: Recipient[];
  replyTo: Recipient[];
  receivedDateTime: string;
  sentDateTime: string | null;
  createdDateTime: string;
  importance: Importance;
  isRead: boolean;
  isDraft: boolean;
  isReadReceiptRequested: boolean;
  isDeliveryReceiptRequested: boolean;
  inferenceClassification: 'focused' | 'other';
  flag: FollowupFlag;
  categories: string[];
  internetMessageId: string | null;
  conversationId: string;
  hasAttachments: boolean;
  /** Informational in events (the values at the time of the change); ignored when recreating. */
  changeKey?: string;
  lastModifiedDateTime?: string;
  parentFolderId?: string;
}

/**
 * A received message as most mail is: unread, unflagged, uncategorized, normal importance, no cc/bcc,
 * received, sent and created at `at`; the caller gives what makes it this message.
 */
export function receivedMessage(
  p: Pick<MessageSnapshot, 'subject' | 'bodyPreview' | 'from' | 'toRecipients' | 'internetMessageId' | 'conversationId'> & Partial<MessageSnapshot> & { at: string },
): MessageSnapshot {
  const { at, ...given } = p;
  return {
    bodyContentType: 'text',
    sender: p.from,
    ccRecipients: [],
    bccRecipients: [],
    replyTo: [],
    receivedDateTime: at,
    sentDateTime: at,
    createdDateTime: at,
    importance: 'normal',
    isRead: false,
    isDraft: false,
    isReadReceiptRequested: false,
    isDeliveryReceiptRequested: false,
    inferenceClassification: 'focused',
    flag: emptyFlag(),
    categories: [],
    hasAttachments: false,
    ...given,
  };
}

/** A message as the service hands it to other areas. */
export interface MessageRecord {
  id: string;
  folderId: string;
  props: MessageSnapshot;
  mimeSha256: string;
}

export const WELL_KNOWN_FOLDERS = ['msgfolderroot', 'inbox', 'drafts', 'sentitems', 'deleteditems', 'junkemail', 'archive', 'outbox'] as const;
export type WellKnownFolder = (typeof WELL_KNOWN_FOLDERS)[number];

export const WELL_KNOWN_DISPLAY_NAMES: Record<WellKnownFolder, string> = {
  msgfolderroot: 'Top of Information Store',
  inbox: 'Inbox',
  drafts: 'Drafts',
  sentitems: 'Sent Items',
  deleteditems: 'Deleted Items',
  junkemail: 'Junk Email',
  archive: 'Archive',
  outbox: 'Outbox',
};

/** Complete state of a folder (MailChange.props for folders). */
export interface FolderSnapshot {
  displayName: string;
  /** null only for the root (msgfolderroot). */
  parentFolderId: string | null;
  wellKnownName: WellKnownFolder | null;
  isHidden: boolean;
  createdDateTime: string;
  lastModifiedDateTime?: string;
}

export interface FolderRecord extends FolderSnapshot {
  id: string;
}

export interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  jobTitle: string | null;
  accountEnabled: boolean;
  createdDateTime: string;
  /** Soft-deleted users are still found (their backups outlive them). */
  deleted: boolean;
  deletedDateTime: string | null;
  /** mailNickname, businessPhones, mobilePhone, officeLocation, preferredLanguage, usageLocation, ... */
  extra: Record<string, unknown>;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  description: string | null;
  mail: string | null;
  mailNickname: string | null;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  createdDateTime: string;
}

export function emptyFlag(): FollowupFlag {
  return { flagStatus: 'notFlagged' };
}
