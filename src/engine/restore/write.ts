/**
 * Writes a batch of restored messages through the mail service (so each write is logged for delta
 * queries and captured by the vault when the mailbox is protected), multi-row, each from the text of
 * the vault version it restores, which the database copies without handing it to us. One bad item never
 * sinks the batch: if the batch write fails it is retried item by item, each in its own savepoint,
 * and only the failing items are lost (items without content were set aside by the diff already).
 */
import { sql } from 'kysely';
import type { Core } from '../../core.js';
import type { Trx } from '../../store/store.js';
import type { StoredMessage, StoredTexts } from '../../mail/service.js';
import { mailOf } from '../ports.js';

/** Snapshot texts of restored messages: the vault's versions (see source.ts for why the engine names the table). */
const VAULT_TEXTS: StoredTexts = { table: 'vault_versions', key: 'seq', column: 'props' };

export interface WriteOutcome {
  written: number;
  failures: Array<{ itemId: string; message: string }>;
}

/** `sourceIds[i]` names the source item of `records[i]` (for reporting). */
export async function writeMessages(core: Core, trx: Trx, tenantId: string, mailboxId: string, records: StoredMessage[], sourceIds: string[]): Promise<WriteOutcome> {
  const failures: WriteOutcome['failures'] = [];
  if (records.length === 0) return { written: 0, failures };
  const mail = mailOf(core);
  await sql`savepoint restore_batch`.execute(trx);
  try {
    await mail.upsertStoredMessages(trx, tenantId, mailboxId, records, VAULT_TEXTS);
    await sql`release savepoint restore_batch`.execute(trx);
    return { written: records.length, failures };
  } catch {
    await sql`rollback to savepoint restore_batch`.execute(trx);
    await sql`release savepoint restore_batch`.execute(trx);
  }
  let written = 0;
  for (let i = 0; i < records.length; i++) {
    await sql`savepoint restore_item`.execute(trx);
    try {
      await mail.upsertStoredMessages(trx, tenantId, mailboxId, [records[i]], VAULT_TEXTS);
      await sql`release savepoint restore_item`.execute(trx);
      written++;
    } catch (error) {
      await sql`rollback to savepoint restore_item`.execute(trx);
      await sql`release savepoint restore_item`.execute(trx);
      failures.push({ itemId: sourceIds[i], message: `The item could not be written: ${(error as Error).message}` });
    }
  }
  return { written, failures };
}
