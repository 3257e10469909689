import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestResponse, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

interface Box {
  tenantId: string;
  token: string;
  uid: string;
  upn: string;
  /** `/v1.0/users/{uid}` */
  u: string;
}

let counter = 0;
/** A fresh tenant with one user (and so one mailbox). */
async function box(): Promise<Box> {
  const tenantId = await s.newTenant();
  const token = await s.token({ tenantId });
  const upn = `user${++counter}@contoso.test`;
  const r = await s.request('POST', '/v1.0/users', {
    token,
    body: { accountEnabled: true, displayName: 'Mail User', mailNickname: `user${counter}`, userPrincipalName: upn, passwordProfile: { password: 'Secret-123456' } },
  });
  assert.equal(r.status, 201);
  return { tenantId, token, uid: r.body.id, upn, u: `/v1.0/users/${r.body.id}` };
}

const MIME = [
  'From: Pat Smith <pat@fabrikam.example>',
  'To: Mail User <user@contoso.test>',
  'Cc: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@contoso.test>',
  'Subject: =?UTF-8?Q?Quarterly_r=C3=A9view?=',
  'Date: Tue, 03 Nov 2026 09:15:00 +0000',
  'Message-ID: <q3-review@fabrikam.example>',
  'Importance: High',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Numbers are up =E2=80=94 see the attachment.',
  '--b1',
  'Content-Type: text/csv; name="q3.csv"',
  'Content-Disposition: attachment; filename="q3.csv"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('a,b\n1,2\n').toString('base64'),
  '--b1--',
  '',
].join('\r\n');

const MESSAGE_KEYS = [
  '@odata.context', '@odata.etag', 'id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'receivedDateTime', 'sentDateTime',
  'hasAttachments', 'internetMessageId', 'subject', 'bodyPreview', 'importance', 'parentFolderId', 'conversationId', 'isDeliveryReceiptRequested',
  'isReadReceiptRequested', 'isRead', 'isDraft', 'webLink', 'inferenceClassification', 'body', 'sender', 'from', 'toRecipients', 'ccRecipients',
  'bccRecipients', 'replyTo', 'flag',
];

async function folderId(b: Box, name: string): Promise<string> {
  const r = await s.request('GET', `${b.u}/mailFolders/${name}`, { token: b.token });
  assert.equal(r.status, 200);
  return r.body.id;
}

async function postMime(b: Box, folder: string, mime: string) {
  return s.request('POST', `${b.u}/mailFolders/${folder}/messages`, { token: b.token, raw: Buffer.from(mime).toString('base64'), headers: { 'content-type': 'text/plain' } });
}

test('a new mailbox has the well-known folders; folders list with exact shape and counts', async () => {
  const b = await box();
  const r = await s.request('GET', `${b.u}/mailFolders`, { token: b.token });
  assert.equal(r.status, 200);
  assert.equal(r.body['@odata.context'], `${s.base}/v1.0/$metadata#users('${b.uid}')/mailFolders`);
  assert.deepEqual(r.body.value.map((f: any) => f.displayName), ['Archive', 'Deleted Items', 'Drafts', 'Inbox', 'Junk Email', 'Outbox', 'Sent Items']);
  const root = await s.request('GET', `${b.u}/mailFolders/msgfolderroot`, { token: b.token });
  const inbox = r.body.value.find((f: any) => f.displayName === 'Inbox');
  assert.deepEqual(inbox, { id: inbox.id, displayName: 'Inbox', parentFolderId: root.body.id, childFolderCount: 0, unreadItemCount: 0, totalItemCount: 0, sizeInBytes: 0, isHidden: false });
  for (const wk of ['inbox', 'drafts', 'sentitems', 'deleteditems', 'junkemail', 'archive', 'outbox', 'Inbox', 'SENTITEMS']) {
    assert.equal((await s.request('GET', `${b.u}/mailFolders/${wk}`, { token: b.token })).status, 200, wk);
  }
  assert.equal((await s.request('GET', `/v1.0/users/${b.upn}/mailFolders/inbox`, { token: b.token })).body.id, inbox.id);
  const page = await s.request('GET', `${b.u}/mailFolders?$top=3`, { token: b.token });
  assert.equal(page.body.value.length, 3);
  const rest = await s.request('GET', page.body['@odata.nextLink'], { token: b.token });
  assert.equal(rest.body.value.length, 3);
  const last = await s.request('GET', rest.body['@odata.nextLink'], { token: b.token });
  assert.equal(last.body.value.length, 1);
  assert.equal(last.body['@odata.nextLink'], undefined);
});

