/**
 * Rows of the control plane as Graph objects (spec §4-§5). Handlers pass these to sendEntity /
 * sendCollection, which apply the evolvable-enum and $select rules.
 */
import type { Selectable } from 'kysely';
import type {
  ProtectionBulkJobTable,
  ProtectionPolicyTable,
  ProtectionRuleTable,
  ProtectionUnitTable,
  ServiceAppTable,
  TenantTable,
} from '../../store/schema.js';
import type { Principal } from '../../identity/tokens.js';
import { RESTORE_LOCK_AFTER_MS } from './timing.js';

export type ServiceAppRow = Selectable<ServiceAppTable>;
export type PolicyRow = Selectable<ProtectionPolicyTable>;
export type UnitRow = Selectable<ProtectionUnitTable>;
export type RuleRow = Selectable<ProtectionRuleTable>;
export type BulkJobRow = Selectable<ProtectionBulkJobTable>;

export type Wire = Record<string, unknown>;

/** Who did something, as an identitySet (§11 #13: `id` + `displayName`). */
export function identitySetOf(p: Principal): Wire {
  const set: Wire = { application: { id: p.appId, displayName: p.appDisplayName } };
  if (p.kind === 'delegated' && p.userId) set.user = { id: p.userId, displayName: p.userName };
  return set;
}

/** The retention every Exchange policy gets (all documented examples). */
export const DEFAULT_RETENTION = [
  { interval: 'R/PT10M', period: 'P2W' },
  { interval: 'R/P1W', period: 'P1Y' },
];

/** "Never" for offboardRequestedDateTime: .NET's minimum date, not null (spec §2.1). */
export function neverDate(version: 'v1.0' | 'beta'): string {
  return version === 'beta' ? '0001-01-01T00:00:00Z' : '0001-01-01T00:00:00.0000000Z';
}

const json = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function serviceStatusWire(t: Selectable<TenantTable>): Wire {
  const locked = t.locked_at ? new Date(t.locked_at).getTime() : undefined;
  const lockEnds = locked !== undefined ? new Date(locked + RESTORE_LOCK_AFTER_MS).toISOString() : null;
  return {
    status: t.service_status,
    disableReason: t.disable_reason,
    backupServiceConsumer: t.backup_service_consumer,
    gracePeriodDateTime: lockEnds,
    restoreAllowedTillDateTime: lockEnds,
    lastModifiedDateTime: t.status_modified_at,
    lastModifiedBy: json(t.status_modified_by),
  };
}

export function serviceAppWire(r: ServiceAppRow): Wire {
  return {
    '@odata.type': '#microsoft.graph.serviceApp',
    id: r.id,
    application: json(r.application),
    status: r.status,
    registrationDateTime: r.registration_at,
    effectiveDateTime: r.effective_at,
    lastModifiedBy: json(r.last_modified_by),
    lastModifiedDateTime: r.last_modified_at,
  };
}

/** `typed`: the @odata.type annotation is written (polymorphic sets). */
export function policyWire(r: PolicyRow, typed: boolean): Wire {
  return {
    ...(typed ? { '@odata.type': '#microsoft.graph.exchangeProtectionPolicy' } : {}),
    id: r.id,
    displayName: r.display_name,
    isEnabled: r.is_enabled === 1,
    status: r.status,
    createdBy: json(r.created_by),
    createdDateTime: r.created_at,
    lastModifiedBy: json(r.last_modified_by),
    lastModifiedDateTime: r.last_modified_at,
    retentionSettings: json(r.retention_settings),
  };
}

export interface UnitView {
  version: 'v1.0' | 'beta';
  /** displayName and email are only given to delegated callers (A:list-mailboxprotectionunits). */
  delegated: boolean;
  user?: { displayName: string; email: string } | undefined;
}

export function protectionSourcesText(flags: number): string {
  const parts: string[] = [];
  if (flags & 1) parts.push('manual');
  if (flags & 2) parts.push('dynamicRule');
  return parts.length ? parts.join(',') : 'none';
}

export function unitWire(r: UnitRow, v: UnitView): Wire {
  const out: Wire = {
    '@odata.type': '#microsoft.graph.mailboxProtectionUnit',
    id: r.id,
    policyId: r.policy_id,
    directoryObjectId: r.directory_object_id,
    displayName: v.delegated ? v.user?.displayName ?? null : null,
    email: v.delegated ? v.user?.email ?? null : null,
    status: r.status,
    protectionSources: protectionSourcesText(r.protection_sources),
    createdBy: json(r.created_by),
    createdDateTime: r.created_at,
    lastModifiedBy: json(r.last_modified_by),
    lastModifiedDateTime: r.last_modified_at,
    error: json(r.error),
    offboardRequestedDateTime: r.offboard_requested_at ?? neverDate(v.version),
  };
  return out;
}

export function ruleWire(r: RuleRow): Wire {
  return {
    '@odata.type': '#microsoft.graph.mailboxProtectionRule',
    id: r.id,
    status: r.status,
    isAutoApplyEnabled: r.is_auto_apply_enabled === 1,
    mailboxExpression: r.expression,
    error: json(r.error),
    createdBy: json(r.created_by),
    createdDateTime: r.created_at,
    lastModifiedBy: json(r.last_modified_by),
    lastModifiedDateTime: r.last_modified_at,
  };
}

/** `full`: with the id lists (GET by id and create); lists leave them out (A:list-bulkadditionjobs). */
export function bulkJobWire(r: BulkJobRow, full: boolean): Wire {
  return {
    '@odata.type': '#microsoft.graph.mailboxProtectionUnitsBulkAdditionJob',
    id: r.id,
    displayName: r.display_name,
    status: r.status,
    error: json(r.error),
    createdBy: json(r.created_by),
    createdDateTime: r.created_at,
    lastModifiedBy: json(r.last_modified_by),
    lastModifiedDateTime: r.last_modified_at,
    ...(full ? { directoryObjectIds: json(r.directory_object_ids), mailboxes: json(r.mailboxes) } : {}),
  };
}
