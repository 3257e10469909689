/**
 * Mailbox protection units on every path (root set, policy, polymorphic protectionUnits and its
 * type cast), what application and delegated callers see, offboarding (delegated only) with its
 * state rules, the never-set sentinel, and evolvable status members.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, PREFER_ALL, newTenant, ok, onboard, createUser, createPolicy, units, type Tenant } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer({ schedulerInterval: '3600000' });
});
after(() => s.close());

async function protectedTenant(count = 2): Promise<{ t: Tenant; policyId: string; users: Array<{ id: string; mail: string; displayName: string }> }> {
  const t = await newTenant(s);
  await onboard(s, t);
  const users = [];
  for (let i = 0; i < count; i++) users.push(await createUser(s, t, 'Emily'));
  const p = await createPolicy(s, t, users.map((u) => u.id));
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  return { t, policyId: p.id, users };
}

/** Removes the unit from its policy and lets the removal complete. */
async function detach(t: Tenant, policyId: string, unitId: string): Promise<void> {
  const r = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${policyId}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ '@removed': { reason: 'changed' }, id: unitId }] } }), 200);
  assert.equal(r['mailboxProtectionUnits@delta'][0].status, 'removeRequested');
  await s.advance('PT1M');
}

test('a unit is the same on every path, with @odata.type and the right context', async () => {
  const { t, policyId, users } = await protectedTenant(1);
  const [u] = await units(s, t);
  const expected = {
    '@odata.type': '#microsoft.graph.mailboxProtectionUnit',
    id: u.id,
    policyId,
    directoryObjectId: users[0].id,
    displayName: null,
    email: null,
    status: 'protected',
    protectionSources: 'manual',
    createdBy: u.createdBy,
    createdDateTime: u.createdDateTime,
    lastModifiedBy: u.lastModifiedBy,
    lastModifiedDateTime: u.lastModifiedDateTime,
    error: null,
    offboardRequestedDateTime: '0001-01-01T00:00:00.0000000Z',
  };
  assert.deepEqual(u, expected);
  const lists: Array<[string, string]> = [
    [`${BR}/mailboxProtectionUnits`, 'solutions/backupRestore/mailboxProtectionUnits'],
    [`${BR}/exchangeProtectionPolicies/${policyId}/mailboxProtectionUnits`, 'solutions/backupRestore/mailboxProtectionUnits'],
    [`${BR}/protectionUnits`, 'solutions/backupRestore/protectionUnits'],
    [`${BR}/protectionUnits/microsoft.graph.mailboxProtectionUnit`, 'solutions/backupRestore/protectionUnits/microsoft.graph.mailboxProtectionUnit'],
  ];
  for (const [path, context] of lists) {
    const r = ok(await s.request('GET', path, { token: t.app }), 200);
    assert.equal(r['@odata.context'], `${s.base}/v1.0/$metadata#${context}`, path);
    assert.deepEqual(r.value, [expected], path);
  }
  const singles: Array<[string, string]> = [
    [`${BR}/mailboxProtectionUnits/${u.id}`, 'solutions/backupRestore/mailboxProtectionUnits/$entity'],
    [`${BR}/exchangeProtectionPolicies/${policyId}/mailboxProtectionUnits/${u.id}`, 'solutions/backupRestore/mailboxProtectionUnits/$entity'],
    [`${BR}/protectionUnits/${u.id}`, 'solutions/backupRestore/protectionUnits/$entity'],
    [`${BR}/protectionUnits('${u.id}')`, 'solutions/backupRestore/protectionUnits/$entity'],
    [`${BR}/protectionUnits/${u.id}/microsoft.graph.mailboxProtectionUnit`, 'solutions/backupRestore/protectionUnits/microsoft.graph.mailboxProtectionUnit/$entity'],
  ];
  for (const [path, context] of singles) {
    assert.deepEqual(ok(await s.request('GET', path, { token: t.app }), 200), { '@odata.context': `${s.base}/v1.0/$metadata#${context}`, ...expected }, path);
  }
  const svc = s.app.services.protection as any;
  assert.deepEqual(await svc.getUnit(t.id, u.id), expected);
  assert.equal(await svc.getUnit(await s.newTenant(), u.id), undefined);
});

