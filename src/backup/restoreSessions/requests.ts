/**
 * Request bodies of the restore-session API read into plain inputs, with the documented error for
 * each way they can be wrong (spec §9.1 "Create/Patch restore session", bulk requests).
 */
import { errors } from '../../errors.js';
import { parseDateAndTime } from '../../http/dates.js';
import { propertyNames, parseFlags } from '../../graph/shape.js';
import { FAST_RESTORE } from '../../vault/restorePoints.js';

export type ArtifactKind = 'mailbox' | 'granular';
export type Version = 'v1.0' | 'beta';

export interface ArtifactInput {
  kind: ArtifactKind;
  restorePointId: string;
  destinationType: 'new' | 'inPlace';
  searchResponseId: string | null;
}

export interface CreateInput {
  artifacts: ArtifactInput[];
}

export interface PatchInput {
  /** Whether the body named each delta collection (for the echo). */
  deltas: Array<{ kind: ArtifactKind; adds: ArtifactInput[]; removals: string[] }>;
}

export interface BulkRequestInput {
  displayName: string | null;
  destinationType: 'new' | 'inPlace';
  protectionStart: string | null;
  protectionEnd: string | null;
  restorePointPreference: 'latest' | 'oldest' | null;
  tags: number | null;
  mailboxes: string[];
  directoryObjectIds: string[];
}

/** Artifacts per create or update request (spec §8.8). */
export const MAX_ARTIFACTS_PER_REQUEST = 50;
/** Mailboxes plus directory objects per bulk request (spec §8.8). */
export const MAX_BULK_RESOURCES = 10_000;