test('folders: create, child folders, rename, duplicate names, delete with contents, distinguished folders stay', async () => {
  const b = await box();
  const c = await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'Projects' } });
  assert.equal(c.status, 201);
  const root = await folderId(b, 'msgfolderroot');
  assert.deepEqual(c.body, {
    '@odata.context': `${s.base}/v1.0/$metadata#users('${b.uid}')/mailFolders/$entity`,
    id: c.body.id, displayName: 'Projects', parentFolderId: root, childFolderCount: 0, unreadItemCount: 0, totalItemCount: 0, sizeInBytes: 0, isHidden: false,
  });
  assert.equal(c.headers.get('location'), `${s.base}/v1.0/users/${b.uid}/mailFolders/${c.body.id}`);
  expectGraphError(await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'projects' } }), 409, 'ErrorFolderExists');
  expectGraphError(await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: '' } }), 400, 'ErrorInvalidRequest');
  expectGraphError(await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'X', color: 'red' } }), 400, 'BadRequest');
  const child = await s.request('POST', `${b.u}/mailFolders/${c.body.id}/childFolders`, { token: b.token, body: { displayName: 'Mark 8', isHidden: false } });
  assert.equal(child.status, 201);
  assert.equal(child.body.parentFolderId, c.body.id);
  const kids = await s.request('GET', `${b.u}/mailFolders/${c.body.id}/childFolders`, { token: b.token });
  assert.equal(kids.body['@odata.context'], `${s.base}/v1.0/$metadata#users('${b.uid}')/mailFolders('${c.body.id}')/childFolders`);
  assert.deepEqual(kids.body.value.map((f: any) => f.id), [child.body.id]);
  assert.equal((await s.request('GET', `${b.u}/mailFolders/${c.body.id}`, { token: b.token })).body.childFolderCount, 1);
  const m = await postMime(b, child.body.id, MIME);
  assert.equal(m.status, 201);
  const renamed = await s.request('PATCH', `${b.u}/mailFolders/${c.body.id}`, { token: b.token, body: { displayName: 'Old projects' } });
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.displayName, 'Old projects');
  expectGraphError(await s.request('PATCH', `${b.u}/mailFolders/${c.body.id}`, { token: b.token, body: { displayName: 'Inbox' } }), 409, 'ErrorFolderExists');
  const del = await s.request('DELETE', `${b.u}/mailFolders/${c.body.id}`, { token: b.token });
  assert.equal(del.status, 204);
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/${child.body.id}`, { token: b.token }), 404, 'ErrorItemNotFound');
  expectGraphError(await s.request('GET', `${b.u}/messages/${m.body.id}`, { token: b.token }), 404, 'ErrorItemNotFound');
  const e = expectGraphError(await s.request('DELETE', `${b.u}/mailFolders/inbox`, { token: b.token }), 400, 'ErrorDeleteDistinguishedFolder');
  assert.equal(e.message, 'Distinguished folders cannot be deleted.');
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/AQMkADAwUNKNOWN`, { token: b.token }), 404, 'ErrorItemNotFound');
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/${encodeURIComponent('bad id!')}`, { token: b.token }), 400, 'ErrorInvalidIdMalformed');
  const hidden = await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'Secret', isHidden: true } });
  assert.equal(hidden.body.isHidden, true);
  const visible = await s.request('GET', `${b.u}/mailFolders?$top=50`, { token: b.token });
  assert.ok(!visible.body.value.some((f: any) => f.id === hidden.body.id));
  const all = await s.request('GET', `${b.u}/mailFolders?$top=50&includeHiddenFolders=true`, { token: b.token });
  assert.ok(all.body.value.some((f: any) => f.id === hidden.body.id));
});

test('a JSON POST creates a draft in Drafts with the Graph message shape; its MIME is composed', async () => {
  const b = await box();
  const r = await s.request('POST', `${b.u}/messages`, {
    token: b.token,
    body: {
      subject: 'Did you see last night\'s game?',
      importance: 'Low',
      body: { contentType: 'HTML', content: '<p>They were <b>awesome</b>!</p>' },
      toRecipients: [{ emailAddress: { address: 'AdeleV@contoso.com' } }],
    },
  });
  expectGraphError(r, 400, 'BadRequest');
  const c = await s.request('POST', `${b.u}/messages`, {
    token: b.token,
    body: {
      subject: 'Did you see last night\'s game?',
      importance: 'low',
      body: { contentType: 'html', content: '<p>They were <b>awesome</b>!</p>' },
      toRecipients: [{ emailAddress: { name: 'Adele', address: 'AdeleV@contoso.com' } }],
      bccRecipients: [{ emailAddress: { address: 'boss@contoso.com' } }],
      categories: ['Red category'],
    },
  });
  assert.equal(c.status, 201);
  assert.deepEqual(Object.keys(c.body), MESSAGE_KEYS);
  const drafts = await folderId(b, 'drafts');
  const m = c.body;
  assert.equal(m['@odata.context'], `${s.base}/v1.0/$metadata#users('${b.uid}')/messages/$entity`);
  assert.equal(m['@odata.etag'], `W/"${m.changeKey}"`);
  assert.equal(c.headers.get('location'), `${s.base}/v1.0/users/${b.uid}/messages/${m.id}`);
  assert.match(m.id, /^AAMkAGI2[A-Za-z0-9_-]+$/);
  assert.deepEqual(
    { ...m, '@odata.context': undefined, '@odata.etag': undefined, id: undefined, changeKey: undefined, createdDateTime: undefined, lastModifiedDateTime: undefined, receivedDateTime: undefined, internetMessageId: undefined, conversationId: undefined, webLink: undefined },
    {
      '@odata.context': undefined, '@odata.etag': undefined, id: undefined, changeKey: undefined, createdDateTime: undefined, lastModifiedDateTime: undefined, receivedDateTime: undefined, internetMessageId: undefined, conversationId: undefined, webLink: undefined,
      categories: ['Red category'],
      sentDateTime: null,
      hasAttachments: false,
      subject: "Did you see last night's game?",
      bodyPreview: 'They were awesome!',
      importance: 'low',
      parentFolderId: drafts,
      isDeliveryReceiptRequested: false,
      isReadReceiptRequested: false,
      isRead: true,
      isDraft: true,
      inferenceClassification: 'focused',
      body: { contentType: 'html', content: '<p>They were <b>awesome</b>!</p>' },
      sender: null,
      from: null,
      toRecipients: [{ emailAddress: { name: 'Adele', address: 'AdeleV@contoso.com' } }],
      ccRecipients: [],
      bccRecipients: [{ emailAddress: { name: 'boss@contoso.com', address: 'boss@contoso.com' } }],
      replyTo: [],
      flag: { flagStatus: 'notFlagged' },
    },
  );
  assert.match(m.internetMessageId, /^<[^>]+>$/);
  assert.match(m.createdDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const v = await s.request('GET', `${b.u}/messages/${m.id}/$value`, { token: b.token });
  assert.equal(v.status, 200);
  assert.match(v.text, /^Importance: Low\r\n/m);
  assert.match(v.text, /^To: Adele <AdeleV@contoso.com>\r\n/m);
  assert.match(v.text, /^Bcc: boss@contoso.com\r\n/m);
  assert.match(v.text, new RegExp(`^Message-ID: ${m.internetMessageId}\r\n`, 'm'));
  assert.match(v.text, /<p>They were <b>awesome<\/b>!<\/p>/);
  const g = await s.request('GET', `${b.u}/messages/${m.id}`, { token: b.token });
  assert.deepEqual(g.body, m);
  const text = await s.request('GET', `${b.u}/messages/${m.id}?$select=body`, { token: b.token, headers: { prefer: 'outlook.body-content-type="text"' } });
  assert.deepEqual(text.body.body, { contentType: 'text', content: 'They were awesome!' });
  assert.equal(text.headers.get('preference-applied'), 'outlook.body-content-type="text"');
  const sel = await s.request('GET', `${b.u}/messages/${m.id}?$select=subject,isDraft`, { token: b.token });
  assert.deepEqual(sel.body, { '@odata.context': m['@odata.context'], '@odata.etag': m['@odata.etag'], id: m.id, subject: m.subject, isDraft: true });
});

