import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  BR,
  TICK_MS,
  alignToTick,
  listPoints,
  createFolder,
  createUser,
  deleteMessage,
  moveMessage,
  newTenant,
  ok,
  patchMessage,
  postMessage,
  protectMailboxes,
  removeUnit,
  unprotect,
  type Tenant,
} from '../helpers/protect.js';
import type { StateBatch, VaultService } from '../../src/vault/service.js';

const TICK = TICK_MS;

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

const vault = (srv: TestServer = s) => srv.app.services.vault as VaultService;

const isoOf = (ms: number) => new Date(ms).toISOString();

async function points(srv: TestServer, t: Tenant, unitId: string): Promise<string[]> {
  return (await listPoints(srv, t.app, unitId)).map((p) => p.protectionDateTime);
}

interface State {
  folders: Map<string, Record<string, unknown>>;
  messages: Map<string, { folderId: string | null; props: Record<string, unknown>; mimeSha256: string | null }>;
}

async function stateAt(srv: TestServer, tenantId: string, mailboxId: string, at: string): Promise<State> {
  const st: State = { folders: new Map(), messages: new Map() };
  let sawMessages = false;
  for await (const batch of vault(srv).stateAt(tenantId, mailboxId, at) as AsyncIterable<StateBatch>) {
    if (batch.folders) {
      assert.equal(sawMessages, false, 'folders come before messages');
      for (const f of batch.folders) st.folders.set(f.itemId, f.props);
    } else {
      sawMessages = true;
      for (const m of batch.messages) st.messages.set(m.itemId, { folderId: m.folderId, props: m.props, mimeSha256: m.mimeSha256 });
    }
  }
  return st;
}

const subjects = (st: State) => [...st.messages.values()].map((m) => m.props.subject).sort();

test('protection captures the whole mailbox, then every create, modify, move and delete, and each tick that saw a change gets a point', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Capture');
  const projects = await createFolder(s, t, u.id, 'Projects');
  const m1 = await postMessage(s, t, u.id, { subject: 'Alpha plan', attachment: true });
  const m2 = await postMessage(s, t, u.id, { subject: 'Beta notes' });
  await postMessage(s, t, u.id, { subject: 'Unsent draft', draft: true });

  const tick = await alignToTick(s, 1);
  const p = await protectMailboxes(s, t, [u.id]);
  const unitId = p.unitOf.get(u.id)!;
  const [begin] = await points(s, t, unitId);
  assert.ok(begin > isoOf(tick) && begin < isoOf(tick + TICK), 'the first point is when protection began, not a tick');

  const initial = await stateAt(s, t.id, u.id, begin);
  assert.deepEqual(subjects(initial), ['Alpha plan', 'Beta notes'], 'drafts are not captured');
  assert.equal(initial.folders.get(projects)?.displayName, 'Projects');
  assert.ok([...initial.folders.values()].some((f) => f.wellKnownName === 'inbox'));
  assert.match(String(initial.messages.get(m1)!.mimeSha256), /^[0-9a-f]{64}$/);

  // Tick 1: a new message and a modified one.
  const m3 = await postMessage(s, t, u.id, { subject: 'Gamma' });
  await patchMessage(s, t, u.id, m1, { categories: ['Blue category'], isRead: false });
  await s.advance('PT10M');
  // Tick 2: a move, a folder rename, a delete.
  await moveMessage(s, t, u.id, m2, projects);
  ok(await s.request('PATCH', `/v1.0/users/${u.id}/mailFolders/${projects}`, { token: t.app, body: { displayName: 'Projects 2024' } }), 200);
  await deleteMessage(s, t, u.id, m3);
  await s.advance('PT10M');
  // Tick 3: the folder goes, with what it holds.
  ok(await s.request('DELETE', `/v1.0/users/${u.id}/mailFolders/${projects}`, { token: t.app }), 204);
  await s.advance('PT10M');

  const t1 = isoOf(tick + TICK);
  const t2 = isoOf(tick + 2 * TICK);
  const t3 = isoOf(tick + 3 * TICK);
  assert.deepEqual(await points(s, t, unitId), [t3, t2, t1, begin]);

  const at1 = await stateAt(s, t.id, u.id, t1);
  assert.deepEqual(subjects(at1), ['Alpha plan', 'Beta notes', 'Gamma']);
  assert.equal(at1.messages.get(m1)!.props.isRead, false);
  assert.deepEqual(at1.messages.get(m1)!.props.categories, ['Blue category']);
  assert.deepEqual(initial.messages.get(m1)!.props.categories, []);
  const at2 = await stateAt(s, t.id, u.id, t2);
  assert.deepEqual(subjects(at2), ['Alpha plan', 'Beta notes']);
  assert.equal(at2.messages.get(m2)!.folderId, projects, 'the move is captured');
  assert.equal(at2.folders.get(projects)?.displayName, 'Projects 2024');
  const at3 = await stateAt(s, t.id, u.id, t3);
  assert.deepEqual(subjects(at3), ['Alpha plan']);
  assert.equal(at3.folders.has(projects), false);

  // History is immutable: earlier points still read as they were; a time between ticks reads as the tick before.
  assert.deepEqual(subjects(await stateAt(s, t.id, u.id, begin)), ['Alpha plan', 'Beta notes']);
  assert.deepEqual(subjects(await stateAt(s, t.id, u.id, isoOf(tick + TICK + 60_000))), subjects(at1));

  // messageVersionsAt: the asked items that existed then.
  const versions = await vault().messageVersionsAt(t.id, u.id, t1, [m1, m3, 'nope']);
  assert.deepEqual(versions.map((v) => [v.itemId, v.props.subject]), [
    [m1, 'Alpha plan'],
    [m3, 'Gamma'],
  ].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
});

