/**
 * Exchange restore sessions over HTTP against a demo server: the seed request, every documented
 * error, the polymorphic restoreSessions set, PATCH deltas, activation and the §8.6 transitions,
 * paging/$filter/$select, permissions and tenancy.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer, type TestResponse } from '../helpers/server.js';
import { SESSIONS, RP1, RP2, SEARCH, APP } from '../helpers/demo.js';
import { DEFAULT_APP_ID } from '../../src/identity/tokens.js';
import type { RestoreSessionsService } from '../../src/backup/restoreSessions/service.js';
import { canMoveArtifact, type ArtifactStatus } from '../../src/backup/restoreSessions/states.js';

const BASE = '/v1.0/solutions/backupRestore';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const SEED1 = {
  mailboxRestoreArtifacts: [
    { restorePoint: { id: RP1 }, destinationType: 'inPlace' },
    { restorePoint: { id: RP2 }, destinationType: 'inPlace' },
  ],
};
const SEED2 = {
  '@odata.type': '#microsoft.graph.exchangeRestoreSession',
  granularMailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace', searchResponseId: SEARCH }],
};
const count = (total: number, completed = 0, inProgress = 0, failed = 0) => ({ total, completed, inProgress, failed });

let s: TestServer;
let service: RestoreSessionsService;

before(async () => {
  // Scheduler ticks only when the clock is moved: activated sessions stay where the test puts them.
  s = await startServer({ demo: true, schedulerInterval: '86400000' });
  // The restore engine is stopped: activated sessions stay where these tests put them (engine tests run it).
  await s.app.services.engine.stop();
  service = s.app.services.restoreSessions as RestoreSessionsService;
});
after(() => s.close());

const create = (body: unknown, o: { token?: string; headers?: Record<string, string> } = {}) =>
  s.request('POST', SESSIONS, { body, ...o });
const get = (path: string, o: { token?: string; headers?: Record<string, string> } = {}) => s.request('GET', path, o);

async function newSession(body: unknown = SEED1): Promise<string> {
  const r = await create(body);
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}

async function artifactsOf(id: string, nav = 'mailboxRestoreArtifacts'): Promise<any[]> {
  const r = await get(`${SESSIONS}/${id}/${nav}`);
  assert.equal(r.status, 200, r.text);
  return r.body.value;
}

/** The session as GET sees it, minus the fields every assertion recomputes. */
function sessionBody(r: TestResponse, id: string, rest: Record<string, unknown>) {
  assert.match(r.body.createdDateTime, ISO);
  assert.match(r.body.lastModifiedDateTime, ISO);
  return { id, createdDateTime: r.body.createdDateTime, lastModifiedDateTime: r.body.lastModifiedDateTime, ...rest };
}

