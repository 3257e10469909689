/**
 * Writes a batch of restored messages through the mail service (so each write is logged for delta
 * queries and captured by the vault when the mailbox is protected), multi-row. One bad item never
 * sinks the batch: items whose content is missing are set aside first, and if the batch write fails
 * anyway it is retried item by item, each in its own savepoint, and only the failing ones are lost.
 */
import { sql } from 'kysely';
import type { Core } from '../../core.js';
import type { Trx } from '../../store/store.js';
import type { MessageRecord } from '../../mail/model.js';
import { mailOf } from '../ports.js';

export interface WriteOutcome {
  written: number;
  failures: Array<{ itemId: string; message: string }>;
}

/** `sourceIds[i]` names the source item of `records[i]` (for reporting). */
export async function writeMessages(core: Core, trx: Trx, tenantId: string, mailboxId: string, records: MessageRecord[], sourceIds: string[]): Promise<WriteOutcome> {
  const failures: WriteOutcome['failures'] = [];
  if (records.length === 0) return { written: 0, failures };
  const present = await blobsPresent(trx, records.map((r) => r.mimeSha256));
  const ok: MessageRecord[] = [];
  const okSources: string[] = [];
  records.forEach((r, i) => {
    if (present.has(r.mimeSha256)) {
      ok.push(r);
      okSources.push(sourceIds[i]);
    } else failures.push({ itemId: sourceIds[i], message: 'The content of the item is no longer stored.' });
  });
  const mail = mailOf(core);
  await sql`savepoint restore_batch`.execute(trx);
  try {
    await mail.upsertMessages(trx, tenantId, mailboxId, ok);
    await sql`release savepoint restore_batch`.execute(trx);
    return { written: ok.length, failures };
  } catch {
    await sql`rollback to savepoint restore_batch`.execute(trx);
    await sql`release savepoint restore_batch`.execute(trx);
  }
  let written = 0;
  for (let i = 0; i < ok.length; i++) {
    await sql`savepoint restore_item`.execute(trx);
    try {
      await mail.upsertMessages(trx, tenantId, mailboxId, [ok[i]]);
      await sql`release savepoint restore_item`.execute(trx);
      written++;
    } catch (error) {
      await sql`rollback to savepoint restore_item`.execute(trx);
      await sql`release savepoint restore_item`.execute(trx);
      failures.push({ itemId: okSources[i], message: `The item could not be written: ${(error as Error).message}` });
    }
  }
  return { written, failures };
}

async function blobsPresent(trx: Trx, hashes: string[]): Promise<Set<string>> {
  const distinct = [...new Set(hashes)];
  const out = new Set<string>();
  for (let i = 0; i < distinct.length; i += 900) {
    const rows = await trx.selectFrom('blobs').select('sha256').where('sha256', 'in', distinct.slice(i, i + 900)).execute();
    for (const r of rows) out.add(r.sha256);
  }
  return out;
}
