/**
 * What a restore writes, seen through the mail API: a restored message reads exactly as it did at
 * the restore point (every property, its content byte for byte, a new changeKey), unchanged messages
 * are not touched (same changeKey, absent from delta queries), a message moved back leaves its
 * folder's delta, copies in a new folder read as their originals, a restored message restores again
 * from a later point (its captured version shares the text it was written from), and an item whose
 * captured text is unreadable is reported without failing the mailbox.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { createFolder, createUser, moveMessage, newTenant, ok, patchMessage, pointAt, postMessage, protectMailboxes, type Tenant } from '../helpers/protect.js';
import { activate, artifacts, createSession, seedMessages, waitForSession } from './drill.js';
import type { MailService } from '../../src/mail/service.js';

let s: TestServer;
let t: Tenant;
before(async () => {
  s = await startServer();
  t = await newTenant(s);
});
after(() => s?.close());

/** The latest restore point of a unit now. */
const pointNow = async (unitId: string): Promise<string> => pointAt(s, t, unitId, await s.now());

async function restore(point: string, destinationType: 'inPlace' | 'new', kind = 'mailboxRestoreArtifacts'): Promise<{ session: any; artifact: any }> {
  const id = await createSession(s, t, { [kind]: [{ restorePoint: { id: point }, destinationType }] });
  await activate(s, t, id);
  const session = await waitForSession(s, t, id);
  return { session, artifact: (await artifacts(s, t, id))[0] };
}

const get = async (userId: string, id: string) => ok(await s.request('GET', `/v1.0/users/${userId}/messages/${id}`, { token: t.app }), 200);
const value = async (userId: string, id: string) => Buffer.from((await s.request('GET', `/v1.0/users/${userId}/messages/${id}/$value`, { token: t.app })).text);

/** A message as it reads, without what every write changes. */
function content(m: any): any {
  const { '@odata.etag': _e, '@odata.context': _c, changeKey: _k, lastModifiedDateTime: _l, ...rest } = m;
  return rest;
}

/** A delta query's link now, for a folder's messages. */
async function deltaLink(userId: string, folderId: string): Promise<string> {
  let r = ok(await s.request('GET', `/v1.0/users/${userId}/mailFolders/${folderId}/messages/delta`, { token: t.app }), 200);
  while (r['@odata.nextLink']) r = ok(await s.request('GET', r['@odata.nextLink'], { token: t.app }), 200);
  return r['@odata.deltaLink'];
}

async function deltaSince(link: string): Promise<{ changed: string[]; removed: string[] }> {
  const out = { changed: [] as string[], removed: [] as string[] };
  let r = ok(await s.request('GET', link, { token: t.app }), 200);
  for (;;) {
    for (const c of r.value) (c['@removed'] ? out.removed : out.changed).push(c.id);
    if (!r['@odata.nextLink']) break;
    r = ok(await s.request('GET', r['@odata.nextLink'], { token: t.app }), 200);
  }
  out.changed.sort();
  out.removed.sort();
  return out;
}

