/**
 * The hostile-client findings (docs/security.md), one test each, at the wire: who may mint tokens and
 * move the clock, tenants that exist only once made, tokens that expire, the Host header, bodies that
 * stop arriving, and the parser's own refusals, all answered with Graph error envelopes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { SignJWT } from 'jose';
import { startServer, expectGraphError, postgresDatabase, type TestServer } from '../helpers/server.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { mintAdminToken, mintToken } from '../../src/identity/tokens.js';
import { BR } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s.close();
});

/** Sends `text` as it is on a new connection and reads the whole answer (the server closes it, or `waitMs` passes). */
async function raw(base: string, text: string | Buffer, waitMs = 5000): Promise<{ status: number; headers: Record<string, string>; body: any; closedAfterMs: number }> {
  const url = new URL(base);
  const started = Date.now();
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (data += d));
    socket.on('error', (e) => (data ? resolve(data) : reject(e)));
    socket.on('close', () => resolve(data));
    socket.setTimeout(waitMs, () => {
      socket.destroy();
      resolve(data);
    });
    socket.write(text);
  });
  const [head, ...rest] = reply.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const bodyText = rest.join('\r\n\r\n');
  let body: any;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = bodyText;
  }
  return { status, headers, body, closedAfterMs: Date.now() - started };
}

/** Asserts a raw answer is the Graph envelope with this status and code. */
function envelope(r: { status: number; headers: Record<string, string>; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r));
  assert.equal(r.body?.error?.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.message, 'string');
  assert.equal(r.body.error.innerError['request-id'], r.headers['request-id']);
  assert.match(r.body.error.innerError.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
}

const port = () => new URL(s.base).port;

test('a tenant token mints tokens only for its own tenant, only with permissions it holds, as its own application', async () => {
  const mailRead = await s.token({ roles: ['Mail.Read'] });
  const other = await s.token({ tenantId: await s.newTenant() });
  const mint = (token: string, body: Record<string, unknown>) => s.request('POST', '/_mailvault/token', { token, body });

  // the finding: a Mail.Read token, or another tenant's, asks for every permission of the demo tenant
  expectGraphError(await mint(mailRead, { tenantId: s.tenantId, roles: ['Mail.Read', 'User.ReadWrite.All'] }), 403, 'accessDenied');
  expectGraphError(await mint(mailRead, { roles: ['User.ReadWrite.All'] }), 403, 'accessDenied');
  expectGraphError(await mint(other, { tenantId: s.tenantId }), 403, 'accessDenied');
  expectGraphError(await mint(other, { tenantId: s.tenantId.toUpperCase() }), 403, 'accessDenied');
  expectGraphError(await mint(mailRead, { appId: '14d82eec-204b-4c2f-b7e8-296a70dab67e' }), 403, 'accessDenied');
  const delegated = await s.token({ userId: '845457dc-4bb2-4815-bef3-8628ebd1952e', scopes: ['Mail.Read'] });
  expectGraphError(await mint(delegated, {}), 403, 'accessDenied');
  expectGraphError(await mint(mailRead, { admin: true }), 403, 'accessDenied');
  // nothing was deleted with the tokens it did not get
  assert.equal((await s.request('GET', '/v1.0/users?$top=1')).status, 200);

  // what it holds, in its own tenant, it may hand on (a narrower token included)
  const own = await mint(mailRead, {});
  assert.equal(own.status, 200, own.text);
  assert.equal(own.body.token_type, 'Bearer');
  assert.equal(own.body.expires_in, 3600);
  expectGraphError(await s.request('GET', '/v1.0/users', { token: own.body.access_token }), 403, 'accessDenied');
  const narrower = await mint(await s.token(), { roles: ['User.Read.All'] });
  assert.equal((await s.request('GET', '/v1.0/users?$top=1', { token: narrower.body.access_token })).status, 200);
});

