/**
 * Service apps (R:serviceapp): a partner application registers itself, a tenant admin activates it
 * from an effective time; an active app (or one whose deactivation is pending) controls the tenant.
 */
import type { Trx } from '../../store/store.js';
import type { Executor } from './directory.js';
import { errors } from '../../errors.js';
import { SERVICE_APP, transition, type ServiceAppEvent } from './machines.js';
import { dueAfter } from './timing.js';
import { newId, type Env } from './env.js';
import { checkController } from './serviceStatus.js';
import type { ServiceAppRow } from './wire.js';

export async function serviceAppById(db: Executor, tenantId: string, id: string): Promise<ServiceAppRow> {
  const row = await db.selectFrom('service_apps').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  if (!row) throw errors.itemNotFound(`The service app '${id}' was not found.`);
  return row;
}

/** `POST serviceApps`: the calling application registers itself, once per tenant. */
export async function registerServiceApp(trx: Trx, env: Env, tenantId: string, application: { id: string; displayName: string | null }, by: string): Promise<ServiceAppRow> {
  const existing = await trx
    .selectFrom('service_apps')
    .select(['id', 'application'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const same = existing.find((r) => (JSON.parse(r.application) as { id: string }).id === application.id);
  if (same) throw errors.conflict(`The application '${application.id}' is already registered as service app '${same.id}'.`);
  const row: ServiceAppRow = {
    tenant_id: tenantId,
    id: newId(),
    application: JSON.stringify(application),
    status: 'inactive',
    registration_at: env.now,
    effective_at: null,
    pending_status: null,
    last_modified_by: by,
    last_modified_at: env.now,
  };
  await trx.insertInto('service_apps').values(row).execute();
  return row;
}

function refuse(app: ServiceAppRow, action: string): never {
  throw errors.serviceAppActionNotAllowed(`The service app is ${app.status}; it cannot be ${action}.`);
}

async function move(trx: Trx, app: ServiceAppRow, event: ServiceAppEvent, set: Partial<ServiceAppRow>): Promise<ServiceAppRow> {
  const next = transition(SERVICE_APP, app.status, event);
  if (!next || next === 'deleted') throw new Error(`service app ${app.id}: ${event} not allowed in ${app.status}`);
  const changes = { status: next, ...set };
  await trx.updateTable('service_apps').set(changes).where('tenant_id', '=', app.tenant_id).where('id', '=', app.id).execute();
  return { ...app, ...changes };
}

/**
 * `activate`: an `effectiveDateTime` at or before now is effective at once (active in this answer);
 * a later one leaves the app pendingActive until then, when the scheduler makes it active.
 */
export async function activateServiceApp(trx: Trx, env: Env, tenantId: string, id: string, effective: string, by: string): Promise<ServiceAppRow> {
  const app = await serviceAppById(trx, tenantId, id);
  const event: ServiceAppEvent = Date.parse(effective) <= Date.parse(env.now) ? 'activateEffective' : 'activate';
  if (!transition(SERVICE_APP, app.status, event)) refuse(app, 'activated');
  const pending = event === 'activate' ? 'active' : null;
  return move(trx, app, event, { effective_at: effective, pending_status: pending, last_modified_by: by, last_modified_at: env.now });
}

/**
 * `deactivate`: an app that controls the tenant keeps control until the deactivation is effective
 * (pendingInactive); one that never took control is inactive at once (spec §11 #18).
 */
export async function deactivateServiceApp(trx: Trx, env: Env, tenantId: string, id: string, by: string): Promise<ServiceAppRow> {
  const app = await serviceAppById(trx, tenantId, id);
  const next = transition(SERVICE_APP, app.status, 'deactivate');
  if (!next) refuse(app, 'deactivated');
  const pending = next === 'pendingInactive';
  const moved = await move(trx, app, 'deactivate', {
    effective_at: pending ? dueAfter(env.core.config.timing, 'serviceAppDeactivation', env.now) : null,
    pending_status: pending ? 'inactive' : null,
    last_modified_by: by,
    last_modified_at: env.now,
  });
  await checkController(trx, env, tenantId);
  return moved;
}

export async function deleteServiceApp(trx: Trx, env: Env, tenantId: string, id: string): Promise<void> {
  await serviceAppById(trx, tenantId, id);
  await trx.deleteFrom('service_apps').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  await checkController(trx, env, tenantId);
}

/** Activations and deactivations whose effective time has come. */
export async function settleDueServiceApps(trx: Trx, env: Env): Promise<number> {
  const due = await trx
    .selectFrom('service_apps')
    .selectAll()
    .where('pending_status', 'is not', null)
    .where('effective_at', '<=', env.now)
    .execute();
  for (const app of due) {
    await move(trx, app, 'takeEffect', { pending_status: null });
    await checkController(trx, env, app.tenant_id);
  }
  return due.length;
}