describe('in place', () => {
  let user: { id: string };
  let unitId: string;
  let inbox: string;
  let deleted: string;
  /** ids: a message edited, one deleted, one moved away, one left alone since the point. */
  let edited: string, gone: string, moved: string, kept: string;
  let atPoint: Map<string, any>;
  let valueAtPoint: Map<string, Buffer>;
  let point: string;

  before(async () => {
    user = await createUser(s, t, 'Rich');
    inbox = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/inbox`, { token: t.app }), 200).id;
    deleted = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/deleteditems`, { token: t.app }), 200).id;
    const rich = (subject: string) =>
      postMessage(s, t, user.id, { subject, from: 'Ärger.Team@Fabrikam.example', fromName: 'Ärger Team', to: ['a@contoso.example', 'b@contoso.example'], cc: ['c@contoso.example'], attachment: true, folderId: inbox });
    edited = await rich('Überweisung März');
    gone = await rich('Vertrag 2026');
    moved = await rich('Rechnung 17');
    kept = await rich('Protokoll');
    await patchMessage(s, t, user.id, edited, { categories: ['Blue category'], importance: 'high', flag: { flagStatus: 'flagged' } });
    unitId = (await protectMailboxes(s, t, [user.id])).unitOf.get(user.id)!;
    await s.advance('PT15M');
    point = await pointNow(unitId);
    atPoint = new Map();
    valueAtPoint = new Map();
    for (const id of [edited, gone, moved, kept]) {
      atPoint.set(id, await get(user.id, id));
      valueAtPoint.set(id, await value(user.id, id));
    }
    await s.advance('PT15M');
    await patchMessage(s, t, user.id, edited, { importance: 'low', isRead: true, categories: [], flag: { flagStatus: 'notFlagged' } });
    ok(await s.request('DELETE', `/v1.0/users/${user.id}/messages/${gone}`, { token: t.app }), 204);
    assert.equal(await moveMessage(s, t, user.id, moved, deleted), moved);
    await s.advance('PT15M');
  });

  test('restored messages read exactly as at the restore point, with their content byte for byte and a new changeKey; the unchanged one is not touched', async () => {
    const inboxDelta = await deltaLink(user.id, inbox);
    const deletedDelta = await deltaLink(user.id, deleted);
    const { session, artifact } = await restore(point, 'inPlace');
    assert.equal(session.status, 'completed');
    assert.equal(artifact.restoredItemCount, 3);
    for (const id of [edited, gone, moved]) {
      const now = await get(user.id, id);
      assert.deepEqual(content(now), content(atPoint.get(id)), 'every property as at the restore point');
      assert.notEqual(now.changeKey, atPoint.get(id).changeKey, 'a restored message has a new changeKey');
      assert.ok(now.lastModifiedDateTime > atPoint.get(id).lastModifiedDateTime);
    }
    assert.deepEqual(await get(user.id, kept), atPoint.get(kept), 'the unchanged message keeps its changeKey and lastModifiedDateTime');
    for (const id of [edited, gone, moved, kept]) assert.ok((await value(user.id, id)).equals(valueAtPoint.get(id)!), `$value of ${atPoint.get(id).subject}`);
    // The sender is found as before, in any case of its letters (Ä included: lower-cased as every write does).
    for (const address of ['ärger.team@fabrikam.example', 'ÄRGER.TEAM@FABRIKAM.EXAMPLE']) {
      const filter = encodeURIComponent(`from/emailAddress/address eq '${address}'`);
      const found = ok(await s.request('GET', `/v1.0/users/${user.id}/messages?$filter=${filter}&$select=id`, { token: t.app }), 200).value.map((m: any) => m.id);
      assert.deepEqual(found.sort(), [edited, gone, moved, kept].sort(), address);
    }

    // Delta: the Inbox lists the three restored messages, not the unchanged one; Deleted Items lists the moved one as removed.
    assert.deepEqual(await deltaSince(inboxDelta), { changed: [edited, gone, moved].sort(), removed: [] });
    assert.deepEqual(await deltaSince(deletedDelta), { changed: [], removed: [moved] });
  });

  test('restoring again when nothing differs writes nothing: no count, no delta entry', async () => {
    const inboxDelta = await deltaLink(user.id, inbox);
    const { session, artifact } = await restore(point, 'inPlace');
    assert.equal(session.status, 'completed');
    assert.equal(artifact.status, 'succeeded');
    assert.equal(artifact.restoredItemCount, 0);
    assert.deepEqual(await deltaSince(inboxDelta), { changed: [], removed: [] });
  });

  test('a restored message restores again from a later point (its captured version shares the text it was written from)', async () => {
    await s.advance('PT15M');
    const later = await pointNow(unitId);
    assert.notEqual(later, point);
    const shared = await s.app.core.store.db
      .selectFrom('vault_versions')
      .select(['props', 'props_seq'])
      .where('tenant_id', '=', t.id)
      .where('item_id', '=', gone)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    assert.deepEqual([shared.props, shared.props_seq !== null], [null, true], 'the restored version refers to the text it was written from');
    await s.advance('PT15M');
    for (const id of [edited, gone, moved, kept]) ok(await s.request('DELETE', `/v1.0/users/${user.id}/messages/${id}`, { token: t.app }), 204);
    await s.advance('PT15M');
    const { session, artifact } = await restore(later, 'inPlace');
    assert.equal(session.status, 'completed');
    assert.equal(artifact.restoredItemCount, 4);
    for (const id of [edited, gone, moved, kept]) assert.deepEqual(content(await get(user.id, id)), content(atPoint.get(id)));
  });
});

describe('to a new folder', () => {
  test('copies read as their originals did at the restore point, content byte for byte', async () => {
    const user = await createUser(s, t, 'Copies');
    const projects = await createFolder(s, t, user.id, 'Projects');
    const ids = [
      await postMessage(s, t, user.id, { subject: 'Plan A', from: 'X@Fabrikam.example', cc: ['c@contoso.example'], attachment: true, folderId: projects }),
      await postMessage(s, t, user.id, { subject: 'Plan B', from: 'y@fabrikam.example' }),
    ];
    await patchMessage(s, t, user.id, ids[1], { isRead: true, categories: ['Red category'] });
    const unitId = (await protectMailboxes(s, t, [user.id])).unitOf.get(user.id)!;
    await s.advance('PT15M');
    const point = await pointNow(unitId);
    const was = new Map<string, any>();
    for (const id of ids) was.set(id, await get(user.id, id));
    await s.advance('PT15M');
    for (const id of ids) ok(await s.request('DELETE', `/v1.0/users/${user.id}/messages/${id}`, { token: t.app }), 204);
    await s.advance('PT15M');
    const { artifact } = await restore(point, 'new');
    assert.equal(artifact.restoredItemCount, 2);
    const copies = ok(await s.request('GET', `/v1.0/users/${user.id}/messages?$top=100`, { token: t.app }), 200).value;
    assert.equal(copies.length, 2);
    for (const c of copies) {
      const original = [...was.values()].find((m) => m.subject === c.subject);
      assert.ok(original, c.subject);
      const { id: _i, parentFolderId: _p, webLink: _w, ...copy } = content(await get(user.id, c.id));
      const { id: _j, parentFolderId: _q, webLink: _x, ...orig } = content(original);
      assert.deepEqual(copy, orig);
      assert.notEqual(c.id, original.id);
    }
  });
});