test('displayName and email are given to delegated callers only', async () => {
  const { t, users } = await protectedTenant(1);
  const [app] = await units(s, t, undefined, t.app);
  assert.equal(app.displayName, null);
  assert.equal(app.email, null);
  const [del] = await units(s, t, undefined, t.user);
  assert.equal(del.displayName, users[0].displayName);
  assert.equal(del.email, users[0].mail);
  const one = ok(await s.request('GET', `${BR}/protectionUnits/${del.id}`, { token: t.user }), 200);
  assert.equal(one.email, users[0].mail);
  const wire = await (s.app.services.protection as any).getUnit(t.id, del.id, { delegated: true });
  assert.equal(wire.displayName, users[0].displayName);
});

test('unit ids: not a unit id is 400 InvalidProtectionUnitId, unknown or foreign is 404 ProtectionUnitNotFound', async () => {
  const { t, policyId } = await protectedTenant(1);
  const [u] = await units(s, t);
  expectGraphError(await s.request('GET', `${BR}/protectionUnits/nope`, { token: t.app }), 400, 'InvalidProtectionUnitId');
  expectGraphError(await s.request('GET', `${BR}/mailboxProtectionUnits/nope`, { token: t.app }), 400, 'InvalidProtectionUnitId');
  expectGraphError(await s.request('GET', `${BR}/protectionUnits/2b014d8c-71fe-4d00-a01a-31850bc5b32c`, { token: t.app }), 404, 'ProtectionUnitNotFound');
  expectGraphError(await s.request('GET', `${BR}/exchangeProtectionPolicies/${policyId}/mailboxProtectionUnits/2b014d8c-71fe-4d00-a01a-31850bc5b32c`, { token: t.app }), 404, 'ProtectionUnitNotFound');
  expectGraphError(await s.request('GET', `${BR}/exchangeProtectionPolicies/nope/mailboxProtectionUnits`, { token: t.app }), 400, 'InvalidPolicyId');
  expectGraphError(await s.request('GET', `${BR}/exchangeProtectionPolicies/2b014d8c-71fe-4d00-a01a-31850bc5b32c/mailboxProtectionUnits`, { token: t.app }), 404, 'PolicyNotFound');
  const other = await newTenant(s);
  expectGraphError(await s.request('GET', `${BR}/protectionUnits/${u.id}`, { token: other.app }), 404, 'ProtectionUnitNotFound');
  expectGraphError(await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: other.user }), 403, 'ServiceNotEnabled');
  await onboard(s, other);
  expectGraphError(await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: other.user }), 404, 'ProtectionUnitNotFound');
  assert.deepEqual(ok(await s.request('GET', `${BR}/protectionUnits`, { token: other.app }), 200).value, []);
});

