/** Rows of restore_sessions / restore_artifacts / restore_bulk_requests as Graph entities. */
import type { Selectable } from 'kysely';
import type { RestoreArtifactTable, RestoreBulkRequestTable, RestoreSessionTable } from '../../store/schema.js';
import type { Principal } from '../../identity/tokens.js';
import { flagsToString } from '../../graph/shape.js';

export type SessionRow = Selectable<RestoreSessionTable>;
export type ArtifactRow = Selectable<RestoreArtifactTable>;
export type BulkRequestRow = Selectable<RestoreBulkRequestTable>;

export const EXCHANGE_SESSION_TYPE = '#microsoft.graph.exchangeRestoreSession';

/** The caller as an identitySet: the application always, the user for delegated tokens. */
function identitySetOf(p: Principal): Record<string, unknown> {
  const set: Record<string, unknown> = { application: { id: p.appId, displayName: p.appDisplayName } };
  if (p.kind === 'delegated') set.user = { id: p.userId, displayName: p.userName };
  return set;
}

/** The caller's identitySet as stored; principals are kept by the token verifier, so it is built once per principal. */
const storedIdentities = new WeakMap<Principal, string>();
export function storedIdentityOf(p: Principal): string {
  let text = storedIdentities.get(p);
  if (text === undefined) storedIdentities.set(p, (text = JSON.stringify(identitySetOf(p))));
  return text;
}

/** Stored identitySets repeat (one per caller): each text is parsed once, and the frozen value shared. */
const parsedIdentities = new Map<string, unknown>();
function identity(text: string): unknown {
  let value = parsedIdentities.get(text);
  if (value === undefined) {
    if (parsedIdentities.size >= 1000) parsedIdentities.clear();
    value = deepFreeze(JSON.parse(text));
    parsedIdentities.set(text, value);
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const json = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

export function sessionWire(row: SessionRow, o: { withType?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.withType) out['@odata.type'] = EXCHANGE_SESSION_TYPE;
  out.id = row.id;
  out.status = row.status;
  out.restoreJobType = row.restore_job_type;
  out.restoreSessionArtifactCount = {
    total: row.artifact_total,
    completed: row.artifact_completed,
    inProgress: row.artifact_in_progress,
    failed: row.artifact_failed,
  };
  out.createdBy = identity(row.created_by);
  out.createdDateTime = row.created_at;
  out.lastModifiedBy = identity(row.last_modified_by);
  out.lastModifiedDateTime = row.last_modified_at;
  out.completedDateTime = row.completed_at;
  out.error = json(row.error);
  return out;
}

/** An artifact with its restore point inlined (the point's wire form, or just its id once it is gone). */
export function artifactWire(row: ArtifactRow, restorePoint: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: row.id,
    destinationType: row.destination_type,
    status: row.status,
    startDateTime: row.start_at,
    completionDateTime: row.completion_at,
    restoredFolderId: row.restored_folder_id,
    restoredFolderName: row.restored_folder_name,
    restoredItemCount: row.restored_item_count,
    error: json(row.error),
    restorePoint: restorePoint ?? { id: row.restore_point_id },
  };
  if (row.kind === 'granular') {
    out.artifactCount = null;
    out.searchResponseId = row.search_response_id;
  }
  return out;
}

/** An artifact as echoed in a PATCH `@delta` answer. */
export function artifactDeltaWire(row: ArtifactRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: row.id,
    restorePoint: { id: row.restore_point_id },
    destinationType: row.destination_type,
    status: row.status,
  };
  if (row.kind === 'granular') out.searchResponseId = row.search_response_id;
  return out;
}

export function bulkRequestWire(row: BulkRequestRow, version: 'v1.0' | 'beta', o: { withLists: boolean }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: row.id,
    displayName: row.display_name,
    status: row.status,
    destinationType: row.destination_type,
    restorePointPreference: row.restore_point_preference,
    tags: row.tags === null ? null : flagsToString(version, 'restorePointTags', row.tags),
    protectionTimePeriod:
      row.protection_start_at === null && row.protection_end_at === null
        ? null
        : { startDateTime: row.protection_start_at, endDateTime: row.protection_end_at },
  };
  if (o.withLists) {
    out.mailboxes = JSON.parse(row.mailboxes);
    out.directoryObjectIds = JSON.parse(row.directory_object_ids);
  }
  out.error = json(row.error);
  out.createdBy = json(row.created_by);
  out.createdDateTime = row.created_at;
  out.lastModifiedBy = json(row.last_modified_by);
  out.lastModifiedDateTime = row.last_modified_at;
  return out;
}
