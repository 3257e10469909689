/**
 * The restore-session domain: sessions, their artifacts and bulk requests, with the rules of spec
 * §8.5-§8.6. Every change is one durable store write; a session's status and counters are derived
 * from its artifacts only in `refreshSession`.
 */
import { sql, type Updateable } from 'kysely';
import type { Core } from '../../core.js';
import type { Trx } from '../../store/store.js';
import type { RestoreSessionTable } from '../../store/schema.js';
import type { Principal } from '../../identity/tokens.js';
import { errors, publicError, type ErrorDetail } from '../../errors.js';
import {
  deriveSession,
  tally,
  canMoveArtifact,
  canMoveBulkRequest,
  MAX_RUNNING_SESSIONS,
  MUTABLE_SESSION_STATUS,
  RUNNING_SESSION_STATUSES,
  DELETABLE_BULK_REQUEST_STATUSES,
  type SessionDerivation,
  type SessionStatus,
} from './states.js';
import type { ArtifactInput, ArtifactKind, BulkRequestInput, CreateInput, PatchInput } from './requests.js';
import { storedIdentityOf, type ArtifactRow, type BulkRequestRow, type SessionRow } from './wire.js';
import type { RestorePoint, SessionsUses } from './ports.js';
import { toPoint } from '../../vault/restorePoints.js';
import { PreparedQueries } from './prepared.js';
import { SessionCache } from './cache.js';
import { newId } from './ids.js';

/** `status in ('activating', 'active')` with the values in the text, as the partial index of running sessions (402) names them. */
const RUNNING_STATUS = sql<boolean>`status in (${sql.raw(RUNNING_SESSION_STATUSES.map((st) => `'${st}'`).join(', '))})`;

/** The job kind the restore engine claims; one per artifact of an activated session. */
export const RESTORE_ARTIFACT_JOB = 'restore-artifact';

export interface Caller {
  tenantId: string;
  principal: Principal;
}

export type DeltaItem =
  | { ok: true; artifact: ArtifactRow }
  | { ok: false; id: string; message: string };

export interface PatchResult {
  session: SessionRow;
  deltas: Array<{ kind: ArtifactKind; items: DeltaItem[] }>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id from the URI, a GUID (lower-cased); anything else is `invalid` (a 400) rather than a lookup. */
function guidOf(raw: string, invalid: (message: string) => Error, what: string): string {
  const id = raw.trim();
  if (!GUID.test(id)) throw invalid(`'${raw}' is not a valid ${what}.`);
  return id.toLowerCase();
}

/** Session ids are GUIDs; anything else is 400 InvalidRestoreSessionId. */
export const sessionIdOf = (raw: string): string => guidOf(raw, errors.invalidRestoreSessionId, 'restore session id');

/**
 * On the bulk request endpoints an id in the URI (the session's or the request's) that is not a GUID
 * is 400 InvalidBulkRestoreArtifactId, the error table's "bad GUID in URI".
 */
export const bulkIdOf = (raw: string): string => guidOf(raw, errors.invalidBulkRestoreArtifactId, 'id');

/** A session's row as `findSession` finds it. */
export interface FoundSession {
  row: SessionRow;
  /** Kept in memory: replaced, never changed, when the session changes (its serialized form may be kept too). */
  kept: boolean;
}

export class RestoreSessionsService {
  private readonly prepared: PreparedQueries;
  private readonly sessions: SessionCache;

  constructor(
    private readonly core: Core,
    private readonly uses: SessionsUses,
  ) {
    this.prepared = new PreparedQueries(core.store);
    this.sessions = new SessionCache(core.store);
  }

  private now(): string {
    return this.core.clock.now().toISOString();
  }

  /** Restores are refused once the tenant's backup service is restoreLocked (spec §8.1). */
  private async checkRestoreAllowed(tenantId: string): Promise<void> {
    if ((await this.uses.protection.serviceStatus(tenantId)) === 'restoreLocked') {
      throw errors.restoreLocked('The backup service of this tenant is restoreLocked: restores are not allowed.');
    }
  }

  // ---- reads ---------------------------------------------------------------------------------

