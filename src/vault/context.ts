/** What the vault's parts share: the core, the keyword index and two small in-memory hints. */
import type { Core } from '../core.js';
import type { KeywordIndex } from './keywordIndex.js';
import type { GcReport } from './gc.js';

export interface VaultContext {
  core: Core;
  index: KeywordIndex;
  /**
   * Mailboxes that were ever protected (loaded at start, grows on protection): changes to any other
   * mailbox cost the capture nothing. The table decides whether one of these is protected now.
   */
  everProtected: Set<string>;
  /**
   * Mailboxes that may have captured changes no restore point covers yet, with the tick when the next
   * point falls due (null: not known, look now). The truth is vault_versions; this only says where to look.
   */
  dirty: Map<string, string | null>;
  /** Versions may have been appended that the keyword index has not seen yet. */
  unindexed: boolean;
  /** Versions were appended since the indexer's previous scheduler tick (the capture is busy). */
  capturedSinceTick: boolean;
  /** The indexer run in progress, if any. */
  indexing?: Promise<number>;
  /** The latest garbage collection, for GET /_mailvault/vault/gc. */
  lastGc: GcReport | undefined;
  /** What other areas still need of expired points (VaultService.holdRetention). */
  holds: RetentionHold[];
}

/**
 * Restore points and search responses that work in progress still reads (a restore that has begun),
 * so the collection keeps them, and the versions and hits they need, though they expired. They stay
 * hidden from list, get and search all the same.
 */
export type RetentionHold = () => Promise<{ restorePointIds: string[]; searchResponseIds: string[] }>;

export const mailboxKey = (tenantId: string, mailboxId: string): string => `${tenantId}\u0000${mailboxId}`;

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}