test('the emulator administrator mints for any existing tenant; its own token reaches no Graph route', async () => {
  const tenant = await s.newTenant();
  const minted = await s.request('POST', '/_mailvault/token', { token: s.adminToken, body: { tenantId: tenant } });
  assert.equal(minted.status, 200, minted.text);
  const root = await s.request('GET', '/v1.0/solutions/backupRestore', { token: minted.body.access_token });
  assert.equal(root.status, 200);
  assert.equal(root.body.id, tenant);
  const unknown = await s.request('POST', '/_mailvault/token', { token: s.adminToken, body: { tenantId: '0e1f2a3b-0000-4000-8000-00000000dead' } });
  expectGraphError(unknown, 404, 'itemNotFound');
  expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: s.adminToken }), 401, 'InvalidAuthenticationToken');
  expectGraphError(await s.request('GET', '/v1.0/users', { token: s.adminToken }), 401, 'InvalidAuthenticationToken');
  const admin = await s.request('POST', '/_mailvault/token', { token: s.adminToken, body: { admin: true, expires: '10m' } });
  assert.equal(admin.status, 200);
  assert.equal(admin.body.expires_in, 600);
  assert.equal((await s.request('GET', '/_mailvault/tenants', { token: admin.body.access_token })).status, 200);
  expectGraphError(await s.request('GET', '/_mailvault/tenants', { token: await s.token() }), 403, 'accessDenied');
  expectGraphError(await s.request('POST', '/_mailvault/tenants', { token: await s.token(), body: {} }), 403, 'accessDenied');
});

test('only the emulator administrator moves the clock or runs the vault GC; the clock cannot be moved past what dates can hold', async () => {
  const r = await startServer();
  try {
    const stranger = await r.token({ tenantId: await r.newTenant(), roles: ['Mail.Read'] });
    const before = (await r.request('GET', '/_mailvault/clock', { token: stranger })).body.now;
    expectGraphError(await r.request('POST', '/_mailvault/clock', { token: stranger, body: { advance: 'P400D' } }), 403, 'accessDenied');
    expectGraphError(await r.request('POST', '/_mailvault/clock', { token: await r.token(), body: { advance: 'PT1M' } }), 403, 'accessDenied');
    expectGraphError(await r.request('POST', '/_mailvault/vault/gc', { token: stranger }), 403, 'accessDenied');
    expectGraphError(await r.request('GET', '/_mailvault/vault/gc', { token: stranger }), 403, 'accessDenied');
    assert.ok((await r.request('GET', '/_mailvault/clock')).body.now < new Date(Date.parse(before) + 86_400_000).toISOString(), 'the clock did not move');

    for (const body of [{ set: '9999-12-31T23:59:59Z' }, { advance: 'P999999999Y' }, { advance: 'P8000Y' }, { set: '+275760-01-01T00:00:00Z' }]) {
      expectGraphError(await r.request('POST', '/_mailvault/clock', { token: r.adminToken, body }), 400, 'BadRequest');
    }
    const far = await r.request('POST', '/_mailvault/clock', { token: r.adminToken, body: { set: '9997-06-01T00:00:00Z' } });
    assert.equal(far.status, 200, far.text);
    expectGraphError(await r.request('POST', '/_mailvault/clock', { token: r.adminToken, body: { advance: 'P1Y' } }), 400, 'BadRequest');
    // at the latest time allowed, everything still works: a session, a message, the scheduler
    assert.equal((await r.request('POST', `${BR}/exchangeRestoreSessions`, { body: {} })).status, 201);
    assert.equal((await r.request('POST', '/_mailvault/clock', { token: r.adminToken, body: { advance: 'P30D' } })).status, 200);
    assert.equal((await r.request('GET', '/_mailvault/health', { token: null })).body.status, 'ok');
  } finally {
    await r.close();
  }
});

