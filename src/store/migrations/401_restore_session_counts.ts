import { sql, type Kysely } from 'kysely';

/**
 * Restore sessions keep their restoreSessionArtifactCount on the row, written only by
 * RestoreSessionsService.refreshSession, so reading a session is one row.
 */
export function restoreSessionCounts401() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const column of ['artifact_total', 'artifact_completed', 'artifact_in_progress', 'artifact_failed']) {
        await sql.raw(`alter table restore_sessions add column ${column} integer not null default 0`).execute(db);
      }
    },
  };
}
