// The ceiling of a durable create: a raw node:http server that parses the body like the baseline and,
// before answering 201, stores the session and its artifacts as Mailvault does — two inserts into
// the same tables of a database Mailvault's migrations made, the creates read in one turn of the event
// loop sharing one transaction, each answered once its commit's WAL is fdatasync'ed on libuv's thread
// pool, and the WAL checkpointed off the event loop by Mailvault's own checkpoint thread — with none of
// the rest (routing, hooks, token, validation, lookups, shaping).
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { checkpointer } from '../../dist/store/checkpointer.js';

const file = process.env.DB_FILE;
const created = process.env.CREATED_BODY;
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
// Checkpoints as Mailvault's: a thread of their own, after commits (it turns the writer's own off). Without
// any, the WAL grows through the run and every fdatasync then also commits the file's new blocks: the
// ceiling measured 12-17% lower that way.
const checkpoints = checkpointer(file, db, (message) => console.error(message));
const session = db.prepare(`insert into restore_sessions (tenant_id, id, kind, status, restore_job_type, error, created_by, created_at,
  last_modified_by, last_modified_at, completed_at, activated_at, artifact_total, artifact_completed, artifact_in_progress, artifact_failed)
  values (?, ?, 'exchange', 'draft', 'standard', null, ?, ?, ?, ?, null, null, ?, 0, 0, 0)`);
const artifact = db.prepare(`insert into restore_artifacts (tenant_id, id, session_id, kind, ordinal, restore_point_id, mailbox_id, destination_type,
  search_response_id, status, start_at, completion_at, error, restored_folder_id, restored_folder_name, restored_item_count, created_at)
  values (?, ?, ?, 'mailbox', ?, ?, ?, ?, null, 'added', null, null, null, null, null, null, ?)`);
const begin = db.prepare('begin');
const commit = db.prepare('commit');
const tenant = crypto.randomUUID();
const who = JSON.stringify({ application: { id: crypto.randomUUID(), displayName: 'Bench' } });
// time-ordered ids, as Mailvault's (new rows land at the end of the primary-key index)
const newId = () => `${Date.now().toString(16).padStart(12, '0')}-${crypto.randomUUID().slice(13)}`;
const wal = fs.openSync(`${file}-wal`, 'r');

let queue = [];
function drain() {
  const batch = queue;
  queue = [];
  begin.run();
  for (const { input } of batch) {
    const now = new Date().toISOString();
    const id = newId();
    session.run(tenant, id, who, now, who, now, input.mailboxRestoreArtifacts.length);
    input.mailboxRestoreArtifacts.forEach((a, i) => artifact.run(tenant, newId(), id, i, a.restorePoint.id, crypto.randomUUID(), a.destinationType, now));
  }
  commit.run();
  fs.fdatasync(wal, () => {
    checkpoints.committed();
    batch.forEach(({ res }) => res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(created) }).end(created));
  });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (queue.push({ input, res }) === 1) setImmediate(drain);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`durable baseline listening on http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