test('a data directory whose saved clock is past what dates can hold starts, and the clock is brought back within range', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-clock-'));
  const pg = await postgresDatabase();
  const config = () => loadConfig({ port: '0', logLevel: 'silent', data: dir, ...(pg ? { databaseUrl: pg.url } : {}) }, {});
  try {
    let app = await createApp(config());
    await app.core.store.write((trx) =>
      trx.updateTable('server_state').set({ value: String(8.64e15) }).where('key', '=', 'clock_offset_ms').execute().then(async (r) => {
        if (Number(r[0]?.numUpdatedRows ?? 0) === 0) await trx.insertInto('server_state').values({ key: 'clock_offset_ms', value: String(8.64e15) }).execute();
      }),
    );
    await app.close();
    app = await createApp(config());
    try {
      const base = await app.listen();
      const token = await mintToken(app.core.key, { tenantId: app.core.defaultTenantId });
      const get = (p: string, init: RequestInit = {}) => fetch(base + p, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
      const clock = await (await get('/_mailvault/clock')).json();
      assert.ok(clock.now > '9997-12-31' && clock.now < '9998-01-02', clock.now);
      assert.equal((await get(`${BR}/exchangeRestoreSessions`, { method: 'POST', body: '{}' })).status, 201);
      assert.equal((await get('/v1.0/users?$top=1')).status, 200);
    } finally {
      await app.close();
    }
  } finally {
    await pg?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tokens need an expiry, minted lifetimes are capped, and tenants are GUIDs compared in lower case that exist only once made', async () => {
  const key = s.app.core.key;
  const forever = await new SignJWT({ tid: s.tenantId, roles: ['User.Read.All'], appid: 'a', ver: '1.0' })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(`https://sts.windows.net/${s.tenantId}/`)
    .setAudience('https://graph.microsoft.com')
    .setIssuedAt()
    .sign(key.privateKey);
  const e = expectGraphError(await s.request('GET', '/v1.0/users', { token: forever }), 401, 'InvalidAuthenticationToken');
  assert.match(e.message, /expiry/);

  for (const expires of ['99999999999999d', '0s', '25h', 'P2D', '-1h', 'never']) {
    expectGraphError(await s.request('POST', '/_mailvault/token', { token: s.adminToken, body: { expires } }), 400, 'BadRequest');
  }
  assert.equal((await s.request('POST', '/_mailvault/token', { token: s.adminToken, body: { expires: '24h' } })).body.expires_in, 86400);
  const longer = await startServer({ maxTokenLifetime: 'P7D' });
  try {
    assert.equal((await longer.request('POST', '/_mailvault/token', { token: longer.adminToken, body: { expires: '7d' } })).body.expires_in, 604800);
  } finally {
    await longer.close();
  }

  const unknownTenant = await mintToken(key, { tenantId: 'b0b0b0b0-0000-4000-8000-000000000001' });
  const gone = expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: unknownTenant }), 401, 'OrganizationFromTenantGuidNotFound');
  assert.equal(gone.message, "The tenant for tenant guid 'b0b0b0b0-0000-4000-8000-000000000001' does not exist.");
  expectGraphError(await s.request('POST', '/_mailvault/token', { token: unknownTenant, body: {} }), 401, 'OrganizationFromTenantGuidNotFound');
  const tenantCount = async () => (await s.request('GET', '/_mailvault/tenants', { token: s.adminToken })).body.value.length;
  const count = await tenantCount();
  for (let i = 0; i < 5; i++) await s.request('GET', '/v1.0/users', { token: await mintToken(key, { tenantId: `b0b0b0b0-0000-4000-8000-00000000000${i}` }) });
  assert.equal(await tenantCount(), count, 'unknown tenants are not created by their tokens');

  // the same tenant whatever the case of its id
  const upper = await new SignJWT({ tid: s.tenantId.toUpperCase(), roles: ['BackupRestore-Control.Read.All'], appid: 'a', ver: '1.0' })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(`https://sts.windows.net/${s.tenantId.toUpperCase()}/`)
    .setAudience('https://graph.microsoft.com')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key.privateKey);
  const root = await s.request('GET', '/v1.0/solutions/backupRestore', { token: upper });
  assert.equal(root.status, 200, root.text);
  assert.equal(root.body.id, s.tenantId);
  const notGuid = await new SignJWT({ tid: 'contoso', roles: [], ver: '1.0' })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer('https://sts.windows.net/contoso/')
    .setAudience('https://graph.microsoft.com')
    .setExpirationTime('1h')
    .sign(key.privateKey);
  expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: notGuid }), 401, 'InvalidAuthenticationToken');
  const made = await s.request('POST', '/_mailvault/tenants', { token: s.adminToken, body: { id: 'B0B0B0B0-0000-4000-8000-0000000000AA', displayName: 'Fabrikam' } });
  assert.equal(made.status, 201);
  assert.equal(made.body.id, 'b0b0b0b0-0000-4000-8000-0000000000aa');
  expectGraphError(await s.request('POST', '/_mailvault/tenants', { token: s.adminToken, body: { id: made.body.id } }), 409, 'conflict');
});

