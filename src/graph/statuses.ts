/**
 * The values the status columns hold: the members of the contract's status enums that Mailvault
 * stores (every member but `unknownFutureValue`, and `unknown` where nothing is ever stored as it).
 * The columns are typed with these unions, so a status that is not the contract's fails to compile;
 * test/unit/statuses.test.ts checks each list against the CSDL.
 */
export const SERVICE_STATUSES = ['disabled', 'enabled', 'protectionChangeLocked', 'restoreLocked'] as const;
export const SERVICE_APP_STATUSES = ['inactive', 'pendingActive', 'active', 'pendingInactive'] as const;
export const POLICY_STATUSES = ['inactive', 'updating', 'active', 'activeWithErrors'] as const;
export const UNIT_STATUSES = [
  'protectRequested',
  'protected',
  'unprotectRequested',
  'unprotected',
  'removeRequested',
  'offboardRequested',
  'offboarded',
  'cancelOffboardRequested',
] as const;
export const RULE_STATUSES = ['active', 'completed', 'completedWithErrors', 'updateRequested', 'deleteRequested'] as const;
export const BULK_JOB_STATUSES = ['active', 'completed', 'completedWithErrors'] as const;
export const SESSION_STATUSES = ['draft', 'activating', 'active', 'completedWithError', 'completed', 'failed'] as const;
export const ARTIFACT_STATUSES = ['added', 'scheduling', 'scheduled', 'inProgress', 'succeeded', 'failed'] as const;
export const BULK_REQUEST_STATUSES = ['active', 'completed', 'completedWithErrors'] as const;

export type ServiceStatus = (typeof SERVICE_STATUSES)[number];
export type ServiceAppStatus = (typeof SERVICE_APP_STATUSES)[number];
export type PolicyStatus = (typeof POLICY_STATUSES)[number];
export type UnitStatus = (typeof UNIT_STATUSES)[number];
export type RuleStatus = (typeof RULE_STATUSES)[number];
export type BulkJobStatus = (typeof BULK_JOB_STATUSES)[number];
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export type ArtifactStatus = (typeof ARTIFACT_STATUSES)[number];
export type BulkRequestStatus = (typeof BULK_REQUEST_STATUSES)[number];

/** Each list by the name of the CSDL enum it is taken from. */
export const STATUS_ENUMS: Record<string, readonly string[]> = {
  backupServiceStatus: SERVICE_STATUSES,
  serviceAppStatus: SERVICE_APP_STATUSES,
  protectionPolicyStatus: POLICY_STATUSES,
  protectionUnitStatus: UNIT_STATUSES,
  protectionRuleStatus: RULE_STATUSES,
  protectionUnitsBulkJobStatus: BULK_JOB_STATUSES,
  restoreSessionStatus: SESSION_STATUSES,
  artifactRestoreStatus: ARTIFACT_STATUSES,
  restoreArtifactsBulkRequestStatus: BULK_REQUEST_STATUSES,
};
