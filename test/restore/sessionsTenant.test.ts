/**
 * Restore sessions in a tenant a backup application onboarded itself (no demo): its own restore
 * points, invisible to other tenants; and no restore work once the tenant is restoreLocked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, createUser, newTenant, ok, protectMailboxes, listPoints, type Tenant } from '../helpers/protect.js';

const SESSIONS = `${BR}/exchangeRestoreSessions`;

let s: TestServer;
let t: Tenant & { onboarded?: boolean; policyId?: string };
let pointId: string;

before(async () => {
  s = await startServer();
  t = await newTenant(s);
  const user = await createUser(s, t, 'Restorer');
  const { unitOf } = await protectMailboxes(s, t, [user.id]);
  const search = await s.token({ tenantId: t.id, roles: ['BackupRestore-Search.Read.All'] });
  const [point] = await listPoints(s, search, unitOf.get(user.id)!);
  assert.ok(point, 'the protected mailbox has a restore point');
  pointId = point.id;
});
after(() => s.close());

const body = () => ({ mailboxRestoreArtifacts: [{ restorePoint: { id: pointId }, destinationType: 'new' }] });

test('a session on the tenant\'s own restore point; another tenant cannot bind it', async () => {
  const created = ok(await s.request('POST', SESSIONS, { token: t.app, body: body() }), 201);
  const [artifact] = ok(await s.request('GET', `${SESSIONS}/${created.id}/mailboxRestoreArtifacts`, { token: t.app }), 200).value;
  assert.equal(artifact.restorePoint.id, pointId);
  assert.match(artifact.restorePoint.protectionDateTime, /Z$/);
  const other = await newTenant(s);
  expectGraphError(await s.request('POST', SESSIONS, { token: other.app, body: body() }), 400, 'InvalidRestorePoint');
  expectGraphError(await s.request('GET', `${SESSIONS}/${created.id}`, { token: other.app }), 404, 'RestoreSessionNotFound');
});

test('a restoreLocked tenant may read its sessions but start no restore work: 403 RestoreLocked', async () => {
  const draft = ok(await s.request('POST', SESSIONS, { token: t.app, body: body() }), 201);
  const empty = ok(await s.request('POST', SESSIONS, { token: t.app, body: {} }), 201);
  // The tenant loses its controlling app: protectionChangeLocked now, restoreLocked 30 days later.
  const apps = ok(await s.request('GET', `${BR}/serviceApps`, { token: t.app }), 200).value;
  for (const app of apps) ok(await s.request('DELETE', `${BR}/serviceApps/${app.id}`, { token: t.app }), 204);
  await s.advance('P31D');
  const root = ok(await s.request('GET', BR, { token: t.app }), 200);
  assert.equal(root.serviceStatus.status, 'restoreLocked');

  for (const r of [
    await s.request('POST', SESSIONS, { token: t.app, body: {} }),
    await s.request('PATCH', `${SESSIONS}/${draft.id}`, { token: t.app, body: { 'mailboxRestoreArtifacts@delta': [{ '@removed': { reason: 'changed' }, id: 'x' }] } }),
    await s.request('POST', `${BR}/restoreSessions/${draft.id}/activate`, { token: t.app }),
    await s.request('POST', `${SESSIONS}/${empty.id}/mailboxRestoreArtifactsBulkAdditionRequests`, { token: t.app, body: { mailboxes: ['a@contoso.example'], destinationType: 'new' } }),
  ]) {
    expectGraphError(r, 403, 'RestoreLocked');
  }
  assert.equal(ok(await s.request('GET', `${SESSIONS}/${draft.id}`, { token: t.app }), 200).status, 'draft');
  assert.equal(ok(await s.request('DELETE', `${BR}/restoreSessions/${empty.id}`, { token: t.app }), 204), undefined, 'a draft can still be discarded');
});
