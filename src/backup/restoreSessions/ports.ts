/**
 * What restore sessions use of the other areas, looked up in `core.services` when needed: the vault
 * (restore points, searches), protection (the tenant's service status) and mail (the directory).
 */
import type { Core } from '../../core.js';
import type { VaultService } from '../../vault/service.js';
import type { ProtectionService } from '../protection/service.js';
import type { MailService } from '../../mail/service.js';

export type { RestorePoint } from '../../vault/service.js';

export function vaultOf(core: Core): VaultService {
  const v = core.services.vault as VaultService | undefined;
  if (!v) throw new Error('the vault service is not set up');
  return v;
}

export function mailOf(core: Core): MailService {
  const m = core.services.mail as MailService | undefined;
  if (!m) throw new Error('the mail service is not set up');
  return m;
}

/** The tenant's backupServiceStatus member. */
export async function serviceStatusOf(core: Core, tenantId: string): Promise<string | undefined> {
  const p = core.services.protection as ProtectionService | undefined;
  return p ? p.serviceStatus(tenantId) : undefined;
}