test('MIME POSTed as base64 text/plain makes a non-draft message whose $value is the exact bytes', async () => {
  const b = await box();
  const r = await postMime(b, 'inbox', MIME);
  assert.equal(r.status, 201);
  const inbox = await folderId(b, 'inbox');
  const m = r.body;
  assert.equal(m.isDraft, false);
  assert.equal(m.isRead, false);
  assert.equal(m.subject, 'Quarterly réview');
  assert.equal(m.bodyPreview, 'Numbers are up — see the attachment.');
  assert.deepEqual(m.body, { contentType: 'text', content: 'Numbers are up — see the attachment.' });
  assert.deepEqual(m.from, { emailAddress: { name: 'Pat Smith', address: 'pat@fabrikam.example' } });
  assert.deepEqual(m.sender, m.from);
  assert.deepEqual(m.ccRecipients, [{ emailAddress: { name: 'Jürgen', address: 'jurgen@contoso.test' } }]);
  assert.equal(m.sentDateTime, '2026-11-03T09:15:00Z');
  assert.equal(m.receivedDateTime, '2026-11-03T09:15:00Z');
  assert.equal(m.internetMessageId, '<q3-review@fabrikam.example>');
  assert.equal(m.importance, 'high');
  assert.equal(m.hasAttachments, true);
  assert.equal(m.parentFolderId, inbox);
  const v = await fetch(`${s.base}${b.u}/messages/${m.id}/$value`, { headers: { authorization: `Bearer ${b.token}` } });
  assert.equal(v.status, 200);
  assert.deepEqual(Buffer.from(await v.arrayBuffer()), Buffer.from(MIME));
  // posted to /messages it lands in Drafts (as Graph does) but stays a non-draft
  const d = await s.request('POST', `${b.u}/messages`, { token: b.token, raw: Buffer.from(MIME).toString('base64'), headers: { 'content-type': 'text/plain' } });
  assert.equal(d.body.parentFolderId, await folderId(b, 'drafts'));
  expectGraphError(await s.request('POST', `${b.u}/messages`, { token: b.token, raw: 'not base64 ***', headers: { 'content-type': 'text/plain' } }), 400, 'ErrorMimeContentInvalidBase64String');
  expectGraphError(await s.request('POST', `${b.u}/messages`, { token: b.token, raw: Buffer.from('just some words\n').toString('base64'), headers: { 'content-type': 'text/plain' } }), 400, 'ErrorMimeContentInvalid');
  expectGraphError(await s.request('POST', `${b.u}/messages`, { token: b.token, raw: '<xml/>', headers: { 'content-type': 'application/xml' } }), 415, 'UnsupportedMediaType');
});

test('PR_MESSAGE_FLAGS (Integer 0x0E07) without the unsent bit makes a sent/received message, as restore tools do', async () => {
  const b = await box();
  const r = await s.request('POST', `${b.u}/mailFolders/inbox/messages`, {
    token: b.token,
    body: {
      subject: 'Restored',
      body: { contentType: 'text', content: 'Back again' },
      from: { emailAddress: { name: 'Lee Gu', address: 'lee@contoso.test' } },
      toRecipients: [{ emailAddress: { address: 'user@contoso.test' } }],
      internetMessageId: '<restored-1@contoso.test>',
      singleValueExtendedProperties: [
        { id: 'Integer 0x0E07', value: '1' },
        { id: 'SystemTime 0x0E06', value: '2026-01-02T03:04:05Z' },
        { id: 'SystemTime 0x0039', value: '2026-01-02T03:00:00Z' },
      ],
    },
  });
  assert.equal(r.status, 201);
  assert.equal(r.body.isDraft, false);
  assert.equal(r.body.isRead, true);
  assert.equal(r.body.receivedDateTime, '2026-01-02T03:04:05Z');
  assert.equal(r.body.sentDateTime, '2026-01-02T03:00:00Z');
  assert.equal(r.body.internetMessageId, '<restored-1@contoso.test>');
  assert.deepEqual(r.body.sender, { emailAddress: { name: 'Lee Gu', address: 'lee@contoso.test' } });
  const unread = await s.request('POST', `${b.u}/mailFolders/inbox/messages`, { token: b.token, body: { subject: 'x', singleValueExtendedProperties: [{ id: 'Integer 0x0e07', value: '0' }] } });
  assert.deepEqual([unread.body.isDraft, unread.body.isRead], [false, false]);
  const draft = await s.request('POST', `${b.u}/mailFolders/inbox/messages`, { token: b.token, body: { subject: 'x', singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '9' }] } });
  assert.equal(draft.body.isDraft, true);
  expectGraphError(await s.request('POST', `${b.u}/messages`, { token: b.token, body: { singleValueExtendedProperties: [{ id: 'nonsense', value: '1' }] } }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', `${b.u}/messages`, { token: b.token, body: { singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: 'one' }] } }), 400, 'BadRequest');
});

test('SystemTime 0x0E06 / 0x0039 with a day that does not exist is a 400 and creates nothing; a leap day is kept, no offset is UTC', async () => {
  const b = await box();
  const post = (id: string, value: string) =>
    s.request('POST', `${b.u}/mailFolders/inbox/messages`, { token: b.token, body: { subject: 'x', singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }, { id, value }] } });
  for (const [id, value] of [['SystemTime 0x0E06', '2024-02-30T00:00:00Z'], ['SystemTime 0x0039', '2023-02-29T12:00:00Z'], ['SystemTime 0x0e06', '2024-04-31']]) {
    assert.equal(expectGraphError(await post(id, value), 400, 'BadRequest').message, `The value of extended property '${id}' must be a date and time.`);
  }
  assert.deepEqual((await s.request('GET', `${b.u}/messages`, { token: b.token })).body.value, [], 'no message was created');
  const r = await s.request('POST', `${b.u}/mailFolders/inbox/messages`, {
    token: b.token,
    body: { subject: 'Leap', singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }, { id: 'SystemTime 0x0E06', value: '2024-02-29T10:00:00Z' }, { id: 'SystemTime 0x0039', value: '2024-02-29T09:00:00' }] },
  });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual([r.body.receivedDateTime, r.body.sentDateTime], ['2024-02-29T10:00:00Z', '2024-02-29T09:00:00Z']);
});

