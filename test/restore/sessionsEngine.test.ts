/**
 * Restore sessions with the restore engine running: the seed session and a bulk session go from
 * draft through activation to `completed`, their status and counters derived from the artifacts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { SESSIONS, RP1, RP2 } from '../helpers/demo.js';

const BASE = '/v1.0/solutions/backupRestore';

let s: TestServer;
before(async () => {
  s = await startServer({ demo: true });
});
after(() => s.close());

/** Polls the session until it reaches a terminal status. */
async function finished(id: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const r = await s.request('GET', `${SESSIONS}/${id}`, { headers: { prefer: 'include-unknown-enum-members' } });
    if (['completed', 'completedWithError', 'failed'].includes(r.body.status)) return r.body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`session ${id} did not finish`);
}

test('the seed session, activated, is restored by the engine and ends completed', async () => {
  const created = await s.request('POST', SESSIONS, {
    body: { mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'new' }, { restorePoint: { id: RP2 }, destinationType: 'new' }] },
  });
  assert.equal(created.status, 201);
  const act = await s.request('POST', `${BASE}/restoreSessions/${created.body.id}/activate`);
  assert.equal(act.status, 200);
  const done = await finished(created.body.id);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.deepEqual(done.restoreSessionArtifactCount, { total: 2, completed: 2, inProgress: 0, failed: 0 });
  assert.ok(done.completedDateTime >= act.body.lastModifiedDateTime);
  const arts = (await s.request('GET', `${SESSIONS}/${created.body.id}/mailboxRestoreArtifacts`)).body.value;
  for (const a of arts) {
    assert.equal(a.status, 'succeeded');
    assert.ok(a.startDateTime && a.completionDateTime && a.completionDateTime >= a.startDateTime);
    assert.equal(a.error, null);
  }
});

test('a bulk session, activated, resolves its mailboxes and ends completed', async () => {
  const vault = s.app.services.vault as any;
  const mail = s.app.services.mail as any;
  const user = await mail.findUser(s.tenantId, (await vault.getRestorePoint(s.tenantId, RP1)).mailboxId);
  const session = await s.request('POST', SESSIONS, { body: {} });
  const bulk = await s.request('POST', `${SESSIONS}/${session.body.id}/mailboxRestoreArtifactsBulkAdditionRequests`, {
    body: { displayName: 'one mailbox', mailboxes: [user.mail], destinationType: 'new', protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' } },
  });
  assert.equal(bulk.status, 201, bulk.text);
  await s.request('POST', `${BASE}/restoreSessions/${session.body.id}/activate`);
  const done = await finished(session.body.id);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.restoreJobType, 'bulk');
  assert.deepEqual(done.restoreSessionArtifactCount, { total: 1, completed: 1, inProgress: 0, failed: 0 });
  const request = await s.request('GET', `${SESSIONS}/${session.body.id}/mailboxRestoreArtifactsBulkAdditionRequests/${bulk.body.id}`);
  assert.equal(request.body.status, 'completed');
});
