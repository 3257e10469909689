/**
 * Mailbox protection units bulk addition jobs: SMTP addresses and directory object ids resolved
 * when the job runs; completedWithErrors with EmailNotFound details for what does not resolve.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, newTenant, ok, onboard, createUser, createPolicy, units, type Tenant } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer({ schedulerInterval: '3600000' });
});
after(() => s.close());

const SET = 'mailboxProtectionUnitsBulkAdditionJobs';

async function setup(before?: (t: Tenant) => Promise<void>): Promise<{ t: Tenant; policyId: string }> {
  const t = await newTenant(s);
  await onboard(s, t);
  await before?.(t);
  const p = await createPolicy(s, t, []);
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  return { t, policyId: p.id };
}

test('a job resolves addresses (case-insensitive) and ids; what does not resolve is EmailNotFound', async () => {
  const { t, policyId } = await setup();
  const [a, b, c] = [await createUser(s, t), await createUser(s, t), await createUser(s, t)];
  const base = `${BR}/exchangeProtectionPolicies/${policyId}/${SET}`;
  const body = { displayName: 'mailboxes-I', mailboxes: [a.mail.toUpperCase(), 'nobody@contoso.example'], directoryObjectIds: [b.id, c.id, '1fec4e78-0000-4000-8000-000000000000'] };
  const created = await s.request('POST', base, { token: t.app, body });
  const job = ok(created, 201);
  assert.equal(created.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/${SET}/${job.id}`);
  assert.deepEqual(job, {
    '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/${SET}/$entity`,
    '@odata.type': '#microsoft.graph.mailboxProtectionUnitsBulkAdditionJob',
    id: job.id,
    displayName: 'mailboxes-I',
    status: 'active',
    error: null,
    createdBy: job.createdBy,
    createdDateTime: job.createdDateTime,
    lastModifiedBy: job.lastModifiedBy,
    lastModifiedDateTime: job.createdDateTime,
    directoryObjectIds: body.directoryObjectIds,
    mailboxes: body.mailboxes,
  });
  const listed = ok(await s.request('GET', base, { token: t.app }), 200);
  assert.equal(listed['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/${SET}`);
  assert.equal(listed.value.length, 1);
  assert.equal(listed.value[0].mailboxes, undefined, 'lists leave the id lists out');
  assert.equal(listed.value[0].directoryObjectIds, undefined);

  await s.advance('PT1M');
  const done = ok(await s.request('GET', `${base}/${job.id}`, { token: t.app }), 200);
  assert.equal(done.status, 'completedWithErrors');
  assert.deepEqual(done.error, {
    code: 'ProtectionResourcesNotFound',
    message: 'Errors while resolving protection resources',
    target: null,
    details: [
      { code: 'EmailNotFound', message: "Email address 'nobody@contoso.example' not found in directory", target: 'nobody@contoso.example' },
      { code: 'DirectoryObjectNotFound', message: "Directory object '1fec4e78-0000-4000-8000-000000000000' not found in directory", target: '1fec4e78-0000-4000-8000-000000000000' },
    ],
    innerError: null,
  });
  assert.deepEqual(done.mailboxes, body.mailboxes);
  const us = await units(s, t, policyId);
  assert.deepEqual(us.map((u) => u.directoryObjectId).sort(), [a.id, b.id, c.id].sort());
  assert.ok(us.every((u) => u.status === 'protectRequested' && u.protectionSources === 'manual'));
  await s.advance('PT1M');
  assert.ok((await units(s, t, policyId)).every((u) => u.status === 'protected'));
  // the root set holds the same job
  assert.equal(ok(await s.request('GET', `${BR}/${SET}/${job.id}`, { token: t.app }), 200).status, 'completedWithErrors');
  assert.deepEqual(ok(await s.request('GET', `${BR}/${SET}`, { token: t.app }), 200).value.map((j: any) => j.id), [job.id]);
});

test('a job that resolves everything completes; a mailbox of another policy is reported', async () => {
  let other: any;
  let b: { id: string } = { id: '' };
  const { t, policyId } = await setup(async (t) => {
    b = await createUser(s, t);
    other = await createPolicy(s, t, [b.id], 'Other');
  });
  const a = await createUser(s, t);
  const base = `${BR}/exchangeProtectionPolicies/${policyId}/${SET}`;
  const clean = ok(await s.request('POST', base, { token: t.app, body: { mailboxes: [a.mail] } }), 201);
  assert.equal(clean.displayName, null);
  const clash = ok(await s.request('POST', base, { token: t.app, body: { directoryObjectIds: [b.id, a.id] } }), 201);
  await s.advance('PT1M');
  assert.equal(ok(await s.request('GET', `${base}/${clean.id}`, { token: t.app }), 200).status, 'completed');
  const c = ok(await s.request('GET', `${base}/${clash.id}`, { token: t.app }), 200);
  assert.equal(c.status, 'completedWithErrors');
  assert.deepEqual(c.error.details, [
    { code: 'ProtectionUnitAlreadyExists', message: `Artifact ${b.id} is not eligible for protection because it is already protected under policy ${other.id}.`, target: b.id },
  ]);
});

test('create errors, ids, tenancy and permissions', async () => {
  const { t, policyId } = await setup();
  const base = `${BR}/exchangeProtectionPolicies/${policyId}/${SET}`;
  expectGraphError(await s.request('POST', base, { token: t.app, body: {} }), 400, 'InvalidCreateRequest');
  expectGraphError(await s.request('POST', base, { token: t.app, body: { mailboxes: 'a@b.c' } }), 400, 'InvalidCreateRequest');
  expectGraphError(await s.request('POST', base, { token: t.app, body: { mailboxes: [''] } }), 400, 'InvalidCreateRequest');
  expectGraphError(await s.request('POST', base, { token: t.app, body: { mailboxes: ['a@b.c'], displayName: 5 } }), 400, 'InvalidCreateRequest');
  expectGraphError(await s.request('POST', base, { token: t.app, body: { mailboxes: ['a@b.c'], color: 'red' } }), 400, 'BadRequest');
  const many = Array.from({ length: 50_001 }, (_, i) => `u${i}@x.example`);
  expectGraphError(await s.request('POST', base, { token: t.app, body: { mailboxes: many } }), 413, 'ProtectionUnitsLimitBreached');
  const missing = '845457dc-4bb2-4815-bef3-8628ebd1952e';
  expectGraphError(await s.request('POST', `${BR}/exchangeProtectionPolicies/${missing}/${SET}`, { token: t.app, body: { mailboxes: ['a@b.c'] } }), 404, 'PolicyNotFound');
  expectGraphError(await s.request('GET', `${BR}/exchangeProtectionPolicies/nope/${SET}`, { token: t.app }), 400, 'InvalidPolicyId');
  expectGraphError(await s.request('GET', `${base}/${missing}`, { token: t.app }), 404, 'itemNotFound');

  const job = ok(await s.request('POST', base, { token: t.app, body: { mailboxes: ['a@b.c'] } }), 201);
  const other = await newTenant(s);
  expectGraphError(await s.request('GET', `${BR}/${SET}/${job.id}`, { token: other.app }), 404, 'itemNotFound');
  expectGraphError(await s.request('GET', base, { token: other.app }), 404, 'PolicyNotFound');
  const read = await s.token({ tenantId: t.id, roles: ['BackupRestore-Configuration.Read.All'] });
  ok(await s.request('GET', `${base}/${job.id}`, { token: read }), 200);
  expectGraphError(await s.request('POST', base, { token: read, body: { mailboxes: ['a@b.c'] } }), 403, 'accessDenied');
  const page = ok(await s.request('GET', `${base}?$top=1&$count=true`, { token: t.app }), 200);
  assert.equal(page['@odata.count'], 1);

  // 50,000 resources fit however long the addresses are (the body is larger than the server's general limit)
  const full = Array.from({ length: 50_000 }, (_, i) => `a.rather.long.mailbox.name.${i}@contoso.example`);
  const big = ok(await s.request('POST', base, { token: t.app, body: { mailboxes: full } }), 201);
  assert.equal(big.mailboxes.length, 50_000);
  assert.ok(JSON.stringify({ mailboxes: full }).length > s.app.core.config.bodyLimit);
});
