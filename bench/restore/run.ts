/**
 * In-place restore of a protected mailbox whose messages were all deleted since the restore point,
 * through the real job path (HTTP create + activate, the engine's worker, the mail service, the
 * vault capturing the restored items), against copying the same message rows with one
 * `INSERT ... SELECT` in the same run and database. Prints items/s, CPU time, peak RSS growth during
 * the restore, and the ratio. Targets: ≥ 20,000 items/s, ≥ 0.3 of the copy, RSS growth < 100 MB.
 * The restore and then the copy run in rounds (every message deleted again before each restore): each
 * round's ratio compares a restore with the copy run right after it, and the median round is reported,
 * so that a second's drift in the machine's pace does not decide the ratio.
 *
 *   BENCH_RESTORE_ITEMS   messages in the mailbox (default 100000; 1000000 for the memory check)
 *   BENCH_RESTORE_ROUNDS  rounds (default 3; 1 above 200,000 items)
 *   BENCH_RESTORE_PROFILE 1 = writes a CPU profile of the first restore (create to completed) to ./restore.cpuprofile
 *
 * The server runs in this process on a file-backed SQLite store (WAL, fdatasync before acknowledging), as `serve` does.
 * The restore and the copy each start with the WAL checkpointed and emptied, so that neither pays for
 * checkpointing what the phase before it wrote (seeding a million messages leaves a large WAL).
 *
 * Last, the items are deleted once more and written back by bare INSERT ... SELECTs of the three rows
 * each restored item is (message, delta-log entry, vault version), without anything else a restore
 * does: the ceiling of the ratio for a restore that must make these writes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { mintToken } from '../../src/identity/tokens.js';
import type { MailService } from '../../src/mail/service.js';
import { catchUpIndex } from '../../src/vault/indexer.js';
import { receivedMessage, type MessageRecord, type MessageSnapshot } from '../../src/mail/model.js';
import { startProfile } from '../lib/profile.js';

const ITEMS = Number(process.env.BENCH_RESTORE_ITEMS ?? 100_000);
const CHUNK = 2000;
/** Rounds of restore-then-copy (the median is reported); one by default for the million-item memory check. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_RESTORE_ROUNDS ?? (ITEMS > 200_000 ? 1 : 3)));

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-bench-restore-'));
const memory = process.env.BENCH_RESTORE_MEMORY === '1';
const app = await createApp(loadConfig({ port: '0', ...(memory ? { memory: true } : { data: dataDir }), logLevel: 'silent' }, {}));
const base = await app.listen();
const core = app.core;
const mail: MailService = app.services.mail;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const log = (s: string) => process.stderr.write(s + '\n');

/** Linux: resets the process's peak RSS (VmHWM) so it measures from now; false where unsupported. */
function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Linux: bytes and calls of the process's reads and writes so far (what the restore asks of the file system). */
function io(): { wchar: number; syscw: number; rchar: number; syscr: number } | undefined {
  try {
    const f = Object.fromEntries(fs.readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => l.split(': ')).map(([k, v]) => [k, Number(v)]));
    return { wchar: f.wchar, syscw: f.syscw, rchar: f.rchar, syscr: f.syscr };
  } catch {
    return undefined;
  }
}

/**
 * Waits until the WAL is checkpointed into the database file and emptied, so that a measured phase
 * (the restore, the copy) starts from the same quiet store and does not pay for the phase before it.
 */
