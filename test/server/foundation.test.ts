import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

test('health answers without a token', async () => {
  const r = await s.request('GET', '/_mailvault/health', { token: null });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
  assert.match(r.headers.get('request-id')!, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers.get('client-request-id'), r.headers.get('request-id'));
});

test('GET backupRestore returns the root of a new tenant as disabled', async () => {
  const r = await s.request('GET', '/v1.0/solutions/backupRestore', { headers: { 'client-request-id': 'abc-123' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('client-request-id'), 'abc-123');
  assert.equal(r.body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/$entity`);
  assert.equal(r.body.serviceStatus.status, 'disabled');
  assert.equal(r.body.serviceStatus.backupServiceConsumer, 'unknown');
});

test('unknown segment is a 400 naming it; wrong method is a 405', async () => {
  const r = await s.request('GET', '/v1.0/solutions/backupRestore/nonsense');
  const e = expectGraphError(r, 400, 'BadRequest');
  assert.equal(e.message, "Resource not found for the segment 'nonsense'.");
  const m = await s.request('DELETE', '/v1.0/solutions/backupRestore');
  expectGraphError(m, 405, 'methodNotAllowed');
});

test('path segments are case-insensitive and beta routes too', async () => {
  const r = await s.request('GET', '/beta/Solutions/BackupRestore');
  assert.equal(r.status, 200);
  assert.equal(r.body['@odata.context'], `${s.base}/beta/$metadata#solutions/backupRestore/$entity`);
});

test('missing, malformed and foreign tokens are 401 with WWW-Authenticate', async () => {
  for (const token of [null, 'nope', 'a.b.c']) {
    const r = await s.request('GET', '/v1.0/solutions/backupRestore', { token });
    expectGraphError(r, 401, 'InvalidAuthenticationToken');
    assert.match(r.headers.get('www-authenticate')!, /^Bearer/);
  }
  const expired = await s.token({ expires: '1s' });
  await new Promise((r) => setTimeout(r, 1100));
  // Within the 5-minute skew an expired token still passes; a token expired long ago does not.
  const r = await s.request('GET', '/v1.0/solutions/backupRestore', { token: expired });
  assert.equal(r.status, 200);
});

test('a token without the permission is 403 accessDenied naming it', async () => {
  const token = await s.token({ roles: ['BackupRestore-Restore.Read.All'] });
  const r = await s.request('GET', '/v1.0/solutions/backupRestore', { token });
  const e = expectGraphError(r, 403, 'accessDenied');
  assert.match(e.message, /BackupRestore-Control\.Read\.All/);
  const ok = await s.request('GET', '/v1.0/solutions/backupRestore', { token: await s.token({ roles: ['BackupRestore-Control.ReadWrite.All'] }) });
  assert.equal(ok.status, 200, 'a higher-privileged permission is accepted');
});

test('$metadata serves the CSDL', async () => {
  const r = await s.request('GET', '/v1.0/$metadata', { token: null });
  assert.equal(r.status, 200);
  assert.match(r.text, /<EntityType Name="exchangeRestoreSession"/);
});

test('the clock moves forward only', async () => {
  const before = await s.request('GET', '/_mailvault/clock');
  assert.equal(before.body.timing, 'instant');
  const now = await s.advance('PT10M');
  assert.ok(new Date(now).getTime() - new Date(before.body.now).getTime() >= 600_000);
  const back = await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { set: '2000-01-01T00:00:00Z' } });
  expectGraphError(back, 400, 'BadRequest');
  const noToken = await s.request('GET', '/_mailvault/clock', { token: null });
  expectGraphError(noToken, 401, 'InvalidAuthenticationToken');
});

test('Prefer: include-unknown-enum-members is acknowledged with Preference-Applied', async () => {
  const plain = await s.request('GET', '/v1.0/solutions/backupRestore');
  assert.equal(plain.headers.get('preference-applied'), null);
  const r = await s.request('GET', '/v1.0/solutions/backupRestore', { headers: { prefer: 'include-unknown-enum-members' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('preference-applied'), 'include-unknown-enum-members');
});

test('on PostgreSQL, connections the database server ends are replaced; the server stays up', { skip: !process.env.MAILVAULT_TEST_DATABASE_URL && 'runs with MAILVAULT_TEST_DATABASE_URL' }, async () => {
  const { default: pg } = await import('pg');
  const own = await startServer();
  try {
    const list = '/v1.0/solutions/backupRestore/protectionPolicies';
    assert.equal((await own.request('GET', list)).status, 200);
    const database = new URL(own.app.core.config.databaseUrl!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: process.env.MAILVAULT_TEST_DATABASE_URL });
    await admin.connect();
    const ended = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    await admin.end();
    assert.ok(ended.rowCount! > 0, 'the server had connections to end');
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 3; i++) assert.equal((await own.request('GET', list)).status, 200);
  } finally {
    await own.close();
  }
});

test('on a data directory, acknowledged writes reach the database file itself, checkpointed off the event loop', { skip: !!process.env.MAILVAULT_TEST_DATABASE_URL && 'SQLite only' }, async () => {
  const { default: Database } = await import('better-sqlite3');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-checkpoint-'));
  const own = await startServer({ memory: false, data });
  try {
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `user${i}@contoso.example`;
      const r = await own.request('POST', '/v1.0/users', { body: { displayName: `User ${i}`, userPrincipalName: name, mailNickname: `user${i}`, accountEnabled: true, passwordProfile: { password: 'Checkpoint-1234' } } });
      assert.equal(r.status, 201, r.text);
      names.push(name);
    }
    // The writer does not checkpoint; the checkpoint thread copies the WAL into the file soon after.
    // A copy of the file alone (no WAL beside it) holds every acknowledged user once that has run.
    const copy = path.join(data, 'copy.db');
    let found = 0;
    for (let i = 0; i < 100 && found < names.length; i++) {
      await new Promise((r) => setTimeout(r, 50));
      fs.copyFileSync(path.join(data, 'mailvault.db'), copy);
      const db = new Database(copy, { readonly: true });
      try {
        found = (db.prepare(`select count(*) as n from users where user_principal_name in (${names.map(() => '?').join(',')})`).get(...names) as { n: number }).n;
      } catch {
        found = 0; // not yet even the table
      } finally {
        db.close();
      }
    }
    assert.equal(found, names.length);
  } finally {
    await own.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('the app holds one nextTick queue entry, so a full collection cannot reset nextTick to its slow path', async () => {
  const { tickEntryHeld } = await import('../../src/tickMaps.js');
  assert.equal(tickEntryHeld(), true);
});
