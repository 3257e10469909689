/**
 * Graph wire conventions every endpoint inherits from the pipeline, exercised on the restore
 * session endpoints: body rules, OData collection options, and a storm of hostile requests that must
 * each get a well-formed 4xx envelope and change nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestResponse, type TestServer } from '../helpers/server.js';

const SESSIONS = '/v1.0/solutions/backupRestore/exchangeRestoreSessions';
let s: TestServer;

before(async () => {
  s = await startServer();
});
after(() => s.close());

/** Every row of every table, as one comparable string. */
async function snapshot(): Promise<string> {
  const db = s.app.core.store.db;
  const tables = ['tenants', 'users', 'groups', 'mailboxes', 'folders', 'messages', 'blobs', 'service_apps', 'protection_policies', 'protection_units', 'protection_rules', 'protection_bulk_jobs', 'vault_versions', 'restore_points', 'search_responses', 'restore_sessions', 'restore_artifacts', 'restore_bulk_requests', 'jobs'] as const;
  const parts: string[] = [];
  for (const t of tables) parts.push(t + JSON.stringify(await db.selectFrom(t).selectAll().execute()));
  return parts.join('\n');
}

test('a body property that does not exist on the type is a 400 naming it', async () => {
  const r = await s.request('POST', SESSIONS, { body: { mailboxRestoreArtifactz: [] } });
  const e = expectGraphError(r, 400, 'BadRequest');
  assert.match(e.message, /'mailboxRestoreArtifactz' does not exist on type 'microsoft\.graph\.exchangeRestoreSession'/);
});

test('read-only properties in a body are ignored', async () => {
  const r = await s.request('POST', SESSIONS, { body: { id: 'mine', status: 'completed', createdDateTime: '2000-01-01T00:00:00Z' } });
  assert.equal(r.status, 201);
  assert.notEqual(r.body.id, 'mine');
  assert.equal(r.body.status, 'draft');
  assert.notEqual(r.body.createdDateTime, '2000-01-01T00:00:00Z');
  assert.equal(r.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions/${r.body.id}`);
  assert.equal(r.headers.get('content-location'), r.headers.get('location'));
});

test('non-JSON bodies are 415, oversized bodies 413, malformed JSON 400', async () => {
  const text = await s.request('POST', SESSIONS, { raw: '{}', headers: { 'content-type': 'text/plain' } });
  expectGraphError(text, 415, 'UnsupportedMediaType');
  const xml = await s.request('POST', SESSIONS, { raw: '<a/>', headers: { 'content-type': 'application/xml' } });
  expectGraphError(xml, 415, 'UnsupportedMediaType');
  const big = await s.request('POST', SESSIONS, { raw: JSON.stringify({ x: 'a'.repeat(1024 * 1024) }), headers: { 'content-type': 'application/json' } });
  expectGraphError(big, 413, 'RequestEntityTooLarge');
  const bad = await s.request('POST', SESSIONS, { raw: '{"mailboxRestoreArtifacts": [', headers: { 'content-type': 'application/json' } });
  expectGraphError(bad, 400, 'BadRequest');
});

test('__proto__ and constructor keys are rejected, never merged', async () => {
  for (const raw of ['{"__proto__": {"polluted": true}}', '{"constructor": {"prototype": {"polluted": true}}}', '{"mailboxRestoreArtifacts": [{"__proto__": {"x": 1}}]}']) {
    const r = await s.request('POST', SESSIONS, { raw, headers: { 'content-type': 'application/json' } });
    expectGraphError(r, 400, 'BadRequest');
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('collections page with $top and an absolute @odata.nextLink to the end, with $count, $filter, $orderby, $select', async () => {
  const tenant = await s.newTenant();
  const token = await s.token({ tenantId: tenant });
  const created: string[] = [];
  for (let i = 0; i < 23; i++) {
    const r = await s.request('POST', SESSIONS, { body: {}, token });
    assert.equal(r.status, 201);
    created.push(r.body.id);
  }
  const seen: string[] = [];
  let url: string | undefined = `${SESSIONS}?$top=10&$count=true`;
  let pages = 0;
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token });
    assert.equal(r.status, 200);
    assert.equal(r.body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeRestoreSessions`);
    assert.equal(r.body['@odata.count'], 23);
    seen.push(...r.body.value.map((x: { id: string }) => x.id));
    url = r.body['@odata.nextLink'];
    if (url) assert.ok(url.startsWith(`${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions?`), url);
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual([...seen].sort(), [...created].sort());

  const filtered = await s.request('GET', `${SESSIONS}?$filter=status eq 'draft' and restoreJobType eq 'standard'&$select=id,status&$orderby=createdDateTime desc&$top=5`, { token });
  assert.equal(filtered.status, 200);
  assert.equal(filtered.body.value.length, 5);
  for (const item of filtered.body.value) assert.deepEqual(Object.keys(item).sort(), ['id', 'status']);

  const none = await s.request('GET', `${SESSIONS}?$filter=status ne 'draft'`, { token });
  assert.deepEqual(none.body.value, []);
  assert.equal(none.body['@odata.nextLink'], undefined);
});

