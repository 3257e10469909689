/**
 * bench/import: `mailvault import` throughput against the store's own speed, in the same run.
 *
 *   1. generate an mbox of N messages of about 10 KB (default 100,000; BENCH_MESSAGES to change)
 *   2. import it streaming into a durable SQLite data directory (what `mailvault import` does), in a
 *      child process (child.mjs, the built product in dist/) so that its peak RSS is measured alone
 *   3. baseline: insert the same rows (blob, message, change-log entry) into a fresh SQLite file of
 *      the same schema with prepared statements, no parsing (message bytes are made untimed)
 *
 * Prints both rates, their ratio (target >= 0.2) and the peak RSS of the import (target < 300 MB).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Store } from '../../src/store/store.js';
import { mboxEntry } from '../../src/mail/mbox.js';

const run = promisify(execFile);
const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
const BATCH = 500;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-bench-import-'));

/** Deterministic ~10 KB messages: multipart/alternative text + html, every 10th with an attachment. */
function makeMessage(i: number): { data: Buffer; subject: string; from: string; date: Date } {
  const words = ['budget', 'review', 'launch', 'customer', 'forecast', 'design', 'quarter', 'meeting', 'contract', 'roadmap', 'retail', 'inventory'];
  const w = (k: number) => words[(i * 7 + k * 13) % words.length];
  const subject = `${w(1)} ${w(2)} ${w(3)} #${i}`;
  const from = `user${i % 97}@fabrikam.example`;
  const date = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
  const line = `The ${w(4)} for the ${w(5)} is on track; please check the ${w(6)} numbers before the ${w(7)}.`;
  const text = Array.from({ length: 50 }, () => line).join('\r\n') + '\r\n';
  const html = `<html><body>${Array.from({ length: 50 }, () => `<p>${line}</p>`).join('\r\n')}</body></html>\r\n`;
  const b = `alt-${i}`;
  const alt = `Content-Type: multipart/alternative; boundary="${b}"\r\n\r\n--${b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}--${b}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}--${b}--\r\n`;
  const head = `From: User ${i % 97} <${from}>\r\nTo: Ivy <ivy@contoso.test>\r\nSubject: ${subject}\r\nDate: ${date.toUTCString()}\r\nMessage-ID: <bench.${i}@fabrikam.example>\r\nMIME-Version: 1.0\r\n`;
  let mime: string;
  if (i % 10 === 0) {
    const m = `mix-${i}`;
    mime = `${head}Content-Type: multipart/mixed; boundary="${m}"\r\n\r\n--${m}\r\n${alt}--${m}\r\nContent-Type: text/csv; name="data.csv"\r\nContent-Disposition: attachment; filename="data.csv"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('a,b,c\n'.repeat(40)).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n--${m}--\r\n`;
  } else {
    mime = head + alt;
  }
  return { data: Buffer.from(mime), subject, from, date };
}

async function generate(file: string): Promise<number> {
  const out = fs.createWriteStream(file);
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const m = makeMessage(i);
    bytes += m.data.length;
    if (!out.write(mboxEntry(m.data, m.from, m.date))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  return bytes / N;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

async function runImport(file: string): Promise<{ rate: number; peakRssMb: number; seconds: number; memory: string }> {
  // in a child process, so the peak RSS measured is the import's own
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.mjs');
  const { stdout } = await run(process.execPath, [child, path.join(dir, 'import'), file], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as {
    imported: number;
    seconds: number;
    maxRss: number;
    startRss: number;
    peak: { heapTotal: number; heapUsed: number; arrayBuffers: number };
  };
  if (r.imported !== N) throw new Error(`imported ${r.imported} of ${N}`);
  const memory = `RSS before the import ${mb(r.startRss)}; peaks during it: V8 heap ${mb(r.peak.heapTotal)} (${mb(r.peak.heapUsed)} used), buffers ${mb(r.peak.arrayBuffers)}`;
  return { rate: N / r.seconds, peakRssMb: r.maxRss / 2 ** 20, seconds: r.seconds, memory };
}

async function runBaseline(): Promise<{ rate: number; seconds: number }> {
  const file = path.join(dir, 'baseline.db');
  (await Store.open({ file })).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const blob = db.prepare('insert into blobs (sha256, size, data, created_at) values (?, ?, ?, ?) on conflict do nothing');
  const message = db.prepare(
    `insert into messages (tenant_id, mailbox_id, id, folder_id, props, subject, sender_address, internet_message_id, conversation_id, mime_sha256,
      has_attachments, is_read, is_draft, importance, received_at, sent_at, created_at, modified_at, change_key, change_seq)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const change = db.prepare('insert into mail_changes (tenant_id, mailbox_id, item_kind, item_id, from_folder_id, to_folder_id, op, at) values (?, ?, ?, ?, ?, ?, ?, ?)');
  let timed = 0;
  for (let start = 0; start < N; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, N - start) }, (_, k) => makeMessage(start + k));
    const t = performance.now();
    const now = new Date().toISOString();
    db.transaction(() => {
      batch.forEach((m, k) => {
        const i = start + k;
        const sha = crypto.createHash('sha256').update(m.data).digest('hex');
        const id = `AAMkAGI2${i}`;
        const props = JSON.stringify({ subject: m.subject, from: { emailAddress: { name: m.from, address: m.from } }, receivedDateTime: m.date.toISOString(), bodyPreview: m.subject });
        blob.run(sha, m.data.length, m.data, now);
        message.run('t', 'mb', id, 'inbox', props, m.subject, m.from, `<bench.${i}@fabrikam.example>`, 'c', sha, i % 10 === 0 ? 1 : 0, 0, 0, 'normal', m.date.toISOString(), m.date.toISOString(), now, now, 'ck', i);
        change.run('t', 'mb', 'message', id, null, 'inbox', 'upsert', now);
      });
    })();
    timed += performance.now() - t;
  }
  db.close();
  return { rate: N / (timed / 1000), seconds: timed / 1000 };
}

async function main() {
  const mbox = path.join(dir, 'bench.mbox');
  console.log(`bench/import: ${N} messages in ${dir}`);
  const avg = await generate(mbox);
  console.log(`  mbox: ${(fs.statSync(mbox).size / 2 ** 20).toFixed(0)} MB, ${(avg / 1024).toFixed(1)} KB per message`);
  const imp = await runImport(mbox);
  console.log(`  import   : ${imp.rate.toFixed(0)} messages/s (${imp.seconds.toFixed(1)} s), peak RSS ${imp.peakRssMb.toFixed(0)} MB`);
  console.log(`  memory   : ${imp.memory}`);
  const base = await runBaseline();
  console.log(`  baseline : ${base.rate.toFixed(0)} rows/s (${base.seconds.toFixed(1)} s) — same rows into SQLite, no parsing`);
  const ratio = imp.rate / base.rate;
  console.log(`  ratio    : ${ratio.toFixed(2)} (target >= 0.2) ${ratio >= 0.2 ? 'OK' : 'BELOW TARGET'}`);
  console.log(`  peak RSS : ${imp.peakRssMb.toFixed(0)} MB (target < 300 MB) ${imp.peakRssMb < 300 ? 'OK' : 'ABOVE TARGET'}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