test('malformed message bodies are 400 naming the problem', async () => {
  const b = await box();
  const bad = async (body: unknown, re: RegExp) => assert.match(expectGraphError(await s.request('POST', `${b.u}/messages`, { token: b.token, body }), 400, 'BadRequest').message, re);
  await bad({ subjekt: 'x' }, /subjekt/);
  await bad({ toRecipients: 'a@b.c' }, /toRecipients/);
  await bad({ toRecipients: [{ emailAddress: { address: 'not-an-address' } }] }, /toRecipients/);
  await bad({ importance: 'urgent' }, /importance/);
  await bad({ body: { contentType: 'rtf', content: 'x' } }, /contentType/);
  await bad({ isRead: 'yes' }, /isRead/);
  await bad({ flag: { flagStatus: 'maybe' } }, /flagStatus/);
  await bad({ flag: { flagStatus: 'flagged', dueDateTime: { dateTime: '2024-02-30T09:00:00', timeZone: 'UTC' } } }, /flag.dueDateTime/);
  await bad({ flag: { flagStatus: 'flagged', startDateTime: { dateTime: 'next week', timeZone: 'UTC' } } }, /flag.startDateTime/);
  await bad({ categories: [1] }, /categories/);
  await bad({ internetMessageId: 'no-brackets' }, /internetMessageId/);
  const leap = await s.request('POST', `${b.u}/messages`, { token: b.token, body: { flag: { flagStatus: 'flagged', dueDateTime: { dateTime: '2024-02-29T09:00:00', timeZone: 'UTC' } } } });
  assert.equal(leap.status, 201, leap.text);
  assert.deepEqual(leap.body.flag.dueDateTime, { dateTime: '2024-02-29T09:00:00', timeZone: 'UTC' });
  expectGraphError(await s.request('POST', `${b.u}/messages`, { token: b.token, raw: '{"subject":', headers: { 'content-type': 'application/json' } }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${b.u}/messages?$top=abc`, { token: b.token }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${b.u}/messages?$filter=subject eq`, { token: b.token }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${b.u}/messages?$expand=attachments`, { token: b.token }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `${b.u}/messages/${encodeURIComponent('x y')}`, { token: b.token }), 400, 'ErrorInvalidIdMalformed');
  expectGraphError(await s.request('GET', `${b.u}/messages/AAMkAGI2nothere`, { token: b.token }), 404, 'ErrorItemNotFound');
});

test('listing messages: paging to the end, $filter, $orderby, $select, $count, per folder', async () => {
  const b = await box();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const mime = MIME.replace('Subject: =?UTF-8?Q?Quarterly_r=C3=A9view?=', `Subject: Note ${i}`).replace('03 Nov 2026 09:15:00', `0${i + 1} Nov 2026 09:15:00`).replace('<q3-review@', `<n${i}@`);
    const r = await postMime(b, i < 5 ? 'inbox' : 'archive', mime);
    ids.push(r.body.id);
  }
  await s.request('POST', `${b.u}/messages`, { token: b.token, body: { subject: 'Draft' } });
  const seen: string[] = [];
  let url: string | undefined = `${b.u}/mailFolders/inbox/messages?$top=2&$select=subject,receivedDateTime`;
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token: b.token });
    assert.equal(r.status, 200);
    assert.equal(r.body['@odata.context'], `${s.base}/v1.0/$metadata#users('${b.uid}')/mailFolders('inbox')/messages`);
    for (const m of r.body.value) {
      assert.deepEqual(Object.keys(m), ['@odata.etag', 'id', 'receivedDateTime', 'subject']);
      seen.push(m.subject);
    }
    url = r.body['@odata.nextLink'];
  }
  assert.deepEqual(seen, ['Note 4', 'Note 3', 'Note 2', 'Note 1', 'Note 0'], 'newest first by default');
  const all = await s.request('GET', `${b.u}/messages?$count=true&$top=100&$select=subject`, { token: b.token });
  assert.equal(all.body['@odata.count'], 8);
  const asc = await s.request('GET', `${b.u}/messages?$orderby=receivedDateTime asc&$filter=isDraft eq false and receivedDateTime ge 2026-11-03T00:00:00Z&$select=subject`, { token: b.token });
  assert.deepEqual(asc.body.value.map((m: any) => m.subject), ['Note 2', 'Note 3', 'Note 4', 'Note 5', 'Note 6']);
  const from = await s.request('GET', `${b.u}/messages?$filter=from/emailAddress/address eq 'PAT@fabrikam.example'&$count=true&$select=id`, { token: b.token });
  assert.equal(from.body['@odata.count'], 7);
  const subj = await s.request('GET', `${b.u}/messages?$filter=startswith(subject,'note 6')&$select=subject`, { token: b.token });
  assert.deepEqual(subj.body.value.map((m: any) => m.subject), ['Note 6']);
  const att = await s.request('GET', `${b.u}/messages?$filter=hasAttachments eq true and importance eq 'high'&$count=true&$select=id`, { token: b.token });
  assert.equal(att.body['@odata.count'], 7);
  const withBody = await s.request('GET', `${b.u}/mailFolders/archive/messages`, { token: b.token });
  assert.equal(withBody.body.value.length, 2);
  assert.deepEqual(Object.keys(withBody.body.value[0]), MESSAGE_KEYS.slice(1));
  const inFolder = await s.request('GET', `${b.u}/mailFolders/archive/messages/${ids[5]}`, { token: b.token });
  assert.equal(inFolder.status, 200);
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/inbox/messages/${ids[5]}`, { token: b.token }), 404, 'ErrorItemNotFound');
});

test('PATCH changes metadata (new changeKey and lastModifiedDateTime); content only on drafts', async () => {
  const b = await box();
  const m = (await postMime(b, 'inbox', MIME)).body;
  await s.advance('PT1M');
  const p = await s.request('PATCH', `${b.u}/messages/${m.id}`, { token: b.token, body: { isRead: true, categories: ['Blue category'], flag: { flagStatus: 'flagged' }, importance: 'low', inferenceClassification: 'other' } });
  assert.equal(p.status, 200);
  assert.equal(p.body.isRead, true);
  assert.deepEqual(p.body.categories, ['Blue category']);
  assert.deepEqual(p.body.flag, { flagStatus: 'flagged' });
  assert.equal(p.body.importance, 'low');
  assert.equal(p.body.inferenceClassification, 'other');
  assert.notEqual(p.body.changeKey, m.changeKey);
  assert.ok(p.body.lastModifiedDateTime > m.lastModifiedDateTime);
  assert.equal(p.body.createdDateTime, m.createdDateTime);
  const v = await fetch(`${s.base}${b.u}/messages/${m.id}/$value`, { headers: { authorization: `Bearer ${b.token}` } });
  assert.deepEqual(Buffer.from(await v.arrayBuffer()), Buffer.from(MIME), 'metadata changes keep the MIME');
  const e = expectGraphError(await s.request('PATCH', `${b.u}/messages/${m.id}`, { token: b.token, body: { subject: 'Changed' } }), 400, 'ErrorInvalidPropertyUpdateSentMessage');
  assert.match(e.message, /subject/);
  expectGraphError(await s.request('PATCH', `${b.u}/messages/${m.id}`, { token: b.token, body: { isRead: 1 } }), 400, 'BadRequest');
  const d = (await s.request('POST', `${b.u}/messages`, { token: b.token, body: { subject: 'First' } })).body;
  const pd = await s.request('PATCH', `${b.u}/messages/${d.id}`, { token: b.token, body: { subject: 'Second', body: { contentType: 'text', content: 'Hello there' }, ccRecipients: [{ emailAddress: { address: 'cc@contoso.test' } }] } });
  assert.equal(pd.status, 200);
  assert.equal(pd.body.subject, 'Second');
  assert.equal(pd.body.bodyPreview, 'Hello there');
  assert.deepEqual(pd.body.body, { contentType: 'text', content: 'Hello there' });
  const dv = await s.request('GET', `${b.u}/messages/${d.id}/$value`, { token: b.token });
  assert.match(dv.text, /^Subject: Second\r\n/m);
  assert.match(dv.text, /^Cc: cc@contoso.test\r\n/m);
});

test('move keeps the id and changes the folder; copy makes a new message; delete removes it', async () => {
  const b = await box();
  const m = (await postMime(b, 'inbox', MIME)).body;
  const archive = await folderId(b, 'archive');
  const mv = await s.request('POST', `${b.u}/messages/${m.id}/move`, { token: b.token, body: { destinationId: 'archive' } });
  assert.equal(mv.status, 201);
  assert.equal(mv.body.id, m.id);
  assert.equal(mv.body.parentFolderId, archive);
  assert.notEqual(mv.body.changeKey, m.changeKey);
  const cp = await s.request('POST', `${b.u}/messages/${m.id}/copy`, { token: b.token, body: { destinationId: await folderId(b, 'inbox') } });
  assert.equal(cp.status, 201);
  assert.notEqual(cp.body.id, m.id);
  assert.equal(cp.body.internetMessageId, m.internetMessageId);
  assert.equal(cp.body.subject, m.subject);
  const copyValue = await fetch(`${s.base}${b.u}/messages/${cp.body.id}/$value`, { headers: { authorization: `Bearer ${b.token}` } });
  assert.deepEqual(Buffer.from(await copyValue.arrayBuffer()), Buffer.from(MIME));
  expectGraphError(await s.request('POST', `${b.u}/messages/${m.id}/move`, { token: b.token, body: {} }), 400, 'ErrorInvalidRequest');
  expectGraphError(await s.request('POST', `${b.u}/messages/${m.id}/move`, { token: b.token, body: { destinationId: 'AQMkADAwnope' } }), 404, 'ErrorItemNotFound');
  expectGraphError(await s.request('POST', `${b.u}/messages/${m.id}/move`, { token: b.token, body: { destinationId: 'archive', extra: 1 } }), 400, 'BadRequest');
  assert.equal((await s.request('DELETE', `${b.u}/messages/${m.id}`, { token: b.token })).status, 204);
  expectGraphError(await s.request('GET', `${b.u}/messages/${m.id}`, { token: b.token }), 404, 'ErrorItemNotFound');
  expectGraphError(await s.request('DELETE', `${b.u}/messages/${m.id}`, { token: b.token }), 404, 'ErrorItemNotFound');
  const folders = await s.request('GET', `${b.u}/mailFolders/inbox`, { token: b.token });
  assert.equal(folders.body.totalItemCount, 1);
  assert.equal(folders.body.unreadItemCount, 1);
  assert.equal(folders.body.sizeInBytes, Buffer.byteLength(MIME));
});

test('attachments: add, list, get, $value, delete — reflected in hasAttachments and the MIME', async () => {
  const b = await box();
  const d = (await s.request('POST', `${b.u}/messages`, { token: b.token, body: { subject: 'With file', body: { contentType: 'text', content: 'See attached' } } })).body;
  assert.equal(d.hasAttachments, false);
  const content = Buffer.from('hello, attachment \u00e9\n');
  const a = await s.request('POST', `${b.u}/messages/${d.id}/attachments`, { token: b.token, body: { '@odata.type': '#microsoft.graph.fileAttachment', name: 'hello.txt', contentType: 'text/plain', contentBytes: content.toString('base64') } });
  assert.equal(a.status, 201);
  assert.deepEqual(a.body, {
    '@odata.context': `${s.base}/v1.0/$metadata#users('${b.uid}')/messages('${d.id}')/attachments/$entity`,
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': 'text/plain',
    id: a.body.id,
    lastModifiedDateTime: a.body.lastModifiedDateTime,
    name: 'hello.txt',
    contentType: 'text/plain',
    size: content.length,
    isInline: false,
    contentId: null,
    contentLocation: null,
    contentBytes: content.toString('base64'),
  });
  const m = await s.request('GET', `${b.u}/messages/${d.id}`, { token: b.token });
  assert.equal(m.body.hasAttachments, true);
  assert.deepEqual(m.body.body, { contentType: 'text', content: 'See attached' });
  const mime = await s.request('GET', `${b.u}/messages/${d.id}/$value`, { token: b.token });
  assert.match(mime.text, /Content-Disposition: attachment; filename=hello\.txt/);
  assert.ok(mime.text.includes(content.toString('base64')));
  const second = await s.request('POST', `${b.u}/messages/${d.id}/attachments`, { token: b.token, body: { '@odata.type': '#microsoft.graph.fileAttachment', name: 'data.bin', contentBytes: Buffer.from([0, 1, 2, 255]).toString('base64') } });
  assert.equal(second.body.contentType, 'application/octet-stream');
  const list = await s.request('GET', `${b.u}/messages/${d.id}/attachments`, { token: b.token });
  assert.deepEqual(list.body.value.map((x: any) => [x.id, x.name, x.size]), [[a.body.id, 'hello.txt', content.length], [second.body.id, 'data.bin', 4]], 'ids stay stable as attachments are added');
  const one = await s.request('GET', `${b.u}/messages/${d.id}/attachments/${second.body.id}`, { token: b.token });
  assert.equal(one.body.contentBytes, 'AAEC/w==');
  const raw = await fetch(`${s.base}${b.u}/messages/${d.id}/attachments/${second.body.id}/$value`, { headers: { authorization: `Bearer ${b.token}` } });
  assert.deepEqual(Buffer.from(await raw.arrayBuffer()), Buffer.from([0, 1, 2, 255]));
  assert.equal((await s.request('DELETE', `${b.u}/messages/${d.id}/attachments/${a.body.id}`, { token: b.token })).status, 204);
  const left = await s.request('GET', `${b.u}/messages/${d.id}/attachments`, { token: b.token });
  assert.deepEqual(left.body.value.map((x: any) => x.id), [second.body.id]);
  assert.equal((await s.request('DELETE', `${b.u}/messages/${d.id}/attachments/${second.body.id}`, { token: b.token })).status, 204);
  assert.equal((await s.request('GET', `${b.u}/messages/${d.id}`, { token: b.token })).body.hasAttachments, false);
  expectGraphError(await s.request('GET', `${b.u}/messages/${d.id}/attachments/AAMkAGAttnope`, { token: b.token }), 404, 'ErrorItemNotFound');
  expectGraphError(await s.request('POST', `${b.u}/messages/${d.id}/attachments`, { token: b.token, body: { name: 'x', contentBytes: 'AA==' } }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', `${b.u}/messages/${d.id}/attachments`, { token: b.token, body: { '@odata.type': '#microsoft.graph.itemAttachment', name: 'x' } }), 501, 'notImplemented');
  expectGraphError(await s.request('POST', `${b.u}/messages/${d.id}/attachments`, { token: b.token, body: { '@odata.type': '#microsoft.graph.fileAttachment', name: 'x', contentBytes: '***' } }), 400, 'BadRequest');
  // inline attachments in the create body
  const inline = await s.request('POST', `${b.u}/messages`, { token: b.token, body: { subject: 'i', attachments: [{ '@odata.type': '#microsoft.graph.fileAttachment', name: 'a.txt', contentBytes: 'aGk=' }] } });
  assert.equal(inline.body.hasAttachments, true);
  // the imported MIME's attachment is listed too
  const imported = (await postMime(b, 'inbox', MIME)).body;
  const ia = await s.request('GET', `${b.u}/messages/${imported.id}/attachments`, { token: b.token });
  assert.deepEqual(ia.body.value.map((x: any) => [x.name, x.contentType, Buffer.from(x.contentBytes, 'base64').toString()]), [['q3.csv', 'text/csv', 'a,b\n1,2\n']]);
});

test('delta: initial sync pages to a deltaLink; changes, moves and deletes come back in the next round', async () => {
  const b = await box();
  const created: string[] = [];
  for (let i = 0; i < 5; i++) created.push((await postMime(b, 'inbox', MIME.replace('<q3-review@', `<d${i}@`))).body.id);
  const prefer = { prefer: 'odata.maxpagesize=2' };
  let url: string | undefined = `${b.u}/mailFolders/inbox/messages/delta?$select=subject,isRead`;
  const first: any[] = [];
  let deltaLink: string | undefined;
  let pages = 0;
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token: b.token, headers: prefer });
    assert.equal(r.status, 200);
    assert.equal(r.body['@odata.context'], `${s.base}/v1.0/$metadata#Collection(message)`);
    first.push(...r.body.value);
    pages++;
    url = r.body['@odata.nextLink'];
    deltaLink = r.body['@odata.deltaLink'];
    // the link holds the token alone; the token keeps the round's $select
    if (url) assert.match(url, /\/messages\/delta\?\$skiptoken=[^&]+$/);
  }
  assert.equal(pages, 3);
  assert.deepEqual(first.map((m) => m.id).sort(), [...created].sort());
  assert.deepEqual(Object.keys(first[0]), ['@odata.type', '@odata.etag', 'id', 'subject', 'isRead']);
  assert.ok(deltaLink && /\$deltatoken=/.test(deltaLink));

  const empty = await s.request('GET', deltaLink!, { token: b.token });
  assert.deepEqual(empty.body.value, []);
  assert.ok(empty.body['@odata.deltaLink']);

  // change one, move one out, delete one, create one, and move one in from elsewhere
  await s.request('PATCH', `${b.u}/messages/${created[0]}`, { token: b.token, body: { isRead: true } });
  await s.request('POST', `${b.u}/messages/${created[1]}/move`, { token: b.token, body: { destinationId: 'archive' } });
  await s.request('DELETE', `${b.u}/messages/${created[2]}`, { token: b.token });
  const added = (await postMime(b, 'inbox', MIME.replace('<q3-review@', '<new@'))).body.id;
  const elsewhere = (await postMime(b, 'junkemail', MIME.replace('<q3-review@', '<junk@'))).body.id;
  await s.request('POST', `${b.u}/messages/${elsewhere}/move`, { token: b.token, body: { destinationId: 'inbox' } });
  // and something in another folder that must not show up
  await postMime(b, 'archive', MIME.replace('<q3-review@', '<other@'));

  const round: any[] = [];
  url = deltaLink;
  let next: string | undefined;
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token: b.token, headers: prefer });
    assert.equal(r.status, 200);
    round.push(...r.body.value);
    url = r.body['@odata.nextLink'];
    next = r.body['@odata.deltaLink'] ?? next;
  }
  const byId = new Map(round.map((m) => [m.id, m]));
  assert.equal(round.length, 5);
  assert.equal(byId.get(created[0]).isRead, true);
  assert.deepEqual(byId.get(created[1]), { '@odata.type': '#microsoft.graph.message', id: created[1], '@removed': { reason: 'changed' } });
  assert.deepEqual(byId.get(created[2]), { '@odata.type': '#microsoft.graph.message', id: created[2], '@removed': { reason: 'deleted' } });
  assert.equal(byId.get(added).subject, 'Quarterly réview');
  assert.equal(byId.get(elsewhere).subject, 'Quarterly réview');
  const again = await s.request('GET', next!, { token: b.token });
  assert.deepEqual(again.body.value, []);
});

