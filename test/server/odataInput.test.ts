/**
 * What clients send to every endpoint alike: $filter dates compared as the client sees them, days that
 * do not exist, enum literals that are no member, and JSON bodies that are no object.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { BR, createUser, newTenant, ok, postMessage } from '../helpers/protect.js';
import { onboard } from '../helpers/protection.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

const HOUR = 3_600_000;

/** Moves the clock to a quarter past the next whole second after `at` (the clock never moves back). */
async function clockAt(at: number): Promise<void> {
  const now = new Date((await s.request('GET', '/_mailvault/clock')).body.now).getTime();
  ok(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { set: new Date(Math.ceil(Math.max(at, now) / 1000) * 1000 + 250).toISOString() } }), 200);
}

const nowMs = async () => new Date((await s.request('GET', '/_mailvault/clock')).body.now).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const q = encodeURIComponent;

/** The ids a filtered list answers, in id order. */
async function idsOf(path: string, filter: string, token: string): Promise<string[]> {
  const r = await s.request('GET', `${path}${path.includes('?') ? '&' : '?'}$filter=${q(filter)}&$top=50`, { token });
  return ok(r, 200).value.map((v: { id: string }) => v.id).sort();
}

const sorted = (...ids: string[]) => [...ids].sort();

/** Every comparison of `field` at and around the values two entities (a earlier than b) show. */
async function checkComparisons(path: string, token: string, field: string, a: { id: string; at: string }, b: { id: string; at: string }, step: number): Promise<void> {
  const cases: Array<[string, string, string[]]> = [
    ['eq', a.at, [a.id]],
    ['ne', a.at, [b.id]],
    ['lt', a.at, []],
    ['le', a.at, [a.id]],
    ['gt', a.at, [b.id]],
    ['ge', a.at, sorted(a.id, b.id)],
    ['eq', b.at, [b.id]],
    ['lt', b.at, [a.id]],
    ['le', b.at, sorted(a.id, b.id)],
    ['gt', b.at, []],
    ['ge', b.at, [b.id]],
    // a moment after a's value (less than the precision the wire shows) is neither a's value nor b's
    ['eq', iso(Date.parse(a.at) + step), []],
    ['lt', iso(Date.parse(a.at) + step), [a.id]],
    ['le', iso(Date.parse(a.at) + step), [a.id]],
    ['gt', iso(Date.parse(a.at) + step), [b.id]],
    ['ge', iso(Date.parse(a.at) + step), [b.id]],
    // and a moment before
    ['eq', iso(Date.parse(a.at) - step), []],
    ['gt', iso(Date.parse(a.at) - step), sorted(a.id, b.id)],
    ['lt', iso(Date.parse(a.at) - step), []],
  ];
  for (const [op, at, expected] of cases) {
    assert.deepEqual(await idsOf(path, `${field} ${op} ${at}`, token), expected, `${field} ${op} ${at}`);
  }
}

