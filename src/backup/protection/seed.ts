/**
 * The demo tenant's protection: an active service app, the service enabled, and one active Exchange
 * policy whose units are protected at once (so the vault can seed history right after).
 */
import type { Core } from '../../core.js';
import { DEFAULT_APP_ID, DEFAULT_APP_NAME } from '../../identity/tokens.js';
import { newId, protectionWrite } from './env.js';
import { allUserIds } from './directory.js';
import { enableService } from './serviceStatus.js';
import { activatePolicy, createPolicy, refreshPolicy } from './policies.js';
import { moveUnit } from './units.js';

export async function seedProtection(core: Core, tenantId: string): Promise<void> {
  const users = await allUserIds(core.store.db, tenantId);
  await protectionWrite(core, async (trx, env) => {
    const application = { id: DEFAULT_APP_ID, displayName: DEFAULT_APP_NAME };
    const by = JSON.stringify({ application });
    await trx
      .insertInto('service_apps')
      .values({
        tenant_id: tenantId,
        id: newId(),
        application: JSON.stringify(application),
        status: 'active',
        registration_at: env.now,
        effective_at: env.now,
        pending_status: null,
        last_modified_by: by,
        last_modified_at: env.now,
      })
      .execute();
    await enableService(trx, env, tenantId, tenantId, by);
    const created = await createPolicy(trx, env, tenantId, { displayName: 'Exchange Protection Policy', directoryObjectIds: users }, by);
    const policy = await activatePolicy(trx, env, tenantId, created.id, by);
    const units = await trx.selectFrom('protection_units').selectAll().where('tenant_id', '=', tenantId).where('policy_id', '=', policy.id).execute();
    for (const u of units) await moveUnit(trx, env, u, 'protectSucceeded');
    await trx.updateTable('protection_policies').set({ due_at: null }).where('tenant_id', '=', tenantId).where('id', '=', policy.id).execute();
    await refreshPolicy(trx, env, { ...policy, due_at: null });
  });
}