test('delta: unknown, foreign and expired tokens are 410 SyncStateNotFound', async () => {
  const b = await box();
  const r = await s.request('GET', `${b.u}/mailFolders/inbox/messages/delta`, { token: b.token });
  const link = r.body['@odata.deltaLink'] as string;
  const token = new URL(link).searchParams.get('$deltatoken')!;
  const e = expectGraphError(await s.request('GET', `${b.u}/mailFolders/inbox/messages/delta?$deltatoken=garbage`, { token: b.token }), 410, 'SyncStateNotFound');
  assert.match(e.message, /sync state/i);
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/inbox/messages/delta?$deltatoken=${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`, { token: b.token }), 410, 'SyncStateNotFound');
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/archive/messages/delta?$deltatoken=${token}`, { token: b.token }), 410, 'SyncStateNotFound');
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/delta?$deltatoken=${token}`, { token: b.token }), 410, 'SyncStateNotFound');
  const other = await box();
  expectGraphError(await s.request('GET', `${other.u}/mailFolders/inbox/messages/delta?$deltatoken=${token}`, { token: other.token }), 410, 'SyncStateNotFound');
  assert.equal((await s.request('GET', link, { token: b.token })).status, 200);
  await postMime(b, 'inbox', MIME);
  await s.advance('P31D');
  await s.advance('PT2H');
  expectGraphError(await s.request('GET', link, { token: b.token }), 410, 'SyncStateNotFound');
  const fresh = await s.request('GET', `${b.u}/mailFolders/inbox/messages/delta`, { token: b.token });
  assert.equal(fresh.body.value.length, 1);
});

test('folder delta lists every folder, then created, renamed and deleted folders', async () => {
  const b = await box();
  const r = await s.request('GET', `${b.u}/mailFolders/delta`, { token: b.token });
  assert.equal(r.status, 200);
  assert.equal(r.body['@odata.context'], `${s.base}/v1.0/$metadata#Collection(mailFolder)`);
  assert.equal(r.body.value.length, 7);
  assert.equal(r.body.value[0]['@odata.type'], '#microsoft.graph.mailFolder');
  const c = (await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'A' } })).body;
  const d = (await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'B' } })).body;
  await s.request('PATCH', `${b.u}/mailFolders/${c.id}`, { token: b.token, body: { displayName: 'A2' } });
  await s.request('DELETE', `${b.u}/mailFolders/${d.id}`, { token: b.token });
  const n = await s.request('GET', r.body['@odata.deltaLink'], { token: b.token });
  const byId = new Map(n.body.value.map((f: any) => [f.id, f]));
  assert.equal(n.body.value.length, 2);
  assert.equal((byId.get(c.id) as any).displayName, 'A2');
  assert.deepEqual(byId.get(d.id), { '@odata.type': '#microsoft.graph.mailFolder', id: d.id, '@removed': { reason: 'deleted' } });
});

