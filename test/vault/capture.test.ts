/**
 * The capture, change by change: every kind of change to a protected mailbox's messages and folders is
 * a vault version as soon as the write answers, written in the write's own transaction; the vault stays
 * readable after the user and the unit are gone; a unit whose protection is being stopped is captured
 * until it is `unprotected`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  BR,
  createFolder,
  createUser,
  deleteMessage,
  listPoints,
  moveMessage,
  newTenant,
  ok,
  patchMessage,
  postMessage,
  protectMailboxes,
  removeUnit,
  type Tenant,
} from '../helpers/protect.js';
import { createPolicy, onboard, units } from '../helpers/protection.js';
import type { MailService } from '../../src/mail/service.js';
import type { VaultService } from '../../src/vault/service.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

const mail = (srv: TestServer = s) => srv.app.services.mail as MailService;
const vault = (srv: TestServer = s) => srv.app.services.vault as VaultService;
const clock = async (srv: TestServer = s): Promise<string> => (await srv.request('GET', '/_mailvault/clock')).body.now;

/** The versions of one item, in append order: [op, kind, folder_id]. */
async function versionsOf(srv: TestServer, tenantId: string, itemId: string): Promise<Array<[string, string, string | null]>> {
  const rows = await srv.app.core.store.db
    .selectFrom('vault_versions')
    .select(['op', 'item_kind', 'folder_id'])
    .where('tenant_id', '=', tenantId)
    .where('item_id', '=', itemId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => [r.op, r.item_kind, r.folder_id]);
}

async function latestProps(tenantId: string, mailboxId: string, itemId: string): Promise<Record<string, unknown>> {
  const row = await s.app.core.store.db
    .selectFrom('vault_versions')
    .select('props')
    .where('tenant_id', '=', tenantId)
    .where('mailbox_id', '=', mailboxId)
    .where('item_id', '=', itemId)
    .orderBy('seq', 'desc')
    .executeTakeFirstOrThrow();
  return JSON.parse(row.props!);
}

async function subjectsAt(srv: TestServer, tenantId: string, mailboxId: string, at: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of vault(srv).stateAt(tenantId, mailboxId, at)) for (const m of batch.messages ?? []) out.push(String(m.props.subject));
  return out.sort();
}

