/**
 * What every layer shares, created once by app.ts: configuration, the clock, the store, identity,
 * tenants, the scheduler and the change events. The areas' own services are not here: app.ts builds
 * the areas in order and hands each the services of the others it uses.
 */
import type { Config } from './config.js';
import type { OffsetClock } from './clock.js';
import type { Store, Trx } from './store/store.js';
import type { SigningKey } from './identity/keys.js';
import type { Principal, TokenVerifier } from './identity/tokens.js';
import type { Tenants } from './backup/tenants.js';
import type { Scheduler } from './engine/scheduler.js';

/** One change to a mailbox item, emitted inside the transaction that makes it. */
export interface MailChange {
  tenantId: string;
  mailboxId: string;
  itemKind: 'message' | 'folder';
  itemId: string;
  op: 'upsert' | 'delete';
  /** ISO time of the change (the injected clock). */
  at: string;
  /** Folder of a message, parent of a folder; for deletes, where it was. */
  folderId: string | null;
  /**
   * Full item state after an upsert (message: the stored Graph properties; folder: its fields); null
   * for deletes, and for message upserts written from a stored text (then `propsSeq` names it).
   */
  props: Record<string, unknown> | null;
  mimeSha256: string | null;
  isDraft: boolean;
  /**
   * Message upserts: `props` serialized as the message row stores it (without changeKey,
   * lastModifiedDateTime and parentFolderId), so a listener keeping the text need not serialize it again.
   */
  json?: string;
  /**
   * A message upsert whose stored snapshot is exactly the text of this vault version of the same
   * mailbox (a restore writing a captured version back, MailService.upsertStoredMessages): the vault
   * refers to it instead of keeping the text twice. Absent otherwise.
   */
  propsSeq?: number;
}

/** A protection unit entering or leaving `protected`, emitted inside the transaction that changes it. */
export interface ProtectionChange {
  tenantId: string;
  unitId: string;
  mailboxId: string;
  protected: boolean;
  at: string;
}

export type Listener<E> = (trx: Trx, events: E[]) => Promise<void>;

export class EventBus<E> {
  private listeners: Listener<E>[] = [];
  on(listener: Listener<E>): void {
    this.listeners.push(listener);
  }
  async emit(trx: Trx, events: E[]): Promise<void> {
    if (events.length === 0) return;
    for (const l of this.listeners) await l(trx, events);
  }
}

export interface Core {
  config: Config;
  clock: OffsetClock;
  store: Store;
  key: SigningKey;
  verifier: TokenVerifier;
  tenants: Tenants;
  scheduler: Scheduler;
  /** The tenant tokens are for when none is named: the demo tenant with --demo. */
  defaultTenantId: string;
  events: {
    mailChanged: EventBus<MailChange>;
    protectionChanged: EventBus<ProtectionChange>;
  };
  /** Identity of requests without a token under --allow-anonymous. */
  anonymousPrincipal(): Principal;
  /**
   * Persists the clock offset so a restart keeps emulated time, and shares it with the other nodes on
   * the database; the saved offset only grows (`force`: repairs one that is out of range).
   */
  saveClock(force?: boolean): Promise<void>;
  /** Takes up a later time another node saved. */
  syncClock(): Promise<void>;
}
