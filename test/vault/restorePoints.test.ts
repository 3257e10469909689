import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import {
  BR,
  TICK_MS,
  alignToTick,
  createFolder,
  createUser,
  deleteMessage,
  listPoints,
  moveMessage,
  newTenant,
  ok,
  postMessage,
  protectMailboxes,
  type Tenant,
} from '../helpers/protect.js';
import type { VaultService } from '../../src/vault/service.js';

/**
 * One tenant, history made by hand so every hit count below can be worked out on paper:
 *   before protection  a1 'Quarterly budget review' from cfo (Chief Finance), to team, with attachment
 *                      a2 'Lunch on Friday' from friend, to me
 *                      a3 'Budget draft numbers' from cfo, cc audit
 *   P0 protection begins (a few seconds past tick T)
 *   tick T+10 (P1)     + a4 'Quarterly planning offsite' from ceo, with attachment;  - a2
 *   tick T+20 (P2)     + a5 'Re: Quarterly budget review' from friend, to cfo;  a1 moved to Archive;  - a3
 * Mailbox B is protected and idle; mailbox C changes once, in tick T+10; mailbox E changes in six ticks.
 */
let s: TestServer;
let t: Tenant;
let other: Tenant;
const ids: Record<string, string> = {};
let unitA: string;
let unitB: string;
let unitC: string;
let unitE: string;
let userA: { id: string; displayName: string };
let P0: string;
let P1: string;
let P2: string;
const pointId: Record<string, string> = {};

const vault = () => s.app.services.vault as VaultService;
const iso = (ms: number) => new Date(ms).toISOString();

before(async () => {
  s = await startServer();
  t = await newTenant(s);
  other = await newTenant(s);
  userA = await createUser(s, t, 'Ada');
  const userB = await createUser(s, t, 'Ben');
  const userC = await createUser(s, t, 'Cal');
  const userE = await createUser(s, t, 'Eve');
  const archive = await createFolder(s, t, userA.id, 'Archive 2024');
  ids.a1 = await postMessage(s, t, userA.id, { subject: 'Quarterly budget review', from: 'cfo@contoso.example', fromName: 'Chief Finance', to: ['team@contoso.example'], attachment: true });
  ids.a2 = await postMessage(s, t, userA.id, { subject: 'Lunch on Friday', from: 'friend@fabrikam.example', to: ['me@contoso.example'] });
  ids.a3 = await postMessage(s, t, userA.id, { subject: 'Budget draft numbers', from: 'cfo@contoso.example', fromName: 'Chief Finance', cc: ['audit@contoso.example'] });

  const tick = await alignToTick(s, 1);
  const p = await protectMailboxes(s, t, [userA.id, userB.id, userC.id, userE.id]);
  [unitA, unitB, unitC, unitE] = [userA, userB, userC, userE].map((u) => p.unitOf.get(u.id)!);
  P0 = (await listPoints(s, t.app, unitA))[0].protectionDateTime;

  ids.a4 = await postMessage(s, t, userA.id, { subject: 'Quarterly planning offsite', from: 'ceo@contoso.example', attachment: true });
  await deleteMessage(s, t, userA.id, ids.a2);
  await postMessage(s, t, userC.id, { subject: 'Only change of C' });
  await postMessage(s, t, userE.id, { subject: 'E 1' });
  await s.advance('PT10M');
  ids.a5 = await postMessage(s, t, userA.id, { subject: 'Re: Quarterly budget review', from: 'friend@fabrikam.example', to: ['cfo@contoso.example'] });
  await moveMessage(s, t, userA.id, ids.a1, archive);
  await deleteMessage(s, t, userA.id, ids.a3);
  await postMessage(s, t, userE.id, { subject: 'E 2' });
  await s.advance('PT10M');
  for (let i = 3; i <= 6; i++) {
    await postMessage(s, t, userE.id, { subject: `E ${i}` });
    await s.advance('PT10M');
  }
  P1 = iso(tick + TICK_MS);
  P2 = iso(tick + 2 * TICK_MS);
  for (const p of await listPoints(s, t.app, unitA)) pointId[p.protectionDateTime] = p.id;
});
after(() => s.close());

const search = (body: unknown, token = t.app) => s.request('POST', `${BR}/restorePoints/search`, { token, body });

