/**
 * External IMAP sources against a real Dovecot: the admin API (validation, permissions, secrets), the
 * initial sync (byte for byte, folders, flags), incremental changes within seconds (append, flags,
 * move, expunge) captured by the vault, UIDVALIDITY changes and a server restart without duplicates.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { createApp, type App } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { mintAdminToken, mintToken, type MintOptions } from '../src/identity/tokens.js';
import type { MailService } from '../src/mail/service.js';
import type { VaultService } from '../src/vault/service.js';
import { postgresDatabase, expectGraphError, type TestServer, type TestResponse, type RequestOptions } from './helpers/server.js';
import { dovecotSkip, startDovecot, type Dovecot } from './helpers/dovecot.js';
import { createUser, newTenant, ok, type Tenant } from './helpers/protection.js';
import { protectMailboxes } from './helpers/protect.js';

const skip = dovecotSkip();
process.env.MAILVAULT_SOURCE_POLL_SECONDS = '1';

/** A server on a data directory (and database) that outlives it, so a test can restart it. */
interface Harness extends TestServer {
  restart(): Promise<void>;
}

let dataDir: string;
let config: Config;
let pgdb: Awaited<ReturnType<typeof postgresDatabase>>;
let s: Harness;
let dv: Dovecot | undefined;

async function boot(config: Config): Promise<{ app: App; base: string; defaultToken: string; adminToken: string }> {
  const app = await createApp(config);
  const base = await app.listen();
  return { app, base, defaultToken: await mintToken(app.core.key, { tenantId: app.core.defaultTenantId }), adminToken: await mintAdminToken(app.core.key) };
}

