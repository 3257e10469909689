/**
 * The status machines of the protection control plane (spec §8.1-§8.5), one transition table each
 * (src/stateMachine.ts: a missing entry refuses the event; `deleted` means the entity goes away).
 */
import type { BulkJobStatus, PolicyStatus, RuleStatus, ServiceAppStatus, ServiceStatus, UnitStatus } from '../../graph/statuses.js';

export type { BulkJobStatus, PolicyStatus, RuleStatus, ServiceAppStatus, ServiceStatus, UnitStatus };

import type { Machine } from '../../stateMachine.js';

export { transition, type Machine } from '../../stateMachine.js';

/** Tenant service status (spec §8.1). `controllerLost`: no active service app remains. */
export type ServiceStatusEvent = 'enableWithController' | 'enableWithoutController' | 'controllerLost' | 'lockExpired';
export const SERVICE_STATUS: Machine<ServiceStatus, ServiceStatusEvent> = {
  disabled: { enableWithController: 'enabled', enableWithoutController: 'protectionChangeLocked' },
  enabled: { enableWithController: 'enabled', enableWithoutController: 'protectionChangeLocked', controllerLost: 'protectionChangeLocked' },
  protectionChangeLocked: { enableWithController: 'enabled', enableWithoutController: 'protectionChangeLocked', lockExpired: 'restoreLocked' },
  restoreLocked: { enableWithController: 'enabled', enableWithoutController: 'restoreLocked' },
};

/**
 * serviceApp (R:serviceapp; §11 #18). `activate` names an effective time still to come
 * (`pendingActive`: "activation requested, not effective yet"); `activateEffective` one at or before
 * now, so the activation is effective in its own answer. `takeEffect` fires at the effective time.
 */
export type ServiceAppEvent = 'activate' | 'activateEffective' | 'deactivate' | 'takeEffect';
export const SERVICE_APP: Machine<ServiceAppStatus, ServiceAppEvent> = {
  inactive: { activate: 'pendingActive', activateEffective: 'active' },
  // Deactivating an app that never took control needs no hand-over: it is inactive at once.
  pendingActive: { activate: 'pendingActive', activateEffective: 'active', deactivate: 'inactive', takeEffect: 'active' },
  active: { deactivate: 'pendingInactive' },
  pendingInactive: { takeEffect: 'inactive' },
};

/**
 * protectionPolicyBase (spec §8.2). `unitsChanged`: units were added or removed; the `settled*`
 * events fire when no unit is in flight any more and tell which aggregate the units reached.
 */
export type PolicyEvent = 'activate' | 'deactivate' | 'delete' | 'unitsChanged' | 'settledActive' | 'settledWithErrors' | 'settledInactive';
export const POLICY: Machine<PolicyStatus, PolicyEvent> = {
  inactive: { activate: 'updating', delete: 'deleted', unitsChanged: 'updating' },
  updating: { unitsChanged: 'updating', settledActive: 'active', settledWithErrors: 'activeWithErrors', settledInactive: 'inactive' },
  active: { deactivate: 'updating', unitsChanged: 'updating' },
  activeWithErrors: { activate: 'updating', deactivate: 'updating', unitsChanged: 'updating' },
};

/**
 * protectionUnitBase (spec §8.3). `protect`/`unprotect` follow the policy; `remove` detaches the
 * unit from its policy; `attach` puts a detached unit into a policy again (inactive policy: it
 * stays unprotected; enabled policy: `attachToEnabled`).
 */
export type UnitEvent =
  | 'protect'
  | 'unprotect'
  | 'remove'
  | 'attach'
  | 'attachToEnabled'
  | 'protectSucceeded'
  | 'protectFailed'
  | 'unprotectDone'
  | 'removeDone'
  | 'offboard'
  | 'offboardDone'
  | 'cancelOffboard'
  | 'cancelOffboardDone';
export const UNIT: Machine<UnitStatus, UnitEvent> = {
  protectRequested: { unprotect: 'unprotectRequested', remove: 'removeRequested', protectSucceeded: 'protected', protectFailed: 'unprotected' },
  protected: { unprotect: 'unprotectRequested', remove: 'removeRequested' },
  unprotectRequested: { protect: 'protectRequested', remove: 'removeRequested', unprotectDone: 'unprotected' },
  unprotected: { protect: 'protectRequested', remove: 'removeRequested', attach: 'unprotected', attachToEnabled: 'protectRequested', offboard: 'offboardRequested' },
  removeRequested: { removeDone: 'unprotected' },
  offboardRequested: { offboardDone: 'offboarded', cancelOffboard: 'cancelOffboardRequested', attach: 'unprotected', attachToEnabled: 'protectRequested' },
  offboarded: { attach: 'unprotected', attachToEnabled: 'protectRequested' },
  cancelOffboardRequested: { cancelOffboardDone: 'unprotected', attach: 'unprotected', attachToEnabled: 'protectRequested' },
};

/** Units in these states are in flight: their policy is `updating` until they settle. */
export const UNIT_IN_FLIGHT: ReadonlySet<UnitStatus> = new Set(['protectRequested', 'unprotectRequested', 'removeRequested']);

/**
 * protectionRuleBase (spec §8.4). Static rules `run`; dynamic rules are `update`d,
 * `deleteAndUnprotect`ed and `refresh`ed periodically. Which kind may do what is checked by the caller.
 */
export type RuleEvent = 'evaluated' | 'evaluatedWithErrors' | 'run' | 'update' | 'delete' | 'deleteAndUnprotect' | 'unprotectDone';
export const RULE: Machine<RuleStatus, RuleEvent> = {
  active: { evaluated: 'completed', evaluatedWithErrors: 'completedWithErrors' },
  completed: { run: 'active', update: 'updateRequested', delete: 'deleted', deleteAndUnprotect: 'deleteRequested', evaluated: 'completed', evaluatedWithErrors: 'completedWithErrors' },
  completedWithErrors: {
    run: 'active',
    update: 'updateRequested',
    delete: 'deleted',
    deleteAndUnprotect: 'deleteRequested',
    evaluated: 'completed',
    evaluatedWithErrors: 'completedWithErrors',
  },
  updateRequested: { evaluated: 'completed', evaluatedWithErrors: 'completedWithErrors' },
  deleteRequested: { unprotectDone: 'deleted' },
};

/** protectionUnitsBulkJobBase (spec §8.5). */
export type BulkJobEvent = 'resolved' | 'resolvedWithErrors';
export const BULK_JOB: Machine<BulkJobStatus, BulkJobEvent> = {
  active: { resolved: 'completed', resolvedWithErrors: 'completedWithErrors' },
  completed: {},
  completedWithErrors: {},
};