test('message dates filter at the value the client sees (to the second) with eq, ne, lt, le, gt and ge', async () => {
  const t = await newTenant(s);
  const user = await createUser(s, t);
  const messages = `/v1.0/users/${user.id}/messages`;
  await clockAt(await nowMs());
  const a = await postMessage(s, t, user.id, { subject: 'first' });
  await clockAt((await nowMs()) + HOUR);
  const b = await postMessage(s, t, user.id, { subject: 'second' });
  const wire = async (id: string) => ok(await s.request('GET', `${messages}/${id}`, { token: t.app }), 200);
  const [ma, mb] = [await wire(a), await wire(b)];
  for (const field of ['receivedDateTime', 'sentDateTime', 'createdDateTime', 'lastModifiedDateTime']) {
    assert.match(ma[field], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    await checkComparisons(messages, t.app, field, { id: a, at: ma[field] }, { id: b, at: mb[field] }, 500);
  }
  // A literal in quotes or with an offset is the same instant.
  assert.deepEqual(await idsOf(messages, `receivedDateTime eq '${ma.receivedDateTime}'`, t.app), [a]);
  const offset = `${iso(Date.parse(ma.receivedDateTime) + HOUR).slice(0, 19)}+01:00`;
  assert.deepEqual(await idsOf(messages, `receivedDateTime eq ${offset}`, t.app), [a]);
});

test('restore session dates filter at the exact value the client sees (to the millisecond)', async () => {
  const t = await newTenant(s);
  await onboard(s, t);
  await clockAt(await nowMs());
  const a = ok(await s.request('POST', `${BR}/exchangeRestoreSessions`, { token: t.app, body: {} }), 201);
  await clockAt((await nowMs()) + HOUR);
  const b = ok(await s.request('POST', `${BR}/exchangeRestoreSessions`, { token: t.app, body: {} }), 201);
  for (const field of ['createdDateTime', 'lastModifiedDateTime']) {
    assert.match(a[field], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    await checkComparisons(`${BR}/restoreSessions`, t.app, field, { id: a.id, at: a[field] }, { id: b.id, at: b[field] }, 1);
  }
});

test('a day that does not exist is a 400 wherever a date is read, and changes nothing', async () => {
  const t = await newTenant(s);
  const user = await createUser(s, t);
  const e = expectGraphError(await s.request('GET', `/v1.0/users/${user.id}/messages?$filter=${q('receivedDateTime lt 2024-02-30T00:00:00Z')}`, { token: t.app }), 400, 'BadRequest');
  assert.equal(e.message, "'2024-02-30T00:00:00Z' is not a valid DateTimeOffset for 'receivedDateTime'.");
  ok(await s.request('GET', `/v1.0/users/${user.id}/messages?$filter=${q('receivedDateTime lt 2024-02-29T00:00:00Z')}`, { token: t.app }), 200);
  expectGraphError(await s.request('GET', `/v1.0/users/${user.id}/messages?$filter=${q("sentDateTime ge '2023-02-29T00:00:00Z'")}`, { token: t.app }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `/v1.0/users?$filter=${q('createdDateTime gt 2025-04-31T00:00:00Z')}`, { token: t.app }), 400, 'BadRequest');

  await onboard(s, t);
  expectGraphError(await s.request('GET', `${BR}/restoreSessions?$filter=${q('createdDateTime lt 2024-02-30T00:00:00Z')}`, { token: t.app }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${BR}/serviceApps?$filter=${q('effectiveDateTime lt 2024-06-31T00:00:00Z')}`, { token: t.app }), 400, 'BadRequest');
  const points = await s.request('GET', `${BR}/restorePoints?$expand=protectionUnit($filter=id eq 'some-unit')&$filter=${q('protectionDateTime lt 2024-02-30T00:00:00Z')}`, { token: t.app });
  assert.equal(expectGraphError(points, 400, 'InvalidSearchRequest').message, "'2024-02-30T00:00:00Z' is not a valid DateTimeOffset for 'protectionDateTime'.");
  const search = await s.request('POST', `${BR}/restorePoints/search`, { token: t.app, body: { protectionUnitIds: ['some-unit'], protectionTimePeriod: { startDateTime: '2023-02-29T00:00:00Z' } } });
  expectGraphError(search, 400, 'InvalidSearchRequest');

  // activate: a second app, inactive, stays so
  const other = await newTenant(s);
  const app = ok(await s.request('POST', `${BR}/serviceApps`, { token: other.app, body: {} }), 201);
  for (const effectiveDateTime of ['2024-02-30T00:00:00Z', '2023-02-29T12:00:00Z', '2024-04-31T00:00:00.45Z', '2024-01-01T25:00:00Z']) {
    const r = await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: other.user, body: { effectiveDateTime } });
    assert.equal(expectGraphError(r, 400, 'BadRequest').message, "The parameter 'effectiveDateTime' is required and must be an ISO 8601 date-time.");
  }
  assert.equal(ok(await s.request('GET', `${BR}/serviceApps/${app.id}`, { token: other.app }), 200).status, 'inactive');
  const leap = ok(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: other.user, body: { effectiveDateTime: '2024-02-29T12:00:00Z' } }), 202);
  assert.equal(leap.effectiveDateTime, '2024-02-29T12:00:00.000Z');
});

test('an enum literal that is no member of the enum is a 400; every member, evolvable ones too, is accepted', async () => {
  const t = await newTenant(s);
  const user = await createUser(s, t);
  await onboard(s, t);
  const messages = `/v1.0/users/${user.id}/messages`;
  const e = expectGraphError(await s.request('GET', `${messages}?$filter=${q("importance eq 'urgent'")}`, { token: t.app }), 400, 'BadRequest');
  assert.equal(e.message, "Invalid filter clause: 'urgent' is not a valid value of 'importance'; use one of: low, normal, high.");
  const id = await postMessage(s, t, user.id, { subject: 'normal importance' });
  assert.deepEqual(await idsOf(messages, "importance eq 'normal'", t.app), [id]);
  assert.deepEqual(await idsOf(messages, "importance ne 'high'", t.app), [id]);
  assert.deepEqual(await idsOf(messages, "importance eq 'Normal'", t.app), [id]);

  const policies = expectGraphError(await s.request('GET', `${BR}/protectionPolicies?$filter=${q("status eq 'bogus'")}`, { token: t.app }), 400, 'BadRequest');
  assert.equal(policies.message, "Invalid filter clause: 'bogus' is not a valid value of 'status'; use one of: inactive, activeWithErrors, updating, active, unknownFutureValue, offboardRequested, offboarded.");
  expectGraphError(await s.request('GET', `${BR}/restoreSessions?$filter=${q("status eq 'bogus'")}`, { token: t.app }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${BR}/restoreSessions?$filter=${q("status eq 'draft' or restoreJobType eq 'bogus'")}`, { token: t.app }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${BR}/serviceApps?$filter=${q("status ne 'bogus'")}`, { token: t.app }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${BR}/mailboxProtectionUnits?$filter=${q("status eq 'bogus'")}`, { token: t.app }), 400, 'BadRequest');

  // 'failed' is declared after unknownFutureValue: shown only behind the Prefer header, filterable always
  const session = ok(await s.request('POST', `${BR}/exchangeRestoreSessions`, { token: t.app, body: {} }), 201);
  const preferences: Record<string, string>[] = [{}, { prefer: 'include-unknown-enum-members' }];
  for (const headers of preferences) {
    const r = await s.request('GET', `${BR}/restoreSessions?$filter=${q("status eq 'failed' or status eq 'draft'")}`, { token: t.app, headers });
    assert.deepEqual(ok(r, 200).value.map((v: { id: string }) => v.id), [session.id]);
  }
  assert.deepEqual(await idsOf(`${BR}/restoreSessions`, "status eq 'unknownFutureValue'", t.app), []);
  assert.deepEqual(await idsOf(`${BR}/serviceApps`, "status eq 'pendingInactive'", t.app), []);
  assert.deepEqual(await idsOf(`${BR}/mailboxProtectionUnits`, "status eq 'offboarded' or status eq 'cancelOffboardRequested'", t.app), []);
});

test('a JSON body that is no object is a 400 naming what is wrong, never a 415', async () => {
  const t = await newTenant(s);
  const user = await createUser(s, t);
  await onboard(s, t);
  const message = await postMessage(s, t, user.id, { subject: 'kept' });
  const json = { 'content-type': 'application/json' };
  const routes: Array<[string, string, string]> = [
    ['POST', `${BR}/exchangeRestoreSessions`, 'BadRequest'],
    ['POST', `/v1.0/users/${user.id}/messages`, 'BadRequest'],
    ['PATCH', `/v1.0/users/${user.id}/messages/${message}`, 'BadRequest'],
    ['POST', `/v1.0/users/${user.id}/mailFolders`, 'BadRequest'],
    ['POST', `${BR}/exchangeProtectionPolicies`, 'InvalidCreateRequest'],
  ];
  for (const [method, path, code] of routes) {
    const str = await s.request(method, path, { token: t.app, raw: '"x"', headers: json });
    assert.equal(expectGraphError(str, 400, 'BadRequest').message, 'The request body must be a JSON object, not a string.', `${method} ${path}`);
    for (const raw of ['[]', 'null', '42', 'true']) {
      const r = await s.request(method, path, { token: t.app, raw, headers: json });
      assert.equal(r.status, 400, `${method} ${path} ${raw}: ${r.text}`);
      assert.equal(r.body.error.code, code, `${method} ${path} ${raw}: ${r.text}`);
    }
  }
  // nothing was made or changed
  assert.deepEqual(ok(await s.request('GET', `${BR}/restoreSessions`, { token: t.app }), 200).value, []);
  const left = ok(await s.request('GET', `/v1.0/users/${user.id}/messages`, { token: t.app }), 200).value;
  assert.deepEqual(left.map((m: { id: string; subject: string }) => [m.id, m.subject]), [[message, 'kept']]);
  // text bodies still go to the routes that take MIME, and only there
  expectGraphError(await s.request('POST', `${BR}/exchangeRestoreSessions`, { token: t.app, raw: 'x', headers: { 'content-type': 'text/plain' } }), 415, 'UnsupportedMediaType');
});
