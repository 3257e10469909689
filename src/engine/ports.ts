/**
 * What the engine uses of the other areas, looked up in `core.services` when a job runs (areas set
 * themselves up in order; the engine comes last).
 */
import type { Core } from '../core.js';
import type { MailService } from '../mail/service.js';
import type { VaultService } from '../vault/service.js';
import type { RestoreSessionsService } from '../backup/restoreSessions/service.js';

export function mailOf(core: Core): MailService {
  const m = core.services.mail as MailService | undefined;
  if (!m) throw new Error('the engine needs the mail service');
  return m;
}

export function vaultOf(core: Core): VaultService {
  const v = core.services.vault as VaultService | undefined;
  if (!v) throw new Error('the engine needs the vault service');
  return v;
}

export function restoreSessionsOf(core: Core): RestoreSessionsService {
  const r = core.services.restoreSessions as RestoreSessionsService | undefined;
  if (!r) throw new Error('the engine needs the restore sessions service');
  return r;
}
