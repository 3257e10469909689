import { sql, type Kysely } from 'kysely';

/**
 * The protection scheduler asks every tick what is due; these indexes keep that cheap however many
 * tenants, apps, policies, rules and jobs there are.
 */
export function protectionDue201() {
  const statements = [
    'create index service_apps_due on service_apps (effective_at)',
    'create index protection_policies_due on protection_policies (due_at)',
    'create index protection_rules_due on protection_rules (due_at)',
    'create index protection_bulk_jobs_due on protection_bulk_jobs (due_at)',
    'create index tenants_locked on tenants (service_status, locked_at)',
  ];
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const s of statements) await sql.raw(s).execute(db);
    },
  };
}