test('mail permissions: Mail.Read reads, Mail.ReadWrite writes; delegated tokens reach only their own mailbox; /me', async () => {
  const b = await box();
  const other = (await s.request('POST', '/v1.0/users', { token: b.token, body: { accountEnabled: true, displayName: 'Other', mailNickname: 'other', userPrincipalName: `other${counter}@contoso.test`, passwordProfile: { password: 'Secret-123456' } } })).body.id;
  const m = (await postMime(b, 'inbox', MIME)).body;
  const read = await s.token({ tenantId: b.tenantId, roles: ['Mail.Read'] });
  assert.equal((await s.request('GET', `${b.u}/messages/${m.id}`, { token: read })).status, 200);
  assert.equal((await s.request('GET', `/v1.0/users/${other}/messages`, { token: read })).status, 200, 'application tokens reach every mailbox');
  const denied = expectGraphError(await s.request('PATCH', `${b.u}/messages/${m.id}`, { token: read, body: { isRead: true } }), 403, 'accessDenied');
  assert.match(denied.message, /Mail\.ReadWrite/);
  expectGraphError(await s.request('GET', `${b.u}/messages`, { token: await s.token({ tenantId: b.tenantId, roles: ['User.Read.All'] }) }), 403, 'accessDenied');
  const mine = await s.token({ tenantId: b.tenantId, userId: b.uid, scopes: ['Mail.ReadWrite'] });
  assert.equal((await s.request('PATCH', `${b.u}/messages/${m.id}`, { token: mine, body: { isRead: true } })).status, 200);
  assert.equal((await s.request('GET', `/v1.0/users/${b.upn}/mailFolders`, { token: mine })).status, 200);
  const me = await s.request('GET', `/v1.0/me/messages/${m.id}`, { token: mine });
  assert.equal(me.status, 200);
  assert.equal(me.body['@odata.context'], `${s.base}/v1.0/$metadata#me/messages/$entity`);
  assert.equal((await s.request('GET', '/v1.0/me/mailFolders/inbox/messages', { token: mine })).body.value.length, 1);
  const theirs = expectGraphError(await s.request('GET', `/v1.0/users/${other}/messages`, { token: mine }), 403, 'ErrorAccessDenied');
  assert.equal(theirs.message, 'Access is denied. Check credentials and try again.');
  expectGraphError(await s.request('GET', '/v1.0/me/messages', { token: b.token }), 400, 'BadRequest');
  const readOnlyMine = await s.token({ tenantId: b.tenantId, userId: b.uid, scopes: ['Mail.Read'] });
  expectGraphError(await s.request('DELETE', `${b.u}/messages/${m.id}`, { token: readOnlyMine }), 403, 'accessDenied');
  expectGraphError(await s.request('GET', `${b.u}/messages`, { token: null }), 401, 'InvalidAuthenticationToken');
});