describe('create', () => {
  test('seed example 1 answers 201 with the draft session, Location and Content-Location', async () => {
    const before = s.app.core.clock.now().getTime();
    const r = await create(SEED1);
    assert.equal(r.status, 201, r.text);
    const id = r.body.id;
    assert.match(id, GUID);
    assert.deepEqual(r.body, {
      '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeRestoreSessions/$entity`,
      id,
      status: 'draft',
      restoreJobType: 'standard',
      restoreSessionArtifactCount: count(2),
      createdBy: APP,
      createdDateTime: r.body.createdDateTime,
      lastModifiedBy: APP,
      lastModifiedDateTime: r.body.createdDateTime,
      completedDateTime: null,
      error: null,
    });
    assert.match(r.body.createdDateTime, ISO);
    const at = Date.parse(r.body.createdDateTime);
    assert.ok(at >= before - 5 && at <= s.app.core.clock.now().getTime() + 5, 'createdDateTime is the emulated clock');
    assert.equal(r.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions/${id}`);
    assert.equal(r.headers.get('content-location'), r.headers.get('location'));
    assert.match(r.headers.get('content-type')!, /^application\/json/);

    const again = await get(`${SESSIONS}/${id}`);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, r.body, 'GET answers exactly what the 201 said');
  });

  test('createdBy and lastModifiedBy come from a delegated token: application and user', async () => {
    const token = await s.token({ userId: '845457dc-4bb2-4815-bef3-8628ebd1952e', userName: 'ABC', scopes: ['BackupRestore-Restore.ReadWrite.All'], appDisplayName: 'Microsoft Enhanced Restore' });
    const r = await create(SEED1, { token });
    assert.equal(r.status, 201, r.text);
    const who = { application: { id: DEFAULT_APP_ID, displayName: 'Microsoft Enhanced Restore' }, user: { id: '845457dc-4bb2-4815-bef3-8628ebd1952e', displayName: 'ABC' } };
    assert.deepEqual(r.body.createdBy, who);
    assert.deepEqual(r.body.lastModifiedBy, who);
  });

  test('a restore point bound with @odata.id (older docs) is accepted and echoed as {id}', async () => {
    const id = await newSession({
      mailboxRestoreArtifacts: [
        { restorePoint: { '@odata.id': RP1 }, destinationType: 'new' },
        { restorePoint: { '@odata.id': `https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints('${RP2}')` }, destinationType: 'new' },
      ],
    });
    const arts = await artifactsOf(id);
    assert.deepEqual(arts.map((a) => [a.restorePoint.id, a.destinationType, a.status]), [[RP1, 'new', 'added'], [RP2, 'new', 'added']]);
  });

  test('restorePoint@odata.bind is accepted; a reference that is no valid URL is InvalidRestorePoint', async () => {
    const id = await newSession({
      mailboxRestoreArtifacts: [{ 'restorePoint@odata.bind': `https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints/${RP1}`, destinationType: 'inPlace' }],
    });
    assert.deepEqual((await artifactsOf(id)).map((a) => a.restorePoint.id), [RP1]);
    for (const ref of ["restorePoints('%E0%A4%A')", 'https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints/%ZZ']) {
      const r = await create({ mailboxRestoreArtifacts: [{ restorePoint: { '@odata.id': ref }, destinationType: 'inPlace' }] });
      expectGraphError(r, 400, 'InvalidRestorePoint');
    }
  });

  test('both artifact kinds in one create: each in its own collection, restoreJobType standard, one destinationType', async () => {
    const granular = { restorePoint: { id: RP1 }, destinationType: 'inPlace', searchResponseId: SEARCH };
    const r = await create({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP2 }, destinationType: 'inPlace' }], granularMailboxRestoreArtifacts: [granular] });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.restoreJobType, 'standard');
    assert.deepEqual(r.body.restoreSessionArtifactCount, count(2));
    assert.deepEqual((await artifactsOf(r.body.id)).map((a) => a.restorePoint.id), [RP2]);
    const [g] = await artifactsOf(r.body.id, 'granularMailboxRestoreArtifacts');
    assert.deepEqual([g.restorePoint.id, g.searchResponseId], [RP1, SEARCH]);
    const one = await get(`${SESSIONS}/${r.body.id}/granularMailboxRestoreArtifacts/${g.id}`);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.body, { '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeRestoreSessions('${r.body.id}')/granularMailboxRestoreArtifacts/$entity`, ...g });
    assert.equal(typeof one.body.restorePoint.protectionDateTime, 'string', 'the restore point is inlined');
    expectGraphError(
      await create({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP2 }, destinationType: 'new' }], granularMailboxRestoreArtifacts: [granular] }),
      400,
      'DifferentRestoreDestinationType',
    );
  });

  test('seed example 2 creates a granular session; restoreJobType granular is evolvable', async () => {
    const r = await create(SEED2);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.restoreJobType, 'unknownFutureValue');
    assert.deepEqual(r.body.restoreSessionArtifactCount, count(1));
    assert.equal(r.body.granularMailboxRestoreArtifacts, undefined, 'navigation collections are not echoed (spec §11 #6)');
    const withPrefer = await get(`${SESSIONS}/${r.body.id}`, { headers: { prefer: 'include-unknown-enum-members' } });
    assert.equal(withPrefer.body.restoreJobType, 'granular');
    const granular = await artifactsOf(r.body.id, 'granularMailboxRestoreArtifacts');
    assert.equal(granular.length, 1);
    assert.match(granular[0].id, GUID);
    assert.deepEqual({ ...granular[0], restorePoint: granular[0].restorePoint.id }, {
      id: granular[0].id,
      destinationType: 'inPlace',
      status: 'added',
      startDateTime: null,
      completionDateTime: null,
      restoredFolderId: null,
      restoredFolderName: null,
      restoredItemCount: null,
      error: null,
      restorePoint: RP1,
      artifactCount: null,
      searchResponseId: SEARCH,
    });
    assert.deepEqual(await artifactsOf(r.body.id), [], 'granular artifacts are not mailboxRestoreArtifacts');
  });

  test('an empty body or {} creates the empty session of the bulk workflow', async () => {
    for (const raw of [undefined, '{}']) {
      const r = await s.request('POST', SESSIONS, { raw, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.status, 'draft');
      assert.equal(r.body.restoreJobType, 'standard');
      assert.deepEqual(r.body.restoreSessionArtifactCount, count(0));
    }
  });

  test('InvalidArtifactRequest: empty list, not a list, no restore point, granular without or with a foreign search', async () => {
    const cases: unknown[] = [
      { mailboxRestoreArtifacts: [] },
      { mailboxRestoreArtifacts: { restorePoint: { id: RP1 } } },
      { mailboxRestoreArtifacts: ['x'] },
      { mailboxRestoreArtifacts: [{ destinationType: 'inPlace' }] },
      { mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace', bogus: 1 }] },
      { granularMailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] },
      { granularMailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace', searchResponseId: 'nope' }] },
      { granularMailboxRestoreArtifacts: [{ restorePoint: { id: RP2 }, destinationType: 'inPlace', searchResponseId: SEARCH }] },
    ];
    for (const body of cases) expectGraphError(await create(body), 400, 'InvalidArtifactRequest');
  });

  test('InvalidPathType: destinationType missing or unknown', async () => {
    for (const destinationType of [undefined, 'sideways', 'unknownFutureValue', 1]) {
      expectGraphError(await create({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType }] }), 400, 'InvalidPathType');
    }
  });

  test('InvalidRestorePoint: unknown, empty, and another tenant\'s', async () => {
    for (const id of ['no-such-point', '', '   ']) {
      expectGraphError(await create({ mailboxRestoreArtifacts: [{ restorePoint: { id }, destinationType: 'inPlace' }] }), 400, 'InvalidRestorePoint');
    }
    const other = await s.token({ tenantId: await s.newTenant() });
    expectGraphError(await create(SEED1, { token: other }), 400, 'InvalidRestorePoint');
  });

  test('DifferentRestoreDestinationType, DuplicateArtifactInList, RestoreArtifactsLimitBreached (413)', async () => {
    expectGraphError(
      await create({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }, { restorePoint: { id: RP2 }, destinationType: 'new' }] }),
      400,
      'DifferentRestoreDestinationType',
    );
    expectGraphError(
      await create({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }, { restorePoint: { '@odata.id': RP1 }, destinationType: 'inPlace' }] }),
      400,
      'DuplicateArtifactInList',
    );
    const many = Array.from({ length: 51 }, () => ({ restorePoint: { id: RP1 }, destinationType: 'inPlace' }));
    const e = expectGraphError(await create({ mailboxRestoreArtifacts: many }), 413, 'RestoreArtifactsLimitBreached');
    assert.match(e.message, /50/);
    // 50 is within the limit (these 50 then fail for being the same point), across both kinds too.
    expectGraphError(await create({ mailboxRestoreArtifacts: many.slice(0, 50) }), 400, 'DuplicateArtifactInList');
    const granular = { restorePoint: { id: RP1 }, destinationType: 'inPlace', searchResponseId: SEARCH };
    expectGraphError(await create({ mailboxRestoreArtifacts: many.slice(0, 26), granularMailboxRestoreArtifacts: Array(25).fill(granular) }), 413, 'RestoreArtifactsLimitBreached');
  });

  test('unknown properties and foreign @odata.type are 400 BadRequest; nothing is stored', async () => {
    const before = (await get(`${SESSIONS}?$count=true&$top=1`)).body['@odata.count'];
    expectGraphError(await create({ displayName: 'x' }), 400, 'BadRequest');
    expectGraphError(await create({ '@odata.type': '#microsoft.graph.sharePointRestoreSession' }), 400, 'BadRequest');
    const afterCount = (await get(`${SESSIONS}?$count=true&$top=1`)).body['@odata.count'];
    assert.equal(afterCount, before);
  });
});

