/**
 * Mailbox protection units: one row per mailbox and tenant, attached to at most one policy at a
 * time (a mailbox removed and added again keeps its unit, and so its restore points). Every status
 * change goes through `moveUnit`, which applies the UNIT table and reports the mailbox entering or
 * leaving protection.
 */
import type { Trx } from '../../store/store.js';
import type { Executor } from './directory.js';
import { UNIT, UNIT_IN_FLIGHT, transition, type UnitEvent } from './machines.js';
import { dueAfter, type Delay } from './timing.js';
import { newId, type Env } from './env.js';
import type { PolicyRow, UnitRow } from './wire.js';
import { publicError } from '../../errors.js';
import { usersByIds } from './directory.js';

export const MANUAL = 1;
export const DYNAMIC_RULE = 2;

/** Delay of the transition an event starts, if it starts one. */
const EVENT_DELAY: Partial<Record<UnitEvent, Delay>> = {
  protect: 'policyActivation',
  attachToEnabled: 'unitAddition',
  unprotect: 'policyDeactivation',
  remove: 'unitRemoval',
  offboard: 'offboarding',
  cancelOffboard: 'cancelOffboarding',
};

export async function unitById(db: Executor, tenantId: string, id: string): Promise<UnitRow | undefined> {
  return db.selectFrom('protection_units').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export async function unitForMailbox(db: Executor, tenantId: string, mailboxId: string): Promise<UnitRow | undefined> {
  return db
    .selectFrom('protection_units')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('mailbox_id', '=', mailboxId)
    .orderBy('created_at')
    .executeTakeFirst();
}

export interface MoveOptions {
  /** Identity JSON of the caller; system transitions leave lastModifiedBy alone. */
  by?: string | null;
  /** Extra column changes. */
  set?: Partial<Omit<UnitRow, 'tenant_id' | 'id' | 'status'>>;
}

/**
 * Applies `event` to the unit (throws when the table refuses: callers check `canMove` first where a
 * refusal is a client error). Emits protectionChanged when the mailbox starts or stops being captured.
 */
export async function moveUnit(trx: Trx, env: Env, unit: UnitRow, event: UnitEvent, o: MoveOptions = {}): Promise<UnitRow> {
  const next = transition(UNIT, unit.status, event);
  if (!next || next === 'deleted') throw new Error(`unit ${unit.id}: ${event} is not allowed in ${unit.status}`);
  const delay = EVENT_DELAY[event];
  const wasCapturing = unit.protected_since !== null;
  const capturing = next === 'protected' || (wasCapturing && UNIT_IN_FLIGHT.has(next));
  const changes: Partial<UnitRow> = {
    status: next,
    due_at: delay ? dueAfter(env.core.config.timing, delay, env.now) : null,
    ...o.set,
  };
  if (!wasCapturing && capturing) changes.protected_since = env.now;
  if (wasCapturing && !capturing) changes.protected_since = null;
  if (o.by) {
    changes.last_modified_by = o.by;
    changes.last_modified_at = env.now;
  }
  await trx.updateTable('protection_units').set(changes).where('tenant_id', '=', unit.tenant_id).where('id', '=', unit.id).execute();
  if (wasCapturing !== capturing) {
    env.changes.push({ tenantId: unit.tenant_id, unitId: unit.id, mailboxId: unit.mailbox_id, protected: capturing, at: env.now });
  }
  return { ...unit, ...changes } as UnitRow;
}

export function canMove(unit: UnitRow, event: UnitEvent): boolean {
  return transition(UNIT, unit.status, event) !== undefined;
}

export type AttachResult =
  | { ok: true; unit: UnitRow; changed: boolean }
  | { ok: false; code: 'ProtectionUnitAlreadyExists'; message: string; samePolicy: boolean };

export const alreadyProtectedMessage = (directoryObjectId: string, policyId: string) =>
  `Artifact ${directoryObjectId} is not eligible for protection because it is already protected under policy ${policyId}.`;

/**
 * Puts the user's mailbox into the policy with the given protection source: a new unit, a detached
 * unit attached again, or one more source on a unit the policy already has.
 */
export async function attachMailbox(trx: Trx, env: Env, policy: PolicyRow, userId: string, source: number, by: string): Promise<AttachResult> {
  const existing = await unitForMailbox(trx, policy.tenant_id, userId);
  if (existing?.policy_id && existing.policy_id !== policy.id) {
    return { ok: false, code: 'ProtectionUnitAlreadyExists', message: alreadyProtectedMessage(userId, existing.policy_id), samePolicy: false };
  }
  const enabled = policy.is_enabled === 1;
  if (existing && existing.policy_id === policy.id) {
    if ((existing.protection_sources & source) !== 0 || existing.status === 'removeRequested') {
      return { ok: false, code: 'ProtectionUnitAlreadyExists', message: alreadyProtectedMessage(userId, policy.id), samePolicy: true };
    }
    const sources = existing.protection_sources | source;
    await trx
      .updateTable('protection_units')
      .set({ protection_sources: sources, last_modified_by: by, last_modified_at: env.now })
      .where('tenant_id', '=', existing.tenant_id)
      .where('id', '=', existing.id)
      .execute();
    return { ok: true, unit: { ...existing, protection_sources: sources, last_modified_by: by, last_modified_at: env.now }, changed: false };
  }
  if (existing) {
    const unit = await moveUnit(trx, env, existing, enabled ? 'attachToEnabled' : 'attach', {
      by,
      set: { policy_id: policy.id, protection_sources: source, offboard_requested_at: null, error: null },
    });
    return { ok: true, unit, changed: true };
  }
  const unit: UnitRow = {
    tenant_id: policy.tenant_id,
    id: newId(),
    kind: 'mailbox',
    policy_id: policy.id,
    directory_object_id: userId,
    mailbox_id: userId,
    status: enabled ? 'protectRequested' : 'unprotected',
    protection_sources: source,
    error: null,
    offboard_requested_at: null,
    created_by: by,
    created_at: env.now,
    last_modified_by: by,
    last_modified_at: env.now,
    due_at: enabled ? dueAfter(env.core.config.timing, 'unitAddition', env.now) : null,
    protected_since: null,
  };
  await trx.insertInto('protection_units').values(unit).execute();
  return { ok: true, unit, changed: true };
}

/**
 * Takes one protection source away from an attached unit; without sources left the unit is removed
 * from its policy (removeRequested, then detached).
 */
export async function dropSource(trx: Trx, env: Env, unit: UnitRow, source: number, by: string | null): Promise<UnitRow> {
  const sources = unit.protection_sources & ~source;
  if (sources !== 0) {
    const set: Partial<UnitRow> = { protection_sources: sources };
    if (by) Object.assign(set, { last_modified_by: by, last_modified_at: env.now });
    await trx.updateTable('protection_units').set(set).where('tenant_id', '=', unit.tenant_id).where('id', '=', unit.id).execute();
    return { ...unit, ...set };
  }
  if (unit.status === 'removeRequested') return unit;
  return moveUnit(trx, env, unit, 'remove', { by });
}

/**
 * Carries out every unit transition that is due: protection starts (or fails when the mailbox's
 * user is gone), protection stops, removals detach, offboarding completes. Returns the policies touched.
 */
export async function settleDueUnits(trx: Trx, env: Env, limit = 1000): Promise<{ count: number; policies: Array<[string, string]> }> {
  const due = await trx
    .selectFrom('protection_units')
    .selectAll()
    .where('due_at', '<=', env.now)
    .orderBy('due_at')
    .limit(limit)
    .execute();
  const policies = new Map<string, [string, string]>();
  const byTenant = new Map<string, string[]>();
  for (const u of due) if (u.status === 'protectRequested') byTenant.set(u.tenant_id, [...(byTenant.get(u.tenant_id) ?? []), u.mailbox_id]);
  const live = new Map<string, Set<string>>();
  for (const [tenantId, ids] of byTenant) live.set(tenantId, new Set((await usersByIds(trx, tenantId, ids)).keys()));
  for (const u of due) {
    if (u.policy_id) policies.set(`${u.tenant_id}/${u.policy_id}`, [u.tenant_id, u.policy_id]);
    switch (u.status) {
      case 'protectRequested':
        if (live.get(u.tenant_id)?.has(u.mailbox_id)) await moveUnit(trx, env, u, 'protectSucceeded', { set: { error: null } });
        else
          await moveUnit(trx, env, u, 'protectFailed', {
            set: { error: JSON.stringify(publicError('ProtectionUnitNotFound', `The mailbox of directory object ${u.directory_object_id} was not found.`)) },
          });
        break;
      case 'unprotectRequested':
        await moveUnit(trx, env, u, 'unprotectDone');
        break;
      case 'removeRequested':
        await moveUnit(trx, env, u, 'removeDone', { set: { policy_id: null, protection_sources: 0, error: null } });
        break;
      case 'offboardRequested':
        await moveUnit(trx, env, u, 'offboardDone');
        break;
      case 'cancelOffboardRequested':
        await moveUnit(trx, env, u, 'cancelOffboardDone', { set: { offboard_requested_at: null } });
        break;
      default:
        await trx.updateTable('protection_units').set({ due_at: null }).where('tenant_id', '=', u.tenant_id).where('id', '=', u.id).execute();
    }
  }
  return { count: due.length, policies: [...policies.values()] };
}
