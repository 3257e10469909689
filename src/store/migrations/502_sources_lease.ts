import { sql, type Kysely } from 'kysely';

/**
 * One node at a time syncs a source: the node holding the lease (renewed with every write of the sync,
 * taken over by another node once it lapses), so nodes sharing a database never mirror the same
 * mailbox twice over.
 */
export function sourcesLease502() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table sources add column lease_owner text`.execute(db);
      await sql`alter table sources add column lease_until text`.execute(db);
    },
  };
}
