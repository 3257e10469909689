/**
 * The service-status machine's remaining transitions (enable while locked without a controlling
 * app), service-app refusals, the Graph PowerShell client's 403 Forbidden, and the emulator clock
 * and scheduler that carry out the control plane's asynchronous transitions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, newTenant, ok, onboard, createUser, createPolicy, policy, type Tenant } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer({ schedulerInterval: '3600000' });
});
after(() => s.close());

async function root(t: Tenant) {
  return ok(await s.request('GET', BR, { token: t.app }), 200).serviceStatus;
}

const enable = (t: Tenant) => s.request('POST', `${BR}/enable`, { token: t.app, body: { appOwnerTenantId: t.id } });

test('enable while locked and still without a controlling app keeps the lock and its deadlines', async () => {
  const t = await newTenant(s);
  const appId = await onboard(s, t);
  ok(await s.request('DELETE', `${BR}/serviceApps/${appId}`, { token: t.app }), 204);
  const locked = await root(t);
  assert.equal(locked.status, 'protectionChangeLocked');
  await s.advance('P1D');
  const again = ok(await enable(t), 200);
  assert.equal(again.status, 'protectionChangeLocked');
  assert.equal(again.gracePeriodDateTime, locked.gracePeriodDateTime, 'the 30 days count from the first lock');
  await s.advance('P29D');
  assert.equal((await root(t)).status, 'restoreLocked');
  const still = ok(await enable(t), 200);
  assert.equal(still.status, 'restoreLocked');
  assert.equal(still.restoreAllowedTillDateTime, locked.restoreAllowedTillDateTime);
  expectGraphError(await s.request('POST', `${BR}/exchangeProtectionPolicies`, { token: t.app, body: { displayName: 'P' } }), 403, 'RestoreLocked');
});

test('a service app whose deactivation is pending cannot be activated again until it is inactive', async () => {
  const t = await newTenant(s);
  const appId = await onboard(s, t);
  assert.equal(ok(await s.request('POST', `${BR}/serviceApps/${appId}/deactivate`, { token: t.user }), 202).status, 'pendingInactive');
  const at = { effectiveDateTime: new Date(0).toISOString() };
  expectGraphError(await s.request('POST', `${BR}/serviceApps/${appId}/activate`, { token: t.user, body: at }), 403, 'ServiceAppActionNotAllowed');
  await s.advance('PT1M');
  assert.equal(ok(await s.request('POST', `${BR}/serviceApps/${appId}/activate`, { token: t.user, body: at }), 202).status, 'active', 'a past effective time is effective at once');
});

test('the Graph PowerShell client is refused the root, enable and service-app registration with 403 Forbidden', async () => {
  const t = await newTenant(s);
  const appId = await onboard(s, t);
  const ps = await s.token({ tenantId: t.id, appId: '14d82eec-204b-4c2f-b7e8-296a70dab67e', userId: t.userId, userName: 'Tenant Admin' });
  const forbidden = async (method: string, path: string, body?: unknown) =>
    assert.equal(expectGraphError(await s.request(method, path, { token: ps, body }), 403, 'Forbidden').message, 'Method not allowed for known allowed listed internal apps.');
  await forbidden('GET', BR);
  await forbidden('POST', `${BR}/enable`, { appOwnerTenantId: t.id });
  await forbidden('POST', `${BR}/serviceApps`, {});
  await forbidden('DELETE', `${BR}/serviceApps/${appId}`);
  // the rest of the control plane answers it as any client
  assert.deepEqual(ok(await s.request('GET', `${BR}/serviceApps`, { token: ps }), 200).value.map((a: any) => a.id), [appId]);
  ok(await s.request('GET', `${BR}/protectionPolicies`, { token: ps }), 200);
  assert.equal((await root(t)).status, 'enabled');
});

test('the clock: GET answers now and timing; set moves it forward and runs what became due; bad moves change nothing', async () => {
  const t = await newTenant(s);
  const clock = await s.request('GET', '/_mailvault/clock', { token: t.app });
  const before = ok(clock, 200);
  assert.deepEqual(Object.keys(before).sort(), ['now', 'timing']);
  assert.equal(before.timing, 'instant');
  const app = ok(await s.request('POST', `${BR}/serviceApps`, { token: t.app, body: {} }), 201);
  const effective = new Date(Date.parse(before.now) + 86_400_000).toISOString();
  ok(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: effective } }), 202);

  for (const body of [{ advance: 'ten minutes' }, { set: 'tomorrow' }, { advance: 'PT1M', set: effective }, {}]) {
    expectGraphError(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body }), 400, 'BadRequest');
  }
  expectGraphError(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { set: '2000-01-01T00:00:00Z' } }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', '/_mailvault/clock', { token: null, body: { advance: 'PT1M' } }), 401, 'InvalidAuthenticationToken');
  assert.equal(ok(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'pendingActive');

  const moved = ok(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { set: effective } }), 200);
  assert.deepEqual(Object.keys(moved).sort(), ['now', 'timing']);
  assert.ok(moved.now >= effective, 'the clock runs on from where it was set');
  assert.equal(ok(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'active');
  const advanced = ok(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { advance: 'PT10M' } }), 200);
  assert.ok(Date.parse(advanced.now) >= Date.parse(moved.now) + 600_000);
});

test('the clock: set to a day that does not exist is a 400 and leaves it where it was; a real leap day is accepted, without offset as UTC', async () => {
  const r = await startServer({ schedulerInterval: '3600000' });
  try {
    for (const set of ['2099-02-29T00:00:00Z', '2100-02-29T00:00:00Z', '2099-04-31T08:00:00.5Z', '2099-02-29T00:00:00']) {
      const e = expectGraphError(await r.request('POST', '/_mailvault/clock', { token: r.adminToken, body: { set } }), 400, 'BadRequest');
      assert.equal(e.message, "'set' must be an ISO 8601 date-time.");
    }
    assert.ok(ok(await r.request('GET', '/_mailvault/clock'), 200).now < '2099-01-01', 'the clock did not move');
    const moved = ok(await r.request('POST', '/_mailvault/clock', { token: r.adminToken, body: { set: '2096-02-29T12:00:00' } }), 200);
    assert.ok(moved.now >= '2096-02-29T12:00:00.000Z' && moved.now < '2096-03-01', moved.now);
  } finally {
    await r.close();
  }
});

test('instant timing: the next scheduler tick carries transitions out without moving the clock', async () => {
  const r = await startServer({ schedulerInterval: '20' });
  try {
    const t = await newTenant(r);
    const app = ok(await r.request('POST', `${BR}/serviceApps`, { token: t.app, body: {} }), 201);
    const { now } = ok(await r.request('GET', '/_mailvault/clock', { token: t.app }), 200);
    ok(await r.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: now } }), 202);
    /** Polls until the read answers what is expected (each tick is 20 ms; no assertion on time). */
    const until = async (read: () => Promise<unknown>, expected: unknown) => {
      for (let i = 0; i < 500 && (await read()) !== expected; i++) await sleep(20);
      assert.equal(await read(), expected);
    };
    await until(async () => ok(await r.request('GET', `${BR}/serviceApps/${app.id}`, { token: t.app }), 200).status, 'active');
    assert.equal(ok(await r.request('POST', `${BR}/enable`, { token: t.app, body: { appOwnerTenantId: t.id } }), 200).status, 'enabled');
    const u = await createUser(r, t);
    const p = await createPolicy(r, t, [u.id]);
    ok(await r.request('POST', `${BR}/protectionPolicies/${p.id}/activate`, { token: t.app }), 202);
    await until(async () => (await policy(r, t, p.id)).status, 'active');
  } finally {
    await r.close();
  }
});