const NAV: Record<ArtifactKind, string> = { mailbox: 'mailboxRestoreArtifacts', granular: 'granularMailboxRestoreArtifacts' };
const TYPE: Record<ArtifactKind, string> = { mailbox: 'mailboxRestoreArtifact', granular: 'granularMailboxRestoreArtifact' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The create body: either artifact kind (or both), or nothing at all for a session a bulk request will fill. */
export function readCreateBody(body: Record<string, unknown>, version: Version): CreateInput {
  const artifacts: ArtifactInput[] = [];
  for (const kind of ['mailbox', 'granular'] as const) {
    const list = body[NAV[kind]];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw errors.invalidArtifactRequest(`'${NAV[kind]}' must be an array of ${TYPE[kind]} objects.`);
    if (list.length === 0) throw errors.invalidArtifactRequest(`'${NAV[kind]}' is empty: give at least one artifact, or omit it to create an empty session for a bulk request.`);
    for (const item of list) artifacts.push(readArtifact(item, kind, version));
  }
  if (artifacts.length > MAX_ARTIFACTS_PER_REQUEST) {
    throw errors.restoreArtifactsLimitBreached(`The request has ${artifacts.length} artifacts; the maximum artifacts limit is ${MAX_ARTIFACTS_PER_REQUEST} for a single request.`);
  }
  return { artifacts };
}

/** The PATCH body: `mailboxRestoreArtifacts@delta` (and `granularMailboxRestoreArtifacts@delta`) only. */
export function readPatchBody(body: unknown, version: Version): PatchInput {
  if (!isObject(body)) throw errors.invalidPatchRequest('The request body must be an object with mailboxRestoreArtifacts@delta.');
  const deltas: PatchInput['deltas'] = [];
  for (const key of Object.keys(body)) {
    if (key === '@odata.type' || key === '@odata.context') continue;
    if (key !== `${NAV.mailbox}@delta` && key !== `${NAV.granular}@delta`) {
      throw errors.invalidPatchRequest(`The property '${key}' cannot be updated; only mailboxRestoreArtifacts@delta and granularMailboxRestoreArtifacts@delta are accepted.`);
    }
  }
  let total = 0;
  for (const kind of ['mailbox', 'granular'] as const) {
    const key = `${NAV[kind]}@delta`;
    const list = body[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw errors.invalidPatchRequest(`'${key}' must be an array.`);
    if (list.length === 0) throw errors.invalidArtifactRequest(`'${key}' is empty: give at least one artifact to add or remove.`);
    const adds: ArtifactInput[] = [];
    const removals: string[] = [];
    for (const item of list) {
      if (isObject(item) && '@removed' in item) {
        const id = item.id;
        const extra = Object.keys(item).filter((k) => k !== '@removed' && k !== 'id' && !k.startsWith('@odata.'));
        if (typeof id !== 'string' || id.length === 0 || extra.length > 0 || !isObject(item['@removed'])) {
          throw errors.invalidPatchRequest(`A removal in '${key}' must be {"@removed": {"reason": "changed"}, "id": "<artifact id>"}.`);
        }
        removals.push(id);
      } else {
        adds.push(readArtifact(item, kind, version));
      }
    }
    total += list.length;
    deltas.push({ kind, adds, removals });
  }
  if (deltas.length === 0) throw errors.invalidPatchRequest('The request must contain mailboxRestoreArtifacts@delta.');
  if (total > MAX_ARTIFACTS_PER_REQUEST) {
    throw errors.restoreArtifactsLimitBreachedPatch(`The request has ${total} artifacts; the maximum artifacts limit is ${MAX_ARTIFACTS_PER_REQUEST} for a single request.`);
  }
  return { deltas };
}

function readArtifact(item: unknown, kind: ArtifactKind, version: Version): ArtifactInput {
  if (!isObject(item)) throw errors.invalidArtifactRequest(`Each item of '${NAV[kind]}' must be a ${TYPE[kind]} object.`);
  const names = propertyNames(version, TYPE[kind]);
  for (const key of Object.keys(item)) {
    if (key.startsWith('@odata.') || key === 'restorePoint@odata.bind') continue;
    if (!names.has(key)) {
      throw errors.invalidArtifactRequest(`The property '${key}' does not exist on type 'microsoft.graph.${TYPE[kind]}'.`);
    }
  }
  const t = item['@odata.type'];
  if (t !== undefined && (typeof t !== 'string' || t.replace(/^#/, '').replace(/^microsoft\.graph\./, '') !== TYPE[kind])) {
    throw errors.invalidArtifactRequest(`An item of '${NAV[kind]}' must be of type 'microsoft.graph.${TYPE[kind]}'.`);
  }
  const restorePointId = restorePointIdOf(item);
  const destinationType = item.destinationType;
  if (destinationType !== 'new' && destinationType !== 'inPlace') {
    throw errors.invalidPathType(
      destinationType === undefined || destinationType === null
        ? 'The destinationType of the artifact is required: new or inPlace.'
        : `The destinationType '${String(destinationType)}' is not valid: use new or inPlace.`,
    );
  }
  let searchResponseId: string | null = null;
  if (kind === 'granular') {
    const s = item.searchResponseId;
    if (typeof s !== 'string' || s.trim() === '') {
      throw errors.invalidArtifactRequest('A granularMailboxRestoreArtifact needs the searchResponseId returned by restorePoints/search.');
    }
    searchResponseId = s;
  }
  return { kind, restorePointId, destinationType, searchResponseId };
}

/** `{"restorePoint":{"id":...}}`, `{"restorePoint":{"@odata.id":...}}` (older docs) or `restorePoint@odata.bind`. */
function restorePointIdOf(item: Record<string, unknown>): string {
  const bind = item['restorePoint@odata.bind'];
  const rp = item.restorePoint;
  let raw: unknown;
  if (isObject(rp)) raw = rp.id ?? rp['@odata.id'];
  else if (typeof bind === 'string') raw = bind;
  else if (rp === undefined || rp === null) {
    throw errors.invalidArtifactRequest('The artifact must bind a restore point: {"restorePoint": {"id": "<restore point id>"}}.');
  } else raw = undefined;
  if (typeof raw !== 'string' || raw.trim() === '') throw errors.invalidRestorePoint('The restore point of the artifact is missing or empty.');
  // An @odata.id may be a URL or an OData key path; the id is its last key.
  const m = /restorePoints(?:\('([^']+)'\)|\/([^/?#]+))/i.exec(raw);
  if (!m) return raw;
  try {
    return decodeURIComponent(m[1] ?? m[2]);
  } catch {
    throw errors.invalidRestorePoint(`The restore point reference '${raw}' is not a valid URL.`);
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** POST mailboxRestoreArtifactsBulkAdditionRequests. */
export function readBulkRequestBody(body: unknown, version: Version): BulkRequestInput {
  if (!isObject(body)) throw errors.bulkRestoreInvalidCreateRequest('The request body must be a mailboxRestoreArtifactsBulkAdditionRequest object.');
  const names = propertyNames(version, 'mailboxRestoreArtifactsBulkAdditionRequest');
  for (const key of Object.keys(body)) {
    if (key.startsWith('@odata.')) continue;
    if (!names.has(key)) throw errors.bulkRestoreInvalidCreateRequest(`The property '${key}' does not exist on type 'microsoft.graph.mailboxRestoreArtifactsBulkAdditionRequest'.`);
  }
  const t = body['@odata.type'];
  if (t !== undefined && (typeof t !== 'string' || t.replace(/^#/, '').replace(/^microsoft\.graph\./, '') !== 'mailboxRestoreArtifactsBulkAdditionRequest')) {
    throw errors.bulkRestoreInvalidCreateRequest(`A type named '${String(t)}' cannot be created here.`);
  }
  const strings = (key: string): string[] => {
    const v = body[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw errors.bulkRestoreInvalidCreateRequest(`'${key}' must be an array of strings.`);
    return v as string[];
  };
  const mailboxes = strings('mailboxes');
  for (const m of mailboxes) {
    if (typeof m !== 'string' || !EMAIL.test(m.trim())) {
      throw errors.bulkRestoreInvalidCreateRequestUserEmail(`The mailbox '${typeof m === 'string' ? m : JSON.stringify(m)}' is not a valid email address.`);
    }
  }
  const directoryObjectIds = strings('directoryObjectIds');
  for (const d of directoryObjectIds) {
    if (typeof d !== 'string' || d.trim() === '') throw errors.bulkRestoreInvalidCreateRequest('Every directoryObjectId must be a non-empty string.');
  }
  if (mailboxes.length + directoryObjectIds.length > MAX_BULK_RESOURCES) {
    throw errors.bulkRestoreRestorationResourcesCountExceedsLimit(
      `The request names ${mailboxes.length + directoryObjectIds.length} mailboxes; a bulk request may name at most ${MAX_BULK_RESOURCES}.`,
    );
  }
  if (mailboxes.length + directoryObjectIds.length === 0) {
    throw errors.bulkRestoreInvalidCreateRequest('Name the mailboxes to restore in mailboxes or directoryObjectIds.');
  }
  if (strings('protectionUnitIds').length > 0) {
    throw errors.bulkRestoreInvalidCreateRequest('protectionUnitIds is not supported; name the mailboxes in mailboxes or directoryObjectIds.');
  }
  const destinationType = body.destinationType;
  if (destinationType !== 'new' && destinationType !== 'inPlace') {
    throw errors.bulkRestoreInvalidCreateRequest(
      destinationType === undefined || destinationType === null ? 'destinationType is required: new or inPlace.' : `The destinationType '${String(destinationType)}' is not valid: use new or inPlace.`,
    );
  }
  const displayName = body.displayName;
  if (displayName !== undefined && displayName !== null && typeof displayName !== 'string') throw errors.bulkRestoreInvalidCreateRequest('displayName must be a string.');
  const pref = body.restorePointPreference;
  if (pref !== undefined && pref !== null && pref !== 'latest' && pref !== 'oldest') {
    throw errors.bulkRestoreInvalidCreateRequest(`The restorePointPreference '${String(pref)}' is not valid: use latest or oldest.`);
  }
  let tags: number | null = null;
  if (body.tags !== undefined && body.tags !== null) {
    const v = typeof body.tags === 'string' ? parseFlags(version, 'restorePointTags', body.tags) : undefined;
    // Only fastRestore selects restore points (as in restorePoints/search): unknownFutureValue is no tag, and beta's includeNewerItems is not supported.
    if (v === undefined || (v & ~FAST_RESTORE) !== 0) {
      throw errors.bulkRestoreInvalidCreateRequest(`The tags '${String(body.tags)}' are not valid here: use none or fastRestore.`);
    }
    tags = v;
  }
  let protectionStart: string | null = null;
  let protectionEnd: string | null = null;
  const period = body.protectionTimePeriod;
  if (period !== undefined && period !== null) {
    if (!isObject(period)) throw errors.bulkRestoreInvalidCreateRequest('protectionTimePeriod must be a timePeriod object.');
    for (const key of Object.keys(period)) {
      if (key !== 'startDateTime' && key !== 'endDateTime' && !key.startsWith('@odata.')) {
        throw errors.bulkRestoreInvalidCreateRequest(`The property '${key}' does not exist on type 'microsoft.graph.timePeriod'.`);
      }
    }
    protectionStart = dateOf(period.startDateTime, 'protectionTimePeriod.startDateTime');
    protectionEnd = dateOf(period.endDateTime, 'protectionTimePeriod.endDateTime');
    if (protectionStart && protectionEnd && protectionStart > protectionEnd) {
      throw errors.bulkRestoreInvalidCreateRequest('protectionTimePeriod.startDateTime is after its endDateTime.');
    }
  }
  return {
    displayName: (displayName as string | undefined) ?? null,
    destinationType,
    protectionStart,
    protectionEnd,
    restorePointPreference: (pref as 'latest' | 'oldest' | undefined) ?? null,
    tags,
    mailboxes: mailboxes.map((m) => m.trim()),
    directoryObjectIds: directoryObjectIds.map((d) => d.trim()),
  };
}

function dateOf(v: unknown, name: string): string | null {
  if (v === undefined || v === null) return null;
  const d = parseDateAndTime(v);
  if (!d) throw errors.bulkRestoreInvalidCreateRequest(`${name} must be an ISO 8601 date and time.`);
  return d.toISOString();
}
