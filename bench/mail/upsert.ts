/**
 * bench/mail/upsert: `MailService.upsertMessages` in bulk, as the restore engine calls it — batches of
 * 1,000 complete snapshots, each batch in one `store.write` transaction, on a durable file-backed SQLite
 * store in this process. Four passes over the same N ids:
 *
 *   insert     the ids do not exist (a restore into an emptied mailbox)
 *   content    every id exists in the same folder with other content (a restore over encrypted mail)
 *   moved      every id exists in another folder, same content (a restore of moved mail)
 *   in place   every id exists in the same folder with the same content (read state, flags restored)
 *
 * Prints items/s (wall) and CPU µs per item for each pass (target: > 20,000 items/s), and checks
 * that every item emitted exactly one mailChanged event with its full snapshot.
 *
 *   BENCH_UPSERT_ITEMS   messages (default 50000)
 *   BENCH_UPSERT_BATCH   items per upsertMessages call (default 1000)
 *   BENCH_UPSERT_MEMORY  1 = the in-memory store
 *   BENCH_UPSERT_DATABASE_URL  an empty PostgreSQL database to run on instead
 *   BENCH_UPSERT_PROFILE 1 = writes a CPU profile of the timed passes to ./upsert.cpuprofile
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { MailService } from '../../src/mail/service.js';
import type { MessageRecord, MessageSnapshot } from '../../src/mail/model.js';
import { startProfile } from '../lib/profile.js';

const ITEMS = Number(process.env.BENCH_UPSERT_ITEMS ?? 50_000);
const BATCH = Number(process.env.BENCH_UPSERT_BATCH ?? 1000);
const memory = process.env.BENCH_UPSERT_MEMORY === '1';
const databaseUrl = process.env.BENCH_UPSERT_DATABASE_URL;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-bench-upsert-'));
const app = await createApp(loadConfig({ ...(memory ? { memory: true } : { data: dataDir }), ...(databaseUrl ? { databaseUrl } : {}), logLevel: 'silent' }, {}));
const where = databaseUrl ? 'PostgreSQL' : memory ? 'in-memory store' : `SQLite file in ${dataDir}`;
const core = app.core;
const mail: MailService = app.services.mail;
const log = (s: string) => process.stdout.write(s + '\n');

/** A restored message as the engine hands it over: the vault's snapshot, about 1.3 KB of JSON. */
function snapshot(i: number, now: string): MessageSnapshot {
  const who = { emailAddress: { name: `Sender ${i % 50}`, address: `sender${i % 50}@fabrikam.example` } };
  return {
    subject: `Quarterly report ${i} for the retail forecast review`,
    bodyPreview: `The numbers of report ${i} are ${i * 7}. Please check the inventory figures before the meeting on Thursday; the forecast for the next quarter is attached.`,
    bodyContentType: 'html',
    from: who,
    sender: who,
    toRecipients: [
      { emailAddress: { name: 'Bench Mailbox', address: 'bench@contoso.example' } },
      { emailAddress: { name: 'Ivy Lee', address: 'ivy@contoso.example' } },
    ],
    ccRecipients: [{ emailAddress: { name: 'Finance Team', address: 'finance@contoso.example' } }],
    bccRecipients: [],
    replyTo: [],
    receivedDateTime: now,
    sentDateTime: now,
    createdDateTime: now,
    importance: i % 10 === 0 ? 'high' : 'normal',
    isRead: i % 3 === 0,
    isDraft: false,
    isReadReceiptRequested: false,
    isDeliveryReceiptRequested: false,
    inferenceClassification: 'focused',
    flag: { flagStatus: 'notFlagged' },
    categories: i % 5 === 0 ? ['Blue category'] : [],
    internetMessageId: `<r${i}@fabrikam.example>`,
    conversationId: `AAQkAG${crypto.createHash('sha256').update(String(i % 5000)).digest('base64url').slice(0, 32)}`,
    hasAttachments: i % 10 === 0,
    // what a snapshot read back from the vault carries too (ignored and renewed by the upsert)
    changeKey: 'CQAAABYAAAbench',
    lastModifiedDateTime: now,
    parentFolderId: 'old',
  };
}

