/**
 * Exchange protection policies (spec §7.3, §8.2): created inactive with their units, changed with
 * `mailboxProtectionUnits@delta`, activated and deactivated asynchronously; one enabled Exchange
 * policy per tenant. A policy's status follows its units through `refreshPolicy`.
 */
import type { Trx } from '../../store/store.js';
import type { Executor } from './directory.js';
import { errors } from '../../errors.js';
import { POLICY, UNIT_IN_FLIGHT, transition, type PolicyEvent } from './machines.js';
import { dueAfter } from './timing.js';
import { newId, type Env } from './env.js';
import { usersByIds } from './directory.js';
import { MANUAL, DYNAMIC_RULE, attachMailbox, canMove, moveUnit, dropSource } from './units.js';
import { DEFAULT_RETENTION, type PolicyRow, type UnitRow } from './wire.js';

export const MAX_UNITS_PER_REQUEST = 50;

export async function policyById(db: Executor, tenantId: string, id: string): Promise<PolicyRow> {
  const row = await db.selectFrom('protection_policies').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  if (!row) throw errors.policyNotFound(`The protection policy '${id}' was not found.`);
  return row;
}

async function enabledPolicy(trx: Trx, tenantId: string, except?: string): Promise<PolicyRow | undefined> {
  let q = trx.selectFrom('protection_policies').selectAll().where('tenant_id', '=', tenantId).where('workload', '=', 'exchange').where('is_enabled', '=', 1);
  if (except) q = q.where('id', '<>', except);
  return q.executeTakeFirst();
}

export interface CreatePolicyInput {
  displayName: string;
  directoryObjectIds: string[];
}

/** `POST exchangeProtectionPolicies`: a new inactive policy with its (unprotected) units. */
export async function createPolicy(trx: Trx, env: Env, tenantId: string, input: CreatePolicyInput, by: string): Promise<PolicyRow> {
  const active = await enabledPolicy(trx, tenantId);
  if (active) {
    throw errors.policyCreationNotAllowed(`An active Exchange protection policy already exists for the tenant ('${active.id}'); only one is allowed.`);
  }
  const users = await usersByIds(trx, tenantId, input.directoryObjectIds);
  const unknown = input.directoryObjectIds.find((id) => !users.has(id));
  if (unknown !== undefined) throw errors.invalidProtectionUnitId(`The directory object '${unknown}' is not a user with a mailbox in this tenant.`);
  const policy: PolicyRow = {
    tenant_id: tenantId,
    id: newId(),
    workload: 'exchange',
    display_name: input.displayName,
    status: 'inactive',
    is_enabled: 0,
    retention_settings: JSON.stringify(DEFAULT_RETENTION),
    created_by: by,
    created_at: env.now,
    last_modified_by: by,
    last_modified_at: env.now,
    due_at: null,
  };
  await trx.insertInto('protection_policies').values(policy).execute();
  for (const userId of input.directoryObjectIds) {
    const r = await attachMailbox(trx, env, policy, userId, MANUAL, by);
    if (!r.ok) throw errors.protectionUnitAlreadyExists(r.message);
  }
  return policy;
}

export type DeltaItem = { op: 'add'; directoryObjectId: string; contentId?: string } | { op: 'remove'; id: string; contentId?: string };

export type DeltaOutcome =
  | { ok: true; unit: UnitRow }
  | { ok: false; item: DeltaItem; code: string; message: string; responseCode: number };

/**
 * `PATCH exchangeProtectionPolicies/{id}`: new name and/or units added and removed. Per-item failures
 * come back as outcomes (200 with @Core.DataModificationException); a manual removal of a unit
 * that only a dynamic rule protects fails the whole request (400 ProtectionUnitActionNotAllowed).
 */