test('each create, modify, move and delete of a message or a folder is a version as soon as the write answers', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Changes');
  await protectMailboxes(s, t, [u.id]);
  const inbox = ok(await s.request('GET', `/v1.0/users/${u.id}/mailFolders/inbox`, { token: t.app }), 200).id;
  const root = (await mail().wellKnownFolderId(t.id, u.id, 'msgfolderroot'))!;
  const start = await clock();

  // Folders: create (top level and child), rename, move, then delete with what they hold.
  const projects = await createFolder(s, t, u.id, 'Projects');
  assert.deepEqual(await versionsOf(s, t.id, projects), [['upsert', 'folder', root]]);
  const q3 = ok(await s.request('POST', `/v1.0/users/${u.id}/mailFolders/${projects}/childFolders`, { token: t.app, body: { displayName: 'Q3' } }), 201).id;
  assert.deepEqual(await versionsOf(s, t.id, q3), [['upsert', 'folder', projects]]);
  ok(await s.request('PATCH', `/v1.0/users/${u.id}/mailFolders/${projects}`, { token: t.app, body: { displayName: 'Projects 2025' } }), 200);
  assert.equal((await versionsOf(s, t.id, projects)).length, 2);
  assert.equal((await latestProps(t.id, u.id, projects)).displayName, 'Projects 2025');
  // Graph's mail API here has no folder move; a restore moves folders through the mail service.
  const [q3Record] = (await mail().listFolders(t.id, u.id)).filter((f) => f.id === q3);
  await s.app.core.store.write((trx) => mail().upsertFolders(trx, t.id, u.id, [{ ...q3Record, parentFolderId: inbox }]));
  assert.deepEqual((await versionsOf(s, t.id, q3)).at(-1), ['upsert', 'folder', inbox], 'a folder move is captured');

  // Messages: create (in a folder), modify, add an attachment, move, copy, delete.
  const m = await postMessage(s, t, u.id, { subject: 'Budget', folderId: projects });
  assert.deepEqual(await versionsOf(s, t.id, m), [['upsert', 'message', projects]]);
  const created = await s.app.core.store.db.selectFrom('vault_versions').select('mime_sha256').where('item_id', '=', m).executeTakeFirstOrThrow();
  await patchMessage(s, t, u.id, m, { isRead: false, categories: ['Red category'] });
  assert.equal((await versionsOf(s, t.id, m)).length, 2);
  assert.deepEqual((await latestProps(t.id, u.id, m)).categories, ['Red category']);
  const modified = await s.app.core.store.db.selectFrom('vault_versions').select('mime_sha256').where('item_id', '=', m).orderBy('seq', 'desc').executeTakeFirstOrThrow();
  assert.equal(modified.mime_sha256, created.mime_sha256, 'a change of properties refers to the same content');
  const copies = await s.app.core.store.db.selectFrom('blobs').select('sha256').where('sha256', '=', created.mime_sha256!).execute();
  assert.equal(copies.length, 1, 'content is stored once per SHA-256');
  const attachment = { '@odata.type': '#microsoft.graph.fileAttachment', name: 'numbers.txt', contentType: 'text/plain', contentBytes: Buffer.from('42').toString('base64') };
  ok(await s.request('POST', `/v1.0/users/${u.id}/messages/${m}/attachments`, { token: t.app, body: attachment }), 201);
  assert.equal((await versionsOf(s, t.id, m)).length, 3);
  assert.equal((await latestProps(t.id, u.id, m)).hasAttachments, true);
  assert.equal(await moveMessage(s, t, u.id, m, q3), m);
  assert.deepEqual((await versionsOf(s, t.id, m)).at(-1), ['upsert', 'message', q3]);
  const copy = ok(await s.request('POST', `/v1.0/users/${u.id}/messages/${m}/copy`, { token: t.app, body: { destinationId: 'inbox' } }), 201).id;
  assert.notEqual(copy, m);
  assert.deepEqual(await versionsOf(s, t.id, copy), [['upsert', 'message', inbox]]);
  await deleteMessage(s, t, u.id, copy);
  assert.deepEqual((await versionsOf(s, t.id, copy)).at(-1), ['delete', 'message', inbox]);

  // Deleting a folder deletes its subtree: a tombstone for each folder and each message in it.
  await moveMessage(s, t, u.id, m, projects);
  const child = ok(await s.request('POST', `/v1.0/users/${u.id}/mailFolders/${projects}/childFolders`, { token: t.app, body: { displayName: 'Old' } }), 201).id;
  const inChild = await postMessage(s, t, u.id, { subject: 'Deep', folderId: child });
  ok(await s.request('DELETE', `/v1.0/users/${u.id}/mailFolders/${projects}`, { token: t.app }), 204);
  assert.deepEqual((await versionsOf(s, t.id, projects)).at(-1), ['delete', 'folder', root]);
  assert.deepEqual((await versionsOf(s, t.id, child)).at(-1), ['delete', 'folder', projects]);
  assert.deepEqual((await versionsOf(s, t.id, m)).at(-1), ['delete', 'message', projects]);
  assert.deepEqual((await versionsOf(s, t.id, inChild)).at(-1), ['delete', 'message', child]);
  assert.equal((await versionsOf(s, t.id, q3)).at(-1)![0], 'upsert', 'Q3 was moved out of the deleted folder');

  // A draft is never captured, whatever happens to it.
  const draft = await postMessage(s, t, u.id, { subject: 'Draft', draft: true });
  await patchMessage(s, t, u.id, draft, { subject: 'Draft 2' });
  await deleteMessage(s, t, u.id, draft);
  assert.deepEqual(await versionsOf(s, t.id, draft), []);

  // Every version carries the time of its change.
  const end = await clock();
  const times = await s.app.core.store.db.selectFrom('vault_versions').select('at').where('tenant_id', '=', t.id).where('at', '>=', start).execute();
  assert.equal(times.length, 17);
  assert.ok(times.every((v) => v.at <= end));
});

test('the capture commits with the change or not at all', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Atomic');
  await protectMailboxes(s, t, [u.id]);
  const inbox = (await mail().wellKnownFolderId(t.id, u.id, 'inbox'))!;
  const count = async (reader = s.app.core.store.db) =>
    Number((await reader.selectFrom('vault_versions').select((e) => e.fn.countAll().as('n')).where('tenant_id', '=', t.id).where('mailbox_id', '=', u.id).executeTakeFirstOrThrow()).n);
  const before = await count();
  let folderId = '';
  await assert.rejects(
    s.app.core.store.write(async (trx) => {
      folderId = (await mail().createFolder(trx, t.id, u.id, { parentId: inbox, displayName: 'Rolled back' })).id;
      assert.equal(await count(trx), before + 1, 'the version is written inside the change’s transaction');
      throw new Error('the change fails after its capture');
    }),
    /the change fails after its capture/,
  );
  assert.equal(await count(), before, 'a change that does not commit leaves no version');
  assert.deepEqual(await versionsOf(s, t.id, folderId), []);
  assert.equal((await mail().listFolders(t.id, u.id)).some((f) => f.id === folderId), false);
});

