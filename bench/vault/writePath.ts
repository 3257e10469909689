/**
 * (4) The vault's write path per item, apart from the mail service: mailChanged events of restored
 * messages (~1.3 KB snapshots, 1,000 per transaction, as the restore engine writes them) captured for
 * a protected mailbox, then the keyword indexer bringing the index up to date. In-memory store, so
 * the numbers are CPU, not the disk. Prints µs per item (wall and CPU) for each.
 */
import crypto from 'node:crypto';
import type { MailChange } from '../../src/core.js';
import { receivedMessage } from '../../src/mail/model.js';
import { catchUpIndex } from '../../src/vault/indexer.js';
import { benchApp } from './data.js';

const ITEMS = 50_000;
const BATCH = 1000;

function restored(tenantId: string, mailboxId: string, at: string, i: number): MailChange {
  const who = { emailAddress: { name: `Sender ${i % 50}`, address: `sender${i % 50}@fabrikam.example` } };
  return {
    tenantId,
    mailboxId,
    itemKind: 'message',
    itemId: `AAMkAGI2bench${String(i).padStart(8, '0')}`,
    op: 'upsert',
    at,
    folderId: 'inbox',
    mimeSha256: crypto.createHash('sha256').update(String(i)).digest('hex'),
    isDraft: false,
    props: {
      ...receivedMessage({
        at,
        subject: `Quarterly report ${i}`,
        bodyPreview: `The numbers of report ${i} are ${i * 7}.`,
        from: who,
        toRecipients: [{ emailAddress: { name: 'Bench Mailbox', address: 'bench@contoso.example' } }],
        internetMessageId: `<r${i}@fabrikam.example>`,
        conversationId: `AAQkAGI2conv${i}`,
        hasAttachments: i % 5 === 0,
      }),
      lastModifiedDateTime: at,
      changeKey: 'CQAAABYAAAC',
      parentFolderId: 'inbox',
      webLink: `https://outlook.office365.com/owa/?ItemID=AAMkAGI2bench${i}`,
    },
  };
}

export async function writePath(): Promise<void> {
  const b = await benchApp({ memory: true });
  try {
    const core = b.app.core;
    const ctx = b.app.vault;
    const mailboxId = 'bench-write-path';
    await core.store.write((trx) =>
      core.events.protectionChanged.emit(trx, [{ tenantId: b.tenantId, unitId: 'bench-unit', mailboxId, protected: true, at: core.clock.now().toISOString() }]),
    );
    await catchUpIndex(ctx);
    const at = core.clock.now().toISOString();
    const batches: MailChange[][] = [];
    for (let s = 0; s < ITEMS; s += BATCH) batches.push(Array.from({ length: BATCH }, (_, k) => restored(b.tenantId, mailboxId, at, s + k)));
    const per = (ms: number, cpu: NodeJS.CpuUsage) => `${((ms * 1000) / ITEMS).toFixed(1)} µs wall, ${((cpu.user + cpu.system) / ITEMS).toFixed(1)} µs CPU`;
    let cpu0 = process.cpuUsage();
    let t = performance.now();
    for (const events of batches) await core.store.write((trx) => core.events.mailChanged.emit(trx, events));
    const capture = per(performance.now() - t, process.cpuUsage(cpu0));
    cpu0 = process.cpuUsage();
    t = performance.now();
    const indexed = await catchUpIndex(ctx);
    const index = per(performance.now() - t, process.cpuUsage(cpu0));
    if (indexed !== ITEMS) throw new Error(`indexed ${indexed} of ${ITEMS}`);
    console.log(`(4) vault write path, ${ITEMS} restored messages in transactions of ${BATCH}, in-memory store, per item`);
    console.log(`    capture (mailChanged → vault_versions)   ${capture}`);
    console.log(`    keyword indexing (vault_fts)             ${index}`);
  } finally {
    await b.close();
  }
}