async function granular(queryExpression: string, extra: Record<string, unknown> = {}): Promise<Array<[string, number]>> {
  const r = await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, artifactQuery: { artifactType: 'message', queryExpression }, ...extra });
  return ok(r, 200).searchResults.map((x: any) => [x.restorePoint.protectionDateTime, x.artifactHitCount]);
}

test('GET restorePoints lists a unit’s points, most recent first, each with its expanded unit', async () => {
  const r = await s.request('GET', `${BR}/restorePoints?$expand=protectionUnit($filter=id eq '${unitA}')&$filter=protectionDateTime lt 2999-01-01T00:00:00Z`, { token: t.app });
  const body = ok(r, 200);
  assert.equal(body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/restorePoints`);
  assert.equal(body['@odata.nextLink'], undefined);
  assert.deepEqual(body.value.map((p: any) => p.protectionDateTime), [P2, P1, P0]);
  const first = body.value[0];
  assert.deepEqual(Object.keys(first).sort(), ['@odata.type', 'expirationDateTime', 'id', 'protectionDateTime', 'protectionUnit', 'tags']);
  assert.equal(first['@odata.type'], '#microsoft.graph.restorePoint');
  const expires = new Date(P2);
  expires.setUTCFullYear(expires.getUTCFullYear() + 1);
  assert.equal(first.expirationDateTime, expires.toISOString(), 'one calendar year later');
  assert.equal(first.tags, 'fastRestore');
  assert.equal(first.protectionUnit['@odata.type'], '#microsoft.graph.mailboxProtectionUnit');
  assert.equal(first.protectionUnit.id, unitA);
  assert.equal(first.protectionUnit.directoryObjectId, userA.id);
  assert.equal(first.protectionUnit.displayName, null, 'application callers do not see the display name');
  const delegated = await listPoints(s, t.user, unitA);
  assert.equal(delegated[0].protectionUnit.displayName, userA.displayName);
  assert.equal((await listPoints(s, t.app, unitB)).length, 1, 'an idle mailbox has only its first point');
});

test('GET restorePoints: lt, le, gt, ge, and, $orderby, $top; at most 5', async () => {
  const times = async (q: string) => (await listPoints(s, t.app, unitA, q)).map((p) => p.protectionDateTime);
  assert.deepEqual(await times(`$filter=protectionDateTime lt ${P2}`), [P1, P0]);
  assert.deepEqual(await times(`$filter=protectionDateTime le ${P2}`), [P2, P1, P0]);
  assert.deepEqual(await times(`$filter=protectionDateTime gt ${P0}`), [P2, P1]);
  assert.deepEqual(await times(`$filter=protectionDateTime ge ${P1} and protectionDateTime lt ${P2}`), [P1]);
  assert.deepEqual(await times(`$filter=protectionDateTime lt 2999-01-01T00:00:00Z&$orderby=protectionDateTime asc`), [P0, P1, P2]);
  assert.deepEqual(await times(`$filter=protectionDateTime lt 2999-01-01T00:00:00Z&$orderby=protectionDateTime desc`), [P2, P1, P0]);
  assert.deepEqual(await times(`$filter=protectionDateTime lt 2999-01-01T00:00:00Z&$top=2`), [P2, P1]);
  assert.deepEqual(await times(`$filter=protectionDateTime lt '${P1}'`), [P0], 'a quoted date works too');

  const e = (await listPoints(s, t.app, unitE, '$filter=protectionDateTime lt 2999-01-01T00:00:00Z')).map((p) => p.protectionDateTime);
  assert.equal(e.length, 5, 'seven points, five answered');
  assert.deepEqual(e, [...e].sort().reverse());
  const oldest = (await listPoints(s, t.app, unitE, '$filter=protectionDateTime lt 2999-01-01T00:00:00Z&$orderby=protectionDateTime asc')).map((p) => p.protectionDateTime);
  assert.equal(oldest[0], P0);
  assert.equal(oldest.length, 5);
  const r = await s.request('GET', `${BR}/restorePoints?$expand=protectionUnit($filter=id eq '${unitE}')&$filter=protectionDateTime lt 2999-01-01T00:00:00Z&$count=true`, { token: t.app });
  assert.equal(ok(r, 200)['@odata.count'], 7);
  assert.equal(r.body['@odata.nextLink'], undefined);
});

test('GET restorePoints without the required options, or with a bad one, is a 400 that says what is needed', async () => {
  const get = (q: string, token = t.app) => s.request('GET', `${BR}/restorePoints${q}`, { token });
  const expand = `$expand=protectionUnit($filter=id eq '${unitA}')`;
  let e = expectGraphError(await get(`?$filter=protectionDateTime lt ${P2}`), 400, 'InvalidSearchRequest');
  assert.equal(e.message, "The query option $expand=protectionUnit($filter=id eq '<protectionUnitId>') is required.");
  e = expectGraphError(await get(`?$expand=protectionUnit&$filter=protectionDateTime lt ${P2}`), 400, 'InvalidSearchRequest');
  assert.equal(e.message, "Unsupported $expand 'protectionUnit': use $expand=protectionUnit($filter=id eq '<protectionUnitId>').");
  e = expectGraphError(await get(`?${expand}`), 400, 'InvalidSearchRequest');
  assert.equal(e.message, 'The query option $filter on protectionDateTime is required, e.g. $filter=protectionDateTime lt 2024-01-01T00:00:00Z.');
  e = expectGraphError(await get(`?${expand}&$filter=expirationDateTime gt ${P2}`), 400, 'InvalidSearchRequest');
  assert.match(e.message, /must constrain protectionDateTime/);
  e = expectGraphError(await get(`?${expand}&$filter=protectionDateTime lt 'yesterday'`), 400, 'InvalidSearchRequest');
  assert.equal(e.message, "''yesterday'' is not a valid DateTimeOffset for 'protectionDateTime'.");
  expectGraphError(await get(`?${expand}&$filter=protectionDateTime lt ${P2}&$orderby=tags`), 400, 'InvalidSearchRequest');
  const many = Array.from({ length: 12 }, () => `protectionDateTime lt ${P2}`).join(' and ');
  expectGraphError(await get(`?${expand}&$filter=${many}`), 400, 'FilterLengthExceeded');
  expectGraphError(await get(`?${expand}&$filter=protectionDateTime lt ${P2}&$search=x`), 400, 'BadRequest');
  e = expectGraphError(await get(`?$expand=protectionUnit($filter=id eq 'no-such-unit')&$filter=protectionDateTime lt ${P2}`), 400, 'InvalidProtectionUnitId');
  assert.equal(e.message, "The protection unit 'no-such-unit' does not exist.");
  expectGraphError(await get(`?$expand=protectionUnit($filter=id eq '')&$filter=protectionDateTime lt ${P2}`), 400, 'InvalidProtectionUnitId');
  expectGraphError(await get(`?${expand}&$filter=protectionDateTime lt ${P2}`, other.app), 400, 'InvalidProtectionUnitId');
  e = expectGraphError(await get(`?${expand}&$filter=protectionDateTime lt ${P2}`, await s.token({ tenantId: t.id, roles: ['BackupRestore-Restore.ReadWrite.All'] })), 403, 'accessDenied');
  assert.match(e.message, /BackupRestore-Search\.Read\.All/);
  assert.equal((await get(`?${expand}&$filter=protectionDateTime lt ${P2}`, await s.token({ tenantId: t.id, roles: ['BackupRestore-Search.Read.All'] }))).status, 200);
});

test('GET restorePoints/{id} returns the point with its unit; unknown, foreign and malformed ids are 404', async () => {
  const id = pointId[P1];
  const r = await s.request('GET', `${BR}/restorePoints/${id}`, { token: t.app });
  const body = ok(r, 200);
  assert.equal(body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/restorePoints/$entity`);
  assert.equal(body.id, id);
  assert.equal(body.protectionDateTime, P1);
  assert.equal(body.protectionUnit.id, unitA);
  const keyed = await s.request('GET', `${BR}/restorePoints('${id}')`, { token: t.app });
  assert.equal(ok(keyed, 200).id, id);
  const beta = await s.request('GET', `/beta/solutions/backupRestore/restorePoints/${id}?$select=protectionDateTime`, { token: t.app });
  assert.deepEqual(Object.keys(ok(beta, 200)).sort(), ['@odata.context', '@odata.type', 'id', 'protectionDateTime']);
  const e = expectGraphError(await s.request('GET', `${BR}/restorePoints/nope`, { token: t.app }), 404, 'itemNotFound');
  assert.equal(e.message, "The restore point 'nope' was not found.");
  expectGraphError(await s.request('GET', `${BR}/restorePoints/${id}`, { token: other.app }), 404, 'itemNotFound');
  expectGraphError(await s.request('GET', `${BR}/restorePoints/${id}?$top=1`, { token: t.app }), 400, 'BadRequest');
});