test('a Host that does not name the server is refused before anything else; links come from --public-url when set', async () => {
  const hostile = await raw(s.base, `GET /v1.0/users HTTP/1.1\r\nHost: evil.example.com"><script>\r\nAuthorization: Bearer ${await s.token()}\r\nConnection: close\r\n\r\n`);
  envelope(hostile, 400, 'BadRequest');
  assert.ok(!JSON.stringify(hostile.headers).includes('<script>'));
  const rebind = await raw(s.base, `GET /v1.0/users HTTP/1.1\r\nHost: rebind.attacker.example:${port()}\r\nAuthorization: Bearer ${await s.token()}\r\nConnection: close\r\n\r\n`);
  envelope(rebind, 400, 'BadRequest');
  const named = await raw(s.base, `GET /v1.0/users?$top=1 HTTP/1.1\r\nHost: localhost:${port()}\r\nAuthorization: Bearer ${await s.token()}\r\nConnection: close\r\n\r\n`);
  assert.equal(named.status, 200);
  assert.match(named.body['@odata.context'], new RegExp(`^http://localhost:${port()}/v1\\.0/`));

  const anon = await startServer({ allowAnonymous: true });
  try {
    const body = '{"tenantId":"c0ffee00-0000-4000-8000-000000000001"}';
    const r = await raw(anon.base, `POST /_mailvault/token HTTP/1.1\r\nHost: rebind.attacker.example:${new URL(anon.base).port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    envelope(r, 400, 'BadRequest');
    assert.equal((await anon.request('POST', '/_mailvault/token', { token: null, body: {} })).status, 200, 'the anonymous caller is the administrator on loopback');
  } finally {
    await anon.close();
  }

  const proxied = await startServer({ publicUrl: 'https://mail.contoso.test/graph', allowedHosts: 'mailvault.internal' });
  try {
    const p = new URL(proxied.base).port;
    const created = await raw(proxied.base, `POST /v1.0/solutions/backupRestore/exchangeRestoreSessions HTTP/1.1\r\nHost: mailvault.internal:${p}\r\nAuthorization: Bearer ${await proxied.token()}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    assert.equal(created.status, 201, JSON.stringify(created));
    assert.match(created.headers.location, /^https:\/\/mail\.contoso\.test\/graph\/v1\.0\/solutions\/backupRestore\/exchangeRestoreSessions\/[0-9a-f-]{36}$/);
    assert.match(created.body['@odata.context'], /^https:\/\/mail\.contoso\.test\/graph\/v1\.0\/\$metadata#/);
    envelope(await raw(proxied.base, `GET /v1.0/users HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n`), 400, 'BadRequest');
  } finally {
    await proxied.close();
  }
});

test('a request whose body stops arriving is answered 408 and closed a few seconds after its last byte', async () => {
  const quick = await startServer({ bodyTimeout: '1' });
  try {
    const token = await quick.token();
    const r = await raw(quick.base, `POST ${BR}/exchangeRestoreSessions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"a":"0123`, 10_000);
    envelope(r, 408, 'RequestTimeout');
    assert.ok(r.closedAfterMs >= 900 && r.closedAfterMs < 5000, `closed after ${r.closedAfterMs} ms`);
    // without a token too
    const anonymous = await raw(quick.base, `POST ${BR}/exchangeRestoreSessions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{`, 10_000);
    assert.ok(anonymous.closedAfterMs < 5000, `closed after ${anonymous.closedAfterMs} ms`);
    assert.ok([401, 408].includes(anonymous.status));
    assert.equal((await quick.request('GET', `${BR}/exchangeRestoreSessions`)).body.value.length, 0, 'nothing was created');
  } finally {
    await quick.close();
  }
});

test("every refusal is a Graph envelope: the parser's 400s, 431 for oversized requests, foreign charsets, long echoed ids cut short", async () => {
  const t = await s.token();
  envelope(await raw(s.base, `GET /v1.0/users?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`), 431, 'RequestHeaderFieldsTooLarge');
  envelope(await raw(s.base, `GET /v1.0/users HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`), 431, 'RequestHeaderFieldsTooLarge');
  const bad = [
    `POST /v1.0/users HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST /v1.0/users HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`,
    `POST /v1.0/users HTTP/1.1\r\nHost: localhost\r\nContent-Length: -2\r\n\r\n{}`,
    `GET /v1.0/users HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n`,
    `GET /v1.0/users HTTP/1.1\r\nHost: localhost\r\nX-Nul: a\0b\r\n\r\n`,
    `GET /v1.0/users HTTP/9\r\nHost: localhost\r\n\r\n`,
    `BREW /v1.0/users NOT-HTTP\r\n\r\n`,
    `GET /v1.0/users HTTP/1.1\r\nHost:\r\n\r\n`,
    `GET /v1.0/users HTTP/1.1\r\n\r\n`,
  ];
  for (const request of bad) envelope(await raw(s.base, request), 400, 'BadRequest');

  for (const charset of ['utf-16', 'latin1', 'iso-8859-1']) {
    const r = await s.request('POST', `${BR}/exchangeRestoreSessions`, { raw: '{}', headers: { 'content-type': `application/json; charset=${charset}` }, token: t });
    expectGraphError(r, 415, 'UnsupportedMediaType');
  }
  assert.equal((await s.request('POST', `${BR}/exchangeRestoreSessions`, { raw: '{}', headers: { 'content-type': 'application/json; charset=UTF-8' } })).status, 201);

  const r = await s.request('GET', `${BR}/exchangeRestoreSessions/${'x'.repeat(10_000)}`);
  assert.ok(r.status === 400 || r.status === 404, r.text.slice(0, 200));
  assert.ok(r.text.length < 2000, `the answer is ${r.text.length} characters`);
  const body = await s.request('POST', `${BR}/exchangeRestoreSessions`, { body: { mailboxRestoreArtifacts: [{ restorePoint: { id: 'z'.repeat(100_000) } }] } });
  assert.ok(body.status >= 400 && body.status < 500, body.text.slice(0, 200));
  assert.ok(body.text.length < 5000, `the answer is ${body.text.length} characters`);
  const segment = await s.request('GET', `/v1.0/${'y'.repeat(10_000)}`);
  expectGraphError(segment, 400, 'BadRequest');
  assert.ok(segment.text.length < 2000);
});

test('mailvault token --admin prints a token only the emulator controls accept', async () => {
  const key = s.app.core.key;
  const admin = await mintAdminToken(key, { expires: '5m' });
  expectGraphError(await s.request('GET', '/v1.0/users', { token: admin }), 401, 'InvalidAuthenticationToken');
  assert.equal((await s.request('GET', '/_mailvault/tenants', { token: admin })).status, 200);
  await assert.rejects(mintAdminToken(key, { expires: '2d' }), /longer than the maximum/);
});
