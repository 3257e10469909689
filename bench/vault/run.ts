/**
 * The vault's three measurements (issue 5), each against a baseline measured in the same run:
 *  (1) write rate to a protected mailbox / the same writes to an unprotected one     target >= 0.7
 *  (2) vault size after a simulated year of 10-minute ticks, 1,000 idle + 10 busy
 *      mailboxes / one copy of the data plus its changes                              target <= 1.3
 *  (3) granular search latency over a 100,000-message mailbox, p50 and p95            target p95 < 50 ms
 *  (4) the capture's and the keyword indexer's cost per item (writePath.ts), not run by default
 * Writes go through the mail area's service (the same path its Graph endpoints take), so capture
 * runs exactly as in production; protection is announced with the protectionChanged event.
 * Usage: npm run bench:vault [-- --only 1,2,3,4]
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { makeDuePoints } from '../../src/vault/restorePoints.js';
import { collectGarbage } from '../../src/vault/gc.js';
import { catchUpIndex } from '../../src/vault/indexer.js';
import { TICK_MS } from '../../src/vault/time.js';
import { mintToken } from '../../src/identity/tokens.js';
import type { MessageRecord } from '../../src/mail/model.js';
import { writePath } from './writePath.js';
import { address, benchApp, content, makeUsers, newMessage, person, prng, protect, snapshot } from './data.js';

const only = (() => {
  const i = process.argv.indexOf('--only');
  return i < 0 ? ['1', '2', '3'] : process.argv[i + 1].split(',');
})();

const fmt = (n: number, d = 2) => n.toFixed(d);
const mb = (bytes: number) => `${fmt(bytes / 1048576, 1)} MiB`;

// ---- (1) write rate ----------------------------------------------------------------------------

async function writeRate(): Promise<void> {
  const b = await benchApp();
  try {
    const [plain, guarded] = await makeUsers(b, 2, 'writer');
    await protect(b, [guarded.id]);
    const r = prng(1);
    const ROUND = 1500;
    const CONCURRENCY = 16;
    // One write = what one Graph call does: 60% new message (content + metadata), 30% flag change, 10% delete.
    const round = async (box: { id: string; inbox: string }): Promise<number> => {
      const live: MessageRecord[] = [];
      let next = 0;
      const started = performance.now();
      const worker = async () => {
        while (next < ROUND) {
          next++;
          const roll = r.next();
          const now = b.app.core.clock.now().toISOString();
          if (roll < 0.6 || live.length < 20) {
            const mime = content(r, 3000 + r.int(6000));
            const rec = await b.app.core.store.write(async (trx) => {
              const [sha] = await b.mail.putBlobs(trx, [mime]);
              return (await b.mail.upsertMessages(trx, b.tenantId, box.id, [newMessage(box.inbox, snapshot(r, now, { senders: 500 }), sha)]))[0];
            });
            live.push(rec);
          } else if (roll < 0.9) {
            const m = live[r.int(live.length)];
            m.props = { ...m.props, isRead: !m.props.isRead };
            await b.app.core.store.write((trx) => b.mail.upsertMessages(trx, b.tenantId, box.id, [m]));
          } else {
            const [m] = live.splice(r.int(live.length), 1);
            await b.app.core.store.write((trx) => b.mail.deleteMessages(trx, b.tenantId, box.id, [m.id]));
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      // The keyword index follows the capture: its catching up counts against the protected writes.
      await catchUpIndex(b.app.vault);
      return ROUND / ((performance.now() - started) / 1000);
    };
    await round(plain); // warm-up
    const rates: Record<'plain' | 'guarded', number[]> = { plain: [], guarded: [] };
    for (let i = 0; i < 5; i++) {
      rates.plain.push(await round(plain));
      rates.guarded.push(await round(guarded));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const ratio = median(rates.guarded) / median(rates.plain);
    console.log(`(1) write rate, SQLite file (WAL, synchronous=FULL), ${CONCURRENCY} concurrent writers, median of 5 alternating rounds of ${ROUND} (keyword indexing included)`);
    console.log(`    unprotected ${fmt(median(rates.plain), 0)} writes/s   protected ${fmt(median(rates.guarded), 0)} writes/s`);
    console.log(`    ratio ${fmt(ratio)}   target >= 0.70   ${ratio >= 0.7 ? 'MET' : 'MISSED'}`);
  } finally {
    await b.close();
  }
}

// ---- (2) a year of ticks -------------------------------------------------------------------------

async function yearOfTicks(): Promise<void> {
  const b = await benchApp({ memory: true });
  try {
    const ctx = b.app.vault;
    const r = prng(2);
    const idle = await makeUsers(b, 1000, 'idle');
    const busy = await makeUsers(b, 10, 'busy');
    let dataBytes = 0;
    let changeBytes = 0;
    let jsonBytes = 0;
    const json = (v: unknown) => {
      const n = Buffer.byteLength(JSON.stringify(v));
      jsonBytes += n;
      return n;
    };
    // The data is what recreating an item needs: its snapshot without the fields every write changes.
    const essential = ({ changeKey: _c, lastModifiedDateTime: _l, parentFolderId: _p, ...rest }: MessageRecord['props']) => rest;
    const live = new Map<string, MessageRecord[]>();
    const archive = new Map<string, string>();
    const fill = async (box: { id: string; inbox: string }, n: number) => {
      const now = b.app.core.clock.now().toISOString();
      const mimes = Array.from({ length: n }, () => content(r, 2000 + r.int(8000)));
      const recs = await b.app.core.store.write(async (trx) => {
        const shas = await b.mail.putBlobs(trx, mimes);
        return b.mail.upsertMessages(trx, b.tenantId, box.id, shas.map((sha) => newMessage(box.inbox, snapshot(r, now, { senders: 300 }), sha)));
      });
      for (let i = 0; i < n; i++) dataBytes += mimes[i].length + json(essential(recs[i].props));
      live.set(box.id, recs);
    };
    for (const box of idle) await fill(box, 10);
    for (const box of busy) {
      await fill(box, 100);
      const f = await b.app.core.store.write((trx) => b.mail.createFolder(trx, b.tenantId, box.id, { parentId: box.inbox, displayName: 'Archive' }));
      archive.set(box.id, f.id);
    }
    for (const box of [...idle, ...busy]) for (const { id: _id, ...f } of await b.mail.listFolders(b.tenantId, box.id)) dataBytes += json(f);
    await protect(b, [...idle, ...busy].map((x) => x.id));

    const TICKS = Number(process.argv[process.argv.indexOf('--ticks') + 1]) || 52_560; // --ticks: shorter runs while developing
    const start = Math.ceil(b.app.core.clock.now().getTime() / TICK_MS) * TICK_MS;
    const began = performance.now();
    let changes = 0;
    for (let k = 1; k <= TICKS; k++) {
      const tick = start + k * TICK_MS;
      const active = busy.filter(() => r.next() < 0.06); // ~8.6 changes a day per busy mailbox
      if (active.length > 0) {
        const when = tick - TICK_MS + 1 + r.int(TICK_MS - 2);
        if (when > b.app.core.clock.now().getTime()) b.app.core.clock.set(new Date(when));
        const now = b.app.core.clock.now().toISOString();
        await b.app.core.store.write(async (trx) => {
          for (const box of active) {
            const recs = live.get(box.id)!;
            const roll = r.next();
            changes++;
            if (roll < 0.5 || recs.length < 10) {
              const mime = content(r, 2000 + r.int(8000));
              const [sha] = await b.mail.putBlobs(trx, [mime]);
              const [rec] = await b.mail.upsertMessages(trx, b.tenantId, box.id, [newMessage(box.inbox, snapshot(r, now, { senders: 300 }), sha)]);
              recs.push(rec);
              changeBytes += mime.length + json(essential(rec.props));
            } else if (roll < 0.75) {
              const m = recs[r.int(recs.length)];
              m.props = { ...m.props, isRead: !m.props.isRead };
              await b.mail.upsertMessages(trx, b.tenantId, box.id, [m]);
              changeBytes += json(essential(m.props));
            } else if (roll < 0.9) {
              const m = recs[r.int(recs.length)];
              m.folderId = m.folderId === box.inbox ? archive.get(box.id)! : box.inbox;
              await b.mail.upsertMessages(trx, b.tenantId, box.id, [m]);
              changeBytes += json(essential(m.props));
            } else {
              const [m] = recs.splice(r.int(recs.length), 1);
              await b.mail.deleteMessages(trx, b.tenantId, box.id, [m.id]);
            }
          }
        });
      }
      // The scheduler runs at least hourly here; it makes every point owed since its last run.
      if (k % 6 === 0 || k === TICKS) {
        if (tick > b.app.core.clock.now().getTime()) b.app.core.clock.set(new Date(tick));
        await makeDuePoints(ctx, b.app.core.clock.now());
      }
      // What the scheduler also does on the way: keyword indexing daily, a collection weekly (nothing expires within the year).
      if (k % 144 === 0) await catchUpIndex(ctx);
      if (k % 1008 === 0) await collectGarbage(ctx, b.app.core.clock.now());
    }
    await catchUpIndex(ctx);
    const simulated = performance.now() - began;

    const db = b.app.core.store.db;
    const pages = await sql<{ name: string; bytes: number }>`select name, sum(pgsize) as bytes from dbstat group by name`.execute(db);
    const vaultObjects = /^(vault_|restore_points|sqlite_autoindex_(vault_|restore_points|search_))|^search_/;
    const vaultTableBytes = pages.rows.filter((p) => vaultObjects.test(p.name)).reduce((n, p) => n + Number(p.bytes), 0);
    const ftsBytes = pages.rows.filter((p) => p.name.startsWith('vault_fts')).reduce((n, p) => n + Number(p.bytes), 0);
    const blobRow = await sql<{ bytes: number }>`select coalesce(sum(size), 0) as bytes from blobs where sha256 in (select mime_sha256 from vault_versions)`.execute(db);
    const contentBytes = Number(blobRow.rows[0].bytes);
    const vaultBytes = vaultTableBytes + contentBytes;
    const baseline = dataBytes + changeBytes;
    const points = await db.selectFrom('restore_points').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const idlePoints = await db
      .selectFrom('restore_points')
      .select((e) => e.fn.countAll().as('n'))
      .where('mailbox_id', 'in', idle.map((x) => x.id))
      .executeTakeFirstOrThrow();
    const versions = await db.selectFrom('vault_versions').select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const ratio = vaultBytes / baseline;
    console.log(`(2) a year of 10-minute ticks (${TICKS}) for 1,000 idle + 10 busy mailboxes, simulated in ${fmt(simulated / 1000, 1)} s`);
    console.log(`    ${changes} changes; ${points.n} restore points (${idlePoints.n} for the 1,000 idle mailboxes); ${versions.n} versions`);
    console.log(`    data + changes ${mb(baseline)} (data ${mb(dataBytes)}, changes ${mb(changeBytes)})`);
    console.log(`    vault ${mb(vaultBytes)} = content ${mb(contentBytes)} + versions, points and indexes ${mb(vaultTableBytes - ftsBytes)} + keyword index ${mb(ftsBytes)}`);
    console.log(`    ratio ${fmt(ratio)}   target <= 1.30   ${ratio <= 1.3 ? 'MET' : 'MISSED'}`);
    console.log(`    (metadata alone: vault rows, points and indexes ${mb(vaultTableBytes)} against ${mb(jsonBytes)} of snapshots: ${fmt(vaultTableBytes / jsonBytes)}x; content 2-10 KB a message)`);
    if (process.argv.includes('--detail')) for (const p of pages.rows.filter((x) => vaultObjects.test(x.name))) console.log(`      ${p.name} ${mb(Number(p.bytes))}`);
  } finally {
    await b.close();
  }
}

// ---- (3) granular search latency -----------------------------------------------------------------

async function searchLatency(): Promise<void> {
  const b = await benchApp();
  try {
    const ctx = b.app.vault;
    const r = prng(3);
    const [box] = await makeUsers(b, 1, 'searcher');
    await protect(b, [box.id]);
    const SENDERS = 2000;
    const blobs = await b.app.core.store.write((trx) => b.mail.putBlobs(trx, Array.from({ length: 50 }, () => content(r, 4000))));
    const began = performance.now();
    const all: MessageRecord[] = [];
    for (let i = 0; i < 100_000; i += 2000) {
      const now = b.app.core.clock.now().toISOString();
      const recs = await b.app.core.store.write((trx) =>
        b.mail.upsertMessages(trx, b.tenantId, box.id, Array.from({ length: 2000 }, () => newMessage(box.inbox, snapshot(r, now, { senders: SENDERS }), r.pick(blobs)))),
      );
      all.push(...recs);
    }
    const filled = performance.now() - began;
    b.app.core.clock.advance(TICK_MS);
    await makeDuePoints(ctx, b.app.core.clock.now());
    // A tick of churn: 2,000 deleted, 2,000 read.
    await b.app.core.store.write(async (trx) => {
      await b.mail.deleteMessages(trx, b.tenantId, box.id, all.slice(0, 2000).map((m) => m.id));
      await b.mail.upsertMessages(trx, b.tenantId, box.id, all.slice(2000, 4000).map((m) => ({ ...m, props: { ...m.props, isRead: true } })));
    });
    b.app.core.clock.advance(TICK_MS);
    await makeDuePoints(ctx, b.app.core.clock.now());
    const points = await b.app.core.store.db.selectFrom('restore_points').select(['unit_id', 'protection_at']).orderBy('protection_at', 'desc').execute();
    const unitId = points[0].unit_id;

    const base = await b.app.listen();
    const token = await mintToken(b.app.core.key, { tenantId: b.tenantId });
    const shapes: Array<(k: number) => string> = [
      (k) => `Sender -eq '${address((k * 7) % SENDERS)}'`,
      (k) => `Subject -like '${['invoice', 'roadmap', 'offsite', 'webinar'][k % 4]} ${['review', 'plan', 'notes', 'final'][(k >> 2) % 4]}'`,
      (k) => `(Sender -like '${person(k).first}*') -and (HasAttachment -eq 'true')`,
      (k) => `Participants -eq '${address((k * 13) % SENDERS)}'`,
      (k) => `(Subject -like 'quarterly budget' -or Subject -like 'pricing update') -and Sender -like '${person(k * 3).last}'`,
      (k) => `(Sender -eq '${address(k % SENDERS)}') -and (Subject -like '*report*' -or Subject -like 'Important') -and (HasAttachment -eq 'true')`,
      (k) => `Subject -like 'contract renewal*' -and Participants -like '${person(k * 5).first} ${person(k * 5).last}'`,
      (k) => `Sender -eq '${address((k * 31) % SENDERS)}' -and PitrDumpsterActionTriggeredTime -gt '{2000-01-01T00:00:00Z}'`,
    ];
    const latencies: number[] = [];
    const hitCounts: number[] = [];
    const byShape = shapes.map(() => [] as number[]);
    const run = async (k: number, record: boolean) => {
      const q = shapes[k % shapes.length](k);
      const t0 = performance.now();
      const res = await fetch(`${base}/v1.0/solutions/backupRestore/restorePoints/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ protectionUnitIds: [unitId], protectionTimePeriod: { startDateTime: points[1].protection_at }, restorePointPreference: 'latest', artifactQuery: { artifactType: 'message', queryExpression: q } }),
      });
      const body = (await res.json()) as { searchResults: Array<{ artifactHitCount: number }> };
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`search failed: ${JSON.stringify(body)}`);
      if (record) {
        byShape[k % shapes.length].push(ms);
        latencies.push(ms);
        hitCounts.push(body.searchResults[0].artifactHitCount);
      }
    };
    for (let k = 0; k < 16; k++) await run(k, false);
    for (let k = 0; k < 240; k++) await run(k + 1000, true);
    latencies.sort((x, y) => x - y);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    const hits = [...hitCounts].sort((x, y) => x - y);
    // A query with no keyword: the time index narrows it to the items changed since the point.
    const t0 = performance.now();
    await fetch(`${base}/v1.0/solutions/backupRestore/restorePoints/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ protectionUnitIds: [unitId], protectionTimePeriod: { startDateTime: points[1].protection_at }, restorePointPreference: 'latest', artifactQuery: { artifactType: 'message', queryExpression: "PitrDumpsterActionTriggeredTime -gt '{2000-01-01T00:00:00Z}'" } }),
    });
    const scan = performance.now() - t0;
    console.log(`(3) granular search over a 100,000-message mailbox (filled in ${fmt(filled / 1000, 1)} s), ${latencies.length} searches of ${shapes.length} shapes, over HTTP`);
    // The data is seeded, so the total and its digest are the same on every run: a changed index must not move them.
    const digest = crypto.createHash('sha256').update(hitCounts.join(',')).digest('hex').slice(0, 12);
    console.log(`    hits per search: median ${hits[hits.length >> 1]}, max ${hits[hits.length - 1]}, total ${hitCounts.reduce((a, x) => a + x, 0)} (digest ${digest})`);
    console.log(`    p50 ${fmt(pct(50), 1)} ms   p95 ${fmt(pct(95), 1)} ms   max ${fmt(latencies[latencies.length - 1], 1)} ms   target p95 < 50 ms   ${pct(95) < 50 ? 'MET' : 'MISSED'}`);
    byShape.forEach((xs, i) => {
      xs.sort((x, y) => x - y);
      console.log(`    shape ${i + 1}: median ${fmt(xs[xs.length >> 1], 1)} ms, max ${fmt(xs[xs.length - 1], 1)} ms   ${shapes[i](1)}`);
    });
    console.log(`    (a date-only query, narrowed by the time index to the items changed since the point: ${fmt(scan, 0)} ms)`);
  } finally {
    await b.close();
  }
}

if (only.includes('1')) await writeRate();
if (only.includes('2')) await yearOfTicks();
if (only.includes('3')) await searchLatency();
if (only.includes('4')) await writePath();
