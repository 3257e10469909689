/**
 * Concurrent changes to one draft session: the rules that involve a session's other artifacts
 * (no mailbox twice, one destinationType, no bulk and manual artifacts together, nothing activated
 * empty) hold whatever order the requests' writes land in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer, type TestResponse } from '../helpers/server.js';
import { SESSIONS, RP1, RP2 } from '../helpers/demo.js';

const BASE = '/v1.0/solutions/backupRestore';

let s: TestServer;

before(async () => {
  s = await startServer({ demo: true, schedulerInterval: '86400000' });
  // The restore engine is stopped: activated sessions stay where these tests put them.
  await s.app.services.engine.stop();
});
after(() => s.close());

async function session(body: unknown): Promise<string> {
  const r = await s.request('POST', SESSIONS, { body });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

const add = (restorePoint: string, destinationType = 'inPlace') => ({
  'mailboxRestoreArtifacts@delta': [{ restorePoint: { id: restorePoint }, destinationType }],
});
const patch = (id: string, body: unknown) => s.request('PATCH', `${SESSIONS}/${id}`, { body });
const artifacts = async (id: string) => (await s.request('GET', `${SESSIONS}/${id}/mailboxRestoreArtifacts`)).body.value;
const codes = (rs: TestResponse[]) => rs.filter((r) => r.status !== 200).map((r) => expectGraphError(r, 400, r.body?.error?.code).code);

test('concurrent PATCHes adding the same mailbox: one is added, the others are DuplicateArtifactInList', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await session({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] });
    const rs = await Promise.all(Array.from({ length: 8 }, () => patch(id, add(RP2))));
    assert.equal(rs.filter((r) => r.status === 200).length, 1, rs.map((r) => r.status).join());
    assert.deepEqual(new Set(codes(rs)), new Set(['DuplicateArtifactInList']));
    assert.deepEqual((await artifacts(id)).map((a: any) => a.restorePoint.id), [RP1, RP2]);
    assert.equal((await s.request('GET', `${SESSIONS}/${id}`)).body.restoreSessionArtifactCount.total, 2);
  }
});

test('concurrent PATCHes with different destinations: the session keeps one destinationType', async () => {
  const id = await session({});
  const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => patch(id, i % 2 ? add(RP1, 'new') : add(RP2, 'inPlace'))));
  assert.equal(rs.filter((r) => r.status === 200).length, 1, rs.map((r) => r.status).join());
  assert.deepEqual(new Set(codes(rs)), new Set(['DuplicateArtifactInList', 'DifferentRestoreDestinationType']));
  assert.equal((await artifacts(id)).length, 1);
});

test('a bulk request and PATCHes racing on an empty session: bulk and manual artifacts are never mixed', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await session({});
    const bulk = () => s.request('POST', `${SESSIONS}/${id}/mailboxRestoreArtifactsBulkAdditionRequests`, { body: { mailboxes: ['someone@contoso.example'], destinationType: 'inPlace' } });
    const others = Array.from({ length: 4 }, () => () => patch(id, add(RP1)));
    // The bulk request is sent first in one round, last in another, in the middle in the third.
    const order = [...others];
    order.splice([0, 4, 2][round], 0, bulk);
    const rs = await Promise.all(order.map((send) => send()));
    const bulkResponse = rs[[0, 4, 2][round]];
    const patches = rs.filter((r) => r !== bulkResponse);
    const list = (await s.request('GET', `${SESSIONS}/${id}/mailboxRestoreArtifactsBulkAdditionRequests`)).body.value;
    const arts = await artifacts(id);
    if (bulkResponse.status === 201) {
      for (const r of patches) expectGraphError(r, 400, 'InvalidPatchRequest');
      assert.equal(list.length, 1);
      assert.deepEqual(arts, []);
    } else {
      expectGraphError(bulkResponse, 400, 'BulkRestoreInvalidCreateRequest');
      assert.equal(patches.filter((r) => r.status === 200).length, 1);
      assert.deepEqual(list, []);
      assert.equal(arts.length, 1);
    }
  }
});

test('activate racing a PATCH that removes the last artifact: never an activated empty session', async () => {
  for (let round = 0; round < 3; round++) {
    const id = await session({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] });
    const [only] = await artifacts(id);
    const remove = () => patch(id, { 'mailboxRestoreArtifacts@delta': [{ '@removed': { reason: 'changed' }, id: only.id }] });
    const activate = () => s.request('POST', `${BASE}/restoreSessions/${id}/activate`);
    const [first, second] = round % 2 ? [remove(), activate()] : [activate(), remove()];
    const [removed, activated] = round % 2 ? [await first, await second] : [await second, await first];
    const now = (await s.request('GET', `${SESSIONS}/${id}`)).body;
    if (activated.status === 200) {
      expectGraphError(removed, 403, 'RestoreSessionActionNotAllowed');
      assert.deepEqual([now.status, now.restoreSessionArtifactCount.total], ['activating', 1]);
    } else {
      expectGraphError(activated, 400, 'InvalidArtifactRequest');
      assert.equal(removed.status, 200, removed.text);
      assert.deepEqual([now.status, now.restoreSessionArtifactCount.total], ['draft', 0]);
    }
  }
});
