/**
 * The hot statements of restore sessions (create, read by id), compiled by Kysely once per store and
 * then run with fresh parameters: building and compiling a query costs more than SQLite running it.
 */
import { CompiledQuery } from 'kysely';
import type { Reader, Store, Trx } from '../../store/store.js';
import type { ArtifactRow, SessionRow } from './wire.js';

const SESSION_COLUMNS = [
  'tenant_id', 'id', 'kind', 'status', 'restore_job_type', 'error', 'created_by', 'created_at', 'last_modified_by',
  'last_modified_at', 'completed_at', 'activated_at', 'artifact_total', 'artifact_completed', 'artifact_in_progress', 'artifact_failed',
] as const satisfies ReadonlyArray<keyof SessionRow>;

const ARTIFACT_COLUMNS = [
  'tenant_id', 'id', 'session_id', 'kind', 'ordinal', 'restore_point_id', 'mailbox_id', 'destination_type',
  'search_response_id', 'status', 'start_at', 'completion_at', 'error', 'restored_folder_id', 'restored_folder_name',
  'restored_item_count', 'created_at',
] as const satisfies ReadonlyArray<keyof ArtifactRow>;

/** A session row from the values of SESSION_COLUMNS, in that order (one object literal of a fixed shape). */
function sessionFromValues(v: unknown[]): SessionRow {
  const row = {} as Record<(typeof SESSION_COLUMNS)[number], unknown>;
  for (let i = 0; i < SESSION_COLUMNS.length; i++) row[SESSION_COLUMNS[i]] = v[i];
  return row as SessionRow;
}

/** A row whose every column holds a placeholder, for compiling an insert once. */
const placeholders = <C extends string>(columns: readonly C[]) => Object.fromEntries(columns.map((c) => [c, null])) as Record<C, null>;

export class PreparedQueries {
  private readonly sessionById: string;
  private readonly insertSessionSql: string;
  private readonly insertArtifactsSql = new Map<number, string>();

  constructor(private readonly store: Store) {
    const db = store.db;
    this.sessionById = db.selectFrom('restore_sessions').select(SESSION_COLUMNS).where('tenant_id', '=', '').where('id', '=', '').compile().sql;
    this.insertSessionSql = db.insertInto('restore_sessions').values(placeholders(SESSION_COLUMNS) as never).compile().sql;
  }

  async sessionByIdIn(ex: Reader | Trx, tenantId: string, id: string): Promise<SessionRow | undefined> {
    const r = await ex.executeQuery<SessionRow>(CompiledQuery.raw(this.sessionById, [tenantId, id]));
    return r.rows[0];
  }

  /** The session's row read at once (SQLite files; see Store.readFirstNow), null when there is none; undefined where reads are asynchronous. */
  sessionByIdNow(tenantId: string, id: string): SessionRow | null | undefined {
    const values = this.store.readFirstNow(this.sessionById, [tenantId, id]);
    return values ? sessionFromValues(values) : values;
  }

  insertSession(trx: Trx, row: SessionRow): Promise<void> {
    return this.store.run(trx, this.insertSessionSql, SESSION_COLUMNS.map((c) => row[c]));
  }

  /** Inserts up to 50 artifacts in one statement (one compiled text per row count). */
  insertArtifacts(trx: Trx, rows: ArtifactRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    let text = this.insertArtifactsSql.get(rows.length);
    if (!text) {
      text = this.store.db.insertInto('restore_artifacts').values(rows.map(() => placeholders(ARTIFACT_COLUMNS)) as never).compile().sql;
      this.insertArtifactsSql.set(rows.length, text);
    }
    return this.store.run(trx, text, rows.flatMap((r) => ARTIFACT_COLUMNS.map((c) => r[c])));
  }
}