  /**
   * The session's committed row (read-only), at once when it is kept or the store reads synchronously
   * (SQLite files), else a promise of it. A row read from the store is kept from its second read on.
   * A malformed or unknown id throws (or rejects) InvalidRestoreSessionId / RestoreSessionNotFound.
   */
  findSession(tenantId: string, rawId: string): FoundSession | Promise<FoundSession> {
    const id = sessionIdOf(rawId);
    const key = this.sessions.key(tenantId, id);
    const cached = this.sessions.get(key);
    if (cached) return { row: cached, kept: true };
    const started = this.sessions.readStarts();
    const now = this.prepared.sessionByIdNow(tenantId, id);
    if (now !== undefined) return this.found(key, id, now, started);
    return this.prepared.sessionByIdIn(this.core.store.db, tenantId, id).then((row) => this.found(key, id, row, started));
  }

  private found(key: string, id: string, row: SessionRow | null | undefined, readStarted: number): FoundSession {
    if (!row) throw errors.restoreSessionNotFound(`The restore session '${id}' was not found.`);
    this.sessions.keep(key, row, readStarted);
    return { row, kept: false };
  }

  /** The session's committed row (read-only: it may be the kept one). */
  async getSession(tenantId: string, rawId: string): Promise<SessionRow> {
    return (await this.findSession(tenantId, rawId)).row;
  }

  /** The wire form of restore points by id (expired ones too: an artifact keeps showing its point). */
  async restorePointsOf(tenantId: string, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    if (ids.length === 0) return out;
    const rows = await this.core.store.db
      .selectFrom('restore_points')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', [...new Set(ids)])
      .execute();
    const vault = this.uses.vault;
    const now = this.core.clock.now();
    for (const r of rows) out.set(r.id, vault.restorePointWire(toPoint(r, now)));
    return out;
  }

  // ---- create --------------------------------------------------------------------------------

  async create(caller: Caller, input: CreateInput): Promise<SessionRow> {
    await this.checkRestoreAllowed(caller.tenantId);
    const resolved = await this.resolveArtifacts(caller.tenantId, input.artifacts);
    checkArtifacts(resolved, []);
    const now = this.now();
    const who = storedIdentityOf(caller.principal);
    const id = newId(new Date(now));
    const derived = deriveSession('draft', tally(resolved.map(() => 'added')));
    const session: SessionRow = {
      tenant_id: caller.tenantId,
      id,
      kind: 'exchange',
      status: derived.status,
      restore_job_type: jobTypeOf(resolved.map((a) => a.kind), false),
      error: null,
      created_by: who,
      created_at: now,
      last_modified_by: who,
      last_modified_at: now,
      completed_at: null,
      activated_at: null,
      artifact_total: derived.count.total,
      artifact_completed: derived.count.completed,
      artifact_in_progress: derived.count.inProgress,
      artifact_failed: derived.count.failed,
    };
    const artifacts = resolved.map((a, i) => artifactRow(caller.tenantId, id, i, a, now));
    await this.core.store.write(async (trx) => {
      await this.prepared.insertSession(trx, session);
      await this.prepared.insertArtifacts(trx, artifacts);
    });
    return session;
  }

  /**
   * Checks new artifacts against the restore points and searches they name (unknown, foreign or
   * expired points are InvalidRestorePoint); the rules among artifacts are checkArtifacts'.
   */
  private async resolveArtifacts(tenantId: string, inputs: ArtifactInput[]): Promise<ResolvedArtifact[]> {
    if (inputs.length === 0) return [];
    const vault = this.uses.vault;
    const points = new Map<string, RestorePoint>();
    for (const rpId of new Set(inputs.map((a) => a.restorePointId))) {
      const point = await vault.getRestorePoint(tenantId, rpId);
      if (!point) throw errors.invalidRestorePoint(`The restore point '${rpId}' does not exist or has expired.`);
      points.set(rpId, point);
    }
    const searches = new Map<string, { restorePointIds: string[] } | undefined>();
    const out: ResolvedArtifact[] = [];
    for (const a of inputs) {
      if (a.kind === 'granular') {
        const sid = a.searchResponseId!;
        if (!searches.has(sid)) searches.set(sid, (await vault.getSearchResponse(tenantId, sid)) ?? undefined);
        const search = searches.get(sid);
        if (!search) throw errors.invalidArtifactRequest(`The searchResponseId '${sid}' does not name a search of this tenant.`);
        if (!search.restorePointIds.includes(a.restorePointId)) {
          throw errors.invalidArtifactRequest(`The search '${sid}' did not return the restore point '${a.restorePointId}'.`);
        }
      }
      out.push({ ...a, mailboxId: points.get(a.restorePointId)!.mailboxId });
    }
    return out;
  }

