/** What the vault's parts share: the core, the areas it reads, the keyword index and small in-memory hints. */
import type { Core } from '../core.js';
import type { MailService } from '../mail/service.js';
import type { KeywordIndex } from './keywordIndex.js';

/** What the vault shows of a protection unit with a restore point (the protection area's answer). */
export interface ProtectionUnitSource {
  getUnit(tenantId: string, unitId: string, o: { delegated?: boolean; version?: 'v1.0' | 'beta' }): Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
}

export interface VaultContext {
  core: Core;
  /** The mailboxes it captures. */
  mail: MailService;
  /** The units its restore points belong to. */
  protection: ProtectionUnitSource;
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

/** What a garbage collection run removed (GET /_mailvault/vault/gc). */
export interface GcReport {
  /** Emulated time of the run. */
  at: string;
  expiredRestorePoints: number;
  expiredSearchResponses: number;
  versionsRemoved: number;
  /** Bytes of snapshot JSON removed with the versions. */
  versionBytesFreed: number;
  blobsRemoved: number;
  blobBytesFreed: number;
  mailboxesForgotten: number;
  durationMs: number;
}
