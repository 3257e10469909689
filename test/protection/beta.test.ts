/**
 * The control plane on /beta: every endpoint family answers there as on v1.0, with beta context
 * URLs, the beta sentinel for offboardRequestedDateTime and the same evolvable-member rule.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { PREFER_ALL, newTenant, ok, createUser, createGroup } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer({ schedulerInterval: '3600000' });
});
after(() => s.close());

const B = '/beta/solutions/backupRestore';

test('beta: onboarding, policies, units, rules, bulk jobs and offboarding', async () => {
  const t = await newTenant(s);
  const context = (path: string) => `${s.base}/beta/$metadata#solutions/backupRestore/${path}`;

  // service apps and enable
  const app = ok(await s.request('POST', `${B}/serviceApps`, { token: t.app, body: {} }), 201);
  assert.equal(app['@odata.context'], context('serviceApps/$entity'));
  expectGraphError(await s.request('POST', `${B}/serviceApps/${app.id}/activate`, { token: t.app, body: { effectiveDateTime: new Date(0).toISOString() } }), 403, 'accessDenied');
  assert.equal(ok(await s.request('POST', `${B}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: new Date(0).toISOString() } }), 202).status, 'active');
  assert.equal(ok(await s.request('GET', `${B}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'active');
  assert.equal(ok(await s.request('POST', `${B}/enable`, { token: t.app, body: { appOwnerTenantId: t.id } }), 200).status, 'enabled');

  // a policy with a unit, activated
  const [a, b] = [await createUser(s, t), await createUser(s, t)];
  const created = await s.request('POST', `${B}/exchangeProtectionPolicies`, { token: t.app, body: { displayName: 'Beta policy', mailboxProtectionUnits: [{ directoryObjectId: a.id }] } });
  const p = ok(created, 201);
  assert.equal(p['@odata.context'], context('exchangeProtectionPolicies/$entity'));
  assert.equal(created.headers.get('location'), `${s.base}/beta/solutions/backupRestore/protectionPolicies/${p.id}`);
  expectGraphError(await s.request('POST', `${B}/exchangeProtectionPolicies`, { token: t.app, body: { displayName: '' } }), 400, 'InvalidDisplayName');
  const activated = ok(await s.request('POST', `${B}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  assert.deepEqual([activated['@odata.type'], activated.status], ['#microsoft.graph.exchangeProtectionPolicy', 'updating']);
  await s.advance('PT1M');
  const poly = ok(await s.request('GET', `${B}/protectionPolicies`, { token: t.app }), 200);
  assert.equal(poly['@odata.context'], context('protectionPolicies'));
  assert.deepEqual(poly.value.map((x: any) => [x['@odata.type'], x.status]), [['#microsoft.graph.exchangeProtectionPolicy', 'active']]);

  // units on every path, delegated callers see name and address
  const [unit] = ok(await s.request('GET', `${B}/exchangeProtectionPolicies/${p.id}/mailboxProtectionUnits`, { token: t.user }), 200).value;
  assert.deepEqual([unit.status, unit.email, unit.offboardRequestedDateTime], ['protected', a.mail, '0001-01-01T00:00:00Z']);
  const cast = ok(await s.request('GET', `${B}/protectionUnits/microsoft.graph.mailboxProtectionUnit`, { token: t.app }), 200);
  assert.equal(cast['@odata.context'], context('protectionUnits/microsoft.graph.mailboxProtectionUnit'));
  assert.deepEqual(cast.value.map((u: any) => [u.id, u.email]), [[unit.id, null]]);

  // PATCH @delta, then a dynamic rule over a group
  const patched = ok(await s.request('PATCH', `${B}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ '@removed': { reason: 'changed' }, id: unit.id }] } }), 200);
  assert.equal(patched['mailboxProtectionUnits@delta'][0].status, 'removeRequested');
  await s.advance('PT1M');
  const group = await createGroup(s, t, [b.id]);
  const rules = `${B}/exchangeProtectionPolicies/${p.id}/mailboxInclusionRules`;
  const rule = ok(await s.request('POST', rules, { token: t.app, body: { mailboxExpression: `(memberOf -any (group.id -in ['${group}']))`, isAutoApplyEnabled: true } }), 201);
  assert.equal(rule['@odata.context'], context('mailboxInclusionRules/$entity'));
  await s.advance('PT1M');
  assert.equal(ok(await s.request('GET', `${rules}/${rule.id}`, { token: t.app }), 200).status, 'completed');
  const updating = ok(await s.request('PATCH', `${rules}/${rule.id}`, { token: t.app, body: { mailboxExpression: `(memberOf -any (group.id -in ['${group}']))` } }), 200);
  assert.equal(updating.status, 'unknownFutureValue');
  assert.equal(ok(await s.request('GET', `${B}/mailboxInclusionRules/${rule.id}`, { token: t.app, headers: PREFER_ALL }), 200).status, 'updateRequested');
  expectGraphError(await s.request('POST', `${rules}/${rule.id}/run`, { token: t.app }), 400, 'RunNotAllowedForDynamicRule');
  await s.advance('PT1M');
  const units = ok(await s.request('GET', `${B}/mailboxProtectionUnits`, { token: t.app }), 200).value;
  assert.deepEqual(units.find((u: any) => u.directoryObjectId === b.id).protectionSources, 'dynamicRule');

  // a bulk job with an address that does not resolve
  const jobs = `${B}/exchangeProtectionPolicies/${p.id}/mailboxProtectionUnitsBulkAdditionJobs`;
  const job = ok(await s.request('POST', jobs, { token: t.app, body: { mailboxes: [a.mail, 'nobody@contoso.example'] } }), 201);
  await s.advance('PT1M');
  const done = ok(await s.request('GET', `${jobs}/${job.id}`, { token: t.app }), 200);
  assert.equal(done.status, 'completedWithErrors');
  assert.deepEqual(done.error.details.map((d: any) => [d.code, d.target]), [['EmailNotFound', 'nobody@contoso.example']]);
  assert.equal(ok(await s.request('GET', jobs, { token: t.app }), 200).value[0].mailboxes, undefined);

  // deleteAndUnprotect, then offboarding of a unit removed from its policy (delegated only)
  assert.equal(ok(await s.request('POST', `${rules}/${rule.id}/deleteAndUnprotect`, { token: t.app }), 202).status, 'unknownFutureValue');
  await s.advance('PT1M');
  await s.advance('PT1M');
  const detached = ok(await s.request('GET', `${B}/mailboxProtectionUnits?$filter=directoryObjectId eq '${b.id}'`, { token: t.app }), 200).value[0];
  assert.deepEqual([detached.policyId, detached.status], [null, 'unprotected']);
  expectGraphError(await s.request('POST', `${B}/protectionUnits/${detached.id}/offboard`, { token: t.app }), 403, 'accessDenied');
  const off = ok(await s.request('POST', `${B}/protectionUnits/${detached.id}/offboard`, { token: t.user }), 200);
  assert.equal(off.status, 'unknownFutureValue');
  assert.notEqual(off.offboardRequestedDateTime, '0001-01-01T00:00:00Z');
  assert.equal(ok(await s.request('POST', `${B}/protectionUnits/${detached.id}/cancelOffboard`, { token: t.user, headers: PREFER_ALL }), 200).status, 'cancelOffboardRequested');
});