test('realistic timing: a bulk job takes 15 minutes, a service app deactivation an hour', async () => {
  const r = await startServer({ timing: 'realistic', schedulerInterval: '3600000' });
  try {
    const t = await newTenant(r);
    const appId = await onboard(r, t);
    const u = await createUser(r, t);
    const p = await createPolicy(r, t, []);
    const jobs = `${BR}/exchangeProtectionPolicies/${p.id}/mailboxProtectionUnitsBulkAdditionJobs`;
    const job = ok(await r.request('POST', jobs, { token: t.app, body: { mailboxes: [u.mail] } }), 201);
    const status = async () => ok(await r.request('GET', `${jobs}/${job.id}`, { token: t.app }), 200).status;
    await r.advance('PT14M');
    assert.equal(await status(), 'active');
    await r.advance('PT2M');
    assert.equal(await status(), 'completed');

    assert.equal(ok(await r.request('POST', `${BR}/serviceApps/${appId}/deactivate`, { token: t.user }), 202).status, 'pendingInactive');
    await r.advance('PT59M');
    assert.equal(ok(await r.request('GET', `${BR}/serviceApps/${appId}`, { token: t.app }), 200).status, 'pendingInactive');
    assert.equal(ok(await r.request('GET', BR, { token: t.app }), 200).serviceStatus.status, 'enabled');
    await r.advance('PT2M');
    assert.equal(ok(await r.request('GET', `${BR}/serviceApps/${appId}`, { token: t.app }), 200).status, 'inactive');
    assert.equal(ok(await r.request('GET', BR, { token: t.app }), 200).serviceStatus.status, 'protectionChangeLocked');
  } finally {
    await r.close();
  }
});
