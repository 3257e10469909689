import { sql, type Kysely } from 'kysely';
import { columnTypes, type DialectName } from '../dialect.js';

/** The first schema: every table of every layer. Later changes are new migrations, never edits here. */
export function schema001(dialect: DialectName) {
  const t = columnTypes(dialect);
  const statements = `
create table tenants (
  id text primary key, display_name text not null, created_at text not null,
  service_status text not null, disable_reason text not null, backup_service_consumer text not null,
  app_owner_tenant_id text, status_modified_at text, status_modified_by text, locked_at text);
create table server_state (key text primary key, value text not null);

create table users (
  tenant_id text not null, id text not null, user_principal_name text not null, upn_key text not null,
  mail text, mail_key text, display_name text not null, given_name text, surname text, job_title text,
  account_enabled integer not null, created_at text not null, deleted_at text,
  primary key (tenant_id, id));
create unique index users_upn on users (tenant_id, upn_key);
create index users_mail on users (tenant_id, mail_key);
create table groups (
  tenant_id text not null, id text not null, display_name text not null, description text, mail text,
  mail_nickname text, mail_enabled integer not null, security_enabled integer not null, group_types text not null,
  created_at text not null, deleted_at text, primary key (tenant_id, id));
create table group_members (
  tenant_id text not null, group_id text not null, member_id text not null, added_at text not null,
  primary key (tenant_id, group_id, member_id));
create index group_members_member on group_members (tenant_id, member_id);

create table blobs (sha256 text primary key, size integer not null, data ${t.blob} not null, created_at text not null);

create table mailboxes (
  tenant_id text not null, id text not null, created_at text not null, deleted_at text,
  change_seq ${t.bigint} not null, primary key (tenant_id, id));
create table folders (
  tenant_id text not null, mailbox_id text not null, id text not null, parent_id text, display_name text not null,
  well_known_name text, is_hidden integer not null, created_at text not null, modified_at text not null,
  change_seq ${t.bigint} not null, primary key (tenant_id, mailbox_id, id));
create index folders_parent on folders (tenant_id, mailbox_id, parent_id);
create table messages (
  tenant_id text not null, mailbox_id text not null, id text not null, folder_id text not null, props text not null,
  subject text not null, sender_address text, internet_message_id text, conversation_id text,
  mime_sha256 text not null, has_attachments integer not null, is_read integer not null, is_draft integer not null,
  importance text not null, received_at text not null, sent_at text, created_at text not null, modified_at text not null,
  change_key text not null, change_seq ${t.bigint} not null, primary key (tenant_id, mailbox_id, id));
create index messages_folder on messages (tenant_id, mailbox_id, folder_id, received_at);
create index messages_blob on messages (mime_sha256);
create table mail_changes (
  seq ${t.serial}, tenant_id text not null, mailbox_id text not null, item_kind text not null, item_id text not null,
  from_folder_id text, to_folder_id text, op text not null, at text not null);
create index mail_changes_mailbox on mail_changes (tenant_id, mailbox_id, seq);

create table service_apps (
  tenant_id text not null, id text not null, application text not null, status text not null,
  registration_at text not null, effective_at text, pending_status text, last_modified_by text,
  last_modified_at text not null, primary key (tenant_id, id));
create table protection_policies (
  tenant_id text not null, id text not null, workload text not null, display_name text not null, status text not null,
  is_enabled integer not null, retention_settings text not null, created_by text not null, created_at text not null,
  last_modified_by text not null, last_modified_at text not null, due_at text, primary key (tenant_id, id));
create table protection_units (
  tenant_id text not null, id text not null, kind text not null, policy_id text, directory_object_id text not null,
  mailbox_id text not null, status text not null, protection_sources integer not null, error text,
  offboard_requested_at text, created_by text not null, created_at text not null, last_modified_by text not null,
  last_modified_at text not null, due_at text, protected_since text, primary key (tenant_id, id));
create index protection_units_policy on protection_units (tenant_id, policy_id);
create index protection_units_mailbox on protection_units (tenant_id, mailbox_id);
create index protection_units_due on protection_units (due_at);
create table protection_rules (
  tenant_id text not null, id text not null, policy_id text not null, kind text not null, expression text not null,
  is_auto_apply_enabled integer not null, status text not null, error text, created_by text not null,
  created_at text not null, last_modified_by text not null, last_modified_at text not null, due_at text,
  primary key (tenant_id, id));
create index protection_rules_policy on protection_rules (tenant_id, policy_id);
create table protection_bulk_jobs (
  tenant_id text not null, id text not null, policy_id text not null, kind text not null, display_name text,
  mailboxes text not null, directory_object_ids text not null, status text not null, error text,
  created_by text not null, created_at text not null, last_modified_by text not null, last_modified_at text not null,
  due_at text, primary key (tenant_id, id));
create index protection_bulk_jobs_policy on protection_bulk_jobs (tenant_id, policy_id);

create table vault_versions (
  seq ${t.serial}, tenant_id text not null, mailbox_id text not null, item_kind text not null, item_id text not null,
  op text not null, at text not null, folder_id text, props text, mime_sha256 text);
create index vault_versions_item on vault_versions (tenant_id, mailbox_id, item_id, at);
create index vault_versions_time on vault_versions (tenant_id, mailbox_id, at);
create index vault_versions_blob on vault_versions (mime_sha256);
create table restore_points (
  tenant_id text not null, id text not null, unit_id text not null, mailbox_id text not null,
  protection_at text not null, expires_at text not null, tags integer not null, primary key (tenant_id, id));
create index restore_points_unit on restore_points (tenant_id, unit_id, protection_at);
create index restore_points_expiry on restore_points (expires_at);
create table search_responses (
  tenant_id text not null, id text not null, unit_id text, query_expression text, created_at text not null,
  expires_at text not null, primary key (tenant_id, id));
create table search_hits (
  search_response_id text not null, restore_point_id text not null, item_id text not null,
  primary key (search_response_id, restore_point_id, item_id));

create table restore_sessions (
  tenant_id text not null, id text not null, kind text not null, status text not null, restore_job_type text not null,
  error text, created_by text not null, created_at text not null, last_modified_by text not null,
  last_modified_at text not null, completed_at text, activated_at text, primary key (tenant_id, id));
create index restore_sessions_created on restore_sessions (tenant_id, created_at);
create index restore_sessions_status on restore_sessions (tenant_id, status);
create table restore_artifacts (
  tenant_id text not null, id text not null, session_id text not null, kind text not null, ordinal integer not null,
  restore_point_id text not null, mailbox_id text not null, destination_type text not null, search_response_id text,
  status text not null, start_at text, completion_at text, error text, restored_folder_id text,
  restored_folder_name text, restored_item_count integer, created_at text not null, primary key (tenant_id, id));
create index restore_artifacts_session on restore_artifacts (tenant_id, session_id, ordinal);
create table restore_bulk_requests (
  tenant_id text not null, id text not null, session_id text not null, display_name text, destination_type text,
  protection_start_at text, protection_end_at text, restore_point_preference text, tags integer,
  mailboxes text not null, directory_object_ids text not null, status text not null, error text,
  created_by text not null, created_at text not null, last_modified_by text not null, last_modified_at text not null,
  primary key (tenant_id, id));
create index restore_bulk_requests_session on restore_bulk_requests (tenant_id, session_id);

create table jobs (
  id ${t.serial}, kind text not null, tenant_id text not null, ref_id text not null, payload text not null,
  state text not null, run_at text not null, lease_owner text, lease_until text, attempts integer not null,
  progress text, created_at text not null, updated_at text not null);
create index jobs_claim on jobs (state, run_at);
create index jobs_ref on jobs (tenant_id, ref_id);
`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const stmt of statements.split(';').map((s) => s.trim()).filter(Boolean)) {
        await sql.raw(stmt).execute(db);
      }
    },
  };
}