test('search: one point per unit with a preference, as if every tick had one; inclusive windows; units without points listed apart', async () => {
  const results = (b: any) => b.searchResults.map((x: any) => [x.restorePoint.protectionUnit.id, x.restorePoint.protectionDateTime]);
  const all = [unitA, unitB, unitC];
  const b0 = (await listPoints(s, t.app, unitB))[0].protectionDateTime;
  const c0 = (await listPoints(s, t.app, unitC))[1].protectionDateTime;
  let r = ok(await search({ protectionUnitIds: all, protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, restorePointPreference: 'oldest' }), 200);
  assert.equal(r['@odata.context'], `${s.base}/v1.0/$metadata#microsoft.graph.restorePointSearchResponse`);
  assert.match(r.searchResponseId, /^[A-Za-z0-9_-]{20,}$/);
  assert.deepEqual(results(r).map((x: string[]) => x[1]), [P0, b0, c0], 'the oldest point is when protection began');
  assert.deepEqual(r.noResultProtectionUnitIds, []);
  assert.equal(r.searchResults[0].artifactHitCount, undefined, 'hit counts only for granular searches');
  assert.equal(r.searchResults[0].restorePoint['@odata.type'], '#microsoft.graph.restorePoint');

  // A tick at which B did not change still is a point of B (its state is B's previous point's); it is recorded when asked for.
  r = ok(await search({ protectionUnitIds: all, protectionTimePeriod: { startDateTime: P1, endDateTime: P1 }, restorePointPreference: 'latest' }), 200);
  assert.deepEqual(results(r), [[unitA, P1], [unitB, P1], [unitC, P1]], 'both ends of the window are inclusive');
  assert.deepEqual(r.noResultProtectionUnitIds, []);
  assert.deepEqual((await listPoints(s, t.app, unitB)).map((p) => p.protectionDateTime), [P1, b0]);
  const again = ok(await search({ protectionUnitIds: [unitB], protectionTimePeriod: { startDateTime: P1, endDateTime: P1 }, restorePointPreference: 'oldest' }), 200);
  assert.equal(again.searchResults[0].restorePoint.id, r.searchResults[1].restorePoint.id, 'asking again gives the same point');
  // The oldest point at or after a time between ticks is the next tick (whose state is the point before it).
  r = ok(await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: iso(Date.parse(P1) - 60_000) }, restorePointPreference: 'oldest' }), 200);
  assert.deepEqual(results(r), [[unitA, P1]]);

  r = ok(await search({ protectionUnitIds: all, protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z', endDateTime: '2001-01-01T00:00:00Z' }, restorePointPreference: 'latest' }), 200);
  assert.deepEqual(r.searchResults, []);
  assert.deepEqual(r.noResultProtectionUnitIds, all, 'no point before protection began');

  // Without a preference: the most recent recorded points of all the units together, never more than 5.
  r = ok(await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' } }), 200);
  assert.deepEqual(results(r).map((x: string[]) => x[1]), [P2, P1, P0]);
  r = ok(await search({ protectionUnitIds: [unitA, unitB, unitC, unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, tags: 'fastRestore' }), 200);
  const times = results(r).map((x: string[]) => x[1]);
  assert.equal(times.length, 5);
  assert.deepEqual(times, [...times].sort().reverse());
  assert.equal(times[0], P2);
  const stored = await vault().getSearchResponse(t.id, r.searchResponseId);
  assert.deepEqual(stored, { id: r.searchResponseId, unitId: null, restorePointIds: r.searchResults.map((x: any) => x.restorePoint.id) });
  assert.equal(await vault().getSearchResponse(other.id, r.searchResponseId), undefined);

  // The latest point with no end is the last tick: the mailbox as it is now, give or take 10 minutes.
  const now = Date.parse((await s.request('GET', '/_mailvault/clock')).body.now);
  r = ok(await search({ protectionUnitIds: [unitB], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, restorePointPreference: 'latest' }), 200);
  assert.deepEqual(results(r), [[unitB, iso(Math.floor(now / TICK_MS) * TICK_MS)]]);
});

test('granular search counts the matching messages as the mailbox was at each point', async () => {
  // Worked out from the history at the top of this file: [P2, P1, P0].
  const at = (p2: number, p1: number, p0: number) => [[P2, p2], [P1, p1], [P0, p0]];
  assert.deepEqual(await granular("Subject -like 'quarterly*'"), at(3, 2, 1));
  assert.deepEqual(await granular("Subject -like 'Quarterly budget'"), at(2, 1, 1));
  assert.deepEqual(await granular("Sender -eq 'cfo@contoso.example'"), at(1, 2, 2));
  assert.deepEqual(await granular("Sender -like 'Chief'"), at(1, 2, 2), 'the display name counts');
  assert.deepEqual(await granular("HasAttachment -eq 'true'"), at(2, 2, 1));
  assert.deepEqual(await granular("HasAttachment -eq 'false'"), at(1, 1, 2));
  assert.deepEqual(await granular("Participants -like 'audit'"), at(0, 1, 1));
  assert.deepEqual(await granular("Participants -eq 'CFO@contoso.example'"), at(1, 0, 0), '-eq ignores case');
  assert.deepEqual(await granular("MessageKind -eq 'Email'"), at(3, 3, 3));
  assert.deepEqual(await granular("MessageKind -eq 'Calendar'"), at(0, 0, 0));
  assert.deepEqual(await granular("Subject -eq 'lunch on friday'"), at(0, 0, 1));
  assert.deepEqual(await granular("Subject -eq 'Lunch'"), at(0, 0, 0), '-eq is the whole subject');
  assert.deepEqual(await granular("(Sender -like 'cfo*' -or Participants -eq 'cfo@contoso.example') -and Subject -like 'budget'"), at(2, 2, 2));
  // -and binds tighter than -or: lunch, or (budget and from cfo).
  assert.deepEqual(await granular("Subject -like 'lunch' -or Subject -like 'budget' -and Sender -eq 'cfo@contoso.example'"), at(1, 2, 3));
  // PitrDumpsterActionTriggeredTime: when the version at the point was later changed (moved, modified or deleted).
  assert.deepEqual(await granular(`PitrDumpsterActionTriggeredTime -gt '{${P1}}'`), at(0, 2, 2));
  assert.deepEqual(await granular(`PitrDumpsterActionTriggeredTime -lt '{${P1}}'`), at(0, 0, 1));
  // a real leap day (before every point), with or without offset, is a date like any other
  const beforeAll = await granular("PitrDumpsterActionTriggeredTime -gt '{2000-01-01T00:00:00Z}'");
  assert.deepEqual(await granular("PitrDumpsterActionTriggeredTime -gt '{2024-02-29T00:00:00.0000000Z}'"), beforeAll);
  assert.deepEqual(await granular("PitrDumpsterActionTriggeredTime -ge '{2024-02-29}'"), beforeAll);
  assert.deepEqual(await granular("PitrDumpsterActionTriggeredTime -lt '{2024-02-29T23:59:59}'"), at(0, 0, 0));
  // The v1.0 documentation's example, with this tenant's sender.
  assert.deepEqual(
    await granular(
      `(Sender -eq 'cfo@contoso.example') -and (Subject -like '*budget*' -or Subject -like ' Important') -and (HasAttachment -eq 'true') -and (PitrDumpsterActionTriggeredTime -gt '{${P0.replace('Z', '0000Z')}}')`,
    ),
    at(0, 1, 1),
  );
  assert.deepEqual(await granular("subject -LIKE 'QUARTERLY*' -OR sender -eq 'nobody@x.example'"), at(3, 2, 1), 'keywords and names ignore case');
  assert.deepEqual(await granular("Subject -like 'quarterly*'", { restorePointPreference: 'oldest' }), [[P0, 1]]);
  assert.deepEqual(await granular("Subject -like 'quarterly*'", { protectionTimePeriod: { startDateTime: P1, endDateTime: P1 } }), [[P1, 2]]);
});

test('a granular search remembers which items matched at which point, for granular restores', async () => {
  const r = ok(await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, artifactQuery: { artifactType: 'message', queryExpression: "Subject -like 'quarterly*'" } }), 200);
  const [p2, p1, p0] = r.searchResults.map((x: any) => x.restorePoint.id);
  const ref = await vault().getSearchResponse(t.id, r.searchResponseId);
  assert.deepEqual(ref, { id: r.searchResponseId, unitId: unitA, restorePointIds: [p2, p1, p0] });
  const hits = async (point: string) => {
    const out: string[] = [];
    for await (const batch of vault().searchHitIds(r.searchResponseId, point)) out.push(...batch);
    return out;
  };
  assert.deepEqual(await hits(p2), [ids.a1, ids.a4, ids.a5].sort());
  assert.deepEqual(await hits(p1), [ids.a1, ids.a4].sort());
  assert.deepEqual(await hits(p0), [ids.a1]);
  const versions = await vault().messageVersionsAt(t.id, userA.id, P2, await hits(p2));
  assert.deepEqual(versions.map((v) => v.props.subject).sort(), ['Quarterly budget review', 'Quarterly planning offsite', 'Re: Quarterly budget review']);
  assert.equal(await vault().getSearchResponse(t.id, 'unknown'), undefined);
});

test('search requests that are wrong are 400s naming the problem', async () => {
  const period = { startDateTime: '2000-01-01T00:00:00Z' };
  const bad = async (body: unknown, code: string, message?: string | RegExp) => {
    const e = expectGraphError(await search(body), 400, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message) assert.match(e.message, message);
  };
  await bad({ protectionTimePeriod: period }, 'InvalidSearchRequest', 'protectionUnitIds is required.');
  await bad({ protectionUnitIds: unitA, protectionTimePeriod: period }, 'InvalidSearchRequest', 'protectionUnitIds must be an array of protection unit ids.');
  await bad({ protectionUnitIds: [], protectionTimePeriod: period }, 'InvalidSearchRequest', 'protectionUnitIds must name at least one protection unit.');
  await bad({ protectionUnitIds: Array.from({ length: 21 }, (_, i) => `u${i}`), protectionTimePeriod: period }, 'InvalidSearchRequest', 'protectionUnitIds names 21 protection units; at most 20 are allowed.');
  const twenty = [unitA, ...Array.from({ length: 19 }, (_, i) => `u${i}`)];
  await bad({ protectionUnitIds: twenty, protectionTimePeriod: period }, 'InvalidProtectionUnitId', "The protection unit 'u0' does not exist.");
  await bad({ protectionUnitIds: [42], protectionTimePeriod: period }, 'InvalidProtectionUnitId', "'42' is not a valid protection unit id.");
  await bad({ protectionUnitIds: [unitA, 'missing'], protectionTimePeriod: period }, 'InvalidProtectionUnitId', "The protection unit 'missing' does not exist.");
  await bad({ protectionUnitIds: [unitA] }, 'InvalidSearchRequest', 'protectionTimePeriod is required.');
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: {} }, 'InvalidSearchRequest', 'protectionTimePeriod.startDateTime is required.');
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: 'soon' } }, 'InvalidSearchRequest', 'protectionTimePeriod.startDateTime must be an ISO 8601 date-time, not "soon".');
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2024-02-30T00:00:00Z' } }, 'InvalidSearchRequest', 'protectionTimePeriod.startDateTime must be an ISO 8601 date-time, not "2024-02-30T00:00:00Z".');
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: P2, endDateTime: P1 } }, 'InvalidSearchRequest', `protectionTimePeriod ends (${P1}) before it starts (${P2}).`);
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: { ...period, length: 'P1D' } }, 'InvalidSearchRequest', "protectionTimePeriod has no property 'length'.");
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: period, restorePointPreference: 'newest' }, 'InvalidSearchRequest', `restorePointPreference must be 'latest' or 'oldest', not "newest".`);
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: period, tags: 'slowRestore' }, 'InvalidSearchRequest', `tags must be 'none' or 'fastRestore', not "slowRestore".`);
  await bad({ protectionUnitIds: [unitA], protectionTimePeriod: period, paging: true }, 'BadRequest', /'paging' is not a parameter of the action 'microsoft\.graph\.search'/);
  const q = (queryExpression: unknown, artifactType: unknown = 'message') => ({ protectionUnitIds: [unitA], protectionTimePeriod: period, artifactQuery: { artifactType, queryExpression } });
  await bad({ ...q("Subject -like 'x'"), protectionUnitIds: [unitA, unitB] }, 'InvalidSearchRequest', 'A search with artifactQuery takes exactly one protection unit id; 2 were given.');
  await bad(q("Subject -like 'x'", 'event'), 'InvalidSearchRequest', `artifactQuery.artifactType must be 'message', not "event".`);
  await bad(q(undefined), 'InvalidSearchRequest', 'artifactQuery.queryExpression is required.');
  const invalid: Array<[string, string]> = [
    ['', 'The query expression is empty.'],
    ["Colour -eq 'red'", "Unknown property 'Colour' at position 1; the properties are Subject, Sender, Participants, HasAttachment, MessageKind, PitrDumpsterActionTriggeredTime."],
    ["Subject 'x'", "Expected a comparison operator after 'Subject' at position 9, found ''x''."],
    ['Subject -like x', "Expected a single-quoted value after 'Subject -like' at position 15, found 'x'."],
    ["Subject -like 'x", 'Unterminated value starting at position 15: a closing single quote is missing.'],
    ['Subject -like "x"', `Unexpected '"' at position 15: values are enclosed in single quotes.`],
    ["Subject -gt 'x'", "The operator '-gt' cannot be used with Subject; use -eq or -like."],
    ["Subject -like 'a*b'", "'*' is only allowed at the end of a -like value: Subject -like 'a*b' (value at position 15)."],
    ["Subject -like '**'", "Subject -like '**' has no word to search for (value at position 15)."],
    ["(Subject -like 'x'", "Expected ')' at position 19 to close the '(' at position 1, found the end of the expression."],
    ["Subject -like 'x')", "Unbalanced ')' at position 18."],
    ["Subject -like 'x' Sender -eq 'y'", "Expected -and, -or or the end of the expression at position 19, found 'Sender'."],
    ["Subject -like 'x' -and", "Expected a property (Subject, Sender, Participants, HasAttachment, MessageKind, PitrDumpsterActionTriggeredTime) or '(' at position 23, found the end of the expression."],
    ["HasAttachment -eq 'maybe'", "HasAttachment takes 'true' or 'false', not 'maybe' (value at position 19)."],
    ["MessageKind -eq 'Fax'", "MessageKind takes one of Email, Note, Task, Contact, Calendar, not 'Fax' (value at position 17)."],
    ["PitrDumpsterActionTriggeredTime -gt '{yesterday}'", "PitrDumpsterActionTriggeredTime needs a date such as '{2024-09-21T08:20:00.0000000Z}', not '{yesterday}' (value at position 37)."],
    ["PitrDumpsterActionTriggeredTime -gt '{2024-02-30T00:00:00Z}'", "PitrDumpsterActionTriggeredTime needs a date such as '{2024-09-21T08:20:00.0000000Z}', not '{2024-02-30T00:00:00Z}' (value at position 37)."],
    ["PitrDumpsterActionTriggeredTime -lt '{2023-02-29}'", "PitrDumpsterActionTriggeredTime needs a date such as '{2024-09-21T08:20:00.0000000Z}', not '{2023-02-29}' (value at position 37)."],
    ["Subject -like 'a' -and Subject -like 'b' -and Subject -like 'c' -and Subject -like 'd'", 'At most 3 Subject conditions can be joined with -and (position 1 has 4).'],
    ["Sender -eq 'x*'", "Wildcards are only allowed with -like: Sender -eq 'x*' (value at position 12)."],
    ['Subject -like $x', "Unexpected character '$' at position 15."],
  ];
  for (const [expression, message] of invalid) await bad(q(expression), 'InvalidSearchRequest', `Invalid queryExpression: ${message}`);
  const tooMany = Array.from({ length: 21 }, (_, i) => `Sender -eq 'u${i}@x.example'`).join(' -or ');
  await bad(q(tooMany), 'FilterLengthExceeded', 'The query expression has more than 20 conditions.');
  await bad(q(`Subject -like '${'a'.repeat(3000)}'`), 'FilterLengthExceeded', /at most 2048 are allowed/);
  expectGraphError(await search({ protectionUnitIds: [unitA], protectionTimePeriod: period }, other.app), 400, 'InvalidProtectionUnitId');
  expectGraphError(await search({ protectionUnitIds: [unitA], protectionTimePeriod: period }, await s.token({ tenantId: t.id, roles: ['BackupRestore-Restore.Read.All'] })), 403, 'accessDenied');
});

