/**
 * What the restore engine uses of the other areas, handed to it by app.ts: mail (the live mailbox it
 * writes), the vault (the restore point's state) and restore sessions (an artifact's status change
 * re-derives its session, in the same transaction).
 */
import type { Core } from '../core.js';
import type { Trx } from '../store/store.js';
import type { MailService } from '../mail/service.js';
import type { VaultService } from '../vault/service.js';

export interface RestoreEnv {
  core: Core;
  mail: MailService;
  vault: VaultService;
  sessions: { refreshSession(trx: Trx, tenantId: string, sessionId: string): Promise<unknown> };
}