before(async () => {
  pgdb = await postgresDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-sources-'));
  config = loadConfig({ port: '0', logLevel: 'silent', data: dataDir, ...(pgdb ? { databaseUrl: pgdb.url } : {}) }, {});
  let cur = await boot(config);
  const h: Harness = {
    get app() {
      return cur.app;
    },
    get base() {
      return cur.base;
    },
    get tenantId() {
      return cur.app.core.defaultTenantId;
    },
    get adminToken() {
      return cur.adminToken;
    },
    async newTenant() {
      const r = await h.request('POST', '/_mailvault/tenants', { token: cur.adminToken, body: {} });
      if (r.status !== 201) throw new Error(`tenant create failed: ${r.text}`);
      return r.body.id as string;
    },
    token: (o: Partial<MintOptions> = {}) => mintToken(cur.app.core.key, { tenantId: cur.app.core.defaultTenantId, ...o }),
    async request(method: string, p: string, o: RequestOptions = {}): Promise<TestResponse> {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const token = o.token === undefined ? cur.defaultToken : o.token;
      if (token !== null) headers.authorization ??= `Bearer ${token}`;
      let body: string | undefined;
      if (o.raw !== undefined) body = String(o.raw);
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(cur.base + p, { method, headers, body });
      const buf = Buffer.from(await res.arrayBuffer());
      const text = buf.toString('latin1');
      const parsed = text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(buf.toString('utf8')) : undefined;
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async advance(duration: string) {
      const r = await h.request('POST', '/_mailvault/clock', { token: cur.adminToken, body: { advance: duration } });
      if (r.status !== 200) throw new Error(`clock advance failed: ${r.text}`);
      return r.body.now as string;
    },
    async now() {
      return (await h.request('GET', '/_mailvault/clock')).body.now as string;
    },
    async restart() {
      await cur.app.close();
      cur = await boot(config);
    },
    async close() {
      await cur.app.close();
    },
  };
  s = h;
  if (!skip) dv = await startDovecot();
});

after(async () => {
  await s?.close();
  await dv?.stop();
  await pgdb?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const mail = () => s.app.services.mail as MailService;
const vault = () => s.app.services.vault as VaultService;
const SOURCES = '/_mailvault/sources';

function imapSettings(user: string, password: string) {
  return { host: '127.0.0.1', port: dv?.port ?? 1, tls: 'none', username: user, password };
}

async function imap(user: string, password: string): Promise<ImapFlow> {
  const c = new ImapFlow({ host: dv!.host, port: dv!.port, secure: false, doSTARTTLS: false, auth: { user, pass: password }, logger: false });
  await c.connect();
  return c;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${dv ? `\n${dv.log().slice(-2000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The hosted mailbox: every message with its folder, bytes and flags, by Message-ID. */
async function hosted(tenantId: string, mailboxId: string) {
  const out = new Map<string, { id: string; folderId: string; mime: Buffer; isRead: boolean; flag: string; categories: string[]; receivedDateTime: string }>();
  let count = 0;
  for await (const page of mail().iterateMessages(tenantId, mailboxId, 500)) {
    const blobs = await mail().readBlobs(page.map((m) => m.mimeSha256));
    for (const m of page) {
      count++;
      out.set(m.props.internetMessageId ?? m.id, {
        id: m.id,
        folderId: m.folderId,
        mime: blobs.get(m.mimeSha256)!,
        isRead: m.props.isRead,
        flag: m.props.flag.flagStatus,
        categories: m.props.categories,
        receivedDateTime: m.props.receivedDateTime,
      });
    }
  }
  return { byMessageId: out, count };
}

async function folderIds(tenantId: string, mailboxId: string): Promise<Map<string, string>> {
  const folders = await mail().listFolders(tenantId, mailboxId);
  const byId = new Map(folders.map((f) => [f.id, f]));
  const out = new Map<string, string>();
  for (const f of folders) {
    const names: string[] = [];
    for (let x: typeof f | undefined = f; x && x.wellKnownName !== 'msgfolderroot'; x = byId.get(x.parentFolderId ?? '')) names.unshift(x.wellKnownName ?? x.displayName);
    out.set(names.join('/'), f.id);
  }
  return out;
}

interface Appended {
  folder: string;
  mime: Buffer;
  flags: string[];
  date: Date;
}

function message(i: number, folder: string): Buffer {
  const body = `Message ${i} in ${folder}.\r\nGrüße, naïve café — ${crypto.randomBytes(16).toString('hex')}\r\n`.repeat(1 + (i % 4));
  return Buffer.from(
    `From: Sender ${i} <sender${i}@fabrikam.example>\r\nTo: alice@contoso.example\r\nSubject: Item ${i} (${folder})\r\nDate: Mon, 1 Jun 2026 10:${String(i % 60).padStart(2, '0')}:00 +0000\r\nMessage-ID: <item-${i}-${crypto.randomBytes(4).toString('hex')}@fabrikam.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`,
    'utf8',
  );
}

const messageIdOf = (mime: Buffer) => /Message-ID: (<[^>]+>)/.exec(mime.toString('latin1'))![1];

test('the API validates its input and refuses callers without the permission, with Graph errors', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Api');
  const good = { userId: u.id, kind: 'imap', settings: imapSettings('nobody', 'pw') };
  const bad: Array<[unknown, string]> = [
    [[], 'array body'],
    [{ ...good, kind: 'graph' }, 'graph kind'],
    [{ ...good, kind: undefined }, 'no kind'],
    [{ ...good, userId: 'nobody@nowhere.example' }, 'unknown user'],
    [{ ...good, extra: 1 }, 'unknown property'],
    [{ ...good, settings: { ...good.settings, port: 0 } }, 'port 0'],
    [{ ...good, settings: { ...good.settings, port: '993' } }, 'port as text'],
    [{ ...good, settings: { ...good.settings, tls: 'ssl' } }, 'tls mode'],
    [{ ...good, settings: { ...good.settings, host: 'bad host\r\n' } }, 'host'],
    [{ ...good, settings: { ...good.settings, password: undefined } }, 'no password'],
    [{ ...good, settings: { ...good.settings, username: '' } }, 'empty username'],
    [{ ...good, settings: { ...good.settings, secret: 'x' } }, 'unknown setting'],
    [{ ...good, paused: 'yes' }, 'paused'],
    [{ ...good, tenantId: t.id }, 'tenantId from a tenant token'],
  ];
  for (const [body, why] of bad) {
    const r = await s.request('POST', SOURCES, { token: t.app, body });
    assert.equal(r.status, 400, `${why}: ${r.text}`);
    expectGraphError(r, 400, 'BadRequest');
  }
  assert.equal(ok(await s.request('GET', SOURCES, { token: t.app }), 200).value.length, 0, 'a refused create changes nothing');

  // who may call
  const readOnly = await s.token({ tenantId: t.id, roles: ['User.Read.All'] });
  expectGraphError(await s.request('POST', SOURCES, { token: readOnly, body: good }), 403, 'accessDenied');
  expectGraphError(await s.request('GET', SOURCES, { token: readOnly }), 403, 'accessDenied');
  const delegatedNo = await s.token({ tenantId: t.id, userId: crypto.randomUUID(), scopes: ['User.Read'] });
  expectGraphError(await s.request('GET', SOURCES, { token: delegatedNo }), 403, 'accessDenied');
  assert.equal((await s.request('GET', SOURCES, { token: null })).status, 401);

  const manager = await s.token({ tenantId: t.id, roles: ['User.ReadWrite.All'] });
  const created = ok(await s.request('POST', SOURCES, { token: manager, body: { ...good, paused: true } }), 201);
  assert.equal(created.status, 'paused');
  assert.equal(created.settings.password, null);
  assert.equal(created.userId, u.id);
  assert.deepEqual(Object.keys(created).sort(), ['createdDateTime', 'error', 'id', 'itemsSynced', 'kind', 'lagSeconds', 'lastSyncDateTime', 'paused', 'settings', 'status', 'tenantId', 'userId']);
  expectGraphError(await s.request('POST', SOURCES, { token: manager, body: good }), 409, 'conflict');

  // another tenant sees nothing of it; the administrator sees it
  const other = await newTenant(s);
  expectGraphError(await s.request('GET', `${SOURCES}/${created.id}`, { token: other.app }), 404, 'itemNotFound');
  expectGraphError(await s.request('DELETE', `${SOURCES}/${created.id}`, { token: other.app }), 404, 'itemNotFound');
  assert.equal(ok(await s.request('GET', SOURCES, { token: other.app }), 200).value.length, 0);
  assert.ok(ok(await s.request('GET', SOURCES, { token: s.adminToken }), 200).value.some((x: any) => x.id === created.id));
  const delegated = await s.token({ tenantId: t.id, userId: crypto.randomUUID(), scopes: ['User.ReadWrite.All'] });
  assert.equal(ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: delegated }), 200).id, created.id);

  // PATCH validates too, and changes nothing when refused
  for (const body of [{ settings: { port: 70000 } }, { paused: 1 }, { kind: 'imap' }, { settings: { tls: 'maybe' } }, { settings: 'x' }]) {
    expectGraphError(await s.request('PATCH', `${SOURCES}/${created.id}`, { token: manager, body }), 400, 'BadRequest');
  }
  const patched = ok(await s.request('PATCH', `${SOURCES}/${created.id}`, { token: manager, body: { settings: { port: 2, password: 'new-secret-pw' } } }), 200);
  assert.equal(patched.settings.port, 2);
  assert.equal(patched.settings.password, null);
  assert.equal(patched.status, 'paused');

  // the password is stored sealed, never in plaintext
  const row = await s.app.core.store.db.selectFrom('sources').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
  assert.ok(!row.secret.includes('new-secret-pw') && !row.settings.includes('new-secret-pw'));
  assert.ok(!Buffer.from(row.secret).toString('base64').includes(Buffer.from('new-secret-pw').toString('base64')));
  assert.deepEqual(Object.keys(JSON.parse(row.secret)).sort(), ['ct', 'iv', 'kid', 'tag']);
  const key = fs.statSync(path.join(dataDir, 'secret.key'));
  assert.equal(key.mode & 0o777, 0o600, 'the key file is readable by its owner only');

  // an unreachable server: status error with the message, then delete stops it
  const resumed = ok(await s.request('PATCH', `${SOURCES}/${created.id}`, { token: manager, body: { paused: false } }), 200);
  assert.notEqual(resumed.status, 'paused');
  const failing = await until('the error status', async () => {
    const r = ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: manager }), 200);
    return r.status === 'error' && r;
  });
  assert.ok(failing.error.length > 0);
  assert.equal((await s.request('DELETE', `${SOURCES}/${created.id}`, { token: manager })).status, 204);
  expectGraphError(await s.request('GET', `${SOURCES}/${created.id}`, { token: manager }), 404, 'itemNotFound');
});

test('an IMAP mailbox is mirrored byte for byte, kept in step within seconds, captured by the vault, and survives UIDVALIDITY changes and restarts without duplicates', { skip }, async () => {
  const t: Tenant & { onboarded?: boolean; policyId?: string } = await newTenant(s);
  const u = await createUser(s, t, 'Mirror');
  await protectMailboxes(s, t, [u.id]);
  dv!.addUser('alice', 'alice-imap-pw');
  const c = await imap('alice', 'alice-imap-pw');

  // the external mailbox: a few hundred messages across folders, with flags, keywords and dates
  await c.mailboxCreate('Projects');
  await c.mailboxCreate('Projects/2026');
  const plan: Array<[string, number]> = [['INBOX', 150], ['Sent', 40], ['Archive', 30], ['Projects', 40], ['Projects/2026', 40]];
  const appended = new Map<string, Appended>();
  let n = 0;
  for (const [folder, count] of plan) {
    for (let i = 0; i < count; i++, n++) {
      const mime = message(n, folder);
      const flags = [...(n % 3 === 0 ? ['\\Seen'] : []), ...(n % 7 === 0 ? ['\\Flagged'] : []), ...(n % 5 === 0 ? ['Work'] : []), ...(n % 11 === 0 ? ['Later', '$Forwarded'] : [])];
      const date = new Date(Date.UTC(2025, n % 12, 1 + (n % 27), 8, n % 60));
      await c.append(folder, mime, flags, date);
      appended.set(messageIdOf(mime), { folder, mime, flags, date });
    }
  }

  const started = performance.now();
  const created = ok(await s.request('POST', SOURCES, { token: t.app, body: { userId: u.id, kind: 'imap', settings: imapSettings('alice', 'alice-imap-pw') } }), 201);
  assert.ok(['initialSync', 'idle'].includes(created.status));
  const synced = await until('the initial sync', async () => {
    const r = ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: t.app }), 200);
    if (r.status === 'error') throw new Error(r.error);
    return r.status === 'idle' && r.itemsSynced >= appended.size && r;
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(`initial sync: ${appended.size} messages in ${seconds.toFixed(2)} s (${Math.round(appended.size / seconds)} messages/s)`);
  assert.equal(synced.lagSeconds, 0);
  assert.ok(synced.lastSyncDateTime);
  assert.equal(synced.settings.password, null);

  const folders = await folderIds(t.id, u.id);
  const where: Record<string, string> = { INBOX: 'inbox', Sent: 'sentitems', Archive: 'archive', Projects: 'Projects', 'Projects/2026': 'Projects/2026' };
  let h = await hosted(t.id, u.id);
  assert.equal(h.count, appended.size, 'one hosted message per IMAP message');
  for (const [mid, a] of appended) {
    const m = h.byMessageId.get(mid);
    assert.ok(m, `${mid} mirrored`);
    assert.ok(m.mime.equals(a.mime), `${mid}: the MIME is kept byte for byte`);
    assert.equal(m.folderId, folders.get(where[a.folder]), `${mid} in ${a.folder}`);
    assert.equal(m.isRead, a.flags.includes('\\Seen'));
    assert.equal(m.flag, a.flags.includes('\\Flagged') ? 'flagged' : 'notFlagged');
    assert.deepEqual(m.categories, a.flags.filter((f) => !f.startsWith('\\') && !f.startsWith('$')).sort());
    assert.equal(m.receivedDateTime, a.date.toISOString(), 'the internal date is the received date');
  }
  // $value over Graph answers exactly the IMAP bytes
  const [sampleMid, sample] = [...appended].find(([, a]) => a.folder === 'Projects/2026')!;
  const value = await s.request('GET', `/v1.0/users/${u.id}/messages/${h.byMessageId.get(sampleMid)!.id}/$value`, { token: t.app });
  assert.equal(value.status, 200);
  assert.ok(Buffer.from(value.text, 'latin1').equals(sample.mime));

  // a new message appears within seconds (IDLE)
  const fresh = message(9001, 'INBOX');
  let t0 = performance.now();
  await c.append('INBOX', fresh, ['\\Seen'], new Date(Date.UTC(2026, 5, 2)));
  const freshHosted = await until('the new message', async () => (await hosted(t.id, u.id)).byMessageId.get(messageIdOf(fresh)), 10_000);
  console.log(`append to hosted: ${Math.round(performance.now() - t0)} ms`);
  assert.ok(freshHosted.mime.equals(fresh));
  appended.set(messageIdOf(fresh), { folder: 'INBOX', mime: fresh, flags: ['\\Seen'], date: new Date(Date.UTC(2026, 5, 2)) });

  // a flag change, a move and an expunge on the IMAP side
  await c.mailboxOpen('INBOX');
  const inboxMsgs: Array<{ uid: number; mid: string }> = [];
  for await (const m of c.fetch('1:*', { uid: true, envelope: true })) inboxMsgs.push({ uid: m.uid, mid: m.envelope!.messageId! });
  const [toFlag, toMove, toExpunge] = inboxMsgs.filter((m) => !appended.get(m.mid)!.flags.includes('\\Flagged')).slice(0, 3);
  const before = { flag: h.byMessageId.get(toFlag.mid)!, move: h.byMessageId.get(toMove.mid)!, expunge: h.byMessageId.get(toExpunge.mid)! };
  t0 = performance.now();
  await c.messageFlagsAdd(String(toFlag.uid), ['\\Flagged', 'Urgent'], { uid: true });
  await c.messageMove(String(toMove.uid), 'Archive', { uid: true });
  await c.messageDelete(String(toExpunge.uid), { uid: true });
  await until('the three changes', async () => {
    h = await hosted(t.id, u.id);
    const f = h.byMessageId.get(toFlag.mid);
    const m = h.byMessageId.get(toMove.mid);
    return f?.flag === 'flagged' && f.categories.includes('Urgent') && m?.folderId === folders.get('archive') && !h.byMessageId.has(toExpunge.mid);
  });
  console.log(`flag + move + expunge to hosted: ${Math.round(performance.now() - t0)} ms`);
  assert.equal(h.byMessageId.get(toMove.mid)!.id, before.move.id, 'a move keeps the hosted message');
  assert.equal(h.byMessageId.get(toFlag.mid)!.id, before.flag.id);
  assert.equal(h.count, appended.size - 1);
  appended.get(toMove.mid)!.folder = 'Archive';
  appended.delete(toExpunge.mid);

  // the vault captured each change, and the state at now shows them
  const versions = async (id: string) =>
    (await s.app.core.store.db.selectFrom('vault_versions').select(['op', 'folder_id']).where('tenant_id', '=', t.id).where('item_id', '=', id).orderBy('seq').execute()).map((r) => [r.op, r.folder_id]);
  assert.equal((await versions(before.flag.id)).length, 2, 'created, then flagged');
  assert.deepEqual((await versions(before.move.id)).at(-1), ['upsert', folders.get('archive')]);
  assert.equal((await versions(before.expunge.id)).at(-1)![0], 'delete');
  const state = new Map<string, any>();
  for await (const batch of vault().stateAt(t.id, u.id, await s.now())) for (const m of batch.messages ?? []) state.set(m.itemId, m);
  assert.equal((state.get(before.flag.id)?.props.flag as { flagStatus: string }).flagStatus, 'flagged');
  assert.equal(state.get(before.move.id)?.folderId, folders.get('archive'));
  assert.ok(!state.has(before.expunge.id), 'the expunged message is not in the state after');
  assert.equal(state.size, appended.size);

  // UIDVALIDITY changes: a baseless one (same UIDs), and a folder deleted and made again (new UIDs)
  const idsBefore = new Map([...h.byMessageId].map(([mid, m]) => [mid, m.id]));
  dv!.doveadm(['mailbox', 'update', '-u', 'alice', '--uid-validity', '4242', 'Projects']);
  ok(await s.request('PATCH', `${SOURCES}/${created.id}`, { token: t.app, body: { paused: true } }), 200);
  await c.mailboxOpen('Projects/2026');
  const saved: Array<{ source: Buffer; flags: string[]; date: Date }> = [];
  for await (const m of c.fetch('1:*', { uid: true, flags: true, internalDate: true, source: true })) saved.push({ source: m.source!, flags: [...m.flags!].filter((f) => f !== '\\Recent'), date: new Date(m.internalDate!) });
  await c.mailboxClose();
  await c.mailboxDelete('Projects/2026');
  await c.mailboxCreate('Projects/2026');
  for (const m of saved.reverse()) await c.append('Projects/2026', m.source, m.flags, m.date);
  const status = await c.status('Projects/2026', { uidValidity: true });
  const validity = status && status.uidValidity;
  ok(await s.request('PATCH', `${SOURCES}/${created.id}`, { token: t.app, body: { paused: false } }), 200);
  await until('the resync', async () => {
    const rows = await s.app.core.store.db.selectFrom('source_folders').select(['remote_path', 'uidvalidity', 'state']).where('source_id', '=', created.id).execute();
    const p = rows.find((r) => r.remote_path === 'Projects');
    const p26 = rows.find((r) => r.remote_path === 'Projects/2026');
    const r = ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: t.app }), 200);
    return p?.uidvalidity === '4242' && p26?.uidvalidity === String(validity) && p.state === 'synced' && p26.state === 'synced' && r.status === 'idle';
  });
  h = await hosted(t.id, u.id);
  assert.equal(h.count, appended.size, 'no duplicates after the UIDVALIDITY changes');
  for (const [mid, id] of idsBefore) assert.equal(h.byMessageId.get(mid)?.id, id, `${mid} is the same hosted message`);
  const items = await s.app.core.store.db.selectFrom('source_items').select(['hosted_message_id']).where('source_id', '=', created.id).execute();
  assert.equal(items.length, appended.size, 'one mapping row per message');

  // a restart: mail that arrives while the server is down comes in once, nothing twice
  await s.restart();
  const whileDown = message(9002, 'Projects');
  await c.append('Projects', whileDown, [], new Date(Date.UTC(2026, 5, 3)));
  await until('the message appended while down', async () => (await hosted(t.id, u.id)).byMessageId.get(messageIdOf(whileDown)));
  appended.set(messageIdOf(whileDown), { folder: 'Projects', mime: whileDown, flags: [], date: new Date(Date.UTC(2026, 5, 3)) });
  await until('idle after the restart', async () => ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: t.app }), 200).status === 'idle');
  h = await hosted(t.id, u.id);
  assert.equal(h.count, appended.size, 'no duplicates after the restart');
  for (const [mid, a] of appended) assert.ok(h.byMessageId.get(mid)?.mime.equals(a.mime), `${mid} still byte for byte`);

  // delete: mirroring stops; the hosted mailbox stays
  assert.equal((await s.request('DELETE', `${SOURCES}/${created.id}`, { token: t.app })).status, 204);
  const stray = message(9003, 'INBOX');
  await c.append('INBOX', stray, [], new Date());
  await new Promise((r) => setTimeout(r, 1500));
  h = await hosted(t.id, u.id);
  assert.equal(h.count, appended.size, 'the hosted mailbox stays, and nothing more comes in');
  assert.equal((await s.app.core.store.db.selectFrom('source_items').select('uid').where('source_id', '=', created.id).execute()).length, 0);
  await c.logout();
});

test('without CONDSTORE and QRESYNC, through restarts in the middle of the initial sync, every message is mirrored exactly once', { skip }, async () => {
  const plain = await startDovecot({
    capabilities:
      'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED ESEARCH LIST-STATUS MOVE LITERAL+ SPECIAL-USE',
  });
  try {
    const t = await newTenant(s);
    const u = await createUser(s, t, 'Fallback');
    plain.addUser('carol', 'carol-pw');
    const N = 3000;
    const mimes = Array.from({ length: N }, (_, i) => message(20_000 + i, 'INBOX'));
    plain.deliver(
      'carol',
      mimes.map((mime, i) => ({ mime, flags: i % 4 === 0 ? 'S' : '', date: new Date(Date.UTC(2024, 0, 1, 0, 0, i)) })),
    );
    const c = new ImapFlow({ host: plain.host, port: plain.port, secure: false, doSTARTTLS: false, auth: { user: 'carol', pass: 'carol-pw' }, logger: false });
    await c.connect();
    assert.ok(!c.capabilities.has('CONDSTORE') && !c.capabilities.has('QRESYNC'), 'the server offers neither');

    const created = ok(
      await s.request('POST', SOURCES, { token: t.app, body: { userId: u.id, kind: 'imap', settings: { host: '127.0.0.1', port: plain.port, tls: 'none', username: 'carol', password: 'carol-pw' } } }),
      201,
    );
    // close the server twice while the initial sync is under way
    const restartsAt: number[] = [];
    for (const threshold of [1, 1200]) {
      const seen = await until(`${threshold} messages synced`, async () => {
        const r = ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: t.app }), 200);
        return r.itemsSynced >= threshold && r;
      }, 30_000);
      restartsAt.push(seen.itemsSynced);
      await s.restart();
    }
    console.log(`restarted after ${restartsAt.join(' and ')} of ${N} messages`);
    await until('the initial sync', async () => {
      const r = ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: t.app }), 200);
      return r.status === 'idle' && r;
    }, 60_000);
    let h = await hosted(t.id, u.id);
    assert.equal(h.count, N, 'no message twice');
    const items = await s.app.core.store.db.selectFrom('source_items').select(['hosted_message_id', 'uid']).where('source_id', '=', created.id).execute();
    assert.equal(items.length, N);
    assert.equal(new Set(items.map((i) => i.uid)).size, N);
    mimes.forEach((mime, i) => {
      const m = h.byMessageId.get(messageIdOf(mime));
      assert.ok(m?.mime.equals(mime), `message ${i} mirrored byte for byte`);
      assert.equal(m?.isRead, i % 4 === 0);
    });

    // changes are found by UID SEARCH and a FLAGS scan
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('1:3', ['\\Flagged'], { uid: true });
    await c.messageDelete('4:6', { uid: true });
    const uidMid = new Map<number, string>();
    for await (const m of c.fetch('1:10', { uid: true, envelope: true }, { uid: true })) uidMid.set(m.uid, m.envelope!.messageId!);
    await until('the flag changes and expunges', async () => {
      h = await hosted(t.id, u.id);
      return h.count === N - 3 && [1, 2, 3].every((uid) => h.byMessageId.get(uidMid.get(uid)!)?.flag === 'flagged');
    });
    await c.logout();
    assert.equal((await s.request('DELETE', `${SOURCES}/${created.id}`, { token: t.app })).status, 204);
  } finally {
    await plain.stop();
  }
});

test('a source connects with implicit TLS and with STARTTLS', { skip }, async () => {
  const fixtures = path.join(import.meta.dirname, 'fixtures', 'tls');
  const secure = await startDovecot({ tls: { cert: path.join(fixtures, 'localhost-cert.pem'), key: path.join(fixtures, 'localhost-key.pem') } });
  try {
    const t = await newTenant(s);
    const u = await createUser(s, t, 'Tls');
    secure.addUser('dave', 'dave-pw');
    secure.deliver('dave', [0, 1, 2].map((i) => ({ mime: message(30_000 + i, 'INBOX') })));
    const settings = { host: 'localhost', port: secure.tlsPort, tls: 'implicit', username: 'dave', password: 'dave-pw' };
    const created = ok(await s.request('POST', SOURCES, { token: t.app, body: { userId: u.id, kind: 'imap', settings } }), 201);
    const idle = async (what: string) =>
      until(what, async () => {
        const r = ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: t.app }), 200);
        if (r.status === 'error') throw new Error(`${what}: ${r.error}`);
        return r.status === 'idle' && r;
      });
    assert.equal((await idle('implicit TLS')).itemsSynced, 3);
    // STARTTLS on the plain port
    ok(await s.request('PATCH', `${SOURCES}/${created.id}`, { token: t.app, body: { settings: { port: secure.port, tls: 'starttls' } } }), 200);
    await idle('STARTTLS');
    assert.equal((await hosted(t.id, u.id)).count, 3, 'nothing twice across the changes of settings');
    assert.equal((await s.request('DELETE', `${SOURCES}/${created.id}`, { token: t.app })).status, 204);
  } finally {
    await secure.stop();
  }
});

test('when the IMAP server goes away the source shows the error, reconnects with backoff and catches up', { skip }, async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Drop');
  dv!.addUser('erin', 'erin-pw');
  dv!.deliver('erin', [0, 1, 2, 3, 4].map((i) => ({ mime: message(40_000 + i, 'INBOX') })));
  const created = ok(await s.request('POST', SOURCES, { token: t.app, body: { userId: u.id, kind: 'imap', settings: imapSettings('erin', 'erin-pw') } }), 201);
  const get = async () => ok(await s.request('GET', `${SOURCES}/${created.id}`, { token: t.app }), 200);
  await until('the initial sync', async () => (await get()).status === 'idle');

  const restarted = dv!.restart(3000);
  const failing = await until('the error status', async () => {
    const r = await get();
    return r.status === 'error' && r;
  });
  assert.ok(failing.error.length > 0, 'the error says why');
  const late = message(40_005, 'INBOX');
  dv!.deliver('erin', [{ mime: late }]);
  await restarted;
  const back = await until('the reconnection', async () => {
    const r = await get();
    return r.status === 'idle' && r.error === null && (await hosted(t.id, u.id)).count === 6 && r;
  }, 30_000);
  assert.equal(back.itemsSynced, 6);
  assert.ok((await hosted(t.id, u.id)).byMessageId.get(messageIdOf(late))?.mime.equals(late));
  assert.equal((await s.request('DELETE', `${SOURCES}/${created.id}`, { token: t.app })).status, 204);
});

test('two nodes on one database sync a source once, and the other takes over when the one syncing stops', { skip: skip || (!pgdb && !process.env.MAILVAULT_TEST_DATABASE_URL ? 'nodes share a PostgreSQL database only' : false) }, async () => {
  const other = await boot({ ...config, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-node-')) });
  try {
    const t = await newTenant(s);
    const u = await createUser(s, t, 'Nodes');
    dv!.addUser('frank', 'frank-pw');
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ mime: message(50_000 + from + i, 'INBOX') }));
    dv!.deliver('frank', batch(0, 50));
    const created = ok(await s.request('POST', SOURCES, { token: t.app, body: { userId: u.id, kind: 'imap', settings: imapSettings('frank', 'frank-pw') } }), 201);
    const row = () => s.app.core.store.db.selectFrom('sources').select(['lease_owner', 'status']).where('id', '=', created.id).executeTakeFirstOrThrow();
    const mirrored = (n: number) =>
      until(`${n} messages`, async () => {
        const r = await row();
        return r.status === 'idle' && (await hosted(t.id, u.id)).count === n;
      });
    await mirrored(50);
    const first = (await row()).lease_owner;
    assert.ok(first);
    // the other node has a worker for it too (it found the source), waiting for the lease
    await new Promise((r) => setTimeout(r, 2500));
    dv!.deliver('frank', batch(50, 30));
    await mirrored(80);
    await s.restart();
    dv!.deliver('frank', batch(80, 20));
    await mirrored(100);
    const next = (await row()).lease_owner;
    assert.ok(next && next !== first, 'another node holds the lease');
    const items = await s.app.core.store.db.selectFrom('source_items').select('uid').where('source_id', '=', created.id).execute();
    assert.equal(items.length, 100, 'one mapping row per message, whichever node wrote it');
    assert.equal((await s.request('DELETE', `${SOURCES}/${created.id}`, { token: t.app })).status, 204);
  } finally {
    await other.app.close();
    fs.rmSync(other.app.core.config.dataDir!, { recursive: true, force: true });
  }
});
