/** Spec §11 #1: the code for policy activate/deactivate in a wrong state is configurable. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, newTenant, ok, onboard, createUser, createPolicy } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer({ schedulerInterval: '3600000', policyStateErrors: 'examples' });
});
after(() => s.close());

test('with --policy-state-errors examples, a wrong-state activation is the API pages\' 400 invalidStateForActivation', async () => {
  const t = await newTenant(s);
  await onboard(s, t);
  const p = await createPolicy(s, t, [(await createUser(s, t)).id]);
  const r = await s.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: t.app });
  assert.equal(
    expectGraphError(r, 400, 'invalidStateForActivation').message,
    'Policy in inactive state, which is invalid for deactivation. Policy must be in Active or ActiveWithErrors state.',
  );
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  const again = await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app });
  expectGraphError(again, 400, 'invalidStateForActivation');
});

test('an application whose service app is pendingActive has read-only access until its effective time', async () => {
  const t = await newTenant(s);
  await onboard(s, t);
  const otherApp = '7a3c1f2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b';
  const other = await s.token({ tenantId: t.id, appId: otherApp });
  const app = ok(await s.request('POST', `${BR}/serviceApps`, { token: other, body: {} }), 201);
  const effective = new Date(Date.parse((await s.request('GET', '/_mailvault/clock')).body.now) + 3_600_000).toISOString();
  const pending = ok(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: effective } }), 202);
  assert.equal(pending.status, 'pendingActive');
  const user = await createUser(s, t);
  const body = { displayName: 'Other app policy', mailboxProtectionUnits: [{ directoryObjectId: user.id }] };
  const refused = await s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: other, body });
  assert.match(expectGraphError(refused, 403, 'ServiceAppNotActive').message, /pendingActive/);
  ok(await s.request('GET', `${BR}/protectionPolicies`, { token: other }), 200);
  await s.advance('PT61M');
  ok(await s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: other, body }), 201);
});