function quiesce(): void {
  if (memory) return;
  const db = new Database(path.join(dataDir, 'mailvault.db'));
  try {
    db.pragma('busy_timeout = 60000');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

try {
  const tenantId = crypto.randomUUID();
  await core.tenants.create(tenantId, 'Bench');
  const user = await core.store.write((trx) => mail.createUser(trx, tenantId, { userPrincipalName: 'bench@contoso.example', displayName: 'Bench Mailbox' }));
  const inbox = (await mail.wellKnownFolderId(tenantId, user.id, 'inbox'))!;

  log(`seeding ${ITEMS} messages...`);
  let t = performance.now();
  for (let start = 0; start < ITEMS; start += CHUNK) {
    const n = Math.min(CHUNK, ITEMS - start);
    const mimes: Buffer[] = [];
    const snaps: MessageSnapshot[] = [];
    const now = core.clock.now().toISOString();
    for (let i = start; i < start + n; i++) {
      const subject = `Quarterly report ${i}`;
      const sender = `sender${i % 50}@fabrikam.example`;
      mimes.push(Buffer.from(`From: <${sender}>\r\nTo: <bench@contoso.example>\r\nSubject: ${subject}\r\nMessage-ID: <r${i}@fabrikam.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThe numbers of report ${i} are ${i * 7}.\r\n`));
      const who = { emailAddress: { name: `Sender ${i % 50}`, address: sender } };
      snaps.push(
        receivedMessage({
          at: now,
          subject,
          bodyPreview: `The numbers of report ${i} are ${i * 7}.`,
          from: who,
          toRecipients: [{ emailAddress: { name: 'Bench Mailbox', address: 'bench@contoso.example' } }],
          internetMessageId: `<r${i}@fabrikam.example>`,
          conversationId: `AAQkAG${crypto.createHash('sha256').update(String(i)).digest('base64url').slice(0, 32)}`,
        }),
      );
    }
    await core.store.write(async (trx) => {
      const hashes = await mail.putBlobs(trx, mimes);
      const records: MessageRecord[] = snaps.map((props, k) => ({ id: `AAMkAGI2bench${String(start + k).padStart(8, '0')}`, folderId: inbox, props, mimeSha256: hashes[k] }));
      await mail.upsertMessages(trx, tenantId, user.id, records);
    });
  }
  log(`  ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Protection begins: the vault captures the mailbox and records its first restore point.
  t = performance.now();
  const unitId = crypto.randomUUID();
  const protectedAt = core.clock.now().toISOString();
  await core.store.write((trx) => core.events.protectionChanged.emit(trx, [{ tenantId, unitId, mailboxId: user.id, protected: true, at: protectedAt }]));
  const point = await core.store.db.selectFrom('restore_points').select('id').where('tenant_id', '=', tenantId).where('mailbox_id', '=', user.id).executeTakeFirstOrThrow();
  log(`protected (capture ${((performance.now() - t) / 1000).toFixed(1)} s); deleting every message...`);
  const deleteAll = async () => {
    for (let start = 0; start < ITEMS; start += CHUNK) {
      const ids = Array.from({ length: Math.min(CHUNK, ITEMS - start) }, (_, k) => `AAMkAGI2bench${String(start + k).padStart(8, '0')}`);
      await core.store.write((trx) => mail.deleteMessages(trx, tenantId, user.id, ids));
    }
  };
  core.clock.advance(15 * 60_000);
  await deleteAll();
  core.clock.advance(15 * 60_000);
  await core.scheduler.runDue();
  // The restore starts with the keyword index up to date (ticks while the capture is busy index a batch only).
  await catchUpIndex(app.vault);

  // The restore, as a client runs it.
  const token = await mintToken(core.key, { tenantId });
  const call = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(base + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<any>;
  };
  const restoreRound = async (profile: boolean) => {
    quiesce();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    // The kernel's high-water mark (reset here) sees peaks a timer on the busy event loop would miss.
    const hwm = resetPeakRss();
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    const stopProfile = await startProfile(profile, 'restore.cpuprofile');
    log('restoring...');
    const io0 = io();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const session = await call('POST', '/v1.0/solutions/backupRestore/exchangeRestoreSessions', {
      mailboxRestoreArtifacts: [{ restorePoint: { id: point.id }, destinationType: 'inPlace' }],
    });
    await call('POST', `/v1.0/solutions/backupRestore/exchangeRestoreSessions/${session.id}/activate`, {});
    for (;;) {
      const s = await core.store.db.selectFrom('restore_sessions').select('status').where('tenant_id', '=', tenantId).where('id', '=', session.id).executeTakeFirstOrThrow();
      if (['completed', 'completedWithError', 'failed'].includes(s.status)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const io1 = io();
    await stopProfile();
    const mem = process.memoryUsage();
    global.gc?.();
    const kept = process.memoryUsage().heapUsed;
    clearInterval(sampler);
    if (hwm) peak = Math.max(peak, peakRss());
    const artifact = await core.store.db.selectFrom('restore_artifacts').select(['status', 'restored_item_count']).where('tenant_id', '=', tenantId).where('session_id', '=', session.id).executeTakeFirstOrThrow();
    if (artifact.status !== 'succeeded' || artifact.restored_item_count !== ITEMS) throw new Error(`restore ended ${artifact.status} with ${artifact.restored_item_count} items`);
    const live = await core.store.db.selectFrom('messages').select((e) => e.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).where('mailbox_id', '=', user.id).executeTakeFirstOrThrow();
    if (Number(live.n) !== ITEMS) throw new Error(`the mailbox holds ${live.n} messages after the restore`);
    return { ms, cpu, io0, io1, rssBefore, growth: peak - rssBefore, mem, kept };
  };

  // The baseline: the same rows copied by the database alone, into a table shaped and indexed like `messages`
  // (its primary key, and its secondary indexes as the schema has them), made anew for each copy.
  const indexes = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = 'messages' and sql is not null`.execute(core.store.db);
  const copyRound = async () => {
    await core.store.write(async (trx) => {
      await sql`drop table if exists bench_copy`.execute(trx);
      await sql`create table bench_copy as select * from messages where 0`.execute(trx);
      await sql`create unique index bench_copy_pk on bench_copy (tenant_id, mailbox_id, id)`.execute(trx);
      for (const { sql: text } of indexes.rows) await sql.raw(text.replace(/index (\w+) on messages/i, 'index bench_copy_$1 on bench_copy')).execute(trx);
    });
    quiesce();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await core.store.write((trx) => sql`insert into bench_copy select * from messages where tenant_id = ${tenantId} and mailbox_id = ${user.id}`.execute(trx));
    return { ms: performance.now() - t0, cpu: process.cpuUsage(cpu0) };
  };

  // Rounds of a restore and then a copy of what it restored: the machine's pace drifts, so each ratio
  // compares a restore with the copy run just after it, and the median round is reported.
  const rounds: Array<{ restore: Awaited<ReturnType<typeof restoreRound>>; copy: Awaited<ReturnType<typeof copyRound>>; ratio: number }> = [];
  let indexing: { ms: number; cpu: NodeJS.CpuUsage; versions: number } | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    if (r > 0) {
      log(`round ${r + 1}: deleting every message again...`);
      core.clock.advance(60_000);
      await deleteAll();
      await catchUpIndex(app.vault);
    }
    const restore = await restoreRound(r === 0 && process.env.BENCH_RESTORE_PROFILE === '1');
    // What the restore left to the keyword index (it catches up on quiet ticks, or when a search comes),
    // timed in the first round. Every round catches it up before the copy: left to a quiet tick, it would
    // share the writer with the copy and slow it (a copy of 0.98 s against 0.56-0.72 s was seen).
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const versions = await catchUpIndex(app.vault);
    if (r === 0) indexing = { ms: performance.now() - t0, cpu: process.cpuUsage(cpu0), versions };
    const copy = await copyRound();
    rounds.push({ restore, copy, ratio: copy.ms / restore.ms });
  }

  // The ceiling: the same items deleted again and written back by bare INSERT ... SELECTs of the three rows a
  // restored item is (its message, its delta-log entry, its vault version), a thousand items a transaction,
  // without the diff's checks, the job, folders or events: the most a restore making these writes can reach.
  log('the three writes alone...');
  await deleteAll();
  await catchUpIndex(app.vault); // not the ceiling's work either
  quiesce();
  const pointAt = (await core.store.db.selectFrom('restore_points').select('protection_at').where('id', '=', point.id).executeTakeFirstOrThrow()).protection_at;
  const bcpu0 = process.cpuUsage();
  t = performance.now();
  for (let after = '', n = 1000; n === 1000; ) {
    n = await core.store.write(async (trx) => {
      const now = core.clock.now().toISOString();
      await sql`create temp table if not exists bench_page (item_id text primary key, folder_id text, seq integer, text_seq integer)`.execute(trx);
      await sql`delete from bench_page`.execute(trx);
      await sql`insert into bench_page select v.item_id, v.folder_id, v.seq, coalesce(v.props_seq, v.seq)
        from (select item_id, max(seq) as seq from vault_versions where tenant_id = ${tenantId} and mailbox_id = ${user.id} and item_kind = 'message'
              and at <= ${pointAt} and item_id > ${after} group by item_id order by item_id limit 1000) l
        join vault_versions v on v.seq = l.seq where v.op = 'upsert'`.execute(trx);
      await sql`insert into messages (tenant_id, mailbox_id, id, folder_id, props, subject, sender_address, internet_message_id, conversation_id, mime_sha256,
          has_attachments, is_read, is_draft, importance, received_at, sent_at, created_at, modified_at, change_key, change_seq)
        select ${tenantId}, ${user.id}, r.item_id, r.folder_id, t.props, json_extract(t.props, '$.subject'), lower(json_extract(t.props, '$.from.emailAddress.address')),
          json_extract(t.props, '$.internetMessageId'), json_extract(t.props, '$.conversationId'), v.mime_sha256, coalesce(json_extract(t.props, '$.hasAttachments'), 0),
          coalesce(json_extract(t.props, '$.isRead'), 0), coalesce(json_extract(t.props, '$.isDraft'), 0), json_extract(t.props, '$.importance'),
          json_extract(t.props, '$.receivedDateTime'), json_extract(t.props, '$.sentDateTime'), json_extract(t.props, '$.createdDateTime'), ${now}, hex(randomblob(12)), 1
        from bench_page r join vault_versions v on v.seq = r.seq join vault_versions t on t.seq = r.text_seq`.execute(trx);
      await sql`insert into mail_changes (tenant_id, mailbox_id, item_kind, item_id, from_folder_id, to_folder_id, op, at)
        select ${tenantId}, ${user.id}, 'message', item_id, null, folder_id, 'upsert', ${now} from bench_page`.execute(trx);
      await sql`insert into vault_versions (tenant_id, mailbox_id, item_kind, item_id, op, at, folder_id, props, mime_sha256, props_seq)
        select ${tenantId}, ${user.id}, 'message', r.item_id, 'upsert', ${now}, r.folder_id, null, v.mime_sha256, r.text_seq
        from bench_page r join vault_versions v on v.seq = r.seq`.execute(trx);
      const last = await sql<{ item_id: string | null; n: number }>`select max(item_id) as item_id, count(*) as n from bench_page`.execute(trx);
      after = last.rows[0].item_id ?? after;
      return Number(last.rows[0].n);
    });
  }
  const bareMs = performance.now() - t;
  const bcpu = process.cpuUsage(bcpu0);

  const cpuS = (c: NodeJS.CpuUsage) => ((c.user + c.system) / 1e6).toFixed(2);
  const rate = (ms: number) => ITEMS / (ms / 1000);
  const mid = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)];
  const growth = Math.max(...rounds.map((r) => r.restore.growth));
  const restoreRate = rate(mid.restore.ms);
  console.log(`restore: in place, ${ITEMS} deleted messages of a protected mailbox (SQLite file, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}), ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}`);
  rounds.forEach(({ restore: x, copy: c, ratio }, i) => {
    console.log(`  round ${i + 1}${x === mid.restore && ROUNDS > 1 ? ' (the median)' : ''}`);
    console.log(`    restore session         ${(x.ms / 1000).toFixed(2)} s  ${rate(x.ms).toFixed(0)} items/s  cpu ${cpuS(x.cpu)} s (${((x.cpu.user + x.cpu.system) / ITEMS).toFixed(1)} µs an item)  peak RSS +${mb(x.growth)} (from ${mb(x.rssBefore)})`);
    if (x.io0 && x.io1) {
      const per = (n: number) => (n / ITEMS).toFixed(1);
      console.log(`    file I/O during the restore: ${mb(x.io1.wchar - x.io0.wchar)} written in ${x.io1.syscw - x.io0.syscw} calls (${per(x.io1.syscw - x.io0.syscw)} an item), ${mb(x.io1.rchar - x.io0.rchar)} read in ${x.io1.syscr - x.io0.syscr} calls (${per(x.io1.syscr - x.io0.syscr)} an item)`);
    }
    console.log(`    memory after the restore: rss ${mb(x.mem.rss)}, V8 heap ${mb(x.mem.heapUsed)} used of ${mb(x.mem.heapTotal)} (${mb(x.kept)} after a full GC), external ${mb(x.mem.external)}`);
    console.log(`    INSERT ... SELECT copy  ${(c.ms / 1000).toFixed(2)} s  ${rate(c.ms).toFixed(0)} rows/s   cpu ${cpuS(c.cpu)} s: ratio ${ratio.toFixed(2)}`);
  });
  if (indexing) console.log(`  keyword index catch-up    ${(indexing.ms / 1000).toFixed(2)} s  ${indexing.versions} versions left by the first restore  cpu ${cpuS(indexing.cpu)} s`);
  console.log(`  the three writes alone    ${(bareMs / 1000).toFixed(2)} s  ${(ITEMS / (bareMs / 1000)).toFixed(0)} items/s  cpu ${cpuS(bcpu)} s: ratio ${(mid.copy.ms / bareMs).toFixed(2)} to the median round's copy, the ceiling of a restore that makes them`);
  console.log(`  ratio ${mid.ratio.toFixed(2)} (the median round; target ≥ 0.30) ${mid.ratio >= 0.3 ? 'MET' : 'NOT MET'}; items/s target ≥ 20000 ${restoreRate >= 20_000 ? 'MET' : 'NOT MET'}; RSS growth target < 100 MB (the largest of the rounds) ${growth < 100 * 1024 * 1024 ? 'MET' : 'NOT MET'}`);
} finally {
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