  // ---- update --------------------------------------------------------------------------------

  /**
   * Adds and removes artifacts. The new ones are looked up first; the rules that involve the
   * session's other artifacts (and its bulk request) are checked in the write itself, against the
   * artifacts as they are then, so that concurrent PATCHes cannot break them between them.
   */
  async patch(caller: Caller, rawId: string, input: PatchInput): Promise<PatchResult> {
    const current = await this.getSession(caller.tenantId, rawId);
    this.checkMutable(current, 'updated');
    if (current.restore_job_type === 'bulk') throw bulkSessionPatch();
    await this.checkRestoreAllowed(caller.tenantId);
    const removals = new Set<string>();
    for (const d of input.deltas) {
      for (const id of d.removals) {
        if (removals.has(id)) throw errors.duplicateArtifactInList(`The artifact '${id}' is removed more than once.`);
        removals.add(id);
      }
    }
    const resolved = await this.resolveArtifacts(caller.tenantId, input.deltas.flatMap((d) => d.adds));
    const now = this.now();
    const who = storedIdentityOf(caller.principal);

    return this.core.store.write(async (trx) => {
      const session = await lockSession(trx, caller.tenantId, current.id, this.core.store.dialect);
      this.checkMutable(session, 'updated');
      const bulk = await trx.selectFrom('restore_bulk_requests').select('id').where('tenant_id', '=', caller.tenantId).where('session_id', '=', current.id).executeTakeFirst();
      if (session.restore_job_type === 'bulk' || bulk) throw bulkSessionPatch();
      const existing = await trx
        .selectFrom('restore_artifacts')
        .select(['id', 'kind', 'ordinal', 'mailbox_id', 'restore_point_id', 'search_response_id', 'destination_type'])
        .where('tenant_id', '=', caller.tenantId)
        .where('session_id', '=', current.id)
        .execute();
      checkArtifacts(resolved, existing.filter((a) => !removals.has(a.id)));
      const byId = new Map(existing.map((a) => [a.id, a]));
      let ordinal = existing.reduce((max, a) => Math.max(max, a.ordinal), -1);
      const deltas: PatchResult['deltas'] = [];
      let r = 0;
      for (const d of input.deltas) {
        const items: DeltaItem[] = [];
        for (let i = 0; i < d.adds.length; i++, r++) {
          const row = artifactRow(caller.tenantId, current.id, ++ordinal, resolved[r], now);
          await trx.insertInto('restore_artifacts').values(row).execute();
          items.push({ ok: true, artifact: row });
        }
        for (const id of d.removals) {
          const a = byId.get(id);
          if (!a || a.kind !== d.kind) {
            items.push({ ok: false, id, message: 'The identifier to be removed from the Restore Session does not exist' });
            continue;
          }
          await trx.deleteFrom('restore_artifacts').where('tenant_id', '=', caller.tenantId).where('id', '=', id).execute();
        }
        deltas.push({ kind: d.kind, items });
      }
      const kinds = (await trx
        .selectFrom('restore_artifacts')
        .select('kind')
        .distinct()
        .where('tenant_id', '=', caller.tenantId)
        .where('session_id', '=', current.id)
        .execute()).map((k) => k.kind);
      await this.updateSession(trx, caller.tenantId, current.id, { last_modified_at: now, last_modified_by: who, restore_job_type: jobTypeOf(kinds, false) });
      await this.refreshSession(trx, caller.tenantId, current.id);
      return { session: (await readSession(trx, caller.tenantId, current.id))!, deltas };
    });
  }