describe('read', () => {
  test('GET by id: 404 RestoreSessionNotFound for an unknown id, 400 InvalidRestoreSessionId for a malformed one', async () => {
    expectGraphError(await get(`${SESSIONS}/00000000-0000-4000-8000-000000000000`), 404, 'RestoreSessionNotFound');
    expectGraphError(await get(`${BASE}/restoreSessions/00000000-0000-4000-8000-000000000000`), 404, 'RestoreSessionNotFound');
    expectGraphError(await get(`${SESSIONS}/not-a-guid`), 400, 'InvalidRestoreSessionId');
    expectGraphError(await get(`${SESSIONS}/not-a-guid/mailboxRestoreArtifacts`), 400, 'InvalidRestoreSessionId');
  });

  test('a session read again (kept in memory, its JSON made once) answers the same bytes as a read from the store, for each way of asking; on a data directory too (reads at once)', async () => {
    const onDisk = await startServer({ demo: true, memory: false, schedulerInterval: '86400000' });
    try {
      for (const server of [s, onDisk]) {
        const r0 = await server.request('POST', SESSIONS, { body: SEED1 });
        assert.equal(r0.status, 201, r0.text);
        const id = r0.body.id;
        const ways: Array<[string, Record<string, string>]> = [
          [`${SESSIONS}/${id}`, {}],
          [`${BASE}/restoreSessions/${id}`, {}],
          [`/beta/solutions/backupRestore/exchangeRestoreSessions/${id}`, {}],
          [`${SESSIONS}/${id}`, { prefer: 'include-unknown-enum-members' }],
          [`${SESSIONS}/${id}?$select=status`, {}],
        ];
        for (const [path, headers] of ways) {
          const reads = [];
          for (let i = 0; i < 3; i++) reads.push(await server.request('GET', path, { headers }));
          for (const r of reads) {
            assert.equal(r.status, 200, r.text);
            assert.equal(r.text, reads[0].text, path);
            assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
            assert.equal(r.headers.get('content-length'), String(Buffer.byteLength(reads[0].text)));
          }
        }
        const [plain, poly, beta, , selected] = await Promise.all(ways.map(([path, headers]) => server.request('GET', path, { headers })));
        // The row read back (on a data directory: as the values of its columns, named by us) is the row created.
        assert.deepEqual(plain.body, r0.body);
        assert.equal(poly.body['@odata.type'], '#microsoft.graph.exchangeRestoreSession');
        assert.equal(plain.body['@odata.type'], undefined);
        assert.match(beta.body['@odata.context'], /\/beta\/\$metadata#/);
        assert.deepEqual(Object.keys(selected.body).sort(), ['@odata.context', 'id', 'status']);
        // A change is seen at once by the next read, kept or not.
        const [firstArtifact] = (await server.request('GET', `${SESSIONS}/${id}/mailboxRestoreArtifacts`)).body.value;
        const patched = await server.request('PATCH', `${SESSIONS}/${id}`, { body: { 'mailboxRestoreArtifacts@delta': [{ '@removed': { reason: 'changed' }, id: firstArtifact.id }] } });
        assert.equal(patched.status, 200, patched.text);
        assert.equal((await server.request('GET', `${SESSIONS}/${id}`)).body.restoreSessionArtifactCount.total, 1);
        assert.equal((await server.request('DELETE', `${SESSIONS}/${id}`)).status, 204);
        expectGraphError(await server.request('GET', `${SESSIONS}/${id}`), 404, 'RestoreSessionNotFound');
        expectGraphError(await server.request('GET', `${SESSIONS}/00000000-0000-4000-8000-000000000000`), 404, 'RestoreSessionNotFound');
        expectGraphError(await server.request('GET', `${SESSIONS}/not-a-guid`), 400, 'InvalidRestoreSessionId');
      }
    } finally {
      await onDisk.close();
    }
  });

  test('restoreSessions is polymorphic: @odata.type on items and by id; OData key syntax and beta work', async () => {
    const id = await newSession();
    const r = await get(`${BASE}/restoreSessions/${id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, sessionBody(r, id, {
      '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/restoreSessions/$entity`,
      '@odata.type': '#microsoft.graph.exchangeRestoreSession',
      status: 'draft',
      restoreJobType: 'standard',
      restoreSessionArtifactCount: count(2),
      createdBy: APP,
      lastModifiedBy: APP,
      completedDateTime: null,
      error: null,
    }));
    const keyed = await get(`${BASE}/restoreSessions('${id}')`);
    assert.equal(keyed.status, 200);
    assert.equal(keyed.body.id, id);
    const beta = await get(`/beta/solutions/backupRestore/exchangeRestoreSessions/${id}`);
    assert.equal(beta.status, 200);
    assert.equal(beta.body['@odata.context'], `${s.base}/beta/$metadata#solutions/backupRestore/exchangeRestoreSessions/$entity`);
    const list = await get(`${BASE}/restoreSessions?$filter=id eq '${id}'`);
    assert.deepEqual(list.body.value.map((v: any) => [v['@odata.type'], v.id]), [['#microsoft.graph.exchangeRestoreSession', id]]);
    assert.equal(list.body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/restoreSessions`);
  });

  test('$select and $expand on a session', async () => {
    const id = await newSession();
    const sel = await get(`${SESSIONS}/${id}?$select=status,restoreSessionArtifactCount`);
    assert.deepEqual(Object.keys(sel.body), ['@odata.context', 'id', 'status', 'restoreSessionArtifactCount']);
    const exp = await get(`${SESSIONS}/${id}?$select=status&$expand=mailboxRestoreArtifacts,mailboxRestoreArtifactsBulkAdditionRequests`);
    assert.deepEqual(Object.keys(exp.body), ['@odata.context', 'id', 'status', 'mailboxRestoreArtifacts', 'mailboxRestoreArtifactsBulkAdditionRequests']);
    assert.deepEqual(exp.body.mailboxRestoreArtifacts.map((a: any) => a.restorePoint.id), [RP1, RP2]);
    assert.deepEqual(exp.body.mailboxRestoreArtifactsBulkAdditionRequests, []);
    expectGraphError(await get(`${SESSIONS}/${id}?$select=nope`), 400, 'BadRequest');
    expectGraphError(await get(`${SESSIONS}/${id}?$filter=status eq 'draft'`), 400, 'BadRequest');
  });

  test('artifacts are listed and read by id with their restore point inlined', async () => {
    const id = await newSession();
    const r = await get(`${SESSIONS}/${id}/mailboxRestoreArtifacts`);
    assert.equal(r.status, 200);
    assert.equal(r.body['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeRestoreSessions('${id}')/mailboxRestoreArtifacts`);
    const vault = s.app.services.vault as any;
    const [a, b] = r.body.value;
    for (const [art, rp] of [[a, RP1], [b, RP2]] as const) {
      const point = await vault.getRestorePoint(s.tenantId, rp);
      assert.deepEqual(art, {
        id: art.id,
        destinationType: 'inPlace',
        status: 'added',
        startDateTime: null,
        completionDateTime: null,
        restoredFolderId: null,
        restoredFolderName: null,
        restoredItemCount: null,
        error: null,
        restorePoint: vault.restorePointWire(point, { includeUnit: false }),
      });
      assert.equal(art.restorePoint.id, rp);
      assert.equal(art.restorePoint.protectionDateTime, point.protectionDateTime);
      assert.equal(art.restorePoint.expirationDateTime, point.expirationDateTime);
      const one = await get(`${SESSIONS}/${id}/mailboxRestoreArtifacts/${art.id}`);
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, { '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeRestoreSessions('${id}')/mailboxRestoreArtifacts/$entity`, ...art });
    }
    const filtered = await get(`${SESSIONS}/${id}/mailboxRestoreArtifacts?$top=1&$select=status`);
    assert.deepEqual(filtered.body.value, [{ id: a.id, status: 'added' }]);
    assert.match(filtered.body['@odata.nextLink'], /^http.*\$skiptoken=/);
    expectGraphError(await get(`${SESSIONS}/${id}/mailboxRestoreArtifacts/00000000-0000-4000-8000-000000000000`), 404, 'itemNotFound');
    expectGraphError(await get(`${SESSIONS}/${id}/granularMailboxRestoreArtifacts/${a.id}`), 404, 'itemNotFound');
    expectGraphError(await get(`${SESSIONS}/00000000-0000-4000-8000-000000000000/mailboxRestoreArtifacts`), 404, 'RestoreSessionNotFound');
  });

  test('paging a few hundred sessions with $top and @odata.nextLink to the end; $count; $orderby', async () => {
    const token = await s.token({ tenantId: await s.newTenant() });
    const created: string[] = [];
    for (let batch = 0; batch < 6; batch++) {
      const rs = await Promise.all(Array.from({ length: 50 }, () => create({}, { token })));
      for (const r of rs) {
        assert.equal(r.status, 201);
        created.push(r.body.id);
      }
    }
    const seen: string[] = [];
    let url: string | undefined = `${SESSIONS}?$top=40&$count=true`;
    let pages = 0;
    while (url) {
      const r = await get(url, { token });
      assert.equal(r.status, 200, r.text);
      if (pages === 0) assert.equal(r.body['@odata.count'], 300);
      assert.ok(r.body.value.length <= 40);
      seen.push(...r.body.value.map((v: any) => v.id));
      url = r.body['@odata.nextLink'];
      if (url) assert.ok(url.startsWith(`${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions?`), url);
      pages++;
    }
    assert.equal(pages, 8);
    assert.equal(seen.length, 300);
    assert.deepEqual([...seen].sort(), [...created].sort());
    const desc = await get(`${SESSIONS}?$orderby=createdDateTime desc&$top=300&$select=createdDateTime`, { token });
    const times = desc.body.value.map((v: any) => v.createdDateTime);
    assert.deepEqual(times, [...times].sort().reverse());
    expectGraphError(await get(`${SESSIONS}?$skiptoken=garbage`, { token }), 400, 'BadRequest');
  });
});

