/**
 * Row types of every table, as Kysely sees them. Conventions for both dialects:
 * timestamps are ISO 8601 UTC strings from `Date.toISOString()` (so they sort as text),
 * booleans are 0/1 integers, JSON documents are TEXT, content is a BLOB/BYTEA.
 */
import type { ArtifactStatus, BulkJobStatus, BulkRequestStatus, PolicyStatus, RuleStatus, ServiceAppStatus, ServiceStatus, SessionStatus, UnitStatus } from '../graph/statuses.js';
import type { Generated } from 'kysely';

export interface TenantTable {
  id: string;
  display_name: string;
  created_at: string;
  /** backupServiceStatus member name */
  service_status: ServiceStatus;
  disable_reason: string;
  backup_service_consumer: string;
  app_owner_tenant_id: string | null;
  status_modified_at: string | null;
  /** identitySet JSON */
  status_modified_by: string | null;
  /** When the tenant entered protectionChangeLocked (30 days later it is restoreLocked). */
  locked_at: string | null;
}

/** Small key/value facts about this server (clock offset, demo seeded, default tenant). */
export interface ServerStateTable {
  key: string;
  value: string;
}

export interface UserTable {
  tenant_id: string;
  id: string;
  user_principal_name: string;
  /** lower-cased user_principal_name, for case-insensitive lookup */
  upn_key: string;
  mail: string | null;
  mail_key: string | null;
  display_name: string;
  given_name: string | null;
  surname: string | null;
  job_title: string | null;
  account_enabled: number;
  created_at: string;
  deleted_at: string | null;
  /** JSON of the other Graph user properties (mailNickname, businessPhones, ...); migration 101. */
  props: string | null;
}

export interface GroupTable {
  tenant_id: string;
  id: string;
  display_name: string;
  description: string | null;
  mail: string | null;
  mail_nickname: string | null;
  mail_enabled: number;
  security_enabled: number;
  group_types: string; // JSON array
  created_at: string;
  deleted_at: string | null;
}

export interface GroupMemberTable {
  tenant_id: string;
  group_id: string;
  member_id: string;
  added_at: string;
}

/** Content-addressed store shared by live mailboxes and the vault. */
export interface BlobTable {
  sha256: string;
  size: number;
  data: Buffer;
  created_at: string;
}

export interface MailboxTable {
  tenant_id: string;
  /** Mailbox id == owning user's id. */
  id: string;
  created_at: string;
  deleted_at: string | null;
  /** Monotonic change counter for delta tokens. */
  change_seq: number;
}

export interface FolderTable {
  tenant_id: string;
  mailbox_id: string;
  id: string;
  parent_id: string | null;
  display_name: string;
  /** inbox, drafts, sentitems, deleteditems, junkemail, archive, outbox, msgfolderroot, or null */
  well_known_name: string | null;
  is_hidden: number;
  created_at: string;
  modified_at: string;
  change_seq: number;
}

export interface MessageTable {
  tenant_id: string;
  mailbox_id: string;
  id: string;
  folder_id: string;
  /** JSON of the Graph message properties that are not columns (recipients, body meta, flag, categories, ...). */
  props: string;
  subject: string;
  sender_address: string | null;
  internet_message_id: string | null;
  conversation_id: string | null;
  /** SHA-256 of the MIME content in `blobs`. */
  mime_sha256: string;
  has_attachments: number;
  is_read: number;
  is_draft: number;
  importance: string;
  received_at: string;
  sent_at: string | null;
  created_at: string;
  modified_at: string;
  change_key: string;
  change_seq: number;
}

/** Log of mailbox changes used by delta queries (tombstones for deletes and moves). */
export interface MailChangeTable {
  seq: Generated<number>;
  tenant_id: string;
  mailbox_id: string;
  item_kind: 'message' | 'folder';
  item_id: string;
  /** folder the item left (move/delete) or null */
  from_folder_id: string | null;
  /** folder the item is in after the change, or null when deleted */
  to_folder_id: string | null;
  op: 'upsert' | 'delete';
  at: string;
}

export interface ServiceAppTable {
  tenant_id: string;
  id: string;
  application: string; // identity JSON
  status: ServiceAppStatus;
  registration_at: string;
  effective_at: string | null;
  /** The status the app moves to at effective_at (active / inactive), or null. */
  pending_status: ServiceAppStatus | null;
  last_modified_by: string | null;
  last_modified_at: string;
}

