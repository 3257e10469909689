/**
 * What restore sessions need from the other areas, looked up in `core.services` when needed (areas
 * set themselves up in order, and the vault, protection and mail areas own these answers).
 */
import type { Core } from '../../core.js';

export interface RestorePointInfo {
  id: string;
  unitId: string;
  mailboxId: string;
  protectionDateTime: string;
  expirationDateTime: string;
  tags: unknown;
}

export interface SearchResponseInfo {
  id: string;
  unitId: string | null;
  restorePointIds: string[];
}

export interface VaultPort {
  /** Undefined when unknown, another tenant's, or expired. */
  getRestorePoint(tenantId: string, id: string): Promise<RestorePointInfo | undefined> | RestorePointInfo | undefined;
  restorePointWire(point: RestorePointInfo, o?: { includeUnit?: boolean }): Record<string, unknown>;
  getSearchResponse(tenantId: string, id: string): Promise<SearchResponseInfo | undefined> | SearchResponseInfo | undefined;
  pickRestorePoint(
    tenantId: string,
    mailboxId: string,
    o: { start?: string | null; end?: string | null; preference?: string | null; tags?: number | null },
  ): Promise<RestorePointInfo | undefined> | RestorePointInfo | undefined;
}

export interface ProtectionPort {
  serviceStatus(tenantId: string): Promise<unknown> | unknown;
}

export interface MailPort {
  findUser(tenantId: string, idOrUpnOrMail: string): Promise<{ id: string } | undefined | null> | { id: string } | undefined | null;
}

export function vaultOf(core: Core): VaultPort {
  const v = core.services.vault as VaultPort | undefined;
  if (!v) throw new Error('the vault service is not set up');
  return v;
}

export function mailOf(core: Core): MailPort {
  const m = core.services.mail as MailPort | undefined;
  if (!m) throw new Error('the mail service is not set up');
  return m;
}

/** The tenant's backupServiceStatus member, when the protection area reports one. */
export async function serviceStatusOf(core: Core, tenantId: string): Promise<string | undefined> {
  const p = core.services.protection as ProtectionPort | undefined;
  if (!p?.serviceStatus) return undefined;
  const s = await p.serviceStatus(tenantId);
  if (typeof s === 'string') return s;
  if (s && typeof s === 'object' && typeof (s as { status?: unknown }).status === 'string') return (s as { status: string }).status;
  return undefined;
}
