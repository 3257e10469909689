/**
 * Writes a batch of restored messages through the mail service (so each write is logged for delta
 * queries and captured by the vault when the mailbox is protected), multi-row, each from the text of
 * the vault version it restores, which the database copies without handing it to us. One bad item never
 * sinks the batch: if the batch write fails it is retried item by item, each in its own savepoint,
 * and only the failing items are lost (items without content were set aside by the diff already). The
 * texts are read as JSON here, by the write (the diff never parses one it cannot): an item whose text
 * the database cannot read is reported as unreadable, as one whose text is missing is by the diff.
 */
import type { Trx } from '../../store/store.js';
import type { MailService, StoredMessage, StoredTexts } from '../../mail/service.js';
import type { RestoreEnv } from '../ports.js';
import { attempt } from './savepoint.js';
import { UNREADABLE } from './diff.js';

/** Snapshot texts of restored messages: the vault's versions (see source.ts for why the engine names the table). */
const VAULT_TEXTS: StoredTexts = { table: 'vault_versions', key: 'seq', column: 'props' };

export interface WriteOutcome {
  written: number;
  failures: Array<{ itemId: string; message: string }>;
}

/** `sourceIds[i]` names the source item of `records[i]` (for reporting). */
export async function writeMessages(env: RestoreEnv, trx: Trx, tenantId: string, mailboxId: string, records: StoredMessage[], sourceIds: string[]): Promise<WriteOutcome> {
  const failures: WriteOutcome['failures'] = [];
  if (records.length === 0) return { written: 0, failures };
  const { mail } = env;
  const batch = await attempt(trx, 'restore_batch', () => mail.upsertStoredMessages(trx, tenantId, mailboxId, records, VAULT_TEXTS));
  if ('value' in batch) return { written: records.length, failures };
  let written = 0;
  for (let i = 0; i < records.length; i++) {
    const one = await attempt(trx, 'restore_item', () => mail.upsertStoredMessages(trx, tenantId, mailboxId, [records[i]], VAULT_TEXTS));
    if ('value' in one) written++;
    else failures.push({ itemId: sourceIds[i], message: (await readable(trx, mail, records[i].textKey)) ? `The item could not be written: ${(one.error as Error).message}` : UNREADABLE });
  }
  return { written, failures };
}

/** Whether the database reads the snapshot text of version `key` as JSON, as the write does. */
async function readable(trx: Trx, mail: MailService, key: number): Promise<boolean> {
  return 'value' in (await attempt(trx, 'restore_probe', () => mail.readStoredText(trx, key, VAULT_TEXTS)));
}