test('unsupported query options and properties are a 400 saying which', async () => {
  const search = await s.request('GET', `${SESSIONS}?$search=foo`);
  assert.match(expectGraphError(search, 400, 'BadRequest').message, /\$search/);
  const prop = await s.request('GET', `${SESSIONS}?$filter=colour eq 'red'`);
  assert.match(expectGraphError(prop, 400, 'BadRequest').message, /colour/);
  const sel = await s.request('GET', `${SESSIONS}?$select=colour`);
  assert.match(expectGraphError(sel, 400, 'BadRequest').message, /colour/);
  const top = await s.request('GET', `${SESSIONS}?$top=-1`);
  expectGraphError(top, 400, 'BadRequest');
  const skip = await s.request('GET', `${SESSIONS}?$skiptoken=garbage`);
  expectGraphError(skip, 400, 'BadRequest');
});

test('hundreds of hostile requests get well-formed 4xx envelopes and change nothing', async () => {
  await s.request('GET', '/v1.0/solutions/backupRestore'); // the tenant exists before the snapshot
  const before = await snapshot();
  const paths = [
    SESSIONS,
    `${SESSIONS}/unknown-id`,
    `${SESSIONS}/unknown-id/mailboxRestoreArtifacts`,
    '/v1.0/solutions/backupRestore/restoreSessions/unknown-id/activate',
    '/v1.0/solutions/backupRestore/exchangeProtectionPolicies',
    '/v1.0/solutions/backupRestore/protectionPolicies/unknown-id',
    '/v1.0/solutions/backupRestore/restorePoints/search',
    '/v1.0/solutions/backupRestore/serviceApps',
    '/v1.0/solutions/backupRestore/enable',
    '/v1.0/users',
    '/v1.0/users/nobody/messages',
    '/beta/solutions/backupRestore/exchangeRestoreSessions',
  ];
  const bodies: Array<string> = [
    '{', '[]', 'null', '"text"', '42', '{"mailboxRestoreArtifacts": "x"}', '{"mailboxRestoreArtifacts": [{"restorePoint": 5}]}',
    '{"mailboxRestoreArtifacts": [{"restorePoint": {"id": "nope"}, "destinationType": "sideways"}]}',
    '{"granularMailboxRestoreArtifacts": [{"restorePoint": {"id": "nope"}}]}', '{"displayName": 7}', '{"__proto__": {"a": 1}}',
    '{"constructor": {"prototype": {}}}', '{"a": ' + '['.repeat(5000) + ']'.repeat(5000) + '}', '\u0000\u0001', '{"displayName": "' + 'x'.repeat(2000) + '"}',
    '{"protectionUnitIds": 3}', '{"mailboxProtectionUnits": [{"directoryObjectId": {"$ne": 1}}]}', '{"userPrincipalName": null}',
  ];
  const tokens = [null, 'garbage', 'Bearer', 'eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.', await s.token({ roles: [] })];
  const requests: Array<Promise<void>> = [];
  let count = 0;
  const check = (label: string) => (r: { status: number; text: string; body: any; headers: Headers }) => {
    assert.ok(r.status >= 400 && r.status < 500, `${label}: expected 4xx, got ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal(typeof r.body?.error?.code, 'string', `${label}: ${r.text.slice(0, 200)}`);
    assert.equal(typeof r.body.error.message, 'string');
    assert.equal(r.body.error.innerError['request-id'], r.headers.get('request-id'));
  };
  for (const p of paths) {
    for (const raw of bodies) {
      for (const method of ['POST', 'PATCH']) {
        count++;
        requests.push(s.request(method, p, { raw, headers: { 'content-type': 'application/json' } }).then(check(`${method} ${p} ${raw.slice(0, 40)}`)));
      }
    }
    for (const token of tokens) {
      count++;
      requests.push(s.request('POST', p, { body: {}, token, headers: token === 'Bearer' ? { authorization: 'Bearer' } : {} }).then(check(`token ${String(token).slice(0, 10)} ${p}`)));
    }
    for (const q of ['$top=abc', '$filter=((', '$orderby=nope desc', '$select=', '$skiptoken=%%', '$count=maybe', '$expand=everything']) {
      count++;
      requests.push(s.request('GET', `${p}?${q}`).then(check(`GET ${p}?${q}`)));
    }
    count++;
    requests.push(s.request('PUT', p, { body: {} }).then(check(`PUT ${p}`)));
  }
  await Promise.all(requests);
  assert.ok(count > 300, `${count} requests`);
  assert.equal(await snapshot(), before, 'the database is unchanged');
  const health = await s.request('GET', '/_mailvault/health', { token: null });
  assert.equal(health.status, 200);
});