test('offboard and cancelOffboard: delegated only, removed units only, evolvable statuses', async () => {
  const { t, policyId } = await protectedTenant(1);
  const [u] = await units(s, t);
  const attached = await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: t.user });
  assert.deepEqual(attached.body.error.details, []);
  assert.equal(expectGraphError(attached, 403, 'OperationNotAllowed').message, "Can't process this request as it is not in valid state.");
  const notOffboarding = await s.request('POST', `${BR}/protectionUnits/${u.id}/cancelOffboard`, { token: t.user });
  assert.equal(expectGraphError(notOffboarding, 403, 'OperationNotAllowed').message, 'Offboarding cannot be cancelled as it is not in a valid state.');
  assert.match(expectGraphError(await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: t.app }), 403, 'accessDenied').message, /delegated/);
  const readOnly = await s.token({ tenantId: t.id, scopes: ['BackupRestore-Configuration.Read.All'] });
  expectGraphError(await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: readOnly }), 403, 'accessDenied');

  await detach(t, policyId, u.id);
  const off = await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: t.user });
  const hidden = ok(off, 200);
  assert.equal(hidden['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/protectionUnits/$entity`);
  assert.equal(hidden.status, 'unknownFutureValue');
  assert.equal(hidden.policyId, null);
  assert.notEqual(hidden.offboardRequestedDateTime, '0001-01-01T00:00:00.0000000Z');
  assert.equal(hidden.lastModifiedBy.user.id, t.userId);
  const shown = ok(await s.request('GET', `${BR}/protectionUnits/${u.id}`, { token: t.user, headers: PREFER_ALL }), 200);
  assert.equal(shown.status, 'offboardRequested');
  assert.equal(shown.offboardRequestedDateTime, hidden.offboardRequestedDateTime);
  expectGraphError(await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: t.user }), 403, 'OperationNotAllowed');

  expectGraphError(await s.request('POST', `${BR}/protectionUnits/${u.id}/cancelOffboard`, { token: t.app }), 403, 'accessDenied');
  const cancel = ok(await s.request('POST', `${BR}/protectionUnits/${u.id}/cancelOffboard`, { token: t.user, headers: PREFER_ALL }), 200);
  assert.equal(cancel.status, 'cancelOffboardRequested');
  assert.equal(ok(await s.request('GET', `${BR}/protectionUnits/${u.id}`, { token: t.user }), 200).status, 'unknownFutureValue');
  await s.advance('PT1M');
  const back = ok(await s.request('GET', `${BR}/protectionUnits/${u.id}`, { token: t.user }), 200);
  assert.equal(back.status, 'unprotected');
  assert.equal(back.offboardRequestedDateTime, '0001-01-01T00:00:00.0000000Z');

  ok(await s.request('POST', `${BR}/protectionUnits/${u.id}/offboard`, { token: t.user }), 200);
  await s.advance('PT1M');
  assert.equal(ok(await s.request('GET', `${BR}/protectionUnits/${u.id}`, { token: t.user, headers: PREFER_ALL }), 200).status, 'offboarded');
  expectGraphError(await s.request('POST', `${BR}/protectionUnits/${u.id}/cancelOffboard`, { token: t.user }), 403, 'OperationNotAllowed');
  // filtering by an evolvable member works whatever the Prefer header
  const f = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=status eq 'offboarded'`, { token: t.app }), 200);
  assert.deepEqual(f.value.map((x: any) => [x.id, x.status]), [[u.id, 'unknownFutureValue']]);
  const since = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=offboardRequestedDateTime gt 2000-01-01T00:00:00Z`, { token: t.app }), 200);
  assert.deepEqual(since.value.map((x: any) => x.id), [u.id]);

  // an offboarded mailbox can be protected again: same unit
  const readd = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${policyId}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ directoryObjectId: u.directoryObjectId }] } }), 200);
  assert.equal(readd['mailboxProtectionUnits@delta'][0].id, u.id);
  await s.advance('PT1M');
  const again = ok(await s.request('GET', `${BR}/protectionUnits/${u.id}`, { token: t.app }), 200);
  assert.equal(again.status, 'protected');
  assert.equal(again.offboardRequestedDateTime, '0001-01-01T00:00:00.0000000Z');
});