describe('update', () => {
  test('PATCH mailboxRestoreArtifacts@delta adds and removes; an unknown removal fails inline with 409', async () => {
    const id = await newSession({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] });
    const [first] = await artifactsOf(id);
    const missing = '4267e382-71a9-4c07-bef7-bda97e09c0d2';
    const r = await s.request('PATCH', `${SESSIONS}/${id}`, {
      body: {
        'mailboxRestoreArtifacts@delta': [
          { restorePoint: { '@odata.id': RP2 }, destinationType: 'inPlace' },
          { '@removed': { reason: 'changed' }, id: first.id },
          { '@removed': { reason: 'changed' }, id: missing },
        ],
      },
    });
    assert.equal(r.status, 200, r.text);
    const delta = r.body['mailboxRestoreArtifacts@delta'];
    assert.equal(delta.length, 2, 'successful removals are not echoed');
    assert.match(delta[0].id, GUID);
    assert.deepEqual(delta[0], { id: delta[0].id, restorePoint: { id: RP2 }, destinationType: 'inPlace', status: 'added' });
    assert.match(delta[1]['@contentId'], GUID);
    assert.deepEqual(delta[1], {
      '@contentId': delta[1]['@contentId'],
      '@Core.DataModificationException': {
        info: { code: 'Invalid', message: 'The identifier to be removed from the Restore Session does not exist' },
        failedOperation: 'remove',
        responseCode: 409,
      },
      id: missing,
    });
    assert.equal(r.body.id, id);
    assert.equal(r.body.status, 'draft');
    assert.deepEqual(r.body.restoreSessionArtifactCount, count(1));
    assert.ok(r.body.lastModifiedDateTime >= r.body.createdDateTime);
    assert.deepEqual((await artifactsOf(id)).map((a) => a.id), [delta[0].id]);
  });

  test('PATCH errors: InvalidPatchRequest, InvalidArtifactRequest, InvalidRestorePoint, DuplicateArtifactInList, DifferentRestoreDestinationType, 400 RestoreArtifactsLimitBreached, 404, 400 id', async () => {
    const id = await newSession({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] });
    const patch = (body: unknown, sid = id) => s.request('PATCH', `${SESSIONS}/${sid}`, { body });
    const add = (rp: string, destinationType = 'inPlace') => ({ restorePoint: { id: rp }, destinationType });
    for (const body of [{}, { status: 'active' }, { mailboxRestoreArtifacts: [add(RP2)] }, { 'mailboxRestoreArtifacts@delta': 'x' }, { 'mailboxRestoreArtifacts@delta': [{ '@removed': {} }] }]) {
      expectGraphError(await patch(body), 400, 'InvalidPatchRequest');
    }
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': [] }), 400, 'InvalidArtifactRequest');
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': [add('nope')] }), 400, 'InvalidRestorePoint');
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': [add(RP1)] }), 400, 'DuplicateArtifactInList');
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': [add(RP2, 'new')] }), 400, 'DifferentRestoreDestinationType');
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': [add(RP2, 'elsewhere')] }), 400, 'InvalidPathType');
    const many = Array.from({ length: 51 }, (_, i) => ({ '@removed': { reason: 'changed' }, id: `x${i}` }));
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': many }), 400, 'RestoreArtifactsLimitBreached');
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': many.slice(0, 25), 'granularMailboxRestoreArtifacts@delta': many.slice(25) }), 400, 'RestoreArtifactsLimitBreached');
    // 50 items are within the limit: each unknown removal fails inline.
    const fifty = await patch({ 'mailboxRestoreArtifacts@delta': many.slice(0, 50) });
    assert.equal(fifty.status, 200, fifty.text);
    assert.equal(fifty.body['mailboxRestoreArtifacts@delta'].length, 50);
    assert.ok(fifty.body['mailboxRestoreArtifacts@delta'].every((d: any) => d['@Core.DataModificationException'].responseCode === 409));
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': [add(RP2)] }, '00000000-0000-4000-8000-000000000000'), 404, 'RestoreSessionNotFound');
    expectGraphError(await patch({ 'mailboxRestoreArtifacts@delta': [add(RP2)] }, 'bad id'), 400, 'InvalidRestoreSessionId');
    assert.deepEqual((await artifactsOf(id)).map((a) => a.restorePoint.id), [RP1], 'failed PATCHes change nothing');
  });

  test('PATCH granularMailboxRestoreArtifacts@delta works the same way', async () => {
    const id = await newSession({});
    const r = await s.request('PATCH', `${SESSIONS}/${id}`, {
      body: { 'granularMailboxRestoreArtifacts@delta': [{ restorePoint: { id: RP1 }, destinationType: 'new', searchResponseId: SEARCH }] },
    });
    assert.equal(r.status, 200, r.text);
    const [item] = r.body['granularMailboxRestoreArtifacts@delta'];
    assert.deepEqual(item, { id: item.id, restorePoint: { id: RP1 }, destinationType: 'new', status: 'added', searchResponseId: SEARCH });
    assert.equal(r.body.restoreJobType, 'unknownFutureValue');
  });
});