export async function patchPolicy(
  trx: Trx,
  env: Env,
  tenantId: string,
  id: string,
  input: { displayName?: string; delta?: DeltaItem[] },
  by: string,
): Promise<{ policy: PolicyRow; outcomes: DeltaOutcome[] }> {
  let policy = await policyById(trx, tenantId, id);
  const outcomes: DeltaOutcome[] = [];
  const delta = input.delta ?? [];
  const removals = delta.filter((d): d is Extract<DeltaItem, { op: 'remove' }> => d.op === 'remove');
  const removable = new Map<string, UnitRow>();
  if (removals.length) {
    const rows = await trx
      .selectFrom('protection_units')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('policy_id', '=', id)
      .where('id', 'in', removals.map((r) => r.id))
      .execute();
    for (const u of rows) removable.set(u.id, u);
    const ruleOnly = rows.find((u) => (u.protection_sources & MANUAL) === 0 && (u.protection_sources & DYNAMIC_RULE) !== 0);
    if (ruleOnly) {
      throw errors.protectionUnitActionNotAllowed(`The protection unit '${ruleOnly.id}' is protected through a dynamic rule and cannot be removed manually.`);
    }
  }
  const adds = delta.filter((d): d is Extract<DeltaItem, { op: 'add' }> => d.op === 'add');
  const users = await usersByIds(trx, tenantId, adds.map((a) => a.directoryObjectId));
  for (const item of delta) {
    if (item.op === 'add') {
      if (!users.has(item.directoryObjectId)) {
        outcomes.push({ ok: false, item, code: 'InvalidProtectionUnitId', message: `The directory object '${item.directoryObjectId}' is not a user with a mailbox in this tenant.`, responseCode: 400 });
        continue;
      }
      const r = await attachMailbox(trx, env, policy, item.directoryObjectId, MANUAL, by);
      if (r.ok) outcomes.push({ ok: true, unit: r.unit });
      else outcomes.push({ ok: false, item, code: r.code, message: r.message, responseCode: 409 });
    } else {
      const unit = removable.get(item.id);
      if (!unit || !canMove(unit, 'remove')) {
        outcomes.push({ ok: false, item, code: 'ProtectionUnitNotFound', message: 'The identifier to be removed from the Protection Policy does not exist', responseCode: 409 });
        continue;
      }
      outcomes.push({ ok: true, unit: await dropSource(trx, env, unit, MANUAL, by) });
    }
  }
  const set: Partial<PolicyRow> = { last_modified_by: by, last_modified_at: env.now };
  if (input.displayName !== undefined) set.display_name = input.displayName;
  await trx.updateTable('protection_policies').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  policy = await refreshPolicy(trx, env, { ...policy, ...set });
  return { policy, outcomes };
}

/**
 * Policy-state refusals keep the API pages' message text (spec §11 #1). The code is configurable:
 * the error table's 403 PolicyActionNotAllowed by default, or the API examples' 400 invalidStateForActivation.
 */
function refuse(env: Env, policy: PolicyRow, action: 'activation' | 'deactivation'): never {
  const must = action === 'activation' ? 'Policy must be Inactive or ActiveWithErrors state.' : 'Policy must be in Active or ActiveWithErrors state.';
  const state = policy.status === 'active' && action === 'activation' ? 'already active' : policy.status;
  const message = `Policy in ${state} state, which is invalid for ${action}. ${must}`;
  throw env.core.config.policyStateErrors === 'examples' ? errors.invalidStateForActivation(message) : errors.policyActionNotAllowed(message);
}

async function movePolicy(trx: Trx, policy: PolicyRow, event: PolicyEvent, set: Partial<PolicyRow>): Promise<PolicyRow> {
  const next = transition(POLICY, policy.status, event);
  if (!next || next === 'deleted') throw new Error(`policy ${policy.id}: ${event} not allowed in ${policy.status}`);
  const changes = { status: next, ...set };
  await trx.updateTable('protection_policies').set(changes).where('tenant_id', '=', policy.tenant_id).where('id', '=', policy.id).execute();
  return { ...policy, ...changes };
}

async function attachedUnits(trx: Trx, policy: PolicyRow): Promise<UnitRow[]> {
  return trx.selectFrom('protection_units').selectAll().where('tenant_id', '=', policy.tenant_id).where('policy_id', '=', policy.id).execute();
}

/** `activate` (202): updating until every unit is protected (or failed). */
export async function activatePolicy(trx: Trx, env: Env, tenantId: string, id: string, by: string): Promise<PolicyRow> {
  const policy = await policyById(trx, tenantId, id);
  if (!transition(POLICY, policy.status, 'activate')) refuse(env, policy, 'activation');
  const other = await enabledPolicy(trx, tenantId, id);
  if (other) {
    throw errors.policyActionNotAllowed(`Another Exchange protection policy ('${other.id}') is active; only one active policy per workload is allowed.`);
  }
  for (const u of await attachedUnits(trx, policy)) {
    if (u.status === 'unprotected' || u.status === 'unprotectRequested') await moveUnit(trx, env, u, 'protect', { set: { error: null } });
  }
  return movePolicy(trx, policy, 'activate', {
    is_enabled: 1,
    due_at: dueAfter(env.core.config.timing, 'policyActivation', env.now),
    last_modified_by: by,
    last_modified_at: env.now,
  });
}

