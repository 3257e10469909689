import { sql, type Kysely } from 'kysely';

/**
 * The folder versions of a mailbox on their own (a partial index: message versions never enter it),
 * so reading the folder tree at a point (every restore does) touches the few folder versions rather
 * than looking up every version of the mailbox to find out its kind.
 */
export function vault304() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create index vault_versions_folder on vault_versions (tenant_id, mailbox_id, item_id, at) where item_kind = 'folder'`.execute(db);
    },
  };
}