export interface ProtectionPolicyTable {
  tenant_id: string;
  id: string;
  workload: 'exchange';
  display_name: string;
  status: PolicyStatus;
  is_enabled: number;
  retention_settings: string; // JSON
  created_by: string;
  created_at: string;
  last_modified_by: string;
  last_modified_at: string;
  /** When the in-flight transition (updating) completes; null when settled. */
  due_at: string | null;
}

export interface ProtectionUnitTable {
  tenant_id: string;
  id: string;
  kind: 'mailbox';
  policy_id: string | null;
  directory_object_id: string;
  /** The protected mailbox (user id). */
  mailbox_id: string;
  status: UnitStatus;
  /** protectionSource flags: 1 manual, 2 dynamicRule */
  protection_sources: number;
  error: string | null;
  offboard_requested_at: string | null;
  created_by: string;
  created_at: string;
  last_modified_by: string;
  last_modified_at: string;
  due_at: string | null;
  /** When the unit became protected (start of capture), null when not protected. */
  protected_since: string | null;
}

export interface ProtectionRuleTable {
  tenant_id: string;
  id: string;
  policy_id: string;
  kind: 'mailbox';
  expression: string;
  is_auto_apply_enabled: number;
  status: RuleStatus;
  error: string | null;
  created_by: string;
  created_at: string;
  last_modified_by: string;
  last_modified_at: string;
  due_at: string | null;
}

export interface ProtectionBulkJobTable {
  tenant_id: string;
  id: string;
  policy_id: string;
  kind: 'mailbox';
  display_name: string | null;
  mailboxes: string; // JSON array
  directory_object_ids: string; // JSON array
  status: BulkJobStatus;
  error: string | null;
  created_by: string;
  created_at: string;
  last_modified_by: string;
  last_modified_at: string;
  due_at: string | null;
}

/** Append-only history of protected mailboxes: one row per captured version of an item. */
export interface VaultVersionTable {
  seq: Generated<number>;
  tenant_id: string;
  mailbox_id: string;
  item_kind: 'message' | 'folder';
  item_id: string;
  op: 'upsert' | 'delete';
  at: string;
  folder_id: string | null;
  /** Full item state (message or folder properties) for upserts; null when `props_seq` names the version holding it. */
  props: string | null;
  mime_sha256: string | null;
  /** An upsert sharing the snapshot text of that version (same mailbox, which holds the text itself); else null. */
  props_seq: number | null;
}

export interface RestorePointTable {
  tenant_id: string;
  id: string;
  unit_id: string;
  mailbox_id: string;
  protection_at: string;
  expires_at: string;
  /** restorePointTags flags */
  tags: number;
}

export interface SearchResponseTable {
  tenant_id: string;
  id: string;
  unit_id: string | null;
  query_expression: string | null;
  created_at: string;
  expires_at: string;
}

/** Capture state of a mailbox that is or was protected (vault bookkeeping, one row per mailbox). */
export interface VaultMailboxTable {
  tenant_id: string;
  mailbox_id: string;
  /** The protection unit the mailbox is (or was last) protected by; restore points are made for it. */
  unit_id: string;
  protected: number;
  protected_since: string | null;
  unprotected_at: string | null;
  /** protectionDateTime of the mailbox's latest restore point. */
  last_point_at: string | null;
  /** Retention has reduced the versions up to this time to what the oldest live point needs. */
  gc_horizon: string | null;
}

/** The restore points a search chose, in answer order, with the granular hit count. */
export interface SearchResponsePointTable {
  search_response_id: string;
  ordinal: number;
  restore_point_id: string;
  hit_count: number | null;
}

/** Items a granular search matched, per restore point. */
export interface SearchHitTable {
  search_response_id: string;
  restore_point_id: string;
  item_id: string;
}

export interface RestoreSessionTable {
  tenant_id: string;
  id: string;
  kind: 'exchange';
  status: SessionStatus;
  restore_job_type: string;
  error: string | null;
  created_by: string;
  created_at: string;
  last_modified_by: string;
  last_modified_at: string;
  completed_at: string | null;
  activated_at: string | null;
  /** restoreSessionArtifactCount, derived from the artifacts by refreshSession (migration 401). */
  artifact_total: Generated<number>;
  artifact_completed: Generated<number>;
  artifact_in_progress: Generated<number>;
  artifact_failed: Generated<number>;
}