try {
  const tenantId = crypto.randomUUID();
  await core.tenants.create(tenantId, 'Bench');
  const user = await core.store.write((trx) => mail.createUser(trx, tenantId, { userPrincipalName: 'bench@contoso.example', displayName: 'Bench Mailbox' }));
  const inbox = (await mail.wellKnownFolderId(tenantId, user.id, 'inbox'))!;
  const archive = (await mail.wellKnownFolderId(tenantId, user.id, 'archive'))!;
  let events = 0;
  let incomplete = 0;
  core.events.mailChanged.on(async (_trx, list) => {
    for (const e of list) {
      if (e.itemKind !== 'message') continue;
      events++;
      const p = e.props as Partial<MessageSnapshot> | null;
      if (!p || typeof p.subject !== 'string' || !p.changeKey || p.lastModifiedDateTime !== e.at || p.parentFolderId !== e.folderId) incomplete++;
    }
  });

  // content first (the restore engine finds it in the blob store already): untimed
  const now = core.clock.now().toISOString();
  const content = async (variant: string): Promise<string[]> => {
    const hashes: string[] = [];
    for (let start = 0; start < ITEMS; start += 5000) {
      const mimes = Array.from({ length: Math.min(5000, ITEMS - start) }, (_, k) => Buffer.from(`Subject: Quarterly report ${start + k}\r\nMessage-ID: <r${start + k}@fabrikam.example>\r\n\r\n${variant} ${start + k}\r\n`));
      hashes.push(...(await core.store.write((trx) => mail.putBlobs(trx, mimes))));
    }
    return hashes;
  };
  const original = await content('report');
  const encrypted = await content('encrypted');
  const snaps = Array.from({ length: ITEMS }, (_, i) => snapshot(i, now));
  const ids = Array.from({ length: ITEMS }, (_, i) => `AAMkAGI2bench${String(i).padStart(8, '0')}`);
  const batches = (folderId: string, hashes: string[], isRead: (i: number) => boolean): MessageRecord[][] => {
    const out: MessageRecord[][] = [];
    for (let start = 0; start < ITEMS; start += BATCH) {
      out.push(
        Array.from({ length: Math.min(BATCH, ITEMS - start) }, (_, k) => {
          const i = start + k;
          return { id: ids[i], folderId, mimeSha256: hashes[i], props: { ...snaps[i], isRead: isRead(i) } };
        }),
      );
    }
    return out;
  };

  const stopProfile = await startProfile(process.env.BENCH_UPSERT_PROFILE === '1', 'upsert.cpuprofile');

  log(`bench/mail/upsert: ${ITEMS} messages in batches of ${BATCH}, ${where}`);
  const results: Array<{ name: string; rate: number }> = [];
  for (const [name, list] of [
    ['insert', batches(inbox, original, (i) => i % 3 === 0)],
    ['content', batches(inbox, encrypted, (i) => i % 3 === 0)],
    ['moved', batches(archive, encrypted, (i) => i % 3 === 0)],
    ['in place', batches(archive, encrypted, (i) => i % 3 !== 0)],
  ] as const) {
    const before = events;
    let inside = 0;
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    for (const records of list) {
      await core.store.write(async (trx) => {
        const t0 = performance.now();
        await mail.upsertMessages(trx, tenantId, user.id, records);
        inside += performance.now() - t0;
      });
    }
    const seconds = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    if (events - before !== ITEMS) throw new Error(`${name}: ${events - before} events for ${ITEMS} items`);
    results.push({ name, rate: ITEMS / seconds });
    log(
      `  ${name.padEnd(9)}: ${Math.round(ITEMS / seconds).toLocaleString('en-US')} items/s (${seconds.toFixed(2)} s), CPU ${(((cpu.user + cpu.system) / ITEMS) | 0)} µs per item; ` +
        `in upsertMessages ${((inside * 1000) / ITEMS).toFixed(1)} µs per item (${Math.round(ITEMS / (inside / 1000)).toLocaleString('en-US')} items/s), the rest is commit and fsync`,
    );
  }
  await stopProfile();
  if (incomplete > 0) throw new Error(`${incomplete} events without a complete snapshot`);
  const rows = await core.store.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).where('mailbox_id', '=', user.id).where('folder_id', '=', archive).executeTakeFirstOrThrow();
  if (Number(rows.n) !== ITEMS) throw new Error(`${rows.n} messages in the archive, expected ${ITEMS}`);
  for (const r of results) log(`  ${r.name.padEnd(9)}: ${r.rate >= 20_000 ? 'OK' : 'BELOW TARGET'} (target > 20,000 items/s)`);
} finally {
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
