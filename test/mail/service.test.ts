/**
 * The mail area's contract with the other areas (core.services.mail and the mailChanged events),
 * exercised on a real server: every API change emits a complete snapshot inside its transaction,
 * and a snapshot written back with upsertMessages recreates the message exactly.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';
import type { MailChange } from '../../src/core.js';
import { mailService, type MailService } from '../../src/mail/service.js';

let s: TestServer;
let svc: MailService;
const events: MailChange[] = [];
before(async () => {
  s = await startServer();
  svc = mailService(s.app.core);
  s.app.core.events.mailChanged.on(async (trx, changes) => {
    // listeners run inside the emitting transaction: the change is visible through trx
    for (const c of changes.filter((c) => c.itemKind === 'message' && c.op === 'upsert')) {
      const row = await trx.selectFrom('messages').select('id').where('id', '=', c.itemId).executeTakeFirst();
      assert.ok(row, 'the row is written before the event');
    }
    events.push(...changes);
  });
});
after(() => s.close());

async function mailbox() {
  const tenantId = await s.newTenant();
  const token = await s.token({ tenantId });
  const r = await s.request('POST', '/v1.0/users', { token, body: { accountEnabled: true, displayName: 'Svc', mailNickname: 'svc', userPrincipalName: `svc${crypto.randomUUID().slice(0, 8)}@contoso.test`, passwordProfile: { password: 'Secret-123456' } } });
  return { tenantId, token, uid: r.body.id as string };
}

test('every change emits a complete snapshot; upsertMessages recreates a deleted message exactly', async () => {
  const { tenantId, token, uid } = await mailbox();
  const mark = events.length;
  const created = await s.request('POST', `/v1.0/users/${uid}/mailFolders/inbox/messages`, {
    token,
    body: { subject: 'Snapshot', body: { contentType: 'text', content: 'keep me' }, categories: ['Red category'], flag: { flagStatus: 'flagged' }, from: { emailAddress: { name: 'A', address: 'a@contoso.test' } }, singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }] },
  });
  const id = created.body.id;
  const ev = events.slice(mark).find((e) => e.itemId === id)!;
  assert.equal(ev.tenantId, tenantId);
  assert.equal(ev.mailboxId, uid);
  assert.equal(ev.op, 'upsert');
  assert.equal(ev.isDraft, false);
  assert.equal(ev.folderId, created.body.parentFolderId);
  const mime = Buffer.from(await (await fetch(`${s.base}/v1.0/users/${uid}/messages/${id}/$value`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
  assert.equal(ev.mimeSha256, crypto.createHash('sha256').update(mime).digest('hex'));
  const props = ev.props as Record<string, any>;
  for (const k of ['subject', 'bodyPreview', 'bodyContentType', 'from', 'sender', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'receivedDateTime', 'sentDateTime', 'createdDateTime', 'importance', 'isRead', 'isDraft', 'flag', 'categories', 'internetMessageId', 'conversationId', 'hasAttachments', 'changeKey', 'lastModifiedDateTime', 'parentFolderId']) {
    assert.ok(k in props, `snapshot has ${k}`);
  }
  assert.deepEqual(props.categories, ['Red category']);
  assert.deepEqual(props.flag, { flagStatus: 'flagged' });

  assert.equal((await s.request('DELETE', `/v1.0/users/${uid}/messages/${id}`, { token })).status, 204);
  const del = events.slice(mark).find((e) => e.itemId === id && e.op === 'delete')!;
  assert.deepEqual({ ...del, at: undefined }, { tenantId, mailboxId: uid, itemKind: 'message', itemId: id, op: 'delete', at: undefined, folderId: ev.folderId, props: null, mimeSha256: null, isDraft: false });

  // the restore engine's path: write the snapshot back
  await s.app.core.store.write((trx) => svc.upsertMessages(trx, tenantId, uid, [{ id, folderId: ev.folderId!, props: props as any, mimeSha256: ev.mimeSha256! }]));
  const back = await s.request('GET', `/v1.0/users/${uid}/messages/${id}`, { token });
  assert.equal(back.status, 200);
  for (const k of ['subject', 'body', 'from', 'receivedDateTime', 'sentDateTime', 'createdDateTime', 'internetMessageId', 'conversationId', 'categories', 'flag', 'isRead', 'isDraft', 'parentFolderId']) {
    assert.deepEqual(back.body[k], created.body[k], k);
  }
  assert.notEqual(back.body.changeKey, created.body.changeKey);
  const again = Buffer.from(await (await fetch(`${s.base}/v1.0/users/${uid}/messages/${id}/$value`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
  assert.deepEqual(again, mime);
});

test('folders: snapshots recreate folders with their ids; listFolders, wellKnownFolderId, createFolder', async () => {
  const { tenantId, token, uid } = await mailbox();
  const mark = events.length;
  const f = (await s.request('POST', `/v1.0/users/${uid}/mailFolders`, { token, body: { displayName: 'Keep' } })).body;
  const ev = events.slice(mark).find((e) => e.itemId === f.id)!;
  assert.equal(ev.itemKind, 'folder');
  assert.deepEqual({ ...(ev.props as object), createdDateTime: undefined, lastModifiedDateTime: undefined }, { displayName: 'Keep', parentFolderId: f.parentFolderId, wellKnownName: null, isHidden: false, createdDateTime: undefined, lastModifiedDateTime: undefined });
  await s.request('DELETE', `/v1.0/users/${uid}/mailFolders/${f.id}`, { token });
  await s.app.core.store.write((trx) => svc.upsertFolders(trx, tenantId, uid, [{ id: f.id, ...(ev.props as any) }]));
  assert.equal((await s.request('GET', `/v1.0/users/${uid}/mailFolders/${f.id}`, { token })).body.displayName, 'Keep');
  const folders = await svc.listFolders(tenantId, uid);
  assert.equal(folders.length, 9);
  const inbox = await svc.wellKnownFolderId(tenantId, uid, 'inbox');
  const sub = await s.app.core.store.write((trx) => svc.createFolder(trx, tenantId, uid, { parentId: inbox!, displayName: 'Sub' }));
  assert.equal((await s.request('GET', `/v1.0/users/${uid}/mailFolders/${sub.id}`, { token })).body.parentFolderId, inbox);
});

test('directory functions: findUser by id/UPN/mail incl. deleted, groupMemberIds, listMailboxIds, mailboxExists; iterateMessages', async () => {
  const { tenantId, token, uid } = await mailbox();
  const u = (await svc.findUser(tenantId, uid))!;
  assert.equal(u.deleted, false);
  assert.deepEqual((await svc.findUser(tenantId, u.userPrincipalName.toUpperCase()))?.id, uid);
  assert.deepEqual(await svc.listMailboxIds(tenantId), [uid]);
  const gid = (await s.request('POST', '/v1.0/groups', { token, body: { displayName: 'G', mailEnabled: false, mailNickname: 'g', securityEnabled: true, 'members@odata.bind': [`https://graph.microsoft.com/v1.0/users/${uid}`] } })).body.id;
  assert.deepEqual(await svc.groupMemberIds(tenantId, gid), [uid]);
  for (let i = 0; i < 5; i++) await s.request('POST', `/v1.0/users/${uid}/messages`, { token, body: { subject: `m${i}` } });
  const pages: number[] = [];
  for await (const page of svc.iterateMessages(tenantId, uid, 2)) pages.push(page.length);
  assert.deepEqual(pages, [2, 2, 1]);
  const inTrx = await s.app.core.store.write((trx) => svc.messagesInTrx(trx, tenantId, uid, { limit: 10 }));
  assert.equal(inTrx.length, 5);
  assert.equal(await svc.mailboxExists(tenantId, uid), true);
  await s.request('DELETE', `/v1.0/users/${uid}`, { token });
  assert.equal(await svc.mailboxExists(tenantId, uid), false);
  assert.deepEqual(await svc.listMailboxIds(tenantId), []);
  const gone = (await svc.findUser(tenantId, uid))!;
  assert.equal(gone.deleted, true);
  assert.ok(gone.deletedDateTime);
  assert.deepEqual(await svc.groupMemberIds(tenantId, gid), []);
  // the mailbox content stays for backups
  assert.equal(inTrx.length, (await s.app.core.store.db.selectFrom('messages').select('id').where('mailbox_id', '=', uid).execute()).length);
});

test('upsertMessages in bulk (1,234 in one call, as the restore engine writes): ids kept, one complete event each, moves logged for delta', async () => {
  const { tenantId, token, uid } = await mailbox();
  const inbox = (await svc.wellKnownFolderId(tenantId, uid, 'inbox'))!;
  const archive = (await svc.wellKnownFolderId(tenantId, uid, 'archive'))!;
  const N = 1234;
  const [sha] = await s.app.core.store.write((trx) => svc.putBlobs(trx, [Buffer.from('Subject: bulk\r\n\r\nbulk\r\n')]));
  const at = '2026-03-01T10:00:00.000Z';
  const who = { emailAddress: { name: 'Ann', address: 'Ann@Contoso.test' } };
  const snapshot = (i: number) => ({
    subject: `bulk ${i}`, bodyPreview: 'bulk', bodyContentType: 'text' as const, from: who, sender: who, toRecipients: [], ccRecipients: [], bccRecipients: [], replyTo: [],
    receivedDateTime: at, sentDateTime: at, createdDateTime: at, importance: 'normal' as const, isRead: i % 2 === 0, isDraft: false, isReadReceiptRequested: false,
    isDeliveryReceiptRequested: false, inferenceClassification: 'focused' as const, flag: { flagStatus: 'notFlagged' as const }, categories: [`c${i % 3}`],
    internetMessageId: `<bulk${i}@contoso.test>`, conversationId: 'AAQkAGbulk', hasAttachments: false,
    changeKey: 'stale', lastModifiedDateTime: at, parentFolderId: 'stale',
  });
  const ids = Array.from({ length: N }, (_, i) => `AAMkAGI2bulk${String(i).padStart(5, '0')}`);
  let mark = events.length;
  const first = await s.app.core.store.write((trx) => svc.upsertMessages(trx, tenantId, uid, ids.map((id, i) => ({ id, folderId: inbox, props: snapshot(i), mimeSha256: sha }))));
  const created = events.slice(mark);
  assert.deepEqual(created.map((e) => e.itemId), ids);
  assert.equal(new Set(created.map((e) => (e.props as any).changeKey)).size, N, 'a changeKey per item');
  created.forEach((e, i) => {
    assert.deepEqual(e.props, first[i].props, 'the event carries the stored snapshot');
    assert.deepEqual({ ...e.props, changeKey: undefined, lastModifiedDateTime: undefined }, { ...snapshot(i), changeKey: undefined, lastModifiedDateTime: undefined, parentFolderId: inbox });
    assert.equal((e.props as any).lastModifiedDateTime, e.at);
    assert.equal(e.folderId, inbox);
    assert.equal(e.mimeSha256, sha);
  });
  const folder = async (id: string) => (await s.request('GET', `/v1.0/users/${uid}/mailFolders/${id}`, { token })).body;
  assert.equal((await folder(inbox)).totalItemCount, N);
  const one = await s.request('GET', `/v1.0/users/${uid}/messages/${ids[7]}?$select=subject,from,categories,isRead,changeKey`, { token });
  assert.deepEqual([one.body.subject, one.body.from, one.body.categories, one.body.isRead, one.body.changeKey], ['bulk 7', who, ['c1'], false, first[7].props.changeKey]);

  // a delta round over the inbox, then the same ids again: the first 600 moved to the archive
  const prefer = { prefer: 'odata.maxpagesize=1000' };
  const drain = async (url: string | undefined) => {
    const items: any[] = [];
    let deltaLink = '';
    while (url) {
      const r = await s.request('GET', url, { token, headers: prefer });
      assert.equal(r.status, 200);
      items.push(...r.body.value);
      url = r.body['@odata.nextLink'];
      deltaLink = r.body['@odata.deltaLink'] ?? deltaLink;
    }
    return { items, deltaLink };
  };
  const initial = await drain(`/v1.0/users/${uid}/mailFolders/inbox/messages/delta?$select=subject`);
  assert.equal(initial.items.length, N);
  mark = events.length;
  const second = await s.app.core.store.write((trx) =>
    svc.upsertMessages(trx, tenantId, uid, ids.map((id, i) => ({ id, folderId: i < 600 ? archive : inbox, props: { ...snapshot(i), subject: `again ${i}` }, mimeSha256: sha }))),
  );
  assert.deepEqual(events.slice(mark).map((e) => [e.itemId, e.folderId]), ids.map((id, i) => [id, i < 600 ? archive : inbox]));
  second.forEach((m, i) => assert.notEqual(m.props.changeKey, first[i].props.changeKey));
  assert.equal((await folder(inbox)).totalItemCount, N - 600);
  assert.equal((await folder(archive)).totalItemCount, 600);
  const round = await drain(initial.deltaLink);
  const removed = round.items.filter((m) => m['@removed']).map((m) => m.id);
  assert.deepEqual(removed.sort(), ids.slice(0, 600));
  assert.deepEqual(round.items.filter((m) => !m['@removed']).map((m) => m.subject).sort(), ids.slice(600).map((_, k) => `again ${600 + k}`).sort());

  // other content in the same folder (a restore over encrypted mail), and back to the inbox with a new received time
  const [other] = await s.app.core.store.write((trx) => svc.putBlobs(trx, [Buffer.from('Subject: other\r\n\r\nother\r\n')]));
  await s.app.core.store.write((trx) =>
    svc.upsertMessages(trx, tenantId, uid, ids.map((id, i) => ({ id, folderId: inbox, props: { ...snapshot(i), receivedDateTime: i < 600 ? '2026-03-02T10:00:00.000Z' : at }, mimeSha256: i % 2 ? other : sha }))),
  );
  assert.equal((await folder(inbox)).totalItemCount, N);
  assert.equal((await folder(archive)).totalItemCount, 0);
  const value = async (id: string) => Buffer.from(await (await fetch(`${s.base}/v1.0/users/${uid}/messages/${id}/$value`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer()).toString();
  assert.equal(await value(ids[601]), 'Subject: other\r\n\r\nother\r\n');
  assert.equal(await value(ids[602]), 'Subject: bulk\r\n\r\nbulk\r\n');
  const newest = await s.request('GET', `/v1.0/users/${uid}/mailFolders/inbox/messages?$orderby=receivedDateTime desc&$top=1&$select=receivedDateTime`, { token });
  assert.equal(newest.body.value[0].receivedDateTime, '2026-03-02T10:00:00Z');
  const blobRefs = await s.app.core.store.db.selectFrom('messages').select('id').where('mime_sha256', '=', other).where('mailbox_id', '=', uid).execute();
  assert.equal(blobRefs.length, N / 2);
});

test('message content is stored once per SHA-256: the same MIME in two mailboxes and a copy share one blob', async () => {
  const a = await mailbox();
  const b = await mailbox();
  const mime = `Subject: shared ${crypto.randomUUID()}\r\nFrom: a@contoso.test\r\n\r\nthe same bytes\r\n`;
  const post = (x: { uid: string; token: string }) =>
    s.request('POST', `/v1.0/users/${x.uid}/mailFolders/inbox/messages`, { token: x.token, raw: Buffer.from(mime).toString('base64'), headers: { 'content-type': 'text/plain' } });
  const first = (await post(a)).body.id;
  await post(a);
  await post(b);
  await s.request('POST', `/v1.0/users/${a.uid}/messages/${first}/copy`, { token: a.token, body: { destinationId: 'archive' } });
  const sha = crypto.createHash('sha256').update(mime).digest('hex');
  const refs = await s.app.core.store.db.selectFrom('messages').select('mime_sha256').where('mime_sha256', '=', sha).execute();
  assert.equal(refs.length, 4);
  const blobs = await s.app.core.store.db.selectFrom('blobs').select(['sha256', 'size']).where('sha256', '=', sha).execute();
  assert.deepEqual(blobs.map((r) => [r.sha256, Number(r.size)]), [[sha, Buffer.byteLength(mime)]]);
});
