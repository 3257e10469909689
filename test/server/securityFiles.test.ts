/**
 * The data directory is its owner's alone (issue 17, finding 8): the server makes it 0700 and every
 * file it writes there 0600, the SQLite database's -wal and -shm included, whatever the umask; a data
 * directory of an earlier version (0755, files 0644) is tightened at start.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startServer, type TestServer } from '../helpers/server.js';

const onPostgres = Boolean(process.env.MAILVAULT_TEST_DATABASE_URL);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-modes-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

/** Every entry of `dir` (recursively) with its mode, in octal. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true }) as string[]) out[entry] = mode(path.join(dir, entry));
  return out;
}

/** Files the server must have written into its data directory while it runs (the database's only on SQLite). */
function serverFiles(tls: boolean): string[] {
  const files = onPostgres ? [] : ['mailvault.db', 'mailvault.db-shm', 'mailvault.db-wal'];
  if (tls) files.push('tls-cert.pem', 'tls-key.pem');
  return files;
}

/** Starts a server on `dir` and writes through it (a user and a message); leaves it running. */
let writes = 0;
async function startAndWrite(dir: string): Promise<TestServer> {
  const s = await startServer({ memory: false, data: dir });
  try {
    await write(s);
  } catch (error) {
    await s.close();
    throw error;
  }
  return s;
}

async function write(s: TestServer): Promise<void> {
  const user = await s.request('POST', '/v1.0/users', {
    body: {
      accountEnabled: true,
      displayName: 'Modes Tester',
      mailNickname: 'modes',
      userPrincipalName: `modes-${++writes}@contoso.test`,
      passwordProfile: { forceChangePasswordNextSignIn: true, password: 'xWwvJ]6NMw+bWH-d' },
    },
  });
  assert.equal(user.status, 201, user.text);
  const message = await s.request('POST', `/v1.0/users/${user.body.id}/messages`, { body: { subject: 'private', body: { contentType: 'text', content: 'mail' } } });
  assert.equal(message.status, 201, message.text);
}

/** Runs `start` with umask 0, under which anything that relied on it would be readable and writable by all. */
async function withUmaskZero<T>(start: () => Promise<T>): Promise<T> {
  const umask = process.umask(0);
  try {
    return await start();
  } finally {
    process.umask(umask);
  }
}

/** `dir` is 0700, holds `expected` (at least), and everything in it but `others` is 0600. */
function assertPrivate(dir: string, expected: string[], others: string[] = []): void {
  const files = modes(dir);
  for (const file of expected) assert.ok(file in files, `${file} is missing: ${Object.keys(files).join(', ')}`);
  for (const [file, m] of Object.entries(files)) if (!others.includes(file)) assert.equal(m, '600', file);
  assert.equal(mode(dir), '700');
}

test('a new data directory is 0700 and every file the server writes in it 0600, with a umask that grants everyone everything', async () => {
  const dir = path.join(root, 'new', 'nested', 'data');
  const s = await withUmaskZero(() => startAndWrite(dir));
  try {
    // Asserted while the server runs: SQLite removes -wal and -shm when its last connection closes.
    assertPrivate(dir, serverFiles(false));
    // The parents the server had to create for it too.
    assert.equal(mode(path.dirname(dir)), '700');
    assert.equal(mode(path.join(root, 'new')), '700');
  } finally {
    await s.close();
  }
});

test('the generated TLS key and certificate are 0600', async () => {
  const dir = path.join(root, 'tls');
  const s = await withUmaskZero(() => startServer({ memory: false, data: dir, https: true }));
  try {
    assertPrivate(dir, serverFiles(true));
  } finally {
    await s.close();
  }
});

test("a data directory of an earlier version (0755, files 0644) is tightened at start, and files that are not the server's are left alone", async () => {
  const dir = path.join(root, 'earlier');
  await (await startAndWrite(dir)).close();
  await (await startServer({ memory: false, data: dir, https: true })).close();
  // What an earlier version left behind: its database open in WAL mode (so -wal and -shm exist), every file 0644.
  let earlier: Database.Database | undefined;
  if (!onPostgres) {
    earlier = new Database(path.join(dir, 'mailvault.db'));
    earlier.pragma('journal_mode = WAL');
    earlier.prepare("insert into server_state (key, value) values ('modes-test', 'x')").run();
  }
  try {
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not the server\'s');
    for (const file of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, file), 0o644);
    fs.chmodSync(dir, 0o755);
    const before = modes(dir);
    for (const file of serverFiles(true)) assert.equal(before[file], '644', file);

    const s = await startServer({ memory: false, data: dir, https: true });
    try {
      assertPrivate(dir, serverFiles(true), ['notes.txt']);
      assert.equal(mode(path.join(dir, 'notes.txt')), '644');
    } finally {
      await s.close();
    }
  } finally {
    earlier?.close();
  }
});
