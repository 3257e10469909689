import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The keyword index's exact-value tokens changed from a SHA-256 prefix to a 53-bit hash: the index is
 * recreated empty and its watermark forgotten, so the indexer rebuilds it from the vault's versions.
 */
export function vault303(dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'sqlite') return;
      await sql`drop table vault_fts`.execute(db);
      await sql.raw(
        `create virtual table vault_fts using fts5(scope, subject, sender, participants, facets,
          content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`,
      ).execute(db);
      await sql`delete from server_state where key = 'vault.keywordIndex.seq'`.execute(db);
    },
  };
}