test('a removed unit added again: to an inactive policy it stays unprotected; offboarding or its cancellation ends', async () => {
  const t = await newTenant(s);
  await onboard(s, t);
  const [a, b, c] = [await createUser(s, t), await createUser(s, t), await createUser(s, t)];
  const idle = await createPolicy(s, t, [], 'Inactive');
  const p = await createPolicy(s, t, [a.id, b.id, c.id]);
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  const unitOf = new Map((await units(s, t, p.id)).map((u) => [u.directoryObjectId, u.id]));
  const add = async (policyId: string, userId: string) => {
    const r = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${policyId}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ directoryObjectId: userId }] } }), 200);
    return r['mailboxProtectionUnits@delta'][0];
  };
  const get = async (userId: string) => ok(await s.request('GET', `${BR}/protectionUnits/${unitOf.get(userId)}`, { token: t.user, headers: PREFER_ALL }), 200);

  // unprotected (detached) → attach to an inactive policy: unprotected, nothing in flight
  await detach(t, p.id, unitOf.get(a.id)!);
  const ua = await add(idle.id, a.id);
  assert.deepEqual([ua.id, ua.policyId, ua.status], [unitOf.get(a.id), idle.id, 'unprotected']);
  assert.equal(ok(await s.request('GET', `${BR}/protectionPolicies/${idle.id}`, { token: t.app }), 200).status, 'inactive');

  // offboardRequested → attach to the enabled policy: protected again, the offboarding request is gone
  await detach(t, p.id, unitOf.get(b.id)!);
  ok(await s.request('POST', `${BR}/protectionUnits/${unitOf.get(b.id)}/offboard`, { token: t.user }), 200);
  const ub = await add(p.id, b.id);
  assert.deepEqual([ub.status, ub.offboardRequestedDateTime], ['protectRequested', '0001-01-01T00:00:00.0000000Z']);

  // cancelOffboardRequested → attach to the inactive policy
  await detach(t, p.id, unitOf.get(c.id)!);
  ok(await s.request('POST', `${BR}/protectionUnits/${unitOf.get(c.id)}/offboard`, { token: t.user }), 200);
  assert.equal(ok(await s.request('POST', `${BR}/protectionUnits/${unitOf.get(c.id)}/cancelOffboard`, { token: t.user, headers: PREFER_ALL }), 200).status, 'cancelOffboardRequested');
  const uc = await add(idle.id, c.id);
  assert.deepEqual([uc.status, uc.policyId, uc.offboardRequestedDateTime], ['unprotected', idle.id, '0001-01-01T00:00:00.0000000Z']);

  await s.advance('P2D');
  assert.deepEqual([(await get(a.id)).status, (await get(b.id)).status, (await get(c.id)).status], ['unprotected', 'protected', 'unprotected']);
  assert.equal((await get(b.id)).policyId, p.id);
  assert.equal((await get(c.id)).policyId, idle.id);
});

test('realistic timing: offboarding completes after a day', async () => {
  const r = await startServer({ timing: 'realistic', schedulerInterval: '3600000' });
  try {
    const t = await newTenant(r);
    await onboard(r, t);
    const u = await createUser(r, t);
    const p = await createPolicy(r, t, [u.id]);
    const [unit] = await units(r, t, p.id);
    ok(await r.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ '@removed': { reason: 'changed' }, id: unit.id }] } }), 200);
    await r.advance('PT61M');
    ok(await r.request('POST', `${BR}/protectionUnits/${unit.id}/offboard`, { token: t.user }), 200);
    await r.advance('PT23H');
    assert.equal(ok(await r.request('GET', `${BR}/protectionUnits/${unit.id}`, { token: t.user, headers: PREFER_ALL }), 200).status, 'offboardRequested');
    await r.advance('PT1H');
    assert.equal(ok(await r.request('GET', `${BR}/protectionUnits/${unit.id}`, { token: t.user, headers: PREFER_ALL }), 200).status, 'offboarded');
  } finally {
    await r.close();
  }
});