describe('delete', () => {
  test('DELETE a draft session: 204, then 404; through either set', async () => {
    for (const set of ['restoreSessions', 'exchangeRestoreSessions']) {
      const id = await newSession();
      const r = await s.request('DELETE', `${BASE}/${set}/${id}`);
      assert.equal(r.status, 204);
      assert.equal(r.text, '');
      expectGraphError(await get(`${SESSIONS}/${id}`), 404, 'RestoreSessionNotFound');
      expectGraphError(await get(`${SESSIONS}/${id}/mailboxRestoreArtifacts`), 404, 'RestoreSessionNotFound');
      expectGraphError(await s.request('DELETE', `${BASE}/${set}/${id}`), 404, 'RestoreSessionNotFound');
    }
    expectGraphError(await s.request('DELETE', `${BASE}/restoreSessions/xyz`), 400, 'InvalidRestoreSessionId');
  });

  test('GET by id shows each acknowledged change at once: PATCH, activate, a progress update, DELETE', async () => {
    const id = await newSession({ mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] });
    // Read twice: the server keeps a session on its second read, so the next read after a change would find a kept row.
    const read = async () => {
      const first = (await get(`${SESSIONS}/${id}`)).body;
      assert.deepEqual((await get(`${SESSIONS}/${id}`)).body, first);
      return first;
    };
    assert.deepEqual((await read()).restoreSessionArtifactCount, count(1));
    const patched = await s.request('PATCH', `${SESSIONS}/${id}`, { body: { 'mailboxRestoreArtifacts@delta': [{ restorePoint: { id: RP2 }, destinationType: 'inPlace' }] } });
    assert.equal(patched.status, 200, patched.text);
    const afterPatch = await read();
    assert.deepEqual(afterPatch.restoreSessionArtifactCount, count(2));
    assert.equal(afterPatch.lastModifiedDateTime, patched.body.lastModifiedDateTime);
    assert.equal((await s.request('POST', `${BASE}/restoreSessions/${id}/activate`)).status, 200);
    const activated = await read();
    assert.deepEqual([activated.status, activated.restoreSessionArtifactCount], ['activating', count(2, 0, 2, 0)]);
    const [a] = await artifactsOf(id);
    await s.app.core.store.write(async (trx) => {
      await trx.updateTable('restore_artifacts').set({ status: 'inProgress' }).where('id', '=', a.id).execute();
      await service.refreshSession(trx, s.tenantId, id);
    });
    const progressed = await read();
    assert.deepEqual([progressed.status, progressed.restoreSessionArtifactCount], ['active', count(2, 0, 2, 0)]);

    const draft = await newSession();
    for (let i = 0; i < 2; i++) assert.equal((await get(`${SESSIONS}/${draft}`)).status, 200);
    assert.equal((await s.request('DELETE', `${SESSIONS}/${draft}`)).status, 204);
    expectGraphError(await get(`${SESSIONS}/${draft}`), 404, 'RestoreSessionNotFound');
  });
});

