/**
 * One catalogue of every error the service answers with: the documented Backup Storage codes
 * (spec §9) and the generic Graph codes (spec §9.2), each with the status and code the contract
 * gives it. Every area throws `GraphError`s made here; http/ renders them as the Graph error
 * envelope (http/server.ts `sendError`), and nothing here knows HTTP beyond those numbers.
 */
export interface ErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { target?: string; details?: ErrorDetail[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }
}

const e = (status: number, code: string) => (message: string, extra?: GraphError['extra']) =>
  new GraphError(status, code, message, extra);

export const errors = {
  // Generic Graph
  badRequest: e(400, 'BadRequest'),
  invalidRequest: e(400, 'invalidRequest'),
  unauthenticated: e(401, 'InvalidAuthenticationToken'),
  /** A token of a tenant that does not exist (Graph's code and message). */
  tenantNotFound: e(401, 'OrganizationFromTenantGuidNotFound'),
  accessDenied: e(403, 'accessDenied'),
  itemNotFound: e(404, 'itemNotFound'),
  methodNotAllowed: e(405, 'methodNotAllowed'),
  /** A request whose body stopped arriving. */
  requestTimeout: e(408, 'RequestTimeout'),
  conflict: e(409, 'conflict'),
  syncStateNotFound: e(410, 'SyncStateNotFound'),
  payloadTooLarge: e(413, 'RequestEntityTooLarge'),
  unsupportedMediaType: e(415, 'UnsupportedMediaType'),
  /** The request line or headers are larger than the server reads (Node's limit, 16 KB). */
  headersTooLarge: e(431, 'RequestHeaderFieldsTooLarge'),
  notImplemented: e(501, 'notImplemented'),
  generalException: e(500, 'generalException'),
  serviceNotAvailable: e(503, 'serviceNotAvailable'),

  // Service status (spec §8.1; codes for locked/disabled states are our documented choice)
  serviceNotEnabled: e(403, 'ServiceNotEnabled'),
  protectionChangeLocked: e(403, 'ProtectionChangeLocked'),
  restoreLocked: e(403, 'RestoreLocked'),
  serviceAppNotActive: e(403, 'ServiceAppNotActive'),
  invalidAppOwnerTenantId: e(400, 'InvalidAppOwnerTenantId'),
  /** Service app activate/deactivate in a state that does not allow it (undocumented; our choice). */
  serviceAppActionNotAllowed: e(403, 'ServiceAppActionNotAllowed'),
  /** GET root, enable, create / delete a service app through the Graph PowerShell client (spec §9.1). */
  forbidden: e(403, 'Forbidden'),

  // Protection policies
  invalidCreateRequest: e(400, 'InvalidCreateRequest'),
  invalidDisplayName: e(400, 'InvalidDisplayName'),
  invalidProtectionUnitId: e(400, 'InvalidProtectionUnitId'),
  protectionUnitsLimitBreached: e(413, 'ProtectionUnitsLimitBreached'),
  policyCreationNotAllowed: e(409, 'PolicyCreationNotAllowed'),
  protectionUnitAlreadyExists: e(409, 'ProtectionUnitAlreadyExists'),
  invalidPolicyId: e(400, 'InvalidPolicyId'),
  policyNotFound: e(404, 'PolicyNotFound'),
  duplicateProtectionUnitInList: e(400, 'DuplicateProtectionUnitInList'),
  protectionUnitActionNotAllowed: e(400, 'ProtectionUnitActionNotAllowed'),
  policyActionNotAllowed: e(403, 'PolicyActionNotAllowed'),
  /** The API pages' code for the same refusal (spec §11 #1), with --policy-state-errors examples. */
  invalidStateForActivation: e(400, 'invalidStateForActivation'),
  protectionUnitNotFound: e(404, 'ProtectionUnitNotFound'),
  filterLengthExceeded: e(400, 'FilterLengthExceeded'),
  operationNotAllowed: e(403, 'OperationNotAllowed'),

  // Inclusion rules
  invalidInclusionRuleCreateRequest: e(400, 'InvalidInclusionRuleCreateRequest'),
  invalidRuleExpression: e(400, 'InvalidRuleExpression'),
  invalidRuleExpressionGroupLimitExceeded: e(413, 'InvalidRuleExpressionGroupLimitExceeded'),
  invalidProtectionRulePatchRequest: e(400, 'InvalidProtectionRulePatchRequest'),
  invalidProtectionRuleStatusForUpdation: e(400, 'InvalidProtectionRuleStatusForUpdation'),
  patchNotAllowedForStaticRule: e(400, 'PatchNotAllowedForStaticRule'),
  protectionRuleNotFound: e(404, 'ProtectionRuleNotFound'),
  invalidProtectionRuleStatusForDynamicRuleEdit: e(422, 'InvalidProtectionRuleStatusForDynamicRuleEdit'),
  invalidInclusionRuleId: e(400, 'InvalidInclusionRuleId'),
  invalidProtectionRuleStatusForDynamicRuleDeleteAndUnprotectAll: e(422, 'InvalidProtectionRuleStatusForDynamicRuleDeleteAndUnprotectAll'),
  protectionRuleActionNotAllowed: e(400, 'ProtectionRuleActionNotAllowed'),
  runNotAllowedForDynamicRule: e(400, 'RunNotAllowedForDynamicRule'),
  invalidProtectionRuleStatusForDeletion: e(400, 'InvalidProtectionRuleStatusForDeletion'),
  invalidProtectionRuleStatusForDynamicRuleDeletion: e(422, 'InvalidProtectionRuleStatusForDynamicRuleDeletion'),

  // Restore points and search
  invalidSearchRequest: e(400, 'InvalidSearchRequest'),
  restorePointNotFound: e(404, 'itemNotFound'),

  // Restore sessions
  invalidPathType: e(400, 'InvalidPathType'),
  invalidArtifactRequest: e(400, 'InvalidArtifactRequest'),
  invalidRestorePoint: e(400, 'InvalidRestorePoint'),
  differentRestoreDestinationType: e(400, 'DifferentRestoreDestinationType'),
  restoreArtifactsLimitBreached: e(413, 'RestoreArtifactsLimitBreached'),
  restoreArtifactsLimitBreachedPatch: e(400, 'RestoreArtifactsLimitBreached'),
  duplicateArtifactInList: e(400, 'DuplicateArtifactInList'),
  invalidRestoreSessionId: e(400, 'InvalidRestoreSessionId'),
  restoreSessionNotFound: e(404, 'RestoreSessionNotFound'),
  invalidPatchRequest: e(400, 'InvalidPatchRequest'),
  restoreSessionActionNotAllowed: e(403, 'RestoreSessionActionNotAllowed'),
  tooManyActiveRestoreSessions: e(500, 'TooManyActiveRestoreSessions'),
  invalidBulkRestoreArtifactId: e(400, 'InvalidBulkRestoreArtifactId'),
  bulkRestoreInvalidCreateRequest: e(400, 'BulkRestoreInvalidCreateRequest'),
  bulkRestoreInvalidCreateRequestUserEmail: e(400, 'BulkRestoreInvalidCreateRequestUserEmail'),
  bulkRestoreRestorationResourcesCountExceedsLimit: e(400, 'BulkRestoreRestorationResourcesCountExceedsLimit'),
  bulkRestoreArtifactsNotFound: e(404, 'BulkRestoreArtifactsNotFound'),
  invalidStateForBulkRequestDeletion: e(403, 'InvalidStateForBulkRequestDeletion'),

  // Directory and mail (Microsoft Graph's directory and Exchange codes)
  requestResourceNotFound: e(404, 'Request_ResourceNotFound'),
  requestBadRequest: e(400, 'Request_BadRequest'),
  errorInvalidUser: e(404, 'ErrorInvalidUser'),
  errorItemNotFound: e(404, 'ErrorItemNotFound'),
  errorInvalidIdMalformed: e(400, 'ErrorInvalidIdMalformed'),
  errorAccessDenied: e(403, 'ErrorAccessDenied'),
  errorFolderExists: e(409, 'ErrorFolderExists'),
  errorIrresolvableConflict: e(409, 'ErrorIrresolvableConflict'),
  errorDeleteDistinguishedFolder: e(400, 'ErrorDeleteDistinguishedFolder'),
  errorInvalidPropertyUpdateSentMessage: e(400, 'ErrorInvalidPropertyUpdateSentMessage'),
  errorMimeContentInvalidBase64String: e(400, 'ErrorMimeContentInvalidBase64String'),
  errorMimeContentInvalid: e(400, 'ErrorMimeContentInvalid'),
  errorInvalidRequest: e(400, 'ErrorInvalidRequest'),
};

/** A publicError value for an entity's `error` property (not an HTTP failure). */
export function publicError(code: string, message: string, details: ErrorDetail[] = [], target?: string) {
  return { code, message, target: target ?? null, details, innerError: null };
}