  private checkMutable(session: Pick<SessionRow, 'status' | 'id'>, verb: string): void {
    if (session.status !== MUTABLE_SESSION_STATUS) {
      throw errors.restoreSessionActionNotAllowed(`The restore session '${session.id}' is ${session.status}; only a draft session can be ${verb}.`);
    }
  }

  // ---- delete --------------------------------------------------------------------------------

  async delete(caller: Caller, rawId: string): Promise<void> {
    const current = await this.getSession(caller.tenantId, rawId);
    this.checkMutable(current, 'deleted');
    await this.core.store.write(async (trx) => {
      const session = await lockSession(trx, caller.tenantId, current.id, this.core.store.dialect);
      this.checkMutable(session, 'deleted');
      for (const table of ['restore_artifacts', 'restore_bulk_requests'] as const) {
        await trx.deleteFrom(table).where('tenant_id', '=', caller.tenantId).where('session_id', '=', current.id).execute();
      }
      await trx.deleteFrom('restore_sessions').where('tenant_id', '=', caller.tenantId).where('id', '=', current.id).execute();
      this.sessions.changed(trx, caller.tenantId, current.id);
    });
  }

  // ---- activate ------------------------------------------------------------------------------

  /**
   * draft → activating: a bulk request's mailboxes become artifacts, every artifact goes to
   * `scheduling` and gets a `restore-artifact` job, all in one transaction.
   */
  async activate(caller: Caller, rawId: string): Promise<SessionRow> {
    const current = await this.getSession(caller.tenantId, rawId);
    this.checkMutable(current, 'activated');
    await this.checkRestoreAllowed(caller.tenantId);
    const bulk = await this.bulkRequestOf(caller.tenantId, current.id);
    const resolution = bulk && bulk.status === 'active' ? await this.resolveBulkRequest(caller.tenantId, bulk) : undefined;
    const now = this.now();
    const who = storedIdentityOf(caller.principal);

    const activated = await this.core.store.write(async (trx) => {
      const session = await lockSession(trx, caller.tenantId, current.id, this.core.store.dialect);
      this.checkMutable(session, 'activated');
      // Checked in the write: a concurrent PATCH may have removed the last artifact.
      if (!bulk) {
        const any = await trx.selectFrom('restore_artifacts').select('id').where('tenant_id', '=', caller.tenantId).where('session_id', '=', current.id).limit(1).executeTakeFirst();
        if (!any) throw errors.invalidArtifactRequest('The restore session has no artifacts to restore: add artifacts or a bulk request first.');
      }
      // The limit of running sessions is per tenant: on PostgreSQL, activations of one tenant take turns.
      if (this.core.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${caller.tenantId}))`.execute(trx);
      const running = await trx
        .selectFrom('restore_sessions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', caller.tenantId)
        .where(RUNNING_STATUS)
        .executeTakeFirstOrThrow();
      if (Number(running.n) >= MAX_RUNNING_SESSIONS) {
        throw errors.tooManyActiveRestoreSessions(`There are already ${MAX_RUNNING_SESSIONS} active restore sessions; wait for one to complete.`);
      }
      let sessionError: string | null = null;
      if (bulk && resolution) {
        const rows = resolution.artifacts.map((a, i) => artifactRow(caller.tenantId, current.id, i, a, now));
        for (let i = 0; i < rows.length; i += 500) await trx.insertInto('restore_artifacts').values(rows.slice(i, i + 500)).execute();
        const status = resolution.details.length === 0 ? 'completed' : 'completedWithErrors';
        if (!canMoveBulkRequest(bulk.status, status)) throw new Error(`bulk request cannot move from ${bulk.status} to ${status}`);
        const error =
          resolution.details.length === 0
            ? null
            : JSON.stringify(publicError('RestoreResourcesNotFound', 'Errors while resolving restore resources', resolution.details));
        await trx
          .updateTable('restore_bulk_requests')
          .set({ status, error, last_modified_at: now })
          .where('tenant_id', '=', caller.tenantId)
          .where('id', '=', bulk.id)
          .execute();
        if (rows.length === 0) {
          sessionError = JSON.stringify(publicError('RestoreResourcesNotFound', 'No mailbox of the bulk request could be resolved to a restore point.', resolution.details));
        }
      }
      const artifacts = await trx
        .selectFrom('restore_artifacts')
        .select(['id', 'status'])
        .where('tenant_id', '=', caller.tenantId)
        .where('session_id', '=', current.id)
        .execute();
      for (const a of artifacts) {
        if (!canMoveArtifact(a.status, 'scheduling')) throw new Error(`artifact ${a.id} cannot move from ${a.status} to scheduling`);
      }
      await trx
        .updateTable('restore_artifacts')
        .set({ status: 'scheduling' })
        .where('tenant_id', '=', caller.tenantId)
        .where('session_id', '=', current.id)
        .execute();
      await this.uses.jobs.enqueue(
        trx,
        artifacts.map((a) => ({ kind: RESTORE_ARTIFACT_JOB, tenantId: caller.tenantId, refId: a.id, payload: { sessionId: current.id } })),
      );
      await this.updateSession(trx, caller.tenantId, current.id, { status: 'activating', activated_at: now, last_modified_at: now, last_modified_by: who, error: sessionError });
      await this.refreshSession(trx, caller.tenantId, current.id);
      return (await readSession(trx, caller.tenantId, current.id))!;
    });
    // The jobs are durable: the engine starts on them now rather than at its next poll.
    this.uses.jobs.wake();
    return activated;
  }

  /**
   * THE derivation of a session's status, restoreSessionArtifactCount and completedDateTime from
   * its artifacts (spec §8.6). The engine calls it, in its transaction, after every artifact change.
   */
  async refreshSession(trx: Trx, tenantId: string, sessionId: string): Promise<SessionDerivation | undefined> {
    const session = await trx
      .selectFrom('restore_sessions')
      .select(['status', 'error', 'completed_at'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', sessionId)
      .executeTakeFirst();
    if (!session) return undefined;
    const groups = await trx
      .selectFrom('restore_artifacts')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .groupBy('status')
      .execute();
    const byStatus: Record<string, number> = {};
    for (const g of groups) byStatus[g.status] = Number(g.n);
    const derived = deriveSession(session.status as SessionStatus, byStatus, session.error !== null);
    await this.updateSession(trx, tenantId, sessionId, {
      status: derived.status,
      artifact_total: derived.count.total,
      artifact_completed: derived.count.completed,
      artifact_in_progress: derived.count.inProgress,
      artifact_failed: derived.count.failed,
      completed_at: derived.terminal ? session.completed_at ?? this.now() : null,
    });
    return derived;
  }

  /** Every change to a session row goes through here (or, for its deletion, tells the cache itself). */
  private async updateSession(trx: Trx, tenantId: string, id: string, set: Updateable<RestoreSessionTable>): Promise<void> {
    await trx.updateTable('restore_sessions').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    this.sessions.changed(trx, tenantId, id);
  }

  // ---- bulk requests -------------------------------------------------------------------------

  async bulkRequestOf(tenantId: string, sessionId: string): Promise<BulkRequestRow | undefined> {
    return this.core.store.db
      .selectFrom('restore_bulk_requests')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
  }

  async getBulkRequest(tenantId: string, sessionId: string, rawRequestId: string): Promise<BulkRequestRow> {
    const id = bulkIdOf(rawRequestId);
    const row = await this.bulkRequestOf(tenantId, sessionId);
    if (!row || row.id !== id) {
      throw errors.bulkRestoreArtifactsNotFound(`The bulk addition request '${rawRequestId}' was not found in this restore session.`);
    }
    return row;
  }

  async createBulkRequest(caller: Caller, rawSessionId: string, input: BulkRequestInput): Promise<BulkRequestRow> {
    const current = await this.getSession(caller.tenantId, rawSessionId);
    await this.checkRestoreAllowed(caller.tenantId);
    const now = this.now();
    const who = storedIdentityOf(caller.principal);
    const row: BulkRequestRow = {
      tenant_id: caller.tenantId,
      id: newId(new Date(now)),
      session_id: current.id,
      display_name: input.displayName,
      destination_type: input.destinationType,
      protection_start_at: input.protectionStart,
      protection_end_at: input.protectionEnd,
      restore_point_preference: input.restorePointPreference,
      tags: input.tags,
      mailboxes: JSON.stringify(input.mailboxes),
      directory_object_ids: JSON.stringify(input.directoryObjectIds),
      status: 'active',
      error: null,
      created_by: who,
      created_at: now,
      last_modified_by: who,
      last_modified_at: now,
    };
    await this.core.store.write(async (trx) => {
      const session = await lockSession(trx, caller.tenantId, current.id, this.core.store.dialect);
      if (session.status !== MUTABLE_SESSION_STATUS) {
        throw errors.restoreSessionActionNotAllowed(`The restore session '${current.id}' is ${session.status}; bulk requests can be added only to a draft session.`);
      }
      const other = await trx
        .selectFrom('restore_bulk_requests')
        .select('id')
        .where('tenant_id', '=', caller.tenantId)
        .where('session_id', '=', current.id)
        .executeTakeFirst();
      if (other) throw errors.bulkRestoreInvalidCreateRequest('A restore session can have only one bulk addition request.');
      const manual = await trx
        .selectFrom('restore_artifacts')
        .select('id')
        .where('tenant_id', '=', caller.tenantId)
        .where('session_id', '=', current.id)
        .limit(1)
        .executeTakeFirst();
      if (manual) throw errors.bulkRestoreInvalidCreateRequest('A restore session with artifacts cannot take a bulk addition request: bulk and manual artifacts cannot be mixed.');
      await trx.insertInto('restore_bulk_requests').values(row).execute();
      await this.updateSession(trx, caller.tenantId, current.id, { restore_job_type: 'bulk', last_modified_at: now, last_modified_by: who });
    });
    return row;
  }

  async deleteBulkRequest(caller: Caller, rawSessionId: string, rawRequestId: string): Promise<void> {
    const session = await this.getSession(caller.tenantId, bulkIdOf(rawSessionId));
    const current = await this.getBulkRequest(caller.tenantId, session.id, rawRequestId);
    const check = (status: string) => {
      if (!(DELETABLE_BULK_REQUEST_STATUSES as readonly string[]).includes(status)) {
        throw errors.invalidStateForBulkRequestDeletion(`The bulk addition request is ${status}; only a completed or completedWithErrors request can be deleted.`);
      }
    };
    check(current.status);
    await this.core.store.write(async (trx) => {
      const row = await trx.selectFrom('restore_bulk_requests').select('status').where('tenant_id', '=', caller.tenantId).where('id', '=', current.id).executeTakeFirst();
      if (!row) throw errors.bulkRestoreArtifactsNotFound(`The bulk addition request '${current.id}' was not found in this restore session.`);
      check(row.status);
      await trx.deleteFrom('restore_bulk_requests').where('tenant_id', '=', caller.tenantId).where('id', '=', current.id).execute();
    });
  }

  /**
   * Each mailbox of a bulk request → its user's mailbox → the restore point the request's window,
   * preference and tags pick. What cannot be resolved becomes a detail of the request's error.
   */
  private async resolveBulkRequest(tenantId: string, bulk: BulkRequestRow): Promise<{ artifacts: ResolvedArtifact[]; details: ErrorDetail[] }> {
    const mail = this.uses.mail;
    const vault = this.uses.vault;
    const details: ErrorDetail[] = [];
    const artifacts: ResolvedArtifact[] = [];
    const seen = new Set<string>();
    const targets = [
      ...(JSON.parse(bulk.mailboxes) as string[]).map((m) => ({ ref: m, notFound: { code: 'EmailNotFound', message: `Email address '${m}' not found in directory` } })),
      ...(JSON.parse(bulk.directory_object_ids) as string[]).map((d) => ({ ref: d, notFound: { code: 'DirectoryObjectNotFound', message: `Directory object '${d}' not found in directory` } })),
    ];
    for (const t of targets) {
      const user = await mail.findUser(tenantId, t.ref);
      if (!user) {
        details.push({ ...t.notFound, target: t.ref });
        continue;
      }
      if (seen.has(user.id)) continue;
      seen.add(user.id);
      const point = await vault.pickRestorePoint(tenantId, user.id, {
        start: bulk.protection_start_at,
        end: bulk.protection_end_at,
        preference: bulk.restore_point_preference,
        tags: bulk.tags,
      });
      if (!point) {
        details.push({ code: 'RestorePointNotFound', message: `No restore point of the mailbox '${t.ref}' matches the request's protection time period and tags`, target: t.ref });
        continue;
      }
      artifacts.push({
        kind: 'mailbox',
        restorePointId: point.id,
        destinationType: (bulk.destination_type ?? 'new') as 'new' | 'inPlace',
        searchResponseId: null,
        mailboxId: point.mailboxId,
      });
    }
    return { artifacts, details };
  }
}

