/**
 * The bulk workflow of spec §8.5: an empty session, one mailboxRestoreArtifactsBulkAdditionRequest,
 * activation resolving its mailboxes to artifacts, and every documented bulk error.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { SESSIONS, RP1, RP2, APP } from '../helpers/demo.js';

const BASE = '/v1.0/solutions/backupRestore';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let s: TestServer;
/** The demo mailboxes behind the seed restore points: their owners' addresses and ids. */
let mailA: string;
let mailboxB: string;

before(async () => {
  s = await startServer({ demo: true, schedulerInterval: '86400000' });
  // The restore engine is stopped: activated sessions stay where these tests put them (engine tests run it).
  await s.app.services.engine.stop();
  const vault = s.app.services.vault as any;
  const mail = s.app.services.mail as any;
  const a = await vault.getRestorePoint(s.tenantId, RP1);
  const b = await vault.getRestorePoint(s.tenantId, RP2);
  const userA = await mail.findUser(s.tenantId, a.mailboxId);
  mailA = userA.mail ?? userA.userPrincipalName;
  mailboxB = b.mailboxId;
  assert.ok(mailA && mailboxB);
});
after(() => s.close());

const bulkPath = (id: string) => `${SESSIONS}/${id}/mailboxRestoreArtifactsBulkAdditionRequests`;

async function emptySession(): Promise<string> {
  const r = await s.request('POST', SESSIONS, { body: {} });
  assert.equal(r.status, 201);
  return r.body.id;
}

const request = (over: Record<string, unknown> = {}) => ({
  displayName: 'EXO-BulkRestoreArtifacts',
  mailboxes: [mailA],
  directoryObjectIds: [mailboxB],
  destinationType: 'new',
  restorePointPreference: 'latest',
  tags: 'none',
  protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' },
  ...over,
});

