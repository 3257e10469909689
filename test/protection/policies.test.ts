/**
 * Exchange protection policies: create with inline units, PATCH with mailboxProtectionUnits@delta,
 * activate / deactivate (202, asynchronous), delete only when inactive, one active policy per
 * tenant, the polymorphic protectionPolicies set, and the realistic timing profile.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, newTenant, ok, onboard, createUser, createPolicy, units, policy, type Tenant } from '../helpers/protection.js';
import type { ProtectionChange } from '../../src/core.js';

let s: TestServer;
const changes: ProtectionChange[] = [];
before(async () => {
  // Transitions run when the test moves the clock, never behind its back.
  s = await startServer({ schedulerInterval: '3600000' });
  s.app.core.events.protectionChanged.on(async (_trx, events) => {
    changes.push(...events);
  });
});
after(() => s.close());

async function enabledTenant(): Promise<Tenant> {
  const t = await newTenant(s);
  await onboard(s, t);
  return t;
}

const APP = { id: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Mailvault Developer App' };
const RETENTION = [
  { interval: 'R/PT10M', period: 'P2W' },
  { interval: 'R/P1W', period: 'P1Y' },
];

test('create: 201 with the policy (inactive), Location, and its units unprotected', async () => {
  const t = await enabledTenant();
  const [a, b] = [await createUser(s, t), await createUser(s, t)];
  const r = await s.request('POST', `${BR}/exchangeProtectionPolicies`, {
    token: t.app,
    body: { displayName: 'Exchange Protection Policy', mailboxProtectionUnits: [{ directoryObjectId: a.id }, { directoryObjectId: b.id }] },
  });
  const p = ok(r, 201);
  assert.equal(r.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/protectionPolicies/${p.id}`);
  assert.equal(r.headers.get('content-location'), r.headers.get('location'));
  assert.deepEqual(p, {
    '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeProtectionPolicies/$entity`,
    id: p.id,
    displayName: 'Exchange Protection Policy',
    isEnabled: false,
    status: 'inactive',
    createdBy: { application: APP },
    createdDateTime: p.createdDateTime,
    lastModifiedBy: { application: APP },
    lastModifiedDateTime: p.createdDateTime,
    retentionSettings: RETENTION,
  });
  const us = await units(s, t, p.id);
  assert.deepEqual(us.map((u) => u.directoryObjectId).sort(), [a.id, b.id].sort());
  for (const u of us) {
    assert.equal(u.status, 'unprotected');
    assert.equal(u.policyId, p.id);
    assert.equal(u.protectionSources, 'manual');
    assert.equal(u.offboardRequestedDateTime, '0001-01-01T00:00:00.0000000Z');
  }
  // a policy without units is fine too
  assert.equal((await createPolicy(s, t, [], 'Empty')).status, 'inactive');
});

test('create: every documented error with its status and code', async () => {
  const t = await enabledTenant();
  const u = await createUser(s, t);
  const post = (body: unknown, raw?: string) =>
    s.request('POST', `${BR}/exchangeProtectionPolicies`, raw !== undefined ? { token: t.app, raw, headers: { 'content-type': 'application/json' } } : { token: t.app, body });
  expectGraphError(await post(undefined, ''), 400, 'InvalidCreateRequest');
  expectGraphError(await post({ displayName: 'P', mailboxProtectionUnits: { directoryObjectId: u.id } }), 400, 'InvalidCreateRequest');
  expectGraphError(await post({ displayName: 'P', mailboxProtectionUnits: [{ id: u.id }] }), 400, 'InvalidCreateRequest');
  expectGraphError(await post({ displayName: 'P', mailboxInclusionRules: [] }), 400, 'InvalidCreateRequest');
  expectGraphError(await post({ displayName: 'P', color: 'red' }), 400, 'BadRequest');
  expectGraphError(await post({ mailboxProtectionUnits: [] }), 400, 'InvalidDisplayName');
  expectGraphError(await post({ displayName: '' }), 400, 'InvalidDisplayName');
  expectGraphError(await post({ displayName: 'x'.repeat(1025) }), 400, 'InvalidDisplayName');
  ok(await post({ displayName: 'x'.repeat(1024) }), 201);
  const many = Array.from({ length: 51 }, (_, i) => ({ directoryObjectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }));
  expectGraphError(await post({ displayName: 'P', mailboxProtectionUnits: many }), 413, 'ProtectionUnitsLimitBreached');
  expectGraphError(await post({ displayName: 'P', mailboxProtectionUnits: [{ directoryObjectId: u.id }, { directoryObjectId: u.id }] }), 400, 'DuplicateProtectionUnitInList');
  const missing = await post({ displayName: 'P', mailboxProtectionUnits: [{ directoryObjectId: '7b014d8c-71fe-4d00-a01a-31850bc5b32c' }] });
  assert.match(expectGraphError(missing, 400, 'InvalidProtectionUnitId').message, /7b014d8c/);
  const first = ok(await post({ displayName: 'First', mailboxProtectionUnits: [{ directoryObjectId: u.id }] }), 201);
  const taken = await post({ displayName: 'Second', mailboxProtectionUnits: [{ directoryObjectId: u.id }] });
  assert.equal(
    expectGraphError(taken, 409, 'ProtectionUnitAlreadyExists').message,
    `Artifact ${u.id} is not eligible for protection because it is already protected under policy ${first.id}.`,
  );
  ok(await s.request('POST', `${BR}/protectionPolicies/${first.id}/activate`, { token: t.app }), 202);
  expectGraphError(await post({ displayName: 'Third' }), 409, 'PolicyCreationNotAllowed');
});

test('activate: 202 updating, units protectRequested, then active with units protected and capture started', async () => {
  const t = await enabledTenant();
  const [a, b] = [await createUser(s, t), await createUser(s, t)];
  const p = await createPolicy(s, t, [a.id, b.id]);
  const r = await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.user });
  const body = ok(r, 202);
  assert.equal(body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/protectionPolicies/$entity`);
  assert.equal(body['@odata.type'], '#microsoft.graph.exchangeProtectionPolicy');
  assert.equal(body.status, 'updating');
  assert.equal(body.isEnabled, true);
  assert.equal(body.lastModifiedBy.user.id, t.userId);
  assert.equal(r.headers.get('content-location'), `${s.base}/v1.0/solutions/backupRestore/protectionPolicies('${p.id}')`);
  assert.deepEqual((await units(s, t, p.id)).map((u) => u.status), ['protectRequested', 'protectRequested']);
  assert.equal((await policy(s, t, p.id)).status, 'updating');

  const before = changes.length;
  const now = await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'active');
  const us = await units(s, t, p.id);
  assert.deepEqual(us.map((u) => u.status), ['protected', 'protected']);
  const emitted = changes.slice(before).filter((c) => c.tenantId === t.id);
  assert.deepEqual(
    emitted.map((c) => ({ ...c, at: undefined })).sort((x, y) => x.mailboxId.localeCompare(y.mailboxId)),
    us.map((u) => ({ tenantId: t.id, unitId: u.id, mailboxId: u.directoryObjectId, protected: true, at: undefined })).sort((x, y) => x.mailboxId.localeCompare(y.mailboxId)),
  );
  for (const c of emitted) assert.ok(c.at <= now);
  const summary = await (s.app.services.protection as any).unitsForMailbox(t.id, a.id);
  assert.equal(summary.length, 1);
  assert.equal(summary[0].protected, true);
  assert.equal(summary[0].protectedSince, emitted[0].at);

  // wrong states: 403 PolicyActionNotAllowed with the API page's message (§11 #1)
  const again = await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app });
  assert.equal(
    expectGraphError(again, 403, 'PolicyActionNotAllowed').message,
    'Policy in already active state, which is invalid for activation. Policy must be Inactive or ActiveWithErrors state.',
  );
});

test('deactivate: 202 updating, units unprotectRequested, then inactive and capture stopped', async () => {
  const t = await enabledTenant();
  const a = await createUser(s, t);
  const p = await createPolicy(s, t, [a.id]);
  const deactivateInactive = await s.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: t.app });
  assert.equal(
    expectGraphError(deactivateInactive, 403, 'PolicyActionNotAllowed').message,
    'Policy in inactive state, which is invalid for deactivation. Policy must be in Active or ActiveWithErrors state.',
  );
  ok(await s.request('POST', `${BR}/exchangeProtectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  const whileUpdating = await s.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: t.app });
  assert.equal(
    expectGraphError(whileUpdating, 403, 'PolicyActionNotAllowed').message,
    'Policy in updating state, which is invalid for deactivation. Policy must be in Active or ActiveWithErrors state.',
  );
  const activateUpdating = await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app });
  assert.equal(
    expectGraphError(activateUpdating, 403, 'PolicyActionNotAllowed').message,
    'Policy in updating state, which is invalid for activation. Policy must be Inactive or ActiveWithErrors state.',
  );
  await s.advance('PT1M');
  const d = ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: t.app }), 202);
  assert.equal(d.status, 'updating');
  assert.equal(d.isEnabled, false);
  assert.deepEqual((await units(s, t, p.id)).map((u) => u.status), ['unprotectRequested']);
  const before = changes.length;
  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'inactive');
  const [u] = await units(s, t, p.id);
  assert.equal(u.status, 'unprotected');
  assert.deepEqual(changes.slice(before).filter((c) => c.tenantId === t.id).map((c) => [c.unitId, c.protected]), [[u.id, false]]);
  // and it can be activated again
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  assert.equal((await units(s, t, p.id))[0].status, 'protected');
});

test('one active Exchange policy per tenant', async () => {
  const t = await enabledTenant();
  const first = await createPolicy(s, t, [(await createUser(s, t)).id], 'First');
  const second = await createPolicy(s, t, [(await createUser(s, t)).id], 'Second');
  ok(await s.request('POST', `${BR}/protectionPolicies/${first.id}/activate`, { token: t.app }), 202);
  const r = await s.request('POST', `${BR}/protectionPolicies/${second.id}/activate`, { token: t.app });
  assert.match(expectGraphError(r, 403, 'PolicyActionNotAllowed').message, new RegExp(first.id));
  await s.advance('PT1M');
  ok(await s.request('POST', `${BR}/protectionPolicies/${first.id}/deactivate`, { token: t.app }), 202);
  await s.advance('PT1M');
  ok(await s.request('POST', `${BR}/protectionPolicies/${second.id}/activate`, { token: t.app }), 202);
});

test('a unit whose mailbox is gone fails: activeWithErrors, which can be activated again or deactivated', async () => {
  const t = await enabledTenant();
  const [a, b] = [await createUser(s, t), await createUser(s, t)];
  const p = await createPolicy(s, t, [a.id, b.id]);
  ok(await s.request('DELETE', `/v1.0/users/${b.id}`, { token: t.app }), 204);
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'activeWithErrors');
  const failed = (await units(s, t, p.id)).find((u) => u.directoryObjectId === b.id);
  assert.equal(failed.status, 'unprotected');
  assert.deepEqual(failed.error, {
    code: 'ProtectionUnitNotFound',
    message: `The mailbox of directory object ${b.id} was not found.`,
    target: null,
    details: [],
    innerError: null,
  });
  const again = ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  assert.equal(again.status, 'updating');
  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'activeWithErrors');
  // units added to an activeWithErrors policy: updating, then activeWithErrors again (the failed unit stays)
  const c = await createUser(s, t);
  const added = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ directoryObjectId: c.id }] } }), 200);
  assert.equal(added.status, 'updating');
  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'activeWithErrors');
  assert.equal((await units(s, t, p.id)).find((u) => u.directoryObjectId === c.id).status, 'protected');
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: t.app }), 202);
  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'inactive');
});

test('PATCH: rename, add and remove units with @delta, per-item failures inside a 200', async () => {
  const t = await enabledTenant();
  const [a, b, c, other] = [await createUser(s, t), await createUser(s, t), await createUser(s, t), await createUser(s, t)];
  const p = await createPolicy(s, t, [a.id]);
  const elsewhere = await createPolicy(s, t, [other.id], 'Elsewhere');
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  const [ua] = await units(s, t, p.id);

  const r = await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, {
    token: t.app,
    body: {
      displayName: 'Exchange Policy - Inadvertent data loss',
      'mailboxProtectionUnits@delta': [
        { directoryObjectId: b.id },
        { directoryObjectId: c.id, '@contentId': 'add-c' },
        { '@removed': { reason: 'changed' }, id: ua.id },
        { '@removed': { reason: 'changed' }, id: '4267e382-71fe-4d00-a01a-31850bc5b32c', '@contentId': '3467e382-71fe-4d00-a01a-31850bc5b32c' },
        { directoryObjectId: other.id },
        { directoryObjectId: '9bc069da-b746-41a4-89ab-26125c6373c7' },
      ],
    },
  });
  const body = ok(r, 200);
  assert.equal(body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeProtectionPolicies/$entity`);
  assert.equal(body.displayName, 'Exchange Policy - Inadvertent data loss');
  assert.equal(body.status, 'updating');
  const delta = body['mailboxProtectionUnits@delta'];
  assert.equal(delta.length, 6);
  assert.equal(delta[0].directoryObjectId, b.id);
  assert.equal(delta[0].status, 'protectRequested');
  assert.equal(delta[0].policyId, p.id);
  assert.equal(delta[0]['@odata.type'], '#microsoft.graph.mailboxProtectionUnit');
  assert.equal(delta[1].status, 'protectRequested');
  assert.equal(delta[2].id, ua.id);
  assert.equal(delta[2].status, 'removeRequested');
  assert.deepEqual(delta[3], {
    '@contentId': '3467e382-71fe-4d00-a01a-31850bc5b32c',
    '@Core.DataModificationException': {
      info: { code: 'ProtectionUnitNotFound', message: 'The identifier to be removed from the Protection Policy does not exist' },
      failedOperation: 'remove',
      responseCode: 409,
    },
    id: '4267e382-71fe-4d00-a01a-31850bc5b32c',
  });
  assert.deepEqual(delta[4], {
    '@Core.DataModificationException': {
      info: { code: 'ProtectionUnitAlreadyExists', message: `Artifact ${other.id} is not eligible for protection because it is already protected under policy ${elsewhere.id}.` },
      failedOperation: 'add',
      responseCode: 409,
    },
    directoryObjectId: other.id,
  });
  assert.equal(delta[5]['@Core.DataModificationException'].info.code, 'InvalidProtectionUnitId');

  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'active');
  const now = await units(s, t, p.id);
  assert.deepEqual(now.map((u) => u.directoryObjectId).sort(), [b.id, c.id].sort());
  assert.ok(now.every((u) => u.status === 'protected'));
  const removed = ok(await s.request('GET', `${BR}/mailboxProtectionUnits/${ua.id}`, { token: t.app }), 200);
  assert.equal(removed.policyId, null);
  assert.equal(removed.status, 'unprotected');
  assert.equal(removed.protectionSources, 'none');

  // re-adding the removed mailbox brings back its unit (and its history)
  const back = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ directoryObjectId: a.id }] } }), 200);
  assert.equal(back['mailboxProtectionUnits@delta'][0].id, ua.id);
  assert.equal(back['mailboxProtectionUnits@delta'][0].status, 'protectRequested');
  // adding what the policy already has is an item failure
  const twice = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ directoryObjectId: b.id }] } }), 200);
  assert.equal(twice['mailboxProtectionUnits@delta'][0]['@Core.DataModificationException'].info.code, 'ProtectionUnitAlreadyExists');
});

test('PATCH: request-level errors', async () => {
  const t = await enabledTenant();
  const u = await createUser(s, t);
  const p = await createPolicy(s, t, [u.id]);
  const patch = (body: unknown, id = p.id) => s.request('PATCH', `${BR}/exchangeProtectionPolicies/${id}`, { token: t.app, body });
  expectGraphError(await patch({ 'mailboxProtectionUnits@delta': [{ directoryObjectId: u.id }, { directoryObjectId: u.id }] }), 400, 'DuplicateProtectionUnitInList');
  const many = Array.from({ length: 51 }, (_, i) => ({ directoryObjectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }));
  expectGraphError(await patch({ 'mailboxProtectionUnits@delta': many }), 413, 'ProtectionUnitsLimitBreached');
  expectGraphError(await patch({ displayName: '' }), 400, 'InvalidDisplayName');
  expectGraphError(await patch({ 'mailboxProtectionUnits@delta': 'x' }), 400, 'BadRequest');
  expectGraphError(await patch({ mailboxProtectionUnits: [] }), 400, 'BadRequest');
  expectGraphError(await patch({ displayName: 'x' }, '845457dc-4bb2-4815-bef3-8628ebd1952e'), 404, 'PolicyNotFound');
  expectGraphError(await patch({ displayName: 'x' }, 'not-a-policy'), 400, 'InvalidPolicyId');
  assert.equal(ok(await patch({ displayName: 'Renamed' }), 200).displayName, 'Renamed');
  assert.equal((await policy(s, t, p.id)).displayName, 'Renamed');
});

test('DELETE: only inactive policies (403 PolicyActionNotAllowed otherwise); units stay, detached', async () => {
  const t = await enabledTenant();
  const u = await createUser(s, t);
  const p = await createPolicy(s, t, [u.id]);
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  expectGraphError(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: t.app }), 403, 'PolicyActionNotAllowed');
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: t.app }), 202);
  expectGraphError(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: t.app }), 403, 'PolicyActionNotAllowed');
  await s.advance('PT1M');
  const [unit] = await units(s, t, p.id);
  ok(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: t.app }), 204);
  expectGraphError(await s.request('GET', `${BR}/protectionPolicies/${p.id}`, { token: t.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: t.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('DELETE', `${BR}/protectionPolicies/bogus`, { token: t.app }), 400, 'InvalidPolicyId');
  const kept = ok(await s.request('GET', `${BR}/protectionUnits/${unit.id}`, { token: t.app }), 200);
  assert.equal(kept.policyId, null);
  // a new policy may take the mailbox again
  await createPolicy(s, t, [u.id]);
});

test('protectionPolicies is polymorphic; exchangeProtectionPolicies is typed; paging, $filter, $select', async () => {
  const t = await enabledTenant();
  const u = await createUser(s, t);
  const a = await createPolicy(s, t, [u.id], 'Alpha');
  const b = await createPolicy(s, t, [], 'Beta');
  const poly = ok(await s.request('GET', `${BR}/protectionPolicies`, { token: t.app }), 200);
  assert.equal(poly['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/protectionPolicies`);
  assert.deepEqual(poly.value.map((p: any) => [p['@odata.type'], p.id]), [
    ['#microsoft.graph.exchangeProtectionPolicy', a.id],
    ['#microsoft.graph.exchangeProtectionPolicy', b.id],
  ]);
  const one = ok(await s.request('GET', `${BR}/protectionPolicies('${a.id}')`, { token: t.app }), 200);
  assert.equal(one['@odata.type'], '#microsoft.graph.exchangeProtectionPolicy');
  assert.equal(one['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/protectionPolicies/$entity`);
  const typed = ok(await s.request('GET', `${BR}/exchangeProtectionPolicies`, { token: t.app }), 200);
  assert.equal(typed['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeProtectionPolicies`);
  assert.equal(typed.value[0]['@odata.type'], undefined);

  const first = ok(await s.request('GET', `${BR}/exchangeProtectionPolicies?$top=1`, { token: t.app }), 200);
  assert.deepEqual(first.value.map((p: any) => p.id), [a.id]);
  const second = ok(await s.request('GET', first['@odata.nextLink'], { token: t.app }), 200);
  assert.deepEqual(second.value.map((p: any) => p.id), [b.id]);
  assert.equal(second['@odata.nextLink'], undefined);

  const filtered = ok(await s.request('GET', `${BR}/exchangeProtectionPolicies?$filter=displayName eq 'Beta'&$count=true`, { token: t.app }), 200);
  assert.deepEqual(filtered.value.map((p: any) => p.id), [b.id]);
  assert.equal(filtered['@odata.count'], 1);

  const selected = ok(await s.request('GET', `${BR}/exchangeProtectionPolicies/${a.id}?$select=displayName,protectionPolicyArtifactCount`, { token: t.app }), 200);
  assert.deepEqual(selected, {
    '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeProtectionPolicies/$entity`,
    id: a.id,
    displayName: 'Alpha',
    protectionPolicyArtifactCount: { total: 1, completed: 0, inProgress: 0, failed: 0 },
  });
  expectGraphError(await s.request('GET', `${BR}/exchangeProtectionPolicies?$filter=color eq 'red'`, { token: t.app }), 400, 'BadRequest');
});

test('permissions: Configuration.Read.All reads, Configuration.ReadWrite.All writes, Control.* neither', async () => {
  const t = await enabledTenant();
  const u = await createUser(s, t);
  const p = await createPolicy(s, t, [u.id]);
  const read = await s.token({ tenantId: t.id, roles: ['BackupRestore-Configuration.Read.All'] });
  const write = await s.token({ tenantId: t.id, roles: ['BackupRestore-Configuration.ReadWrite.All'] });
  const control = await s.token({ tenantId: t.id, roles: ['BackupRestore-Control.ReadWrite.All'] });
  ok(await s.request('GET', `${BR}/protectionPolicies`, { token: read }), 200);
  ok(await s.request('GET', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: write }), 200);
  expectGraphError(await s.request('GET', `${BR}/protectionPolicies`, { token: control }), 403, 'accessDenied');
  expectGraphError(await s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: read, body: { displayName: 'x' } }), 403, 'accessDenied');
  expectGraphError(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: read, body: { displayName: 'x' } }), 403, 'accessDenied');
  expectGraphError(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: read }), 403, 'accessDenied');
  expectGraphError(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: read }), 403, 'accessDenied');
  const delegatedWrite = await s.token({ tenantId: t.id, scopes: ['BackupRestore-Configuration.ReadWrite.All'] });
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: delegatedWrite }), 202);
  ok(await s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: write, body: { displayName: 'x' } }), 409);
});

test("tenancy: another tenant's policy is PolicyNotFound everywhere", async () => {
  const a = await enabledTenant();
  const b = await enabledTenant();
  const p = await createPolicy(s, a, [(await createUser(s, a)).id]);
  expectGraphError(await s.request('GET', `${BR}/protectionPolicies/${p.id}`, { token: b.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('GET', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: b.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: b.app, body: { displayName: 'x' } }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: b.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: b.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('DELETE', `${BR}/protectionPolicies/${p.id}`, { token: b.app }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('GET', `${BR}/exchangeProtectionPolicies/${p.id}/mailboxProtectionUnits`, { token: b.app }), 404, 'PolicyNotFound');
  assert.deepEqual(ok(await s.request('GET', `${BR}/protectionPolicies`, { token: b.app }), 200).value, []);
  // a user of tenant A cannot be protected by tenant B
  const other = await createUser(s, a);
  const r = await s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: b.app, body: { displayName: 'x', mailboxProtectionUnits: [{ directoryObjectId: other.id }] } });
  expectGraphError(r, 400, 'InvalidProtectionUnitId');
});

test('realistic timing: a policy takes about an hour to activate', async () => {
  const r = await startServer({ timing: 'realistic', schedulerInterval: '3600000' });
  try {
    const clock = ok(await r.request('GET', '/_mailvault/clock'), 200);
    assert.equal(clock.timing, 'realistic');
    const t = await newTenant(r);
    await onboard(r, t);
    const u = await createUser(r, t);
    const p = await createPolicy(r, t, [u.id]);
    ok(await r.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
    await r.advance('PT30M');
    assert.equal((await policy(r, t, p.id)).status, 'updating');
    assert.equal((await units(r, t, p.id))[0].status, 'protectRequested');
    await r.advance('PT31M');
    assert.equal((await policy(r, t, p.id)).status, 'active');
    assert.equal((await units(r, t, p.id))[0].status, 'protected');
    ok(await r.request('POST', `${BR}/protectionPolicies/${p.id}/deactivate`, { token: t.app }), 202);
    await r.advance('PT59M');
    assert.equal((await units(r, t, p.id))[0].status, 'unprotectRequested');
    await r.advance('PT2M');
    assert.equal((await units(r, t, p.id))[0].status, 'unprotected');
    assert.equal((await policy(r, t, p.id)).status, 'inactive');
  } finally {
    await r.close();
  }
});

test('removal from an inactive policy passes through updating; a unit removed before protection starts is never captured', async () => {
  const t = await enabledTenant();
  const [a, b] = [await createUser(s, t), await createUser(s, t)];
  const p = await createPolicy(s, t, [a.id]);
  const [ua] = await units(s, t, p.id);
  const removed = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ '@removed': { reason: 'changed' }, id: ua.id }] } }), 200);
  assert.equal(removed.status, 'updating');
  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'inactive');
  assert.deepEqual(await units(s, t, p.id), []);

  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  const before = changes.length;
  const added = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ directoryObjectId: b.id }] } }), 200);
  const ub = added['mailboxProtectionUnits@delta'][0];
  assert.equal(ub.status, 'protectRequested');
  const gone = ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${p.id}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': [{ '@removed': { reason: 'changed' }, id: ub.id }] } }), 200);
  assert.equal(gone['mailboxProtectionUnits@delta'][0].status, 'removeRequested');
  await s.advance('PT1M');
  assert.equal((await policy(s, t, p.id)).status, 'active');
  assert.deepEqual(changes.slice(before).filter((c) => c.tenantId === t.id), []);
});
