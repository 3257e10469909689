import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The vault's own bookkeeping: per-mailbox capture state (protected or not, the last restore point,
 * how far retention has collected), the restore points a search chose, and the keyword index over
 * captured message versions (FTS5 on SQLite; PostgreSQL searches without an index for now).
 */
export function vault301(dialect: DialectName) {
  const statements = [
    `create table vault_mailboxes (
      tenant_id text not null, mailbox_id text not null, unit_id text not null, protected integer not null,
      protected_since text, unprotected_at text, last_point_at text, gc_horizon text,
      primary key (tenant_id, mailbox_id))`,
    `create unique index restore_points_unit_time on restore_points (tenant_id, unit_id, protection_at)`,
    `create index restore_points_mailbox on restore_points (tenant_id, mailbox_id, protection_at)`,
    `create table search_response_points (
      search_response_id text not null, ordinal integer not null, restore_point_id text not null, hit_count integer,
      primary key (search_response_id, ordinal))`,
    `create index search_responses_expiry on search_responses (expires_at)`,
  ];
  if (dialect === 'sqlite') {
    statements.push(
      `create virtual table vault_fts using fts5(scope, subject, sender, participants, facets,
        content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`,
    );
  }
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const stmt of statements) await sql.raw(stmt).execute(db);
    },
  };
}
