/**
 * The mail area's contract with the other areas (core.services.mail and the mailChanged events),
 * exercised on a real server: every API change emits a complete snapshot inside its transaction,
 * and a snapshot written back with upsertMessages recreates the message exactly.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, type TestServer } from './helpers/server.js';
import type { MailChange } from '../src/core.js';
import { mailService, type MailService } from '../src/mail/service.js';

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
  const tenantId = s.newTenant();
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
