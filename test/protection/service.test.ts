/**
 * The backup service root, `enable`, service apps and the §8.1 service-status rules: what a
 * disabled, locked or restore-locked tenant refuses, and when it gets there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, newTenant, ok, onboard, createUser, createPolicy, type Tenant } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer({ schedulerInterval: '3600000' });
});
after(() => s.close());

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function root(t: Tenant) {
  return ok(await s.request('GET', BR, { token: t.app }), 200);
}

test('a new tenant is disabled, with consumer unknown and no lock dates', async () => {
  const t = await newTenant(s);
  const r = await root(t);
  assert.equal(r['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/$entity`);
  assert.deepEqual(r.serviceStatus, {
    status: 'disabled',
    disableReason: 'none',
    backupServiceConsumer: 'unknown',
    gracePeriodDateTime: null,
    restoreAllowedTillDateTime: null,
    lastModifiedDateTime: null,
    lastModifiedBy: null,
  });
});

test('service apps: register (201), list, get, activate (202, delegated only), take effect, deactivate, delete', async () => {
  const t = await newTenant(s);
  const created = await s.request('POST', `${BR}/serviceApps`, { token: t.app, body: {} });
  const app = ok(created, 201);
  assert.match(app.id, GUID);
  assert.equal(created.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/serviceApps/${app.id}`);
  assert.equal(app['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/serviceApps/$entity`);
  assert.equal(app['@odata.type'], '#microsoft.graph.serviceApp');
  assert.equal(app.status, 'inactive');
  assert.deepEqual(app.application, { id: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Mailvault Developer App' });
  assert.equal(app.effectiveDateTime, null);
  assert.equal(app.registrationDateTime, app.lastModifiedDateTime);
  assert.deepEqual(app.lastModifiedBy, { application: { id: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Mailvault Developer App' } });

  expectGraphError(await s.request('POST', `${BR}/serviceApps`, { token: t.app, body: {} }), 409, 'conflict');
  expectGraphError(await s.request('POST', `${BR}/serviceApps`, { token: t.app, body: { nonsense: 1 } }), 400, 'BadRequest');

  const list = ok(await s.request('GET', `${BR}/serviceApps`, { token: t.app }), 200);
  assert.equal(list['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/serviceApps`);
  assert.deepEqual(list.value.map((a: any) => a.id), [app.id]);
  assert.equal(ok(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'inactive');

  // activate is delegated only (spec §6)
  const when = new Date(Date.parse(await s.advance('PT0S')) + 3_600_000).toISOString();
  const appOnly = await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.app, body: { effectiveDateTime: when } });
  assert.match(expectGraphError(appOnly, 403, 'accessDenied').message, /delegated/);
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: {} }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: 'tomorrow' } }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/deactivate`, { token: t.user }), 403, 'ServiceAppActionNotAllowed');

  const activated = await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: when } });
  const pending = ok(activated, 202);
  assert.equal(pending.status, 'pendingActive');
  assert.equal(pending.effectiveDateTime, when);
  assert.equal(pending.lastModifiedBy.user.id, t.userId);
  assert.equal(activated.headers.get('content-location'), `${s.base}/v1.0/solutions/backupRestore/serviceApps/${app.id}`);

  await s.advance('PT30M');
  assert.equal(ok(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'pendingActive', 'not before the effective time');
  await s.advance('PT31M');
  assert.equal(ok(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'active');
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: when } }), 403, 'ServiceAppActionNotAllowed');

  // §11 #18: an app that controls the tenant is pendingInactive until the deactivation takes effect
  const deactivated = ok(await s.request('POST', `${BR}/serviceApps/${app.id}/deactivate`, { token: t.user }), 202);
  assert.equal(deactivated.status, 'pendingInactive');
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/deactivate`, { token: t.user }), 403, 'ServiceAppActionNotAllowed');
  await s.advance('PT1M');
  assert.equal(ok(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'inactive');

  // an app that never took control is inactive at once; until then its effective time can move
  ok(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: '2999-01-01T00:00:00Z' } }), 202);
  const moved = ok(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: '2998-01-01T00:00:00Z' } }), 202);
  assert.equal(moved.status, 'pendingActive');
  assert.equal(moved.effectiveDateTime, '2998-01-01T00:00:00.000Z');
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/deactivate`, { token: t.app }), 403, 'accessDenied');
  assert.equal(ok(await s.request('POST', `${BR}/serviceApps/${app.id}/deactivate`, { token: t.user }), 202).status, 'inactive');

  ok(await s.request('DELETE', `${BR}/serviceApps/${app.id}`, { token: t.app }), 204);
  expectGraphError(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 404, 'itemNotFound');
  expectGraphError(await s.request('DELETE', `${BR}/serviceApps/${app.id}`, { token: t.app }), 404, 'itemNotFound');
});

test('enable: appOwnerTenantId is required and must be a tenant id; enable answers the serviceStatus', async () => {
  const t = await newTenant(s);
  expectGraphError(await s.request('POST', `${BR}/enable`, { token: t.app, body: {} }), 400, 'InvalidAppOwnerTenantId');
  expectGraphError(await s.request('POST', `${BR}/enable`, { token: t.app }), 400, 'InvalidAppOwnerTenantId');
  expectGraphError(await s.request('POST', `${BR}/enable`, { token: t.app, body: { appOwnerTenantId: 'contoso' } }), 400, 'InvalidAppOwnerTenantId');
  expectGraphError(await s.request('POST', `${BR}/enable`, { token: t.app, body: { appOwnerTenantId: t.id, extra: 1 } }), 400, 'BadRequest');
  const readOnly = await s.token({ tenantId: t.id, roles: ['BackupRestore-Control.Read.All'] });
  expectGraphError(await s.request('POST', `${BR}/enable`, { token: readOnly, body: { appOwnerTenantId: t.id } }), 403, 'accessDenied');

  await onboard(s, t);
  const r = await s.request('POST', `${BR}/enable`, { token: t.user, body: { appOwnerTenantId: t.id } });
  const status = ok(r, 200);
  const now = status.lastModifiedDateTime;
  assert.deepEqual(status, {
    '@odata.context': `${s.base}/v1.0/$metadata#microsoft.graph.serviceStatus`,
    '@odata.type': '#microsoft.graph.serviceStatus',
    status: 'enabled',
    disableReason: 'none',
    backupServiceConsumer: 'thirdparty',
    gracePeriodDateTime: null,
    restoreAllowedTillDateTime: null,
    lastModifiedDateTime: now,
    lastModifiedBy: { application: { id: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Mailvault Developer App' }, user: { id: t.userId, displayName: 'Tenant Admin' } },
  });
  assert.equal((await root(t)).serviceStatus.status, 'enabled');
});

test('a disabled tenant refuses protection changes with 403 ServiceNotEnabled but answers reads', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t);
  const r = await s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: t.app, body: { displayName: 'P', mailboxProtectionUnits: [{ directoryObjectId: u.id }] } });
  expectGraphError(r, 403, 'ServiceNotEnabled');
  assert.deepEqual(ok(await s.request('GET', `${BR}/protectionPolicies`, { token: t.app }), 200).value, []);
  assert.deepEqual(ok(await s.request('GET', `${BR}/mailboxProtectionUnits`, { token: t.app }), 200).value, []);
});

test('enable without an active service app locks protection changes; activating an app and enabling again unlocks', async () => {
  const t = await newTenant(s);
  const status = ok(await s.request('POST', `${BR}/enable`, { token: t.app, body: { appOwnerTenantId: t.id } }), 200);
  assert.equal(status.status, 'protectionChangeLocked');
  assert.equal(status.backupServiceConsumer, 'thirdparty');
  const lockedAt = Date.parse(status.lastModifiedDateTime);
  assert.equal(status.gracePeriodDateTime, new Date(lockedAt + 30 * 86_400_000).toISOString());
  assert.equal(status.restoreAllowedTillDateTime, status.gracePeriodDateTime);
  const u = await createUser(s, t);
  const create = () => s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: t.app, body: { displayName: 'P', mailboxProtectionUnits: [{ directoryObjectId: u.id }] } });
  expectGraphError(await create(), 403, 'ProtectionChangeLocked');

  await onboard(s, t);
  assert.equal((await root(t)).serviceStatus.gracePeriodDateTime, null);
  ok(await create(), 201);
});

test('losing the last active service app locks the tenant; 30 days later it is restoreLocked', async () => {
  const t = await newTenant(s);
  const appId = await onboard(s, t);
  const u = await createUser(s, t);
  const p = await createPolicy(s, t, [u.id]);
  ok(await s.request('POST', `${BR}/serviceApps/${appId}/deactivate`, { token: t.user }), 202);
  assert.equal((await root(t)).serviceStatus.status, 'enabled', 'a pendingInactive app still controls the tenant');
  await s.advance('PT1M');
  const locked = (await root(t)).serviceStatus;
  assert.equal(locked.status, 'protectionChangeLocked');
  expectGraphError(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 403, 'ProtectionChangeLocked');
  expectGraphError(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { displayName: 'x' } }), 403, 'ProtectionChangeLocked');
  ok(await s.request('GET', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app }), 200);

  await s.advance('P29D');
  assert.equal((await root(t)).serviceStatus.status, 'protectionChangeLocked');
  await s.advance('P1D');
  const restoreLocked = (await root(t)).serviceStatus;
  assert.equal(restoreLocked.status, 'restoreLocked');
  assert.equal(restoreLocked.gracePeriodDateTime, locked.gracePeriodDateTime);
  assert.equal(await (s.app.services.protection as any).serviceStatus(t.id), 'restoreLocked');
  expectGraphError(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: t.app }), 403, 'RestoreLocked');

  // the fix: an active app and enable again
  ok(await s.request('POST', `${BR}/serviceApps/${appId}/activate`, { token: t.user, body: { effectiveDateTime: new Date(0).toISOString() } }), 202);
  await s.advance('PT1M');
  assert.equal((await root(t)).serviceStatus.status, 'restoreLocked', 'unlocking needs enable');
  assert.equal(ok(await s.request('POST', `${BR}/enable`, { token: t.app, body: { appOwnerTenantId: t.id } }), 200).status, 'enabled');
  ok(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: t.app }), 204);
});

test('deleting the controlling service app locks the tenant at once', async () => {
  const t = await newTenant(s);
  const appId = await onboard(s, t);
  ok(await s.request('DELETE', `${BR}/serviceApps/${appId}`, { token: t.app }), 204);
  assert.equal((await root(t)).serviceStatus.status, 'protectionChangeLocked');
});

test('service-app permissions: reads need Control.Read.All, writes Control.ReadWrite.All', async () => {
  const t = await newTenant(s);
  const read = await s.token({ tenantId: t.id, roles: ['BackupRestore-Control.Read.All'] });
  const config = await s.token({ tenantId: t.id, roles: ['BackupRestore-Configuration.ReadWrite.All'] });
  ok(await s.request('GET', `${BR}/serviceApps`, { token: read }), 200);
  expectGraphError(await s.request('GET', `${BR}/serviceApps`, { token: config }), 403, 'accessDenied');
  expectGraphError(await s.request('POST', `${BR}/serviceApps`, { token: read, body: {} }), 403, 'accessDenied');
  const write = await s.token({ tenantId: t.id, roles: ['BackupRestore-Control.ReadWrite.All'] });
  const app = ok(await s.request('POST', `${BR}/serviceApps`, { token: write, body: {} }), 201);
  const readUser = await s.token({ tenantId: t.id, scopes: ['BackupRestore-Control.Read.All'] });
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: readUser, body: { effectiveDateTime: '2030-01-01T00:00:00Z' } }), 403, 'accessDenied');
  expectGraphError(await s.request('DELETE', `${BR}/serviceApps/${app.id}`, { token: read }), 403, 'accessDenied');
});

test("another tenant's service app is not found", async () => {
  const a = await newTenant(s);
  const b = await newTenant(s);
  const app = ok(await s.request('POST', `${BR}/serviceApps`, { token: a.app, body: {} }), 201);
  expectGraphError(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: b.app }), 404, 'itemNotFound');
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: b.user, body: { effectiveDateTime: '2030-01-01T00:00:00Z' } }), 404, 'itemNotFound');
  expectGraphError(await s.request('DELETE', `${BR}/serviceApps/${app.id}`, { token: b.app }), 404, 'itemNotFound');
  assert.deepEqual(ok(await s.request('GET', `${BR}/serviceApps`, { token: b.app }), 200).value, []);
});

test('beta serves the same root and enable', async () => {
  const t = await newTenant(s);
  const r = ok(await s.request('GET', '/beta/solutions/backupRestore', { token: t.app }), 200);
  assert.equal(r.serviceStatus.status, 'disabled');
  const e = ok(await s.request('POST', '/beta/solutions/backupRestore/enable', { token: t.app, body: { appOwnerTenantId: t.id } }), 200);
  assert.equal(e['@odata.context'], `${s.base}/beta/$metadata#microsoft.graph.serviceStatus`);
  assert.equal(e.status, 'protectionChangeLocked');
});

test('emailNotificationsSetting answers 501 naming what is missing', async () => {
  const t = await newTenant(s);
  const r = await s.request('GET', `${BR}/emailNotificationsSetting`, { token: t.app });
  assert.match(expectGraphError(r, 501, 'notImplemented').message, /emailNotificationsSetting/);
  expectGraphError(await s.request('PATCH', `${BR}/emailNotificationsSetting`, { token: t.user, body: { isEnabled: true } }), 501, 'notImplemented');
});