test('the vault service picks points for bulk restores and answers for points it knows', async () => {
  const v = vault();
  const latest = await v.pickRestorePoint(t.id, userA.id, { end: P2, preference: 'latest' });
  assert.equal(latest?.protectionDateTime, P2);
  assert.equal((await v.pickRestorePoint(t.id, userA.id, { preference: 'oldest' }))?.protectionDateTime, P0);
  assert.equal((await v.pickRestorePoint(t.id, userA.id, { start: P1, end: P1, preference: 'latest' }))?.protectionDateTime, P1);
  assert.equal(await v.pickRestorePoint(t.id, userA.id, { end: '2001-01-01T00:00:00Z', preference: 'latest' }), undefined);
  const never = await createUser(s, t, 'Never');
  assert.equal(await v.pickRestorePoint(t.id, never.id, { preference: 'latest' }), undefined);
  const point = (await v.getRestorePoint(t.id, latest!.id))!;
  assert.deepEqual(point, { tenantId: t.id, id: latest!.id, unitId: unitA, mailboxId: userA.id, protectionDateTime: P2, expirationDateTime: point.expirationDateTime, tags: 1 });
  assert.equal(await v.getRestorePoint(other.id, latest!.id), undefined);
  assert.deepEqual(v.restorePointWire(point), {
    '@odata.type': '#microsoft.graph.restorePoint',
    id: point.id,
    protectionDateTime: P2,
    expirationDateTime: point.expirationDateTime,
    tags: 'fastRestore',
  });
  const withUnit = await v.restorePointWire(point, { includeUnit: true });
  assert.equal((withUnit.protectionUnit as any).id, unitA);
});

