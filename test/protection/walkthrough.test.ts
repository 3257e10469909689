/**
 * The onboarding walkthrough of spec §8.1, end to end through the official Microsoft Graph client:
 * register the app → a tenant admin activates it → enable the service → create a policy with
 * mailboxes → activate it → the mailboxes are protected.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { TestServer } from '../helpers/server.js';
import { startHttpsServer, graphClient } from '../helpers/graphClient.js';

let s: TestServer;
before(async () => {
  s = await startHttpsServer({ schedulerInterval: '3600000' });
});
after(() => s.close());

test('onboarding: service app, enable, policy, activation, protected units', async () => {
  const tenantId = await s.newTenant();
  const app = graphClient(s, await s.token({ tenantId }));
  const admin = graphClient(s, await s.token({ tenantId, userId: crypto.randomUUID(), userName: 'Tenant Admin' }));

  // the mailboxes to protect
  const users = [];
  for (const name of ['adele', 'alex']) {
    users.push(
      await app.api('/users').post({
        displayName: name,
        userPrincipalName: `${name}@contoso.example`,
        mailNickname: name,
        accountEnabled: true,
        passwordProfile: { password: 'Passw0rd!long' },
      }),
    );
  }

  // 1. the partner app registers itself
  const serviceApp = await app.api('/solutions/backupRestore/serviceApps').post({});
  assert.equal(serviceApp.status, 'inactive');
  // 2. a tenant admin (delegated) activates it, effective now: active in the answer
  const activated = await admin.api(`/solutions/backupRestore/serviceApps/${serviceApp.id}/activate`).post({ effectiveDateTime: new Date(Date.parse(await s.advance('PT0S'))).toISOString() });
  assert.equal(activated.status, 'active');
  assert.equal((await app.api(`/solutions/backupRestore/serviceApps/${serviceApp.id}`).get()).status, 'active');
  // 3. enable
  const status = await app.api('/solutions/backupRestore/enable').post({ appOwnerTenantId: tenantId });
  assert.equal(status.status, 'enabled');
  assert.equal(status.backupServiceConsumer, 'thirdparty');
  assert.equal((await app.api('/solutions/backupRestore').get()).serviceStatus.status, 'enabled');
  // 4. a policy with the mailboxes
  const policy = await app.api('/solutions/backupRestore/exchangeProtectionPolicies').post({
    displayName: 'Exchange Protection Policy',
    mailboxProtectionUnits: users.map((u) => ({ directoryObjectId: u.id })),
  });
  assert.equal(policy.status, 'inactive');
  // 5. activate it
  const updating = await app.api(`/solutions/backupRestore/protectionPolicies/${policy.id}/activate`).post({});
  assert.equal(updating.status, 'updating');
  await s.advance('PT1M');
  // 6. protected
  const active = await app.api(`/solutions/backupRestore/protectionPolicies/${policy.id}`).get();
  assert.equal(active.status, 'active');
  assert.equal(active['@odata.type'], '#microsoft.graph.exchangeProtectionPolicy');
  const units = await admin.api(`/solutions/backupRestore/exchangeProtectionPolicies/${policy.id}/mailboxProtectionUnits`).get();
  assert.deepEqual(
    units.value.map((u: any) => [u.email, u.status]).sort(),
    [
      ['adele@contoso.example', 'protected'],
      ['alex@contoso.example', 'protected'],
    ],
  );
  const cast = await app.api('/solutions/backupRestore/protectionUnits/microsoft.graph.mailboxProtectionUnit').get();
  assert.equal(cast.value.length, 2);

  // errors reach the client as GraphErrors with the documented code
  await assert.rejects(app.api(`/solutions/backupRestore/protectionPolicies/${policy.id}/activate`).post({}), (e: any) => e.statusCode === 403 && e.code === 'PolicyActionNotAllowed');
});