test('unit lists: $filter, $orderby, $top paging, $count, $select, FilterLengthExceeded', async () => {
  const { t, users } = await protectedTenant(3);
  const all = await units(s, t);
  const byDir = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=directoryObjectId eq '${users[1].id}'`, { token: t.app }), 200);
  assert.deepEqual(byDir.value.map((u: any) => u.directoryObjectId), [users[1].id]);
  const byMail = ok(await s.request('GET', `${BR}/protectionUnits?$filter=email eq '${users[2].mail}'`, { token: t.user }), 200);
  assert.deepEqual(byMail.value.map((u: any) => u.email), [users[2].mail]);
  // an application caller sees no addresses, so it cannot find a unit by one either
  assert.deepEqual(ok(await s.request('GET', `${BR}/protectionUnits?$filter=email eq '${users[2].mail}'`, { token: t.app }), 200).value, []);
  assert.equal(ok(await s.request('GET', `${BR}/protectionUnits?$filter=displayName eq null and email eq null`, { token: t.app }), 200).value.length, 3);
  const byName = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$orderby=displayName desc`, { token: t.user }), 200);
  assert.deepEqual(byName.value.map((u: any) => u.displayName), users.map((u) => u.displayName).sort().reverse());
  const protectedOnes = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=status eq 'protected'&$count=true`, { token: t.app }), 200);
  assert.equal(protectedOnes['@odata.count'], 3);
  const ordered = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$orderby=id desc`, { token: t.app }), 200);
  assert.deepEqual(ordered.value.map((u: any) => u.id), all.map((u) => u.id).sort().reverse());
  const page1 = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$top=2`, { token: t.app }), 200);
  assert.equal(page1.value.length, 2);
  const page2 = ok(await s.request('GET', page1['@odata.nextLink'], { token: t.app }), 200);
  assert.equal(page2.value.length, 1);
  assert.equal(page2['@odata.nextLink'], undefined);
  // never requested is the sentinel on the wire, and so in $filter
  const never = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=offboardRequestedDateTime eq 0001-01-01T00:00:00Z`, { token: t.app }), 200);
  assert.equal(never.value.length, 3);
  assert.deepEqual(ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=offboardRequestedDateTime gt 2000-01-01T00:00:00Z`, { token: t.app }), 200).value, []);
  assert.deepEqual(ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=offboardRequestedDateTime eq null`, { token: t.app }), 200).value, []);
  const sel = ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$select=status`, { token: t.app }), 200);
  assert.deepEqual(Object.keys(sel.value[0]).sort(), ['@odata.type', 'id', 'status']);
  const terms = (n: number) => encodeURIComponent(Array.from({ length: n }, (_, i) => `id eq '00000000-0000-4000-8000-${String(i).padStart(12, '0')}'`).join(' or '));
  ok(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=${terms(21)}`, { token: t.app }), 200);
  expectGraphError(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=${terms(22)}`, { token: t.app }), 400, 'FilterLengthExceeded');
  expectGraphError(await s.request('GET', `${BR}/mailboxProtectionUnits?$expand=policy`, { token: t.app }), 400, 'BadRequest');
  const byId = ok(await s.request('GET', `${BR}/exchangeProtectionPolicies/${all[0].policyId}/mailboxProtectionUnits?$filter=id eq '${all[0].id.toUpperCase()}'`, { token: t.app }), 200);
  assert.deepEqual(byId.value.map((u: any) => u.id), [all[0].id]);
  expectGraphError(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=id eq 'nope'`, { token: t.app }), 400, 'InvalidProtectionUnitId');
});

test('permissions: units need Configuration.Read.All', async () => {
  const { t } = await protectedTenant(1);
  const [u] = await units(s, t);
  const read = await s.token({ tenantId: t.id, roles: ['BackupRestore-Configuration.Read.All'] });
  const restore = await s.token({ tenantId: t.id, roles: ['BackupRestore-Restore.ReadWrite.All'] });
  ok(await s.request('GET', `${BR}/protectionUnits/${u.id}`, { token: read }), 200);
  expectGraphError(await s.request('GET', `${BR}/protectionUnits`, { token: restore }), 403, 'accessDenied');
  expectGraphError(await s.request('GET', `${BR}/mailboxProtectionUnits/${u.id}`, { token: restore }), 403, 'accessDenied');
});

test('beta shows the short sentinel', async () => {
  const { t } = await protectedTenant(1);
  const r = ok(await s.request('GET', '/beta/solutions/backupRestore/mailboxProtectionUnits', { token: t.app }), 200);
  assert.equal(r.value[0].offboardRequestedDateTime, '0001-01-01T00:00:00Z');
});

test('PATCH of a unit is beta only and not implemented (no billing policies); v1.0 has no such method', async () => {
  const { t } = await protectedTenant(1);
  const [u] = await units(s, t);
  expectGraphError(await s.request('PATCH', `/beta/solutions/backupRestore/mailboxProtectionUnits/${u.id}`, { token: t.user, body: { billingPolicyId: 'x' } }), 501, 'notImplemented');
  const v1 = await s.request('PATCH', `${BR}/mailboxProtectionUnits/${u.id}`, { token: t.user, body: { billingPolicyId: 'x' } });
  expectGraphError(v1, 405, 'methodNotAllowed');
  assert.equal(v1.headers.get('allow'), 'GET');
});
