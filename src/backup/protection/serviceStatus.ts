/**
 * The tenant's backup service status (spec §8.1): `disabled` until `enable`; `enabled` while a
 * service app controls the tenant; `protectionChangeLocked` when none does (fix: activate an app and
 * call `enable` again); `restoreLocked` 30 days later. What each status refuses is decided here.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../store/schema.js';
import type { Trx } from '../../store/store.js';
import type { Principal } from '../../identity/tokens.js';
import type { Core } from '../../core.js';
import { errors } from '../../errors.js';
import { SERVICE_STATUS, transition, type ServiceAppStatus, type ServiceStatusEvent } from './machines.js';
import { RESTORE_LOCK_AFTER_MS } from './timing.js';
import type { Env } from './env.js';

/** Apps that control a tenant: active ones, and those whose deactivation is not yet effective. */
export const CONTROLLING_APP_STATUSES: readonly ServiceAppStatus[] = ['active', 'pendingInactive'];

export async function hasController(db: Kysely<DB>, tenantId: string): Promise<boolean> {
  const row = await db
    .selectFrom('service_apps')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', CONTROLLING_APP_STATUSES)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

async function apply(trx: Trx, env: Env, tenantId: string, event: ServiceStatusEvent, extra: Record<string, unknown> = {}): Promise<void> {
  const t = await trx.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirstOrThrow();
  const next = transition(SERVICE_STATUS, t.service_status, event);
  if (!next || next === 'deleted') return;
  const lockedAt = next === 'enabled' ? null : next === 'protectionChangeLocked' && t.service_status !== next ? env.now : t.locked_at ?? env.now;
  await trx
    .updateTable('tenants')
    .set({ service_status: next, locked_at: lockedAt, ...extra })
    .where('id', '=', tenantId)
    .execute();
  env.tenantsChanged.add(tenantId);
}

/** `POST backupRestore/enable`: a third-party app becomes the tenant's backup consumer. */
export async function enableService(trx: Trx, env: Env, tenantId: string, appOwnerTenantId: string, by: string): Promise<void> {
  const controlled = await hasController(trx, tenantId);
  await apply(trx, env, tenantId, controlled ? 'enableWithController' : 'enableWithoutController', {
    backup_service_consumer: 'thirdparty',
    disable_reason: 'none',
    app_owner_tenant_id: appOwnerTenantId,
    status_modified_at: env.now,
    status_modified_by: by,
  });
}

/** After a service app changed: an enabled tenant left without a controlling app is locked. */
export async function checkController(trx: Trx, env: Env, tenantId: string): Promise<void> {
  if (await hasController(trx, tenantId)) return;
  await apply(trx, env, tenantId, 'controllerLost', { status_modified_at: env.now });
}

/** Tenants locked for 30 days become restoreLocked. */
export async function expireLocks(trx: Trx, env: Env): Promise<number> {
  const before = new Date(new Date(env.now).getTime() - RESTORE_LOCK_AFTER_MS).toISOString();
  const rows = await trx
    .selectFrom('tenants')
    .select('id')
    .where('service_status', '=', 'protectionChangeLocked')
    .where('locked_at', '<=', before)
    .execute();
  for (const r of rows) await apply(trx, env, r.id, 'lockExpired', { status_modified_at: env.now });
  return rows.length;
}

export async function serviceStatusOf(db: Kysely<DB>, tenantId: string): Promise<string> {
  const t = await db.selectFrom('tenants').select('service_status').where('id', '=', tenantId).executeTakeFirst();
  return t?.service_status ?? 'disabled';
}

/**
 * Refuses a change to protection (policies, units, rules, bulk jobs) unless the service is enabled,
 * and refuses it to an application whose service app is only `pendingActive` (read-only until its
 * effective time, spec §8.1). The codes are our choice (Microsoft documents none): 403
 * ServiceNotEnabled / ProtectionChangeLocked / RestoreLocked / ServiceAppNotActive.
 */
export async function requireProtectionChanges(core: Core, caller: { tenantId: string; principal: Principal }): Promise<void> {
  const tenantId = caller.tenantId;
  switch ((await core.tenants.get(tenantId)).service_status) {
    case 'enabled': {
      const pending = await core.store.db
        .selectFrom('service_apps')
        .select(['id', 'application', 'effective_at'])
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'pendingActive')
        .execute();
      const mine = pending.find((a) => (JSON.parse(a.application) as { id?: string }).id === caller.principal.appId);
      if (mine) {
        throw errors.serviceAppNotActive(
          `The service app '${mine.id}' of this application is pendingActive until ${mine.effective_at}: it has read-only access to policies and units until then.`,
        );
      }
      return;
    }
    case 'protectionChangeLocked':
      throw errors.protectionChangeLocked(
        'The backup service is protectionChangeLocked: no service app is active for the tenant. Activate a service app and call enable again.',
      );
    case 'restoreLocked':
      throw errors.restoreLocked('The backup service is restoreLocked: protection and restore changes are not allowed. Activate a service app and call enable again.');
    default:
      throw errors.serviceNotEnabled('The backup service is not enabled for this tenant. Call POST /solutions/backupRestore/enable first.');
  }
}