test('points older than 14 days lose fastRestore (the policy’s 10-minute tier), and searches by tag follow', async () => {
  await s.advance('P15D');
  const list = await listPoints(s, t.app, unitA);
  assert.deepEqual(list.map((p) => p.tags), ['none', 'none', 'none']);
  const r = ok(await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, tags: 'fastRestore' }), 200);
  assert.deepEqual(r.noResultProtectionUnitIds, [unitA]);
  const none = ok(await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, tags: 'none' }), 200);
  assert.equal(none.searchResults.length, 3);
});

test('a year on, each point expires on its own: gone from list, get and search at once, and the collection keeps what the others need', async () => {
  const setClock = async (at: number) => ok(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { set: iso(at) } }), 200);
  const expiry = Date.parse((await listPoints(s, t.app, unitA)).at(-1)!.expirationDateTime);
  assert.equal(iso(expiry).slice(4), P0.slice(4), 'one calendar year after P0');
  // Just before P0 expires (a daily collection runs here), then just after it (none runs in between).
  await setClock(expiry - 1000);
  assert.equal((await listPoints(s, t.app, unitA)).length, 3);
  await setClock(expiry + 1);
  assert.deepEqual((await listPoints(s, t.app, unitA)).map((p) => p.protectionDateTime), [P2, P1]);
  expectGraphError(await s.request('GET', `${BR}/restorePoints/${pointId[P0]}`, { token: t.app }), 404, 'itemNotFound');
  assert.equal(ok(await s.request('GET', `${BR}/restorePoints/${pointId[P1]}`, { token: t.app }), 200).id, pointId[P1]);
  const all = ok(await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' } }), 200);
  assert.deepEqual(all.searchResults.map((x: any) => x.restorePoint.protectionDateTime), [P2, P1]);
  const oldest = ok(await search({ protectionUnitIds: [unitA], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, restorePointPreference: 'oldest' }), 200);
  assert.deepEqual(oldest.searchResults.map((x: any) => x.restorePoint.id), [pointId[P1]]);

  const expired = await s.app.core.store.db.selectFrom('restore_points').select('id').where('tenant_id', '=', t.id).where('expires_at', '<=', iso(expiry + 1)).execute();
  assert.ok(expired.some((r) => r.id === pointId[P0]));
  const report = ok(await s.request('POST', '/_mailvault/vault/gc', { token: s.adminToken }), 200);
  assert.equal(report.expiredRestorePoints, expired.length);
  assert.ok(report.versionsRemoved >= 1, 'the versions only P0 needed go (a2, deleted before P1)');
  // The remaining points read exactly as before.
  assert.deepEqual(await granular("Subject -like 'quarterly*'"), [[P2, 3], [P1, 2]]);
  assert.deepEqual(await granular("Sender -eq 'cfo@contoso.example'"), [[P2, 1], [P1, 2]]);
  assert.deepEqual(await granular(`PitrDumpsterActionTriggeredTime -gt '{${P1}}'`), [[P2, 0], [P1, 2]]);
});