test('drafts are never captured: creating, changing and deleting one makes no restore point', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Drafty');
  await postMessage(s, t, u.id, { subject: 'Kept' });
  const p = await protectMailboxes(s, t, [u.id]);
  const unitId = p.unitOf.get(u.id)!;
  const before = await points(s, t, unitId);
  const d = await postMessage(s, t, u.id, { subject: 'Work in progress', draft: true });
  await patchMessage(s, t, u.id, d, { subject: 'Still in progress' });
  await deleteMessage(s, t, u.id, d);
  await s.advance('PT30M');
  assert.deepEqual(await points(s, t, unitId), before);
  assert.deepEqual(subjects(await stateAt(s, t.id, u.id, '2999-01-01T00:00:00Z')), ['Kept']);
});

test('an idle mailbox gets no points; a busy one gets one per tick that saw changes, even when the clock jumps', async () => {
  const t = await newTenant(s);
  const busy = await createUser(s, t, 'Busy');
  const idle = await createUser(s, t, 'Idle');
  await alignToTick(s, 2);
  const p = await protectMailboxes(s, t, [busy.id, idle.id]);
  const busyUnit = p.unitOf.get(busy.id)!;
  const idleUnit = p.unitOf.get(idle.id)!;

  const tick = await alignToTick(s, 3);
  await postMessage(s, t, busy.id, { subject: 'one' });
  await s.advance('PT2M');
  await postMessage(s, t, busy.id, { subject: 'two' });
  // Twelve hours pass in one jump: the changes above make exactly one point, at the tick after them.
  await s.advance('PT12H');
  const busyPoints = await points(s, t, busyUnit);
  assert.equal(busyPoints.length, 2);
  assert.equal(busyPoints[0], isoOf(tick + TICK));
  assert.equal((await points(s, t, idleUnit)).length, 1, 'the idle mailbox has only its first point');

  // Changes in two different ticks, then another jump: two points.
  const tick2 = await alignToTick(s, 1);
  await postMessage(s, t, busy.id, { subject: 'three' });
  await s.advance('PT10M');
  await postMessage(s, t, busy.id, { subject: 'four' });
  await s.advance('P2D');
  const after = await points(s, t, busyUnit);
  assert.deepEqual(after.slice(0, 2), [isoOf(tick2 + 2 * TICK), isoOf(tick2 + TICK)]);
  assert.equal((await points(s, t, idleUnit)).length, 1);
  const rows = await s.app.core.store.db.selectFrom('restore_points').select('id').where('tenant_id', '=', t.id).execute();
  assert.equal(rows.length, 4 + 1, 'a point per change tick and per protection start, none per idle tick');
});

test('leaving protection stops capture and keeps the history; protecting again captures what changed meanwhile', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Leaver');
  const keep = await postMessage(s, t, u.id, { subject: 'Keep me' });
  const gone = await postMessage(s, t, u.id, { subject: 'Deleted while unprotected' });
  await alignToTick(s, 1);
  const p = await protectMailboxes(s, t, [u.id]);
  const unitId = p.unitOf.get(u.id)!;
  await postMessage(s, t, u.id, { subject: 'Last captured' });
  await unprotect(s, t, p.policyId);
  const [last, first] = await points(s, t, unitId);
  assert.ok(last > first);
  assert.ok(new Date(last).getTime() % TICK !== 0, 'the change just before protection ended is covered by a point at that moment');
  assert.deepEqual(subjects(await stateAt(s, t.id, u.id, last)), ['Deleted while unprotected', 'Keep me', 'Last captured']);

  await postMessage(s, t, u.id, { subject: 'Not captured' });
  await deleteMessage(s, t, u.id, gone);
  await s.advance('PT1H');
  assert.deepEqual(await points(s, t, unitId), [last, first], 'no capture, no points');
  assert.deepEqual(subjects(await stateAt(s, t.id, u.id, isoOf(Date.parse(last) + 3_600_000))), ['Deleted while unprotected', 'Keep me', 'Last captured']);

  // Protection resumes: the new first point shows the mailbox as it is now.
  ok(await s.request('POST', `${BR}/protectionPolicies/${p.policyId}/activate`, { token: t.app }), 202);
  await s.advance('PT1M');
  const [resumed] = await points(s, t, unitId);
  assert.ok(resumed > last);
  assert.deepEqual(subjects(await stateAt(s, t.id, u.id, resumed)), ['Keep me', 'Last captured', 'Not captured']);
  assert.ok((await stateAt(s, t.id, u.id, resumed)).messages.has(keep));
});

