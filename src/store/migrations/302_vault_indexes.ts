import { sql, type Kysely } from 'kysely';

/**
 * Leaner vault indexes (each one is paid for on every captured change and every restore point):
 * restore_points_unit duplicates restore_points_unit_time (301), and vault_versions_blob served only
 * the daily garbage collection, which now finds the content versions refer to in one scan.
 */
export function vault302() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`drop index restore_points_unit`.execute(db);
      await sql`drop index vault_versions_blob`.execute(db);
    },
  };
}