describe('activate and the §8.6 transitions', () => {
  test('activate: 200 activating, artifacts scheduling, one queued restore-artifact job per artifact', async () => {
    const id = await newSession();
    const r = await s.request('POST', `${BASE}/restoreSessions/${id}/activate`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, sessionBody(r, id, {
      '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/restoreSessions/$entity`,
      '@odata.type': '#microsoft.graph.exchangeRestoreSession',
      status: 'activating',
      restoreJobType: 'standard',
      restoreSessionArtifactCount: count(2, 0, 2, 0),
      createdBy: APP,
      lastModifiedBy: APP,
      completedDateTime: null,
      error: null,
    }));
    const arts = await artifactsOf(id);
    assert.deepEqual(arts.map((a) => a.status), ['scheduling', 'scheduling']);
    const jobs = await s.app.core.store.db.selectFrom('jobs').selectAll().where('tenant_id', '=', s.tenantId).where('ref_id', 'in', arts.map((a) => a.id)).orderBy('id').execute();
    assert.deepEqual(
      jobs.map((j) => [j.kind, j.ref_id, JSON.parse(j.payload), j.state, j.attempts]),
      arts.map((a) => ['restore-artifact', a.id, { sessionId: id }, 'queued', 0]),
    );
    for (const action of [
      () => s.request('POST', `${BASE}/restoreSessions/${id}/activate`),
      () => s.request('DELETE', `${BASE}/restoreSessions/${id}`),
      () => s.request('PATCH', `${SESSIONS}/${id}`, { body: { 'mailboxRestoreArtifacts@delta': [{ '@removed': { reason: 'changed' }, id: arts[0].id }] } }),
    ]) {
      expectGraphError(await action(), 403, 'RestoreSessionActionNotAllowed');
    }
  });

  test('activate errors: unknown 404, malformed 400, and an empty session 400 InvalidArtifactRequest', async () => {
    expectGraphError(await s.request('POST', `${BASE}/restoreSessions/00000000-0000-4000-8000-000000000000/activate`), 404, 'RestoreSessionNotFound');
    expectGraphError(await s.request('POST', `${BASE}/restoreSessions/x/activate`), 400, 'InvalidRestoreSessionId');
    const empty = await newSession({});
    expectGraphError(await s.request('POST', `${BASE}/restoreSessions/${empty}/activate`), 400, 'InvalidArtifactRequest');
  });

  /** Moves one artifact as the restore engine does, through the transition table, and re-derives the session. */
  async function move(sessionId: string, artifactId: string, to: ArtifactStatus) {
    await s.app.core.store.write(async (trx) => {
      const a = await trx.selectFrom('restore_artifacts').select('status').where('id', '=', artifactId).executeTakeFirstOrThrow();
      assert.ok(canMoveArtifact(a.status, to), `${a.status} → ${to}`);
      await trx.updateTable('restore_artifacts').set({ status: to }).where('id', '=', artifactId).execute();
      await service.refreshSession(trx, s.tenantId, sessionId);
    });
  }
  const state = async (id: string, prefer = false) => {
    const r = await get(`${SESSIONS}/${id}`, { headers: prefer ? { prefer: 'include-unknown-enum-members' } : {} });
    return [r.body.status, r.body.restoreSessionArtifactCount, r.body.completedDateTime] as const;
  };

  test('activating → active → completedWithError, with running counts and completedDateTime at the end', async () => {
    const id = await newSession();
    await s.request('POST', `${BASE}/restoreSessions/${id}/activate`);
    const [a, b] = (await artifactsOf(id)).map((x) => x.id);
    await move(id, a, 'scheduled');
    assert.deepEqual(await state(id), ['activating', count(2, 0, 2, 0), null]);
    await move(id, b, 'scheduled');
    await move(id, a, 'inProgress');
    assert.deepEqual(await state(id), ['active', count(2, 0, 2, 0), null]);
    await move(id, a, 'succeeded');
    assert.deepEqual(await state(id), ['active', count(2, 1, 1, 0), null]);
    await move(id, b, 'inProgress');
    await move(id, b, 'failed');
    const [status, c, completed] = await state(id);
    assert.deepEqual([status, c], ['completedWithError', count(2, 1, 0, 1)]);
    assert.match(completed!, ISO);
  });

  test('all artifacts succeeded → completed; all failed → failed, evolvable (unknownFutureValue without Prefer)', async () => {
    const ok = await newSession();
    await s.request('POST', `${BASE}/restoreSessions/${ok}/activate`);
    for (const x of await artifactsOf(ok)) for (const to of ['scheduled', 'inProgress', 'succeeded'] as const) await move(ok, x.id, to);
    assert.equal((await state(ok))[0], 'completed');
    assert.deepEqual((await state(ok))[1], count(2, 2, 0, 0));
    for (const action of [
      () => s.request('POST', `${BASE}/restoreSessions/${ok}/activate`),
      () => s.request('DELETE', `${BASE}/restoreSessions/${ok}`),
      () => s.request('PATCH', `${SESSIONS}/${ok}`, { body: { 'mailboxRestoreArtifacts@delta': [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] } }),
    ]) {
      expectGraphError(await action(), 403, 'RestoreSessionActionNotAllowed');
    }

    const bad = await newSession();
    await s.request('POST', `${BASE}/restoreSessions/${bad}/activate`);
    const [a, b] = (await artifactsOf(bad)).map((x) => x.id);
    await move(bad, a, 'failed');
    assert.equal((await state(bad))[0], 'active', 'a failure before others start makes the session active');
    await move(bad, b, 'scheduled');
    await move(bad, b, 'failed');
    assert.equal((await state(bad))[0], 'unknownFutureValue');
    assert.equal((await state(bad, true))[0], 'failed');
    assert.deepEqual((await state(bad))[1], count(2, 0, 0, 2));
    const filtered = await get(`${SESSIONS}?$filter=status eq 'failed'&$select=status`, { headers: { prefer: 'include-unknown-enum-members' } });
    assert.ok(filtered.body.value.some((v: any) => v.id === bad && v.status === 'failed'));
    assert.ok(filtered.body.value.every((v: any) => v.status === 'failed'));
    assert.ok(!canMoveArtifact('added', 'succeeded') && !canMoveArtifact('succeeded', 'inProgress') && !canMoveArtifact('failed', 'scheduled'));
  });

  test('$filter on status separates drafts from running sessions', async () => {
    const draft = await newSession();
    const running = await newSession();
    await s.request('POST', `${BASE}/restoreSessions/${running}/activate`);
    const r = await get(`${BASE}/restoreSessions?$filter=status eq 'activating' or status eq 'active'&$top=999`);
    const ids = r.body.value.map((v: any) => v.id);
    assert.ok(ids.includes(running) && !ids.includes(draft));
    assert.ok(r.body.value.every((v: any) => v.status === 'activating' || v.status === 'active'));
    const d = await get(`${SESSIONS}?$filter=status eq 'draft'&$top=999`);
    assert.ok(d.body.value.some((v: any) => v.id === draft) && d.body.value.every((v: any) => v.status === 'draft'));
    expectGraphError(await get(`${SESSIONS}?$filter=nope eq 1`), 400, 'BadRequest');
  });
});