type ResolvedArtifact = ArtifactInput & { mailboxId: string };
type ExistingArtifact = Pick<ArtifactRow, 'kind' | 'mailbox_id' | 'restore_point_id' | 'search_response_id' | 'destination_type'>;

/**
 * The rules new artifacts meet together with the session's other artifacts: one destinationType per
 * session; no restore point listed twice (for granular artifacts: the same point and search); no
 * mailbox restored by two full-mailbox artifacts.
 */
function checkArtifacts(inputs: readonly ResolvedArtifact[], existing: readonly ExistingArtifact[]): void {
  const destinations = new Set([...inputs.map((a) => a.destinationType), ...existing.map((a) => a.destination_type)]);
  if (destinations.size > 1) {
    throw errors.differentRestoreDestinationType('All artifacts of a restore session must have the same destinationType.');
  }
  const points = new Set(existing.map((a) => `${a.kind}|${a.restore_point_id}|${a.search_response_id ?? ''}`));
  const mailboxes = new Set(existing.filter((a) => a.kind === 'mailbox').map((a) => a.mailbox_id));
  for (const a of inputs) {
    const key = `${a.kind}|${a.restorePointId}|${a.searchResponseId ?? ''}`;
    if (points.has(key)) throw errors.duplicateArtifactInList(`The restore point '${a.restorePointId}' is listed more than once.`);
    points.add(key);
    if (a.kind !== 'mailbox') continue;
    if (mailboxes.has(a.mailboxId)) {
      throw errors.duplicateArtifactInList(`The mailbox of restore point '${a.restorePointId}' is already being restored by another artifact of this session.`);
    }
    mailboxes.add(a.mailboxId);
  }
}

