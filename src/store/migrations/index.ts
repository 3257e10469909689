import type { Migration } from 'kysely';
import type { DialectName } from '../dialect.js';
import { schema001 } from './001_schema.js';
import { vault301 } from './301_vault.js';
import { vault302 } from './302_vault_indexes.js';
import { vault303 } from './303_vault_fts_tokens.js';
import { vault304 } from './304_vault_folder_versions.js';
import { vault305 } from './305_vault_shared_props.js';
import { userProps101 } from './101_user_props.js';
import { messagesBlob102 } from './102_messages_blob_index.js';
import { protectionDue201 } from './201_protection_due.js';
import { restoreSessionCounts401 } from './401_restore_session_counts.js';
import { restoreSessionsRunning402 } from './402_restore_sessions_running.js';
import { sources501 } from './501_sources.js';
import { sourcesLease502 } from './502_sources_lease.js';

/**
 * Every migration, in order. Names sort; numbers are reserved by area so parallel work never collides:
 * 0xx foundation, 1xx mail, 2xx protection, 3xx vault, 4xx restore sessions, 5xx engine.
 */
export function migrations(dialect: DialectName): Record<string, Migration> {
  return {
    '001_schema': schema001(dialect),
    '101_user_props': userProps101(),
    '102_messages_blob_index': messagesBlob102(),
    '201_protection_due': protectionDue201(),
    '301_vault': vault301(dialect),
    '302_vault_indexes': vault302(),
    '303_vault_fts_tokens': vault303(dialect),
    '304_vault_folder_versions': vault304(),
    '305_vault_shared_props': vault305(dialect),
    '401_restore_session_counts': restoreSessionCounts401(),
    '402_restore_sessions_running': restoreSessionsRunning402(),
    '501_sources': sources501(),
    '502_sources_lease': sourcesLease502(),
  };
}