export interface RestoreArtifactTable {
  tenant_id: string;
  id: string;
  session_id: string;
  kind: 'mailbox' | 'granular';
  ordinal: number;
  restore_point_id: string;
  mailbox_id: string;
  destination_type: string;
  search_response_id: string | null;
  status: ArtifactStatus;
  start_at: string | null;
  completion_at: string | null;
  error: string | null;
  restored_folder_id: string | null;
  restored_folder_name: string | null;
  restored_item_count: number | null;
  created_at: string;
}

export interface RestoreBulkRequestTable {
  tenant_id: string;
  id: string;
  session_id: string;
  display_name: string | null;
  destination_type: string | null;
  protection_start_at: string | null;
  protection_end_at: string | null;
  restore_point_preference: string | null;
  tags: number | null;
  mailboxes: string; // JSON array
  directory_object_ids: string; // JSON array
  status: BulkRequestStatus;
  error: string | null;
  created_by: string;
  created_at: string;
  last_modified_by: string;
  last_modified_at: string;
}

/** Durable work queue; workers claim rows with a lease. */
export interface JobTable {
  id: Generated<number>;
  kind: string;
  tenant_id: string;
  ref_id: string;
  payload: string; // JSON
  state: 'queued' | 'running' | 'done' | 'failed';
  run_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  attempts: number;
  progress: string | null; // JSON
  created_at: string;
  updated_at: string;
}

export interface DB {
  tenants: TenantTable;
  server_state: ServerStateTable;
  users: UserTable;
  groups: GroupTable;
  group_members: GroupMemberTable;
  blobs: BlobTable;
  mailboxes: MailboxTable;
  folders: FolderTable;
  messages: MessageTable;
  mail_changes: MailChangeTable;
  service_apps: ServiceAppTable;
  protection_policies: ProtectionPolicyTable;
  protection_units: ProtectionUnitTable;
  protection_rules: ProtectionRuleTable;
  protection_bulk_jobs: ProtectionBulkJobTable;
  vault_versions: VaultVersionTable;
  restore_points: RestorePointTable;
  search_responses: SearchResponseTable;
  search_hits: SearchHitTable;
  vault_mailboxes: VaultMailboxTable;
  search_response_points: SearchResponsePointTable;
  restore_sessions: RestoreSessionTable;
  restore_artifacts: RestoreArtifactTable;
  restore_bulk_requests: RestoreBulkRequestTable;
  jobs: JobTable;
  sources: SourceTable;
  source_folders: SourceFolderTable;
  source_items: SourceItemTable;
}

/** An external mailbox mirrored into a hosted one (src/sources). */
export interface SourceTable {
  id: string;
  tenant_id: string;
  mailbox_id: string;
  kind: 'imap';
  settings: string; // JSON, without secrets
  secret: string; // JSON {kid, iv, tag, ct}: AES-256-GCM of the password
  paused: number;
  status: 'initialSync' | 'syncing' | 'idle' | 'error' | 'paused';
  last_sync_at: string | null;
  items_synced: number;
  error: string | null;
  created_at: string;
  updated_at: string;
  /** The node syncing it, until when (ISO, real time). */
  lease_owner: string | null;
  lease_until: string | null;
}

/** An external folder and its sync cursors. */
export interface SourceFolderTable {
  id: string;
  source_id: string;
  remote_path: string;
  special_use: string | null;
  hosted_folder_id: string;
  uidvalidity: string | null;
  highest_modseq: string | null;
  last_uid: number;
  uid_next: number | null;
  messages: number | null;
  state: 'initial' | 'synced' | 'resync' | 'gone';
}

/** An external message (folder, UIDVALIDITY, UID) and the hosted message it is. */
export interface SourceItemTable {
  source_id: string;
  folder_id: string;
  uidvalidity: string;
  uid: number;
  hosted_message_id: string;
  message_id_hdr: string | null;
  sha256: string;
  size: number;
  internal_date: string | null;
  flags: string; // JSON array
}
