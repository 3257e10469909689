import { sql, type Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect.js';

/**
 * A version may share the snapshot text of an earlier version of its mailbox instead of holding a
 * copy (`props` null, `props_seq` = that version's seq): a restore writes back exactly the text it
 * read, so a restored item's version refers to the version it restores. The partial index finds the
 * versions referring to one that retention removes (they get the text first); only such versions
 * have an entry.
 */
export function vault305(dialect: DialectName) {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql.raw(`alter table vault_versions add column props_seq ${t.bigint}`).execute(db);
      await sql`create index vault_versions_props_seq on vault_versions (props_seq) where props_seq is not null`.execute(db);
    },
  };
}