test('a message whose preview holds a NUL character is restored like any other, in place and to a new folder', async () => {
  const user = await createUser(s, t, 'Nul');
  const inbox = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/inbox`, { token: t.app }), 200).id;
  const m = ok(
    await s.request('POST', `/v1.0/users/${user.id}/mailFolders/${inbox}/messages`, {
      token: t.app,
      body: { subject: 'Null', body: { contentType: 'html', content: '<p>before&#0;after</p>' }, singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }] },
    }),
    201,
  );
  assert.equal(m.bodyPreview, 'before\u0000after');
  const was = await get(user.id, m.id);
  const unitId = (await protectMailboxes(s, t, [user.id])).unitOf.get(user.id)!;
  await s.advance('PT15M');
  const point = await pointNow(unitId);
  await s.advance('PT15M');
  ok(await s.request('DELETE', `/v1.0/users/${user.id}/messages/${m.id}`, { token: t.app }), 204);
  await s.advance('PT15M');
  const copy = await restore(point, 'new');
  assert.deepEqual([copy.artifact.restoredItemCount, copy.artifact.error], [1, null]);
  const inPlace = await restore(point, 'inPlace');
  assert.deepEqual([inPlace.artifact.restoredItemCount, inPlace.artifact.error], [1, null]);
  assert.deepEqual(content(await get(user.id, m.id)), content(was));
  const again = await restore(point, 'inPlace');
  assert.deepEqual([again.artifact.restoredItemCount, again.artifact.error], [0, null], 'now unchanged, it is left alone');
  const found = ok(await s.request('GET', `/v1.0/users/${user.id}/messages?$filter=${encodeURIComponent("subject eq 'Null'")}&$select=id`, { token: t.app }), 200).value;
  assert.equal(found.length, 2, 'the copy and the original, found by their subject');
});

describe('unreadable captured versions', () => {
  test('an item whose captured text is unreadable is counted and reported; the others are restored', async () => {
    const user = await createUser(s, t, 'Damaged');
    const inbox = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/inbox`, { token: t.app }), 200).id;
    const seeded = await seedMessages(s.app.core, t.id, user.id, [inbox], 6);
    const unitId = (await protectMailboxes(s, t, [user.id])).unitOf.get(user.id)!;
    await s.advance('PT15M');
    const point = await pointNow(unitId);
    const pointTime = await s.now();
    await s.advance('PT15M');
    const [edited, ...deleted] = seeded;
    await patchMessage(s, t, user.id, edited.id, { isRead: true });
    for (const m of deleted) ok(await s.request('DELETE', `/v1.0/users/${user.id}/messages/${m.id}`, { token: t.app }), 204);
    await s.advance('PT15M');
    // Simulated storage damage: the captured text of a deleted and of an edited message is no longer JSON.
    const broken = [edited.id, deleted[1].id].sort();
    await s.app.core.store.write((trx) =>
      trx.updateTable('vault_versions').set({ props: '{"subject": "trunc' }).where('tenant_id', '=', t.id).where('item_id', 'in', broken).where('at', '<=', pointTime).execute(),
    );
    const { session, artifact } = await restore(point, 'inPlace');
    assert.equal(session.status, 'completed', JSON.stringify(artifact.error));
    assert.equal(artifact.status, 'succeeded');
    assert.equal(artifact.restoredItemCount, 4);
    assert.equal(artifact.error.code, 'UnknownError');
    assert.equal(artifact.error.message, '2 of 6 items could not be restored.');
    assert.deepEqual(
      artifact.error.details.map((d: any) => [d.code, d.target, d.message]).sort(),
      broken.map((id) => ['ItemNotRestored', id, 'The captured version of the item is not readable.']),
    );
    for (const m of deleted) assert.equal((await s.request('GET', `/v1.0/users/${user.id}/messages/${m.id}`, { token: t.app })).status, m.id === deleted[1].id ? 404 : 200);
    assert.equal((await get(user.id, edited.id)).isRead, true, 'the edited message stays as it is');
  });

  test('a message written back from a text that is not there fails instead of passing for written', async () => {
    const user = await createUser(s, t, 'Missing');
    const inbox = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/inbox`, { token: t.app }), 200).id;
    const link = await deltaLink(user.id, inbox);
    const mail = s.app.services.mail as MailService;
    const write = s.app.core.store.write((trx) =>
      mail.upsertStoredMessages(trx, t.id, user.id, [{ id: 'AAMkAGI2missing', folderId: inbox, mimeSha256: 'none', textKey: 2 ** 40 }], {
        table: 'vault_versions',
        key: 'seq',
        column: 'props',
      }),
    );
    await assert.rejects(write, /1 of 1 snapshot texts were not found/);
    assert.deepEqual(await deltaSince(link), { changed: [], removed: [] });
  });
});