/** `deactivate` (202): updating until every unit is unprotected. */
export async function deactivatePolicy(trx: Trx, env: Env, tenantId: string, id: string, by: string): Promise<PolicyRow> {
  const policy = await policyById(trx, tenantId, id);
  if (!transition(POLICY, policy.status, 'deactivate')) refuse(env, policy, 'deactivation');
  for (const u of await attachedUnits(trx, policy)) {
    if (u.status === 'protected' || u.status === 'protectRequested') await moveUnit(trx, env, u, 'unprotect');
  }
  return movePolicy(trx, policy, 'deactivate', {
    is_enabled: 0,
    due_at: dueAfter(env.core.config.timing, 'policyDeactivation', env.now),
    last_modified_by: by,
    last_modified_at: env.now,
  });
}

/** `DELETE protectionPolicies/{id}`: only inactive policies; their units stay, detached, with their history. */
export async function deletePolicy(trx: Trx, tenantId: string, id: string): Promise<void> {
  const policy = await policyById(trx, tenantId, id);
  if (transition(POLICY, policy.status, 'delete') !== 'deleted' || policy.is_enabled === 1) {
    throw errors.policyActionNotAllowed(`Policy in ${policy.status} state, which is invalid for deletion. Policy must be in Inactive state.`);
  }
  await trx
    .updateTable('protection_units')
    .set({ policy_id: null, protection_sources: 0, due_at: null })
    .where('tenant_id', '=', tenantId)
    .where('policy_id', '=', id)
    .execute();
  await trx.deleteFrom('protection_rules').where('tenant_id', '=', tenantId).where('policy_id', '=', id).execute();
  await trx.deleteFrom('protection_bulk_jobs').where('tenant_id', '=', tenantId).where('policy_id', '=', id).execute();
  await trx.deleteFrom('protection_policies').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

/**
 * Brings the policy's status in line with its units: updating while any unit (or the policy's own
 * transition) is in flight; then active / activeWithErrors when enabled, inactive otherwise.
 */
export async function refreshPolicy(trx: Trx, env: Env, policy: PolicyRow): Promise<PolicyRow> {
  const units = await trx.selectFrom('protection_units').select(['status']).where('tenant_id', '=', policy.tenant_id).where('policy_id', '=', policy.id).execute();
  const pending = policy.due_at !== null && policy.due_at > env.now;
  const inFlight = pending || units.some((u) => UNIT_IN_FLIGHT.has(u.status));
  const event: PolicyEvent = inFlight
    ? 'unitsChanged'
    : policy.is_enabled === 1
      ? units.every((u) => u.status === 'protected')
        ? 'settledActive'
        : 'settledWithErrors'
      : 'settledInactive';
  const next = transition(POLICY, policy.status, event);
  const set: Partial<PolicyRow> = {};
  if (next && next !== 'deleted' && next !== policy.status) set.status = next;
  if (!pending && policy.due_at !== null) set.due_at = null;
  if (Object.keys(set).length === 0) return policy;
  await trx.updateTable('protection_policies').set(set).where('tenant_id', '=', policy.tenant_id).where('id', '=', policy.id).execute();
  return { ...policy, ...set };
}

/** Policies whose own transition time has come, and those whose units just settled. */
export async function refreshPolicies(trx: Trx, env: Env, touched: Array<[string, string]>): Promise<void> {
  const due = await trx.selectFrom('protection_policies').select(['tenant_id', 'id']).where('due_at', '<=', env.now).execute();
  const keys = new Map<string, [string, string]>();
  for (const [t, p] of [...touched, ...due.map((d) => [d.tenant_id, d.id] as [string, string])]) keys.set(`${t}/${p}`, [t, p]);
  for (const [tenantId, id] of keys.values()) {
    const policy = await trx.selectFrom('protection_policies').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (policy) await refreshPolicy(trx, env, policy);
  }
}
