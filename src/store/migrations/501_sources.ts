import { sql, type Kysely } from 'kysely';

/**
 * External mail sources (src/sources): one row per mirrored external mailbox, its folders with their
 * sync cursors, and one row per mirrored external message naming the hosted message it became. The
 * mapping rows and the cursors are written in the same transaction as the mail they describe.
 */
export function sources501() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create table sources (
        id text primary key,
        tenant_id text not null,
        mailbox_id text not null,
        kind text not null,
        settings text not null,
        secret text not null,
        paused integer not null default 0,
        status text not null,
        last_sync_at text,
        items_synced integer not null default 0,
        error text,
        created_at text not null,
        updated_at text not null
      )`.execute(db);
      await sql`create unique index sources_mailbox on sources (tenant_id, mailbox_id)`.execute(db);
      await sql`create table source_folders (
        id text primary key,
        source_id text not null,
        remote_path text not null,
        special_use text,
        hosted_folder_id text not null,
        uidvalidity text,
        highest_modseq text,
        last_uid integer not null default 0,
        uid_next integer,
        messages integer,
        state text not null
      )`.execute(db);
      await sql`create unique index source_folders_path on source_folders (source_id, remote_path)`.execute(db);
      await sql`create table source_items (
        source_id text not null,
        folder_id text not null,
        uidvalidity text not null,
        uid integer not null,
        hosted_message_id text not null,
        message_id_hdr text,
        sha256 text not null,
        size integer not null,
        internal_date text,
        flags text not null,
        primary key (folder_id, uidvalidity, uid)
      )`.execute(db);
      await sql`create unique index source_items_hosted on source_items (source_id, hosted_message_id)`.execute(db);
      await sql`create index source_items_hash on source_items (source_id, sha256)`.execute(db);
    },
  };
}