const bulkSessionPatch = () => errors.invalidPatchRequest('A restore session filled by a bulk request cannot be updated.');

/** standard for full-mailbox or mixed sessions, granular when every artifact is granular, bulk for bulk sessions. */
export function jobTypeOf(kinds: Iterable<string>, bulk: boolean): string {
  if (bulk) return 'bulk';
  const set = new Set(kinds);
  return set.size === 1 && set.has('granular') ? 'granular' : 'standard';
}

function artifactRow(tenantId: string, sessionId: string, ordinal: number, a: ResolvedArtifact, now: string): ArtifactRow {
  return {
    tenant_id: tenantId,
    id: newId(new Date(now)),
    session_id: sessionId,
    kind: a.kind,
    ordinal,
    restore_point_id: a.restorePointId,
    mailbox_id: a.mailboxId,
    destination_type: a.destinationType,
    search_response_id: a.searchResponseId,
    status: 'added',
    start_at: null,
    completion_at: null,
    error: null,
    restored_folder_id: null,
    restored_folder_name: null,
    restored_item_count: null,
    created_at: now,
  };
}

function readSession(trx: Trx, tenantId: string, id: string): Promise<SessionRow | undefined> {
  return trx.selectFrom('restore_sessions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/** The session as this transaction sees it; on PostgreSQL locked until commit (SQLite transactions are serial anyway). */
async function lockSession(trx: Trx, tenantId: string, id: string, dialect: string): Promise<SessionRow> {
  let q = trx.selectFrom('restore_sessions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (dialect === 'postgres') q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw errors.restoreSessionNotFound(`The restore session '${id}' was not found.`);
  return row;
}