test('tenancy: another tenant\'s mailbox is an invalid user; unknown users too', async () => {
  const a = await box();
  const b = await box();
  const m = (await postMime(a, 'inbox', MIME)).body;
  const e = expectGraphError(await s.request('GET', `${a.u}/messages/${m.id}`, { token: b.token }), 404, 'ErrorInvalidUser');
  assert.equal(e.message, `The requested user '${a.uid}' is invalid.`);
  expectGraphError(await s.request('GET', `/v1.0/users/${a.upn}/mailFolders`, { token: b.token }), 404, 'ErrorInvalidUser');
  expectGraphError(await s.request('GET', `${b.u}/messages/${m.id}`, { token: b.token }), 404, 'ErrorItemNotFound');
  expectGraphError(await s.request('GET', '/v1.0/users/nobody@contoso.test/messages', { token: a.token }), 404, 'ErrorInvalidUser');
  assert.equal((await s.request('GET', `/beta/users/${a.uid}/messages/${m.id}`, { token: a.token })).status, 200);
});

test('attachments through a folder path (as restore tools write them); contentType and contentId become MIME headers, so they are validated', async () => {
  const b = await box();
  const m = (await s.request('POST', `${b.u}/mailFolders/inbox/messages`, {
    token: b.token,
    body: { subject: 'Restored with a file', body: { contentType: 'html', content: '<p>see <img src="cid:logo1"></p>' }, singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }] },
  })).body;
  await s.advance('PT1M');
  const at = `${b.u}/mailFolders/inbox/messages/${m.id}/attachments`;
  const file = { '@odata.type': '#microsoft.graph.fileAttachment', name: 'logo.png', contentType: 'image/png', contentBytes: Buffer.from('png!').toString('base64'), isInline: true, contentId: 'logo1' };
  const a = await s.request('POST', at, { token: b.token, body: file });
  assert.equal(a.status, 201);
  assert.equal(a.body['@odata.context'], `${s.base}/v1.0/$metadata#users('${b.uid}')/mailFolders('inbox')/messages('${m.id}')/attachments/$entity`);
  assert.deepEqual([a.body.name, a.body.contentType, a.body.isInline, a.body.contentId, a.body.size], ['logo.png', 'image/png', true, 'logo1', 4]);
  const after = (await s.request('GET', `${b.u}/messages/${m.id}`, { token: b.token })).body;
  assert.notEqual(after.changeKey, m.changeKey, 'an attachment is a modification');
  assert.ok(after.lastModifiedDateTime > m.lastModifiedDateTime);
  assert.equal(after.isDraft, false);
  assert.equal(after.hasAttachments, false, 'inline attachments do not count');
  const list = await s.request('GET', at, { token: b.token });
  assert.equal(list.body['@odata.context'], `${s.base}/v1.0/$metadata#users('${b.uid}')/mailFolders('inbox')/messages('${m.id}')/attachments`);
  assert.deepEqual(list.body.value.map((x: any) => x.id), [a.body.id]);
  assert.equal((await s.request('GET', `${at}/${a.body.id}`, { token: b.token })).body.contentBytes, file.contentBytes);
  const value = await fetch(`${s.base}${at}/${a.body.id}/$value`, { headers: { authorization: `Bearer ${b.token}` } });
  assert.equal(value.headers.get('content-type'), 'image/png');
  assert.equal(Buffer.from(await value.arrayBuffer()).toString(), 'png!');
  const mime = await s.request('GET', `${b.u}/messages/${m.id}/$value`, { token: b.token });
  assert.match(mime.text, /^Content-ID: <logo1>\r\n/m);
  // the same message through another folder is not found
  expectGraphError(await s.request('GET', `${b.u}/mailFolders/archive/messages/${m.id}/attachments`, { token: b.token }), 404, 'ErrorItemNotFound');
  expectGraphError(await s.request('POST', `${b.u}/mailFolders/archive/messages/${m.id}/attachments`, { token: b.token, body: file }), 404, 'ErrorItemNotFound');
  const badType = expectGraphError(await s.request('POST', at, { token: b.token, body: { ...file, contentType: 'text/plain\r\nBcc: someone@example.test' } }), 400, 'BadRequest');
  assert.match(badType.message, /contentType/);
  expectGraphError(await s.request('POST', at, { token: b.token, body: { ...file, contentType: 'plain' } }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', at, { token: b.token, body: { ...file, contentId: 'a b' } }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', at, { token: b.token, body: { ...file, contentId: 7 } }), 400, 'BadRequest');
  assert.equal((await s.request('POST', at, { token: b.token, body: { ...file, name: 'notes.txt', contentType: 'text/plain; charset=utf-8', contentId: null, isInline: false } })).status, 201);
  assert.equal((await s.request('GET', at, { token: b.token })).body.value.length, 2, 'refused attachments changed nothing');
  assert.equal((await s.request('DELETE', `${at}/${a.body.id}`, { token: b.token })).status, 204);
  assert.equal((await s.request('GET', `${b.u}/messages/${m.id}`, { token: b.token })).body.hasAttachments, true);
});