test('deleting the user and removing its unit leave its restore points, searches and history readable', async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Departed');
  const kept = await postMessage(s, t, u.id, { subject: 'Quarterly report', attachment: true });
  const p = await protectMailboxes(s, t, [u.id]);
  const unitId = p.unitOf.get(u.id)!;
  await postMessage(s, t, u.id, { subject: 'Quarterly plan' });
  await s.advance('PT10M');
  const before = await listPoints(s, t.app, unitId);
  assert.equal(before.length, 2);

  const readable = async (when: string) => {
    const list = await listPoints(s, t.app, unitId);
    assert.deepEqual(list.map((x) => x.id), before.map((x) => x.id), `${when}: the points are listed`);
    assert.equal(list[0].protectionUnit.id, unitId);
    const one = ok(await s.request('GET', `${BR}/restorePoints/${before[1].id}`, { token: t.app }), 200);
    assert.equal(one.protectionDateTime, before[1].protectionDateTime);
    const search = ok(
      await s.request('POST', `${BR}/restorePoints/search`, {
        token: t.app,
        body: {
          protectionUnitIds: [unitId],
          protectionTimePeriod: { startDateTime: before[1].protectionDateTime, endDateTime: before[0].protectionDateTime },
          artifactQuery: { artifactType: 'message', queryExpression: "Subject -like 'quarterly'" },
        },
      }),
      200,
    );
    assert.deepEqual(
      search.searchResults.map((r: any) => [r.restorePoint.id, r.artifactHitCount]),
      [[before[0].id, 2], [before[1].id, 1]],
      `${when}: granular search still counts`,
    );
    assert.deepEqual(await subjectsAt(s, t.id, u.id, before[0].protectionDateTime), ['Quarterly plan', 'Quarterly report']);
    const [version] = await vault().messageVersionsAt(t.id, u.id, before[1].protectionDateTime, [kept]);
    assert.equal(version.props.subject, 'Quarterly report');
  };

  ok(await s.request('DELETE', `/v1.0/users/${u.id}`, { token: t.app }), 204);
  await s.advance('PT10M');
  await readable('after the user was deleted');
  await removeUnit(s, t, unitId);
  await s.advance('PT1H');
  await readable('after the unit was removed');
});

test('a unit whose protection is being stopped is captured until it is unprotected, then no more', async () => {
  const r = await startServer({ timing: 'realistic' });
  try {
    const t: Tenant = await newTenant(r);
    const u = await createUser(r, t, 'Stopping');
    await onboard(r, t);
    const policy = await createPolicy(r, t, [u.id], 'Realistic policy');
    ok(await r.request('POST', `${BR}/protectionPolicies/${policy.id}/activate`, { token: t.app }), 202);
    await r.advance('PT61M');
    const [unit] = await units(r, t, policy.id);
    assert.equal(unit.status, 'protected');

    ok(await r.request('POST', `${BR}/protectionPolicies/${policy.id}/deactivate`, { token: t.app }), 202);
    await r.advance('PT5M');
    assert.equal((await units(r, t, policy.id))[0].status, 'unprotectRequested');
    const during = await postMessage(r, t, u.id, { subject: 'While stopping' });
    assert.equal((await versionsOf(r, t.id, during)).length, 1, 'still captured while the stop is pending');

    await r.advance('PT61M');
    assert.equal((await units(r, t, policy.id))[0].status, 'unprotected');
    const afterwards = await postMessage(r, t, u.id, { subject: 'After the stop' });
    assert.deepEqual(await versionsOf(r, t.id, afterwards), [], 'not captured once unprotected');
    const points = await listPoints(r, t.app, unit.id);
    assert.equal(points.length, 2, 'the start of protection and the tick after the pending change');
    assert.deepEqual(await subjectsAt(r, t.id, u.id, points[0].protectionDateTime), ['While stopping']);
    assert.deepEqual(await subjectsAt(r, t.id, u.id, await clock(r)), ['While stopping'], 'history stays');
  } finally {
    await r.close();
  }
});
