import { sql, type Kysely } from 'kysely';

/**
 * Sessions are looked up by status only to count a tenant's running ones (activating, active) against
 * the limit of 25, so the status index keeps those rows alone: creating a draft session writes one
 * index entry less, and a batch of creates dirties fewer pages. Lists filtered by status read the
 * tenant's sessions in creation order, as they are returned anyway. The activation's count names the
 * statuses literally, in this order, so SQLite and PostgreSQL can use the partial index.
 */
export function restoreSessionsRunning402() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index restore_sessions_status`.execute(db);
      await sql`create index restore_sessions_running on restore_sessions (tenant_id) where status in ('activating', 'active')`.execute(db);
    },
  };
}
