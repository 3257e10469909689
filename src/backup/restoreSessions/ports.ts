/**
 * What restore sessions use of the other areas: the vault (restore points, searches), protection
 * (the tenant's service status) and mail (the directory).
 */
import { service, type Core } from '../../core.js';
import type { VaultService } from '../../vault/service.js';
import type { MailService } from '../../mail/service.js';

export type { RestorePoint } from '../../vault/service.js';

export const vaultOf = (core: Core): VaultService => service(core, 'vault');
export const mailOf = (core: Core): MailService => service(core, 'mail');

/** The tenant's backupServiceStatus member. */
export async function serviceStatusOf(core: Core, tenantId: string): Promise<string | undefined> {
  return core.services.protection?.serviceStatus(tenantId);
}