describe('permissions and tenancy', () => {
  test('Restore.Read.All reads; writes need Restore.ReadWrite.All; other BackupRestore scopes are refused', async () => {
    const id = await newSession();
    const reader = await s.token({ roles: ['BackupRestore-Restore.Read.All'] });
    for (const path of [SESSIONS, `${SESSIONS}/${id}`, `${BASE}/restoreSessions`, `${BASE}/restoreSessions/${id}`, `${SESSIONS}/${id}/mailboxRestoreArtifacts`, `${SESSIONS}/${id}/granularMailboxRestoreArtifacts`, `${SESSIONS}/${id}/mailboxRestoreArtifactsBulkAdditionRequests`]) {
      assert.equal((await get(path, { token: reader })).status, 200, path);
    }
    const writes = [
      () => create(SEED1, { token: reader }),
      () => s.request('PATCH', `${SESSIONS}/${id}`, { token: reader, body: { 'mailboxRestoreArtifacts@delta': [] } }),
      () => s.request('DELETE', `${BASE}/restoreSessions/${id}`, { token: reader }),
      () => s.request('POST', `${BASE}/restoreSessions/${id}/activate`, { token: reader }),
      () => s.request('POST', `${SESSIONS}/${id}/mailboxRestoreArtifactsBulkAdditionRequests`, { token: reader, body: {} }),
    ];
    for (const w of writes) {
      const e = expectGraphError(await w(), 403, 'accessDenied');
      assert.match(e.message, /BackupRestore-Restore\.ReadWrite\.All/);
    }
    const writer = await s.token({ roles: ['BackupRestore-Restore.ReadWrite.All'] });
    assert.equal((await get(`${SESSIONS}/${id}`, { token: writer })).status, 200);
    assert.equal((await create(SEED1, { token: writer })).status, 201);
    const config = await s.token({ roles: ['BackupRestore-Configuration.ReadWrite.All', 'BackupRestore-Search.Read.All'] });
    expectGraphError(await get(SESSIONS, { token: config }), 403, 'accessDenied');
    expectGraphError(await create(SEED1, { token: config }), 403, 'accessDenied');
    const delegatedReader = await s.token({ userId: '11111111-1111-4111-8111-111111111111', scopes: ['BackupRestore-Restore.Read.All'] });
    assert.equal((await get(`${SESSIONS}/${id}`, { token: delegatedReader })).status, 200);
    expectGraphError(await create({}, { token: delegatedReader }), 403, 'accessDenied');
  });

  test('another tenant sees none of these sessions and cannot touch them', async () => {
    const id = await newSession();
    const other = await s.token({ tenantId: await s.newTenant() });
    expectGraphError(await get(`${SESSIONS}/${id}`, { token: other }), 404, 'RestoreSessionNotFound');
    expectGraphError(await get(`${BASE}/restoreSessions/${id}`, { token: other }), 404, 'RestoreSessionNotFound');
    expectGraphError(await get(`${SESSIONS}/${id}/mailboxRestoreArtifacts`, { token: other }), 404, 'RestoreSessionNotFound');
    expectGraphError(await s.request('PATCH', `${SESSIONS}/${id}`, { token: other, body: { 'mailboxRestoreArtifacts@delta': [{ '@removed': {}, id: 'x' }] } }), 404, 'RestoreSessionNotFound');
    expectGraphError(await s.request('DELETE', `${BASE}/restoreSessions/${id}`, { token: other }), 404, 'RestoreSessionNotFound');
    expectGraphError(await s.request('POST', `${BASE}/restoreSessions/${id}/activate`, { token: other }), 404, 'RestoreSessionNotFound');
    const list = await get(SESSIONS, { token: other });
    assert.deepEqual(list.body.value, []);
    assert.equal((await get(`${SESSIONS}/${id}`)).body.status, 'draft', 'untouched');
  });
});

describe('limits that need the whole tenant', () => {
  test('more than 25 running sessions: 500 TooManyActiveRestoreSessions', async () => {
    const running = await get(`${BASE}/restoreSessions?$filter=status eq 'activating' or status eq 'active'&$count=true&$top=1`);
    let n = running.body['@odata.count'] as number;
    assert.ok(n <= 25);
    while (n < 25) {
      const id = await newSession();
      assert.equal((await s.request('POST', `${BASE}/restoreSessions/${id}/activate`)).status, 200);
      n++;
    }
    const extra = await newSession();
    const e = expectGraphError(await s.request('POST', `${BASE}/restoreSessions/${extra}/activate`), 500, 'TooManyActiveRestoreSessions');
    assert.match(e.message, /25/);
    assert.equal((await get(`${SESSIONS}/${extra}`)).body.status, 'draft', 'the refused session stays a draft');
  });

  test('an expired restore point is InvalidRestorePoint', async () => {
    await s.advance('P400D');
    expectGraphError(await create(SEED1), 400, 'InvalidRestorePoint');
  });
});
