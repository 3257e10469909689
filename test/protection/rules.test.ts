/**
 * Mailbox inclusion rules: static rules flatten their groups once (and on `run`), dynamic rules
 * follow group membership through the scheduler; the expression grammar and its limits; every
 * documented rule error code; deleteAndUnprotect.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, PREFER_ALL, newTenant, ok, onboard, createUser, createGroup, addMember, removeMember, createPolicy, units, type Tenant } from '../helpers/protection.js';

let s: TestServer;
let r: TestServer;
before(async () => {
  s = await startServer({ schedulerInterval: '3600000' });
  // Rule evaluation takes 15 minutes here: room to call in every intermediate state.
  r = await startServer({ timing: 'realistic', schedulerInterval: '3600000' });
});
after(async () => {
  await s.close();
  await r.close();
});

const expr = (...groups: string[]) => `(memberOf -any (group.id -in [${groups.map((g) => `'${g}'`).join(', ')}]))`;
const fakeGroup = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

async function setup(server: TestServer, active = true): Promise<{ t: Tenant; policyId: string }> {
  const t = await newTenant(server);
  await onboard(server, t);
  const p = await createPolicy(server, t, []);
  if (active) {
    ok(await server.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
    await server.advance('PT2H');
  }
  return { t, policyId: p.id };
}

function rules(server: TestServer, t: Tenant, policyId: string) {
  const base = `${BR}/exchangeProtectionPolicies/${policyId}/mailboxInclusionRules`;
  return {
    base,
    create: (body: unknown) => server.request('POST', base, { token: t.app, body }),
    get: (id: string, headers: Record<string, string> = {}) => server.request('GET', `${base}/${id}`, { token: t.app, headers }),
    patch: (id: string, body: unknown) => server.request('PATCH', `${base}/${id}`, { token: t.app, body }),
    del: (id: string) => server.request('DELETE', `${base}/${id}`, { token: t.app }),
    run: (id: string) => server.request('POST', `${base}/${id}/run`, { token: t.app }),
    unprotect: (id: string, headers: Record<string, string> = {}) => server.request('POST', `${base}/${id}/deleteAndUnprotect`, { token: t.app, headers }),
  };
}

test('static rule: 201 active, then completed with the members protected (manual); it does not follow membership', async () => {
  const { t, policyId } = await setup(s);
  const [a, b, c] = [await createUser(s, t), await createUser(s, t), await createUser(s, t)];
  const group = await createGroup(s, t, [a.id, b.id]);
  const nested = await createGroup(s, t, [c.id]);
  await addMember(s, t, group, nested);
  const api = rules(s, t, policyId);
  const created = await api.create({ mailboxExpression: expr(group) });
  const rule = ok(created, 201);
  assert.equal(created.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/mailboxInclusionRules/${rule.id}`);
  assert.deepEqual(rule, {
    '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/mailboxInclusionRules/$entity`,
    '@odata.type': '#microsoft.graph.mailboxProtectionRule',
    id: rule.id,
    status: 'active',
    isAutoApplyEnabled: false,
    mailboxExpression: expr(group),
    error: null,
    createdBy: rule.createdBy,
    createdDateTime: rule.createdDateTime,
    lastModifiedBy: rule.lastModifiedBy,
    lastModifiedDateTime: rule.createdDateTime,
  });
  await s.advance('PT1M');
  assert.equal(ok(await api.get(rule.id), 200).status, 'completed');
  let us = await units(s, t, policyId);
  assert.deepEqual(us.map((u) => u.directoryObjectId).sort(), [a.id, b.id].sort(), 'direct members only: nested groups are not followed');
  assert.ok(us.every((u) => u.protectionSources === 'manual' && u.status === 'protectRequested'));
  await s.advance('PT1M');
  assert.ok((await units(s, t, policyId)).every((u) => u.status === 'protected'));

  await addMember(s, t, group, c.id);
  await s.advance('PT1M');
  assert.equal((await units(s, t, policyId)).length, 2, 'a static rule is applied once');
  const ran = await api.run(rule.id);
  assert.equal(ok(ran, 200).status, 'active');
  await s.advance('PT1M');
  us = await units(s, t, policyId);
  assert.deepEqual(us.map((u) => u.directoryObjectId).sort(), [a.id, b.id, c.id].sort());
  assert.equal(ok(await api.get(rule.id), 200).status, 'completed');

  expectGraphError(await api.patch(rule.id, { mailboxExpression: expr(group) }), 400, 'PatchNotAllowedForStaticRule');
  expectGraphError(await api.unprotect(rule.id), 400, 'ProtectionRuleActionNotAllowed');
  ok(await api.del(rule.id), 204);
  expectGraphError(await api.get(rule.id), 404, 'ProtectionRuleNotFound');
  assert.equal((await units(s, t, policyId)).length, 3, 'deleting a rule keeps what it protected');
});

test('dynamic rule: follows membership changes, units carry dynamicRule; deleteAndUnprotect takes them away', async () => {
  const { t, policyId } = await setup(s);
  const [a, b, c] = [await createUser(s, t), await createUser(s, t), await createUser(s, t)];
  const group = await createGroup(s, t, [a.id, b.id]);
  // c is in the policy manually as well
  ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${policyId}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ directoryObjectId: c.id }] } }), 200);
  const api = rules(s, t, policyId);
  const rule = ok(await api.create({ mailboxExpression: expr(group), isAutoApplyEnabled: true }), 201);
  assert.equal(rule.isAutoApplyEnabled, true);
  await s.advance('PT1M');
  assert.equal(ok(await api.get(rule.id), 200).status, 'completed');
  const sources = async () => Object.fromEntries((await units(s, t, policyId)).map((u) => [u.directoryObjectId, `${u.protectionSources}/${u.status}`]));
  assert.deepEqual(await sources(), { [a.id]: 'dynamicRule/protectRequested', [b.id]: 'dynamicRule/protectRequested', [c.id]: 'manual/protected' });

  await addMember(s, t, group, c.id);
  await removeMember(s, t, group, b.id);
  await s.advance('PT1M');
  assert.deepEqual(await sources(), { [a.id]: 'dynamicRule/protected', [b.id]: 'dynamicRule/removeRequested', [c.id]: 'manual,dynamicRule/protected' });
  await s.advance('PT1M');
  assert.deepEqual(await sources(), { [a.id]: 'dynamicRule/protected', [c.id]: 'manual,dynamicRule/protected' });

  // a unit only the rule protects cannot be removed by hand
  const ua = (await units(s, t, policyId)).find((u) => u.directoryObjectId === a.id);
  const manual = await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${policyId}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ '@removed': { reason: 'changed' }, id: ua.id }] } });
  expectGraphError(manual, 400, 'ProtectionUnitActionNotAllowed');

  // dynamic rules cannot run; only one per policy
  expectGraphError(await api.run(rule.id), 400, 'RunNotAllowedForDynamicRule');
  expectGraphError(await api.create({ mailboxExpression: expr(group), isAutoApplyEnabled: true }), 400, 'InvalidInclusionRuleCreateRequest');

  // PATCH the expression: updateRequested (evolvable), then re-evaluated
  const other = await createGroup(s, t, [b.id]);
  const patched = ok(await api.patch(rule.id, { mailboxExpression: expr(group, other) }), 200);
  assert.equal(patched.status, 'unknownFutureValue');
  assert.equal(patched.mailboxExpression, expr(group, other));
  assert.equal(ok(await api.get(rule.id, PREFER_ALL), 200).status, 'updateRequested');
  expectGraphError(await api.patch(rule.id, { isAutoApplyEnabled: false }), 400, 'InvalidProtectionRulePatchRequest');
  await s.advance('PT1M');
  assert.equal(ok(await api.get(rule.id), 200).status, 'completed');
  assert.equal((await sources())[b.id], 'dynamicRule/protectRequested');

  const del = await api.unprotect(rule.id, PREFER_ALL);
  assert.equal(ok(del, 202).status, 'deleteRequested');
  assert.equal(ok(await api.get(rule.id), 200).status, 'unknownFutureValue');
  expectGraphError(await api.patch(rule.id, { mailboxExpression: expr(group) }), 422, 'InvalidProtectionRuleStatusForDynamicRuleEdit');
  expectGraphError(await api.unprotect(rule.id), 422, 'InvalidProtectionRuleStatusForDynamicRuleDeleteAndUnprotectAll');
  expectGraphError(await api.del(rule.id), 422, 'InvalidProtectionRuleStatusForDynamicRuleDeletion');
  await s.advance('PT1M');
  expectGraphError(await api.get(rule.id), 404, 'ProtectionRuleNotFound');
  await s.advance('PT1M');
  assert.deepEqual(await sources(), { [c.id]: 'manual/protected' }, 'units also protected manually stay');
});

test('deleting a dynamic rule keeps its units, protected manually from then on', async () => {
  const { t, policyId } = await setup(s);
  const a = await createUser(s, t);
  const group = await createGroup(s, t, [a.id]);
  const api = rules(s, t, policyId);
  const rule = ok(await api.create({ mailboxExpression: expr(group), isAutoApplyEnabled: true }), 201);
  await s.advance('PT1M');
  ok(await api.del(rule.id), 204);
  await removeMember(s, t, group, a.id);
  await s.advance('PT1M');
  const [u] = await units(s, t, policyId);
  assert.equal(u.protectionSources, 'manual');
  assert.equal(u.status, 'protected');
});

test('a rule with groups that do not exist completes with errors', async () => {
  const { t, policyId } = await setup(s, false);
  const a = await createUser(s, t);
  const group = await createGroup(s, t, [a.id]);
  const missing = fakeGroup(7);
  const api = rules(s, t, policyId);
  const rule = ok(await api.create({ mailboxExpression: expr(group, missing) }), 201);
  await s.advance('PT1M');
  const done = ok(await api.get(rule.id), 200);
  assert.equal(done.status, 'completedWithErrors');
  assert.deepEqual(done.error, {
    code: 'ProtectionResourcesNotFound',
    message: 'Errors while resolving protection resources',
    target: null,
    details: [{ code: 'GroupNotFound', message: `Group '${missing}' was not found in the directory.`, target: missing }],
    innerError: null,
  });
  const [u] = await units(s, t, policyId);
  assert.equal(u.status, 'unprotected', 'an inactive policy adds units without protecting them');
  // completedWithErrors allows run (active again, same outcome) and delete
  assert.equal(ok(await api.run(rule.id), 200).status, 'active');
  await s.advance('PT1M');
  assert.equal(ok(await api.get(rule.id), 200).status, 'completedWithErrors');
  ok(await api.del(rule.id), 204);
});

test('expressions are parsed: grammar errors, group limits (100 dynamic, 3 static) and create errors', async () => {
  const { t, policyId } = await setup(s, false);
  const api = rules(s, t, policyId);
  const g = fakeGroup(1);
  for (const bad of [
    `memberOf -any (group.id -in ['${g}'])`,
    `(memberOf -all (group.id -in ['${g}']))`,
    `(memberOf -any (user.id -in ['${g}']))`,
    `(memberOf -any (group.id -in []))`,
    `(memberOf -any (group.id -in ['not-a-guid']))`,
    `(memberOf -any (group.id -in ['${g}'))`,
    `(memberOf -any (group.id -in ['${g}']))) extra`,
    `(memberOf -any (group.id -in ['${g}]))`,
    '',
  ]) {
    expectGraphError(await api.create({ mailboxExpression: bad }), 400, 'InvalidRuleExpression');
  }
  // keywords are case-insensitive, blanks are free
  ok(await api.create({ mailboxExpression: `( MEMBEROF -Any ( Group.Id -IN [ '${g}' ,'${fakeGroup(2)}' ] ) )` }), 201);
  const hundredOne = Array.from({ length: 101 }, (_, i) => fakeGroup(i));
  expectGraphError(await api.create({ mailboxExpression: expr(...hundredOne), isAutoApplyEnabled: true }), 413, 'InvalidRuleExpressionGroupLimitExceeded');
  ok(await api.create({ mailboxExpression: expr(...hundredOne.slice(0, 100)), isAutoApplyEnabled: true }), 201);
  expectGraphError(await api.create({ mailboxExpression: expr(...hundredOne.slice(0, 4)) }), 413, 'InvalidRuleExpressionGroupLimitExceeded');
  ok(await api.create({ mailboxExpression: expr(...hundredOne.slice(0, 3)) }), 201);
  expectGraphError(await api.create({}), 400, 'InvalidInclusionRuleCreateRequest');
  expectGraphError(await api.create({ mailboxExpression: expr(g), isAutoApplyEnabled: 'yes' }), 400, 'InvalidInclusionRuleCreateRequest');
  expectGraphError(await s.request('POST', api.base, { token: t.app, raw: '[1]', headers: { 'content-type': 'application/json' } }), 400, 'InvalidInclusionRuleCreateRequest');
  expectGraphError(await api.create({ mailboxExpression: expr(g), shape: 'round' }), 400, 'BadRequest');
});

test('rule ids and policies: InvalidInclusionRuleId, ProtectionRuleNotFound, PolicyNotFound, tenancy, root set', async () => {
  const { t, policyId } = await setup(s, false);
  const api = rules(s, t, policyId);
  const rule = ok(await api.create({ mailboxExpression: expr(fakeGroup(1)) }), 201);
  const unknown = '61633878-8321-4950-bfaf-ed285bdd1461';
  expectGraphError(await api.get('nope'), 400, 'InvalidInclusionRuleId');
  expectGraphError(await api.run('nope'), 400, 'InvalidInclusionRuleId');
  expectGraphError(await api.unprotect('nope'), 400, 'InvalidInclusionRuleId');
  expectGraphError(await api.del('nope'), 400, 'InvalidInclusionRuleId');
  expectGraphError(await api.get(unknown), 404, 'ProtectionRuleNotFound');
  expectGraphError(await api.run(unknown), 404, 'ProtectionRuleNotFound');
  expectGraphError(await api.patch(unknown, { mailboxExpression: expr(fakeGroup(1)) }), 404, 'ProtectionRuleNotFound');
  expectGraphError(await api.unprotect(unknown), 404, 'ProtectionRuleNotFound');
  expectGraphError(await api.del(unknown), 404, 'ProtectionRuleNotFound');
  const missingPolicy = rules(s, t, unknown);
  expectGraphError(await missingPolicy.create({ mailboxExpression: expr(fakeGroup(1)) }), 404, 'PolicyNotFound');
  expectGraphError(await missingPolicy.get(rule.id), 404, 'PolicyNotFound');

  const list = ok(await s.request('GET', api.base, { token: t.app }), 200);
  assert.equal(list['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/mailboxInclusionRules`);
  assert.deepEqual(list.value.map((x: any) => x.id), [rule.id]);
  const root = ok(await s.request('GET', `${BR}/mailboxInclusionRules`, { token: t.app }), 200);
  assert.deepEqual(root.value.map((x: any) => x.id), [rule.id]);
  assert.equal(ok(await s.request('GET', `${BR}/mailboxInclusionRules/${rule.id}`, { token: t.app }), 200).id, rule.id);
  const filtered = ok(await s.request('GET', `${api.base}?$filter=isAutoApplyEnabled eq true`, { token: t.app }), 200);
  assert.deepEqual(filtered.value, []);

  const other = await newTenant(s);
  await onboard(s, other);
  expectGraphError(await s.request('GET', `${BR}/mailboxInclusionRules/${rule.id}`, { token: other.app }), 404, 'ProtectionRuleNotFound');
  expectGraphError(await s.request('DELETE', `${BR}/mailboxInclusionRules/${rule.id}`, { token: other.app }), 404, 'ProtectionRuleNotFound');
  expectGraphError(await s.request('GET', api.base, { token: other.app }), 404, 'PolicyNotFound');

  const read = await s.token({ tenantId: t.id, roles: ['BackupRestore-Configuration.Read.All'] });
  ok(await s.request('GET', api.base, { token: read }), 200);
  expectGraphError(await s.request('POST', api.base, { token: read, body: { mailboxExpression: expr(fakeGroup(1)) } }), 403, 'accessDenied');
  expectGraphError(await s.request('POST', `${api.base}/${rule.id}/run`, { token: read }), 403, 'accessDenied');
});

test('intermediate states (realistic timing): what an active or updating rule refuses', async () => {
  const { t, policyId } = await setup(r, false);
  const a = await createUser(r, t);
  const group = await createGroup(r, t, [a.id]);
  const api = rules(r, t, policyId);
  const st = ok(await api.create({ mailboxExpression: expr(group) }), 201);
  expectGraphError(await api.run(st.id), 400, 'ProtectionRuleActionNotAllowed');
  expectGraphError(await api.del(st.id), 400, 'InvalidProtectionRuleStatusForDeletion');
  const dyn = ok(await api.create({ mailboxExpression: expr(group), isAutoApplyEnabled: true }), 201);
  expectGraphError(await api.patch(dyn.id, { mailboxExpression: expr(group) }), 400, 'InvalidProtectionRuleStatusForUpdation');
  expectGraphError(await api.unprotect(dyn.id), 422, 'InvalidProtectionRuleStatusForDynamicRuleDeleteAndUnprotectAll');
  expectGraphError(await api.del(dyn.id), 400, 'InvalidProtectionRuleStatusForDeletion');
  await r.advance('PT14M');
  assert.equal(ok(await api.get(st.id), 200).status, 'active');
  await r.advance('PT2M');
  assert.equal(ok(await api.get(st.id), 200).status, 'completed');
  assert.equal(ok(await api.get(dyn.id), 200).status, 'completed');
  ok(await api.patch(dyn.id, { mailboxExpression: expr(group) }), 200);
  expectGraphError(await api.patch(dyn.id, { mailboxExpression: expr(group) }), 400, 'InvalidProtectionRuleStatusForUpdation');
  expectGraphError(await api.patch(dyn.id, { mailboxExpression: 'nonsense' }), 400, 'InvalidProtectionRuleStatusForUpdation');
  await r.advance('PT16M');
  expectGraphError(await api.patch(dyn.id, { mailboxExpression: 'nonsense' }), 400, 'InvalidRuleExpression');
  expectGraphError(await api.patch(dyn.id, { mailboxExpression: expr(...Array.from({ length: 101 }, (_, i) => fakeGroup(i))) }), 413, 'InvalidRuleExpressionGroupLimitExceeded');

  // a dynamic rule is refreshed once a day in this profile
  const b = await createUser(r, t);
  await addMember(r, t, group, b.id);
  await r.advance('PT12H');
  assert.equal((await units(r, t, policyId)).length, 1);
  await r.advance('PT12H');
  assert.equal((await units(r, t, policyId)).length, 2);
});

test('rules wait while the service is locked: no unit is added until it is enabled again', async () => {
  const { t, policyId } = await setup(s, false);
  const a = await createUser(s, t);
  const group = await createGroup(s, t, [a.id]);
  const api = rules(s, t, policyId);
  const rule = ok(await api.create({ mailboxExpression: expr(group) }), 201);
  const apps = ok(await s.request('GET', `${BR}/serviceApps`, { token: t.app }), 200).value;
  ok(await s.request('DELETE', `${BR}/serviceApps/${apps[0].id}`, { token: t.app }), 204);
  await s.advance('PT1M');
  assert.equal(ok(await api.get(rule.id), 200).status, 'active');
  assert.equal((await units(s, t, policyId)).length, 0);
  expectGraphError(await api.run(rule.id), 403, 'ProtectionChangeLocked');
  await onboard(s, t);
  await s.advance('PT1M');
  assert.equal(ok(await api.get(rule.id), 200).status, 'completed');
  assert.equal((await units(s, t, policyId)).length, 1);
});

// Last in the file: later clock moves would evaluate this large rule again.
test('a dynamic rule protects at most 6,000 users: the rest is a ProtectionUnitsLimitBreached detail', async () => {
  const { t, policyId } = await setup(s, false);
  const group = await createGroup(s, t);
  // 6,001 directory users are written straight into the store: creating them over HTTP would take long
  const now = new Date().toISOString();
  const ids = Array.from({ length: 6001 }, (_, i) => `6d000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  await s.app.core.store.write(async (trx) => {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      await trx
        .insertInto('users')
        .values(part.map((id) => ({ tenant_id: t.id, id, user_principal_name: `${id}@contoso.example`, upn_key: `${id}@contoso.example`, mail: null, mail_key: null, display_name: id, given_name: null, surname: null, job_title: null, account_enabled: 1, created_at: now, deleted_at: null, props: '{}' })))
        .execute();
      await trx.insertInto('group_members').values(part.map((id) => ({ tenant_id: t.id, group_id: group, member_id: id, added_at: now }))).execute();
    }
  });
  const api = rules(s, t, policyId);
  const rule = ok(await api.create({ mailboxExpression: expr(group), isAutoApplyEnabled: true }), 201);
  await s.advance('PT1M');
  const done = ok(await api.get(rule.id), 200);
  assert.equal(done.status, 'completedWithErrors');
  assert.deepEqual(done.error.details, [
    { code: 'ProtectionUnitsLimitBreached', message: 'At most 6000 users can be protected through a dynamic rule; 6001 match.', target: rule.id },
  ]);
  const counted = ok(await s.request('GET', `${BR}/exchangeProtectionPolicies/${policyId}/mailboxProtectionUnits?$top=1&$count=true`, { token: t.app }), 200);
  assert.equal(counted['@odata.count'], 6000);
});
