/** Spec §11 #1: the code for policy activate/deactivate in a wrong state is configurable. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from './helpers/server.js';
import { BR, newTenant, ok, onboard, createUser, createPolicy } from './helpers/protection.js';

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