test('delegated Mail.Read reads its own mailbox (lists, $value, attachments, delta, /me) and nothing else; no mail scope, no mail', async () => {
  const b = await box();
  const other = await s.request('POST', '/v1.0/users', { token: b.token, body: { accountEnabled: true, displayName: 'Neighbour', mailNickname: 'nb', userPrincipalName: `nb${counter}@contoso.test`, passwordProfile: { password: 'Secret-123456' } } });
  const m = (await postMime(b, 'inbox', MIME)).body;
  const theirs = (await postMime({ ...b, uid: other.body.id, u: `/v1.0/users/${other.body.id}` }, 'inbox', MIME)).body;
  const read = await s.token({ tenantId: b.tenantId, userId: b.uid, scopes: ['Mail.Read'] });
  for (const path of [`${b.u}/mailFolders`, `${b.u}/mailFolders/inbox/childFolders`, `${b.u}/messages`, `${b.u}/mailFolders/inbox/messages/${m.id}`, `${b.u}/messages/${m.id}/attachments`, '/v1.0/me/mailFolders/delta', '/v1.0/me/mailFolders/inbox/messages/delta']) {
    assert.equal((await s.request('GET', path, { token: read })).status, 200, path);
  }
  const v = await fetch(`${s.base}/v1.0/me/messages/${m.id}/$value`, { headers: { authorization: `Bearer ${read}` } });
  assert.deepEqual(Buffer.from(await v.arrayBuffer()), Buffer.from(MIME));
  const delta = await s.request('GET', `/v1.0/users/${b.upn}/mailFolders/inbox/messages/delta?$select=subject`, { token: read });
  assert.deepEqual(delta.body.value.map((x: any) => x.id), [m.id]);
  for (const [method, path, body] of [
    ['POST', `${b.u}/messages`, { subject: 'x' }],
    ['PATCH', `${b.u}/messages/${m.id}`, { isRead: true }],
    ['POST', `${b.u}/messages/${m.id}/move`, { destinationId: 'archive' }],
    ['POST', `${b.u}/mailFolders`, { displayName: 'Mine' }],
    ['POST', `${b.u}/messages/${m.id}/attachments`, { '@odata.type': '#microsoft.graph.fileAttachment', name: 'a', contentBytes: 'AA==' }],
  ] as const) {
    expectGraphError(await s.request(method, path, { token: read, body }), 403, 'accessDenied');
  }
  expectGraphError(await s.request('GET', `/v1.0/users/${other.body.id}/messages/${theirs.id}`, { token: read }), 403, 'ErrorAccessDenied');
  expectGraphError(await s.request('GET', `/v1.0/users/${other.body.id}/mailFolders/inbox/messages/delta`, { token: read }), 403, 'ErrorAccessDenied');
  const noMail = await s.token({ tenantId: b.tenantId, userId: b.uid, scopes: ['User.Read.All'] });
  expectGraphError(await s.request('GET', '/v1.0/me/messages', { token: noMail }), 403, 'accessDenied');
  assert.equal((await s.request('GET', `${b.u}/messages/${m.id}?$select=isRead`, { token: b.token })).body.isRead, false, 'nothing was changed');
});

test('folder delta pages with odata.maxpagesize and $select, includes nested folders, then reports the next round\'s changes', async () => {
  const b = await box();
  const parent = (await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'Clients' } })).body;
  const child = (await s.request('POST', `${b.u}/mailFolders/${parent.id}/childFolders`, { token: b.token, body: { displayName: 'Fabrikam' } })).body;
  const seen: any[] = [];
  let url: string | undefined = `${b.u}/mailFolders/delta?$select=displayName,parentFolderId`;
  let deltaLink = '';
  let pages = 0;
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token: b.token, headers: { prefer: 'odata.maxpagesize=3' } });
    assert.equal(r.status, 200);
    assert.ok(r.body.value.length <= 3);
    seen.push(...r.body.value);
    pages++;
    url = r.body['@odata.nextLink'];
    deltaLink = r.body['@odata.deltaLink'] ?? deltaLink;
  }
  assert.equal(pages, 3);
  assert.equal(seen.length, 9);
  assert.deepEqual(seen.find((f) => f.id === child.id), { '@odata.type': '#microsoft.graph.mailFolder', id: child.id, displayName: 'Fabrikam', parentFolderId: parent.id });
  assert.ok(seen.every((f) => Object.keys(f).join() === '@odata.type,id,displayName,parentFolderId'));
  await postMime(b, child.id, MIME);
  await s.request('DELETE', `${b.u}/mailFolders/${parent.id}`, { token: b.token });
  const next = await s.request('GET', deltaLink, { token: b.token });
  assert.equal(next.status, 200);
  assert.deepEqual(
    next.body.value.map((f: any) => [f.id, f['@removed']?.reason]).sort(),
    [[parent.id, 'deleted'], [child.id, 'deleted']].sort(),
    'deleting a folder deletes its subfolders',
  );
  assert.match(next.body['@odata.deltaLink'], /\/mailFolders\/delta\?\$deltatoken=[^&]+$/);
});