test('the bulk workflow: empty session, one request, activation resolves its mailboxes to artifacts', async () => {
  const id = await emptySession();
  const ghost = 'ghost@nowhere.example';
  const r = await s.request('POST', bulkPath(id), { body: request({ mailboxes: [mailA, ghost] }) });
  assert.equal(r.status, 201, r.text);
  const rid = r.body.id;
  assert.match(rid, GUID);
  const full = {
    id: rid,
    displayName: 'EXO-BulkRestoreArtifacts',
    status: 'active',
    destinationType: 'new',
    restorePointPreference: 'latest',
    tags: 'none',
    protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00.000Z', endDateTime: null },
    mailboxes: [mailA, ghost],
    directoryObjectIds: [mailboxB],
    error: null,
    createdBy: APP,
    createdDateTime: r.body.createdDateTime,
    lastModifiedBy: APP,
    lastModifiedDateTime: r.body.createdDateTime,
  };
  const context = `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeRestoreSessions('${id}')/mailboxRestoreArtifactsBulkAdditionRequests`;
  assert.deepEqual(r.body, { '@odata.context': `${context}/$entity`, ...full });
  assert.equal(r.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions/${id}/mailboxRestoreArtifactsBulkAdditionRequests/${rid}`);

  const session = await s.request('GET', `${SESSIONS}/${id}`);
  assert.equal(session.body.restoreJobType, 'bulk');
  const list = await s.request('GET', bulkPath(id));
  const { mailboxes: _m, directoryObjectIds: _d, ...withoutLists } = full;
  assert.deepEqual(list.body, { '@odata.context': context, value: [withoutLists] });
  const one = await s.request('GET', `${bulkPath(id)}/${rid}`);
  assert.deepEqual(one.body, { '@odata.context': `${context}/$entity`, ...full });

  expectGraphError(await s.request('DELETE', `${bulkPath(id)}/${rid}`), 403, 'InvalidStateForBulkRequestDeletion');
  expectGraphError(await s.request('POST', bulkPath(id), { body: request() }), 400, 'BulkRestoreInvalidCreateRequest');
  expectGraphError(
    await s.request('PATCH', `${SESSIONS}/${id}`, { body: { 'mailboxRestoreArtifacts@delta': [{ restorePoint: { id: RP1 }, destinationType: 'new' }] } }),
    400,
    'InvalidPatchRequest',
  );

  const act = await s.request('POST', `${BASE}/restoreSessions/${id}/activate`);
  assert.equal(act.status, 200, act.text);
  assert.equal(act.body.status, 'activating');
  assert.equal(act.body.restoreJobType, 'bulk');
  assert.deepEqual(act.body.restoreSessionArtifactCount, { total: 2, completed: 0, inProgress: 2, failed: 0 });

  const vault = s.app.services.vault as any;
  const arts = (await s.request('GET', `${SESSIONS}/${id}/mailboxRestoreArtifacts`)).body.value;
  const expected = [];
  for (const mailbox of [(await vault.getRestorePoint(s.tenantId, RP1)).mailboxId, mailboxB]) {
    expected.push((await vault.pickRestorePoint(s.tenantId, mailbox, { start: '2000-01-01T00:00:00.000Z', end: null, preference: 'latest', tags: 0 })).id);
  }
  assert.deepEqual(arts.map((a: any) => [a.restorePoint.id, a.destinationType, a.status]), expected.map((rp) => [rp, 'new', 'scheduling']));

  const done = await s.request('GET', `${bulkPath(id)}/${rid}`);
  assert.equal(done.body.status, 'completedWithErrors');
  assert.deepEqual(done.body.error, {
    code: 'RestoreResourcesNotFound',
    message: 'Errors while resolving restore resources',
    target: null,
    details: [{ code: 'EmailNotFound', message: `Email address '${ghost}' not found in directory`, target: ghost }],
    innerError: null,
  });
  const del = await s.request('DELETE', `${bulkPath(id)}/${rid}`);
  assert.equal(del.status, 204);
  expectGraphError(await s.request('GET', `${bulkPath(id)}/${rid}`), 404, 'BulkRestoreArtifactsNotFound');
  assert.equal((await s.request('GET', `${SESSIONS}/${id}/mailboxRestoreArtifacts`)).body.value.length, 2, 'deleting the request keeps its artifacts');
});

test('a protectionTimePeriod day that does not exist is BulkRestoreInvalidCreateRequest and stores nothing; a leap day is accepted', async () => {
  const id = await emptySession();
  for (const [period, message] of [
    [{ startDateTime: '2024-02-30T00:00:00Z' }, 'protectionTimePeriod.startDateTime must be an ISO 8601 date and time.'],
    [{ startDateTime: '2024-01-01T00:00:00Z', endDateTime: '2023-02-29T00:00:00Z' }, 'protectionTimePeriod.endDateTime must be an ISO 8601 date and time.'],
    [{ startDateTime: '2024-04-31T08:00:00' }, 'protectionTimePeriod.startDateTime must be an ISO 8601 date and time.'],
    [{ startDateTime: '2024-02-29' }, 'protectionTimePeriod.startDateTime must be an ISO 8601 date and time.'],
  ] as const) {
    const r = await s.request('POST', bulkPath(id), { body: request({ protectionTimePeriod: period }) });
    assert.equal(expectGraphError(r, 400, 'BulkRestoreInvalidCreateRequest').message, message);
  }
  assert.deepEqual((await s.request('GET', bulkPath(id))).body.value, [], 'no refused request was stored');
  assert.equal((await s.request('GET', `${SESSIONS}/${id}`)).body.restoreJobType, 'standard');
  // a real leap day; a date-time without offset is UTC
  const r = await s.request('POST', bulkPath(id), { body: request({ protectionTimePeriod: { startDateTime: '2024-02-29T00:00:00Z', endDateTime: '2024-02-29T12:00:00' } }) });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.protectionTimePeriod, { startDateTime: '2024-02-29T00:00:00.000Z', endDateTime: '2024-02-29T12:00:00.000Z' });
});

test('a request whose every mailbox resolves completes without error; the same mailbox twice is one artifact', async () => {
  const id = await emptySession();
  const r = await s.request('POST', bulkPath(id), { body: request({ mailboxes: [mailA, mailA.toUpperCase()], directoryObjectIds: [mailboxB, mailboxB] }) });
  assert.equal(r.status, 201, r.text);
  await s.request('POST', `${BASE}/restoreSessions/${id}/activate`);
  const one = await s.request('GET', `${bulkPath(id)}/${r.body.id}`);
  assert.equal(one.body.status, 'completed');
  assert.equal(one.body.error, null);
  assert.equal((await s.request('GET', `${SESSIONS}/${id}`)).body.restoreSessionArtifactCount.total, 2);
});

test('a request that resolves nothing leaves the session failed with the reasons', async () => {
  const id = await emptySession();
  const r = await s.request('POST', bulkPath(id), { body: request({ mailboxes: ['nobody@nowhere.example'], directoryObjectIds: ['00000000-0000-4000-8000-00000000dead'] }) });
  assert.equal(r.status, 201);
  const act = await s.request('POST', `${BASE}/restoreSessions/${id}/activate`, { headers: { prefer: 'include-unknown-enum-members' } });
  assert.equal(act.status, 200);
  assert.equal(act.body.status, 'failed');
  assert.equal(act.body.error.code, 'RestoreResourcesNotFound');
  assert.deepEqual(act.body.error.details.map((d: any) => [d.code, d.target]), [
    ['EmailNotFound', 'nobody@nowhere.example'],
    ['DirectoryObjectNotFound', '00000000-0000-4000-8000-00000000dead'],
  ]);
  assert.match(act.body.completedDateTime, /Z$/);
  assert.equal((await s.request('GET', `${SESSIONS}/${id}`)).body.status, 'unknownFutureValue');
});

test('a restore point window with nothing in it is a per-mailbox RestorePointNotFound', async () => {
  const id = await emptySession();
  await s.request('POST', bulkPath(id), { body: request({ directoryObjectIds: [], protectionTimePeriod: { startDateTime: '2001-01-01T00:00:00Z', endDateTime: '2001-01-02T00:00:00Z' } }) });
  await s.request('POST', `${BASE}/restoreSessions/${id}/activate`);
  const [req] = (await s.request('GET', bulkPath(id))).body.value;
  assert.equal(req.status, 'completedWithErrors');
  assert.deepEqual(req.error.details.map((d: any) => [d.code, d.target]), [['RestorePointNotFound', mailA]]);
});

test('bulk request errors', async () => {
  const id = await emptySession();
  const post = (body: unknown, sid = id) => s.request('POST', bulkPath(sid), { body });
  for (const mailboxes of [['not-an-email'], [''], [42], ['a@b']]) {
    expectGraphError(await post(request({ mailboxes })), 400, 'BulkRestoreInvalidCreateRequestUserEmail');
  }
  const tooMany = Array.from({ length: 10_001 }, (_, i) => `user${i}@contoso.example`);
  expectGraphError(await post(request({ mailboxes: tooMany, directoryObjectIds: [] })), 400, 'BulkRestoreRestorationResourcesCountExceedsLimit');
  expectGraphError(await post(request({ mailboxes: tooMany.slice(0, 9_999), directoryObjectIds: [mailboxB, mailboxB] })), 400, 'BulkRestoreRestorationResourcesCountExceedsLimit');
  const atLimit = await post(request({ mailboxes: tooMany.slice(0, 9_999), directoryObjectIds: [mailboxB] }), await emptySession());
  assert.equal(atLimit.status, 201, atLimit.text);
  assert.equal(atLimit.body.mailboxes.length, 9_999);
  for (const body of [
    request({ mailboxes: [], directoryObjectIds: [] }),
    request({ destinationType: 'sideways' }),
    request({ destinationType: undefined }),
    request({ bogus: true }),
    request({ tags: 'slowRestore' }),
    request({ tags: 'unknownFutureValue' }),
    request({ tags: 'fastRestore,includeNewerItems' }),
    request({ restorePointPreference: 'middle' }),
    request({ protectionTimePeriod: { startDateTime: '2024-02-01T00:00:00Z', endDateTime: '2024-01-01T00:00:00Z' } }),
    request({ protectionTimePeriod: { startDateTime: 'yesterday' } }),
    request({ protectionUnitIds: ['x'] }),
    request({ mailboxes: 'a@b.example' }),
  ]) {
    expectGraphError(await post(body), 400, 'BulkRestoreInvalidCreateRequest');
  }
  const manual = await s.request('POST', SESSIONS, { body: { mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'new' }] } });
  expectGraphError(await post(request(), manual.body.id), 400, 'BulkRestoreInvalidCreateRequest');
  expectGraphError(await post(request(), '00000000-0000-4000-8000-000000000000'), 404, 'RestoreSessionNotFound');
  // A malformed id in the URI of the bulk endpoints is the error table's InvalidBulkRestoreArtifactId ("bad GUID in URI").
  expectGraphError(await post(request(), 'zzz'), 400, 'InvalidBulkRestoreArtifactId');
  expectGraphError(await s.request('GET', bulkPath('zzz')), 400, 'InvalidBulkRestoreArtifactId');
  for (const method of ['GET', 'DELETE']) {
    expectGraphError(await s.request(method, `${bulkPath(id)}/not-a-guid`), 400, 'InvalidBulkRestoreArtifactId');
    expectGraphError(await s.request(method, `${bulkPath('zzz')}/00000000-0000-4000-8000-000000000000`), 400, 'InvalidBulkRestoreArtifactId');
  }
  await s.request('POST', `${BASE}/restoreSessions/${manual.body.id}/activate`);
  expectGraphError(await post(request(), manual.body.id), 403, 'RestoreSessionActionNotAllowed');
  expectGraphError(await s.request('GET', `${bulkPath(id)}/00000000-0000-4000-8000-000000000000`), 404, 'BulkRestoreArtifactsNotFound');
  expectGraphError(await s.request('DELETE', `${bulkPath(id)}/00000000-0000-4000-8000-000000000000`), 404, 'BulkRestoreArtifactsNotFound');
  expectGraphError(await s.request('GET', `${bulkPath(id)}?$top=1`), 400, 'BadRequest');
  assert.deepEqual((await s.request('GET', bulkPath(id))).body.value, [], 'no failed request was stored');
  assert.equal((await s.request('GET', `${SESSIONS}/${id}`)).body.restoreJobType, 'standard');
});
