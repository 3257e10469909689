/**
 * The restore-session API on /beta: every endpoint answers as on v1.0, with beta contexts, links
 * and the same documented errors (the entities are identical in both versions, spec §10).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { RP1, RP2, SEARCH, APP } from '../helpers/demo.js';

const BASE = '/beta/solutions/backupRestore';
const SESSIONS = `${BASE}/exchangeRestoreSessions`;
const SEED1 = {
  mailboxRestoreArtifacts: [
    { restorePoint: { id: RP1 }, destinationType: 'inPlace' },
    { restorePoint: { id: RP2 }, destinationType: 'inPlace' },
  ],
};

let s: TestServer;
let metadata: string;

before(async () => {
  s = await startServer({ demo: true, schedulerInterval: '86400000' });
  // The restore engine is stopped: activated sessions stay where these tests put them.
  await s.app.services.engine.stop();
  metadata = `${s.base}/beta/$metadata#solutions/backupRestore`;
});
after(() => s.close());

test('beta: create, read by id and in both lists, $filter, $select, paging', async () => {
  const r = await s.request('POST', SESSIONS, { body: SEED1 });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.deepEqual(r.body, {
    '@odata.context': `${metadata}/exchangeRestoreSessions/$entity`,
    id,
    status: 'draft',
    restoreJobType: 'standard',
    restoreSessionArtifactCount: { total: 2, completed: 0, inProgress: 0, failed: 0 },
    createdBy: APP,
    createdDateTime: r.body.createdDateTime,
    lastModifiedBy: APP,
    lastModifiedDateTime: r.body.createdDateTime,
    completedDateTime: null,
    error: null,
  });
  assert.equal(r.headers.get('location'), `${s.base}${SESSIONS}/${id}`);
  assert.equal(r.headers.get('content-location'), r.headers.get('location'));

  const { '@odata.context': _c, ...entity } = r.body;
  const byId = await s.request('GET', `${BASE}/restoreSessions/${id}`);
  assert.deepEqual(byId.body, { '@odata.context': `${metadata}/restoreSessions/$entity`, '@odata.type': '#microsoft.graph.exchangeRestoreSession', ...entity });

  await s.request('POST', SESSIONS, { body: {} });
  const page = await s.request('GET', `${BASE}/restoreSessions?$filter=status eq 'draft'&$select=id,status&$top=1`);
  assert.equal(page.status, 200, page.text);
  assert.equal(page.body['@odata.context'], `${metadata}/restoreSessions`);
  assert.deepEqual(page.body.value, [{ '@odata.type': '#microsoft.graph.exchangeRestoreSession', id, status: 'draft' }]);
  assert.ok(page.body['@odata.nextLink'].startsWith(`${s.base}/beta/solutions/backupRestore/restoreSessions?`), page.body['@odata.nextLink']);
  const next = await s.request('GET', page.body['@odata.nextLink']);
  assert.equal(next.body.value.length, 1);
  assert.equal(next.body['@odata.nextLink'], undefined);
  const typed = await s.request('GET', `${SESSIONS}?$filter=id eq '${id}'`);
  assert.deepEqual(typed.body, { '@odata.context': `${metadata}/exchangeRestoreSessions`, value: [entity] });
});

test('beta: artifacts with their restore point, PATCH @delta, activate, DELETE, and the errors', async () => {
  const id = (await s.request('POST', SESSIONS, { body: { mailboxRestoreArtifacts: [SEED1.mailboxRestoreArtifacts[0]] } })).body.id;
  const list = await s.request('GET', `${SESSIONS}/${id}/mailboxRestoreArtifacts`);
  assert.equal(list.body['@odata.context'], `${metadata}/exchangeRestoreSessions('${id}')/mailboxRestoreArtifacts`);
  const [a] = list.body.value;
  assert.deepEqual([a.status, a.destinationType, a.restorePoint.id, typeof a.restorePoint.protectionDateTime], ['added', 'inPlace', RP1, 'string']);
  const one = await s.request('GET', `${SESSIONS}/${id}/mailboxRestoreArtifacts/${a.id}`);
  assert.deepEqual(one.body, { '@odata.context': `${metadata}/exchangeRestoreSessions('${id}')/mailboxRestoreArtifacts/$entity`, ...a });

  const missing = '4267e382-71a9-4c07-bef7-bda97e09c0d2';
  const patched = await s.request('PATCH', `${SESSIONS}/${id}`, {
    body: { 'mailboxRestoreArtifacts@delta': [{ restorePoint: { id: RP2 }, destinationType: 'inPlace' }, { '@removed': { reason: 'changed' }, id: a.id }, { '@removed': { reason: 'changed' }, id: missing }] },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.body['@odata.context'], `${metadata}/exchangeRestoreSessions/$entity`);
  const [added, failed] = patched.body['mailboxRestoreArtifacts@delta'];
  assert.deepEqual(added, { id: added.id, restorePoint: { id: RP2 }, destinationType: 'inPlace', status: 'added' });
  assert.deepEqual([failed.id, failed['@Core.DataModificationException'].responseCode], [missing, 409]);
  assert.deepEqual(patched.body.restoreSessionArtifactCount, { total: 1, completed: 0, inProgress: 0, failed: 0 });

  const many = Array.from({ length: 51 }, () => ({ restorePoint: { id: RP1 }, destinationType: 'inPlace' }));
  expectGraphError(await s.request('POST', SESSIONS, { body: { mailboxRestoreArtifacts: many } }), 413, 'RestoreArtifactsLimitBreached');
  expectGraphError(await s.request('PATCH', `${SESSIONS}/${id}`, { body: { 'mailboxRestoreArtifacts@delta': many } }), 400, 'RestoreArtifactsLimitBreached');
  expectGraphError(await s.request('POST', SESSIONS, { body: { mailboxRestoreArtifacts: [{ restorePoint: { id: 'nope' }, destinationType: 'inPlace' }] } }), 400, 'InvalidRestorePoint');
  expectGraphError(await s.request('GET', `${SESSIONS}/nope`), 400, 'InvalidRestoreSessionId');
  expectGraphError(await s.request('GET', `${BASE}/restoreSessions/00000000-0000-4000-8000-000000000000`), 404, 'RestoreSessionNotFound');

  const act = await s.request('POST', `${BASE}/restoreSessions/${id}/activate`);
  assert.equal(act.status, 200, act.text);
  assert.equal(act.body['@odata.context'], `${metadata}/restoreSessions/$entity`);
  assert.deepEqual([act.body['@odata.type'], act.body.status, act.body.restoreSessionArtifactCount], ['#microsoft.graph.exchangeRestoreSession', 'activating', { total: 1, completed: 0, inProgress: 1, failed: 0 }]);
  expectGraphError(await s.request('DELETE', `${BASE}/restoreSessions/${id}`), 403, 'RestoreSessionActionNotAllowed');

  const draft = (await s.request('POST', SESSIONS, { body: {} })).body.id;
  assert.equal((await s.request('DELETE', `${BASE}/restoreSessions/${draft}`)).status, 204);
  expectGraphError(await s.request('GET', `${SESSIONS}/${draft}`), 404, 'RestoreSessionNotFound');
});

test('beta: seed example 2, its granular artifact, and restoreJobType granular behind Prefer', async () => {
  const r = await s.request('POST', SESSIONS, {
    body: { '@odata.type': '#microsoft.graph.exchangeRestoreSession', granularMailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace', searchResponseId: SEARCH }] },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.restoreJobType, 'unknownFutureValue');
  const prefer = await s.request('GET', `${SESSIONS}/${r.body.id}`, { headers: { prefer: 'include-unknown-enum-members' } });
  assert.equal(prefer.body.restoreJobType, 'granular');
  const [g] = (await s.request('GET', `${SESSIONS}/${r.body.id}/granularMailboxRestoreArtifacts`)).body.value;
  assert.deepEqual([g.restorePoint.id, g.searchResponseId, g.status, g.artifactCount], [RP1, SEARCH, 'added', null]);
});

test('beta: a bulk addition request, its list without the mailbox lists, by id, and DELETE only once resolved', async () => {
  const id = (await s.request('POST', SESSIONS, { body: {} })).body.id;
  const path = `${SESSIONS}/${id}/mailboxRestoreArtifactsBulkAdditionRequests`;
  const body = { displayName: 'beta bulk', mailboxes: ['nobody@nowhere.example'], destinationType: 'new', tags: 'fastRestore', restorePointPreference: 'oldest' };
  expectGraphError(await s.request('POST', path, { body: { ...body, tags: 'includeNewerItems' } }), 400, 'BulkRestoreInvalidCreateRequest');
  const r = await s.request('POST', path, { body });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body['@odata.context'], `${metadata}/exchangeRestoreSessions('${id}')/mailboxRestoreArtifactsBulkAdditionRequests/$entity`);
  assert.equal(r.headers.get('location'), `${s.base}${path}/${r.body.id}`);
  assert.deepEqual([r.body.status, r.body.tags, r.body.mailboxes], ['active', 'fastRestore', ['nobody@nowhere.example']]);
  const list = await s.request('GET', path);
  assert.deepEqual(list.body.value.map((v: any) => [v.id, 'mailboxes' in v, 'directoryObjectIds' in v]), [[r.body.id, false, false]]);
  const one = await s.request('GET', `${path}/${r.body.id}`);
  assert.deepEqual(one.body.mailboxes, ['nobody@nowhere.example']);
  expectGraphError(await s.request('DELETE', `${path}/${r.body.id}`), 403, 'InvalidStateForBulkRequestDeletion');
  expectGraphError(await s.request('PATCH', `${SESSIONS}/${id}`, { body: { 'mailboxRestoreArtifacts@delta': [SEED1.mailboxRestoreArtifacts[0]] } }), 400, 'InvalidPatchRequest');
  assert.equal((await s.request('POST', `${BASE}/restoreSessions/${id}/activate`)).status, 200);
  assert.equal((await s.request('GET', `${path}/${r.body.id}`)).body.status, 'completedWithErrors');
  assert.equal((await s.request('DELETE', `${path}/${r.body.id}`)).status, 204);
  expectGraphError(await s.request('GET', `${path}/${r.body.id}`), 404, 'BulkRestoreArtifactsNotFound');
});