test('after a year points expire and garbage collection frees what only they needed', async () => {
  const g = await startServer();
  try {
    const t = await newTenant(g);
    const stays = await createUser(g, t, 'Stays');
    const leaves = await createUser(g, t, 'Leaves');
    const keep = await postMessage(g, t, stays.id, { subject: 'Permanent', attachment: true });
    const doomed = await postMessage(g, t, stays.id, { subject: 'Doomed', attachment: true });
    await postMessage(g, t, leaves.id, { subject: 'Leaver mail', attachment: true });
    const p = await protectMailboxes(g, t, [stays.id, leaves.id]);
    const unitId = p.unitOf.get(stays.id)!;
    const doomedSha = (await vault(g).messageVersionsAt(t.id, stays.id, '2999-01-01T00:00:00Z', [doomed]))[0].mimeSha256!;
    await patchMessage(g, t, stays.id, keep, { isRead: false });
    await deleteMessage(g, t, stays.id, doomed);
    await g.advance('PT10M');
    await removeUnit(g, t, p.unitOf.get(leaves.id)!);
    ok(await g.request('DELETE', `/v1.0/users/${leaves.id}`, { token: t.app }), 204);
    const pointIds = (await g.app.core.store.db.selectFrom('restore_points').select('id').where('tenant_id', '=', t.id).execute()).map((r) => r.id);
    assert.ok(pointIds.length >= 3);
    const expired = pointIds[0];
    assert.ok(await vault(g).getRestorePoint(t.id, expired));
    assert.equal((await g.request('GET', `${BR}/restorePoints/${expired}`, { token: t.app })).status, 200);

    await g.advance('P366D');
    assert.deepEqual(await points(g, t, unitId), [], 'expired points are gone from the list');
    assert.equal(await vault(g).getRestorePoint(t.id, expired), undefined);
    assert.equal((await g.request('GET', `${BR}/restorePoints/${expired}`, { token: t.app })).status, 404);
    const search = await g.request('POST', `${BR}/restorePoints/search`, {
      token: t.app,
      body: { protectionUnitIds: [unitId], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' } },
    });
    assert.deepEqual(ok(search, 200).noResultProtectionUnitIds, [unitId]);

    const report = ok(await g.request('GET', '/_mailvault/vault/gc', { token: g.adminToken }), 200).lastRun;
    assert.ok(report, 'the scheduled collection ran');
    assert.equal(report.expiredRestorePoints, pointIds.length);
    assert.ok(report.versionsRemoved >= 4, `versions removed: ${report.versionsRemoved}`);
    assert.ok(report.versionBytesFreed > 0);
    assert.ok(report.blobsRemoved >= 1, 'the deleted message frees its content');
    assert.ok(report.blobBytesFreed > 0);
    assert.equal(report.mailboxesForgotten, 1);
    const blobs = g.app.core.store.db.selectFrom('blobs').select('sha256');
    assert.equal((await blobs.where('sha256', '=', doomedSha).execute()).length, 0);

    // The protected mailbox keeps its current state for the points to come, and any recent tick is still a point of it.
    const now = (await g.request('GET', '/_mailvault/clock')).body.now;
    const st = await stateAt(g, t.id, stays.id, now);
    assert.deepEqual(subjects(st), ['Permanent']);
    assert.equal(st.messages.get(keep)!.props.isRead, false);
    const latest = ok(
      await g.request('POST', `${BR}/restorePoints/search`, {
        token: t.app,
        body: { protectionUnitIds: [unitId], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, restorePointPreference: 'latest' },
      }),
      200,
    ).searchResults[0].restorePoint;
    assert.equal(latest.protectionDateTime, new Date(Math.floor(Date.parse(now) / TICK) * TICK).toISOString());
    assert.deepEqual(subjects(await stateAt(g, t.id, stays.id, latest.protectionDateTime)), ['Permanent']);
    const left = await g.app.core.store.db.selectFrom('vault_versions').select('seq').where('tenant_id', '=', t.id).where('mailbox_id', '=', leaves.id).execute();
    assert.equal(left.length, 0);

    // A change now makes a new point that restores the retained state; an explicit run frees nothing more.
    await postMessage(g, t, stays.id, { subject: 'A new year' });
    await g.advance('PT10M');
    assert.equal((await points(g, t, unitId)).length, 2, 'the tick asked for above, and the change');
    const again = ok(await g.request('POST', '/_mailvault/vault/gc', { token: g.adminToken }), 200);
    assert.equal(again.versionsRemoved, 0);
    assert.equal(again.expiredRestorePoints, 0);
    assert.deepEqual(subjects(await stateAt(g, t.id, stays.id, (await points(g, t, unitId))[0])), ['A new year', 'Permanent']);
  } finally {
    await g.close();
  }
});
