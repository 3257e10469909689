/**
 * `Prefer: IdType="ImmutableId"`: acknowledged with `Preference-Applied` beside the other applied
 * preferences, and ids across a move with and without it (Mailvault's ids never change:
 * docs/differences.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { deliver, newMailbox, type Mailbox } from '../helpers/mailbox.js';

const IMMUTABLE = { prefer: 'IdType="ImmutableId"' };

let s: TestServer;
let b: Mailbox;
before(async () => {
  s = await startServer();
  b = await newMailbox(s);
});
after(() => s.close());

const applied = (r: { headers: Headers }) => r.headers.get('preference-applied');

test('Preference-Applied: IdType="ImmutableId" on the mail API when it is asked, nothing when it is not', async () => {
  const id = await deliver(s, b, 'inbox', 'Hello');
  const paths = [`${b.u}/messages`, `${b.u}/messages/${id}`, `${b.u}/mailFolders`, `${b.u}/mailFolders/inbox/messages`, `${b.u}/mailFolders/inbox/messages/delta`, `${b.u}/mailFolders/delta`, `${b.u}/messages/${id}/attachments`];
  for (const p of paths) {
    const r = await s.request('GET', p, { token: b.token, headers: IMMUTABLE });
    assert.equal(r.status, 200, `${p}: ${r.text}`);
    assert.equal(applied(r), 'IdType="ImmutableId"', p);
    assert.equal(applied(await s.request('GET', p, { token: b.token })), null, p);
  }
  // spelled as clients send it: unquoted, in another case, among other preferences
  for (const prefer of ['IdType=ImmutableId', 'idtype="immutableid"', 'odata.maxpagesize=5, IdType="ImmutableId"', 'IdType="ImmutableId"; odata.track-changes']) {
    assert.equal(applied(await s.request('GET', `${b.u}/messages/${id}`, { token: b.token, headers: { prefer } })), 'IdType="ImmutableId"', prefer);
  }
  // not a preference of that name
  for (const prefer of ['IdType="RestId"', 'XIdType="ImmutableId"', 'IdType="ImmutableIdX"']) {
    assert.equal(applied(await s.request('GET', `${b.u}/messages/${id}`, { token: b.token, headers: { prefer } })), null, prefer);
  }
});

test('applied with the other preferences, none clobbering another', async () => {
  const id = await deliver(s, b, 'inbox', 'Plain');
  const all = 'IdType="ImmutableId", outlook.body-content-type="text", include-unknown-enum-members';
  for (const p of [`${b.u}/messages/${id}`, `${b.u}/messages`, `${b.u}/mailFolders/inbox/messages/delta`]) {
    const r = await s.request('GET', p, { token: b.token, headers: { prefer: all } });
    assert.equal(r.status, 200, r.text);
    const list = applied(r)!.split(',').map((x) => x.trim()).sort();
    assert.deepEqual(list, ['IdType="ImmutableId"', 'include-unknown-enum-members', 'outlook.body-content-type="text"'], p);
  }
  const two = await s.request('GET', `${b.u}/messages/${id}`, { token: b.token, headers: { prefer: 'outlook.body-content-type="text", IdType="ImmutableId"' } });
  assert.deepEqual(applied(two)!.split(', ').sort(), ['IdType="ImmutableId"', 'outlook.body-content-type="text"']);
  // writes too: the id a create or a move answers is the immutable one
  const created = await s.request('POST', `${b.u}/mailFolders`, { token: b.token, headers: IMMUTABLE, body: { displayName: 'Kept' } });
  assert.equal(created.status, 201);
  assert.equal(applied(created), 'IdType="ImmutableId"');
  // and the translation of ids
  const t = await s.request('POST', `${b.u}/translateExchangeIds`, { token: b.token, headers: IMMUTABLE, body: { inputIds: [id], sourceIdType: 'restId', targetIdType: 'restImmutableEntryId' } });
  assert.equal(applied(t), 'IdType="ImmutableId"');
  assert.deepEqual(t.body.value, [{ sourceId: id, targetId: id }]);
});

for (const [name, headers] of [['with', IMMUTABLE], ['without', {}]] as const) {
  test(`ids across a move ${name} Prefer: IdType="ImmutableId": the message keeps its id, the old id still reads it`, async () => {
    const id = await deliver(s, b, 'inbox', `Move ${name}`);
    const archive = (await s.request('GET', `${b.u}/mailFolders/archive`, { token: b.token, headers })).body.id;
    const moved = await s.request('POST', `${b.u}/messages/${id}/move`, { token: b.token, headers, body: { destinationId: 'archive' } });
    assert.equal(moved.status, 201, moved.text);
    assert.equal(moved.body.id, id);
    assert.equal(moved.body.parentFolderId, archive);
    assert.equal(applied(moved), name === 'with' ? 'IdType="ImmutableId"' : null);
    const read = await s.request('GET', `${b.u}/messages/${id}`, { token: b.token, headers });
    assert.equal(read.status, 200);
    assert.equal(read.body.parentFolderId, archive);
    // the folder path is checked against where the message is now
    assert.equal((await s.request('GET', `${b.u}/mailFolders/archive/messages/${id}`, { token: b.token, headers })).status, 200);
    expectGraphError(await s.request('GET', `${b.u}/mailFolders/inbox/messages/${id}`, { token: b.token, headers }), 404, 'ErrorItemNotFound');
    // moved back and forth, still the same id; the list of the folder shows it under that id
    const back = await s.request('POST', `${b.u}/messages/${id}/move`, { token: b.token, headers, body: { destinationId: 'inbox' } });
    assert.equal(back.body.id, id);
    const inbox = await s.request('GET', `${b.u}/mailFolders/inbox/messages?$select=subject&$top=100`, { token: b.token, headers });
    assert.ok(inbox.body.value.some((m: any) => m.id === id));
    // a copy is a new item with an id of its own
    const copy = await s.request('POST', `${b.u}/messages/${id}/copy`, { token: b.token, headers, body: { destinationId: 'archive' } });
    assert.equal(copy.status, 201);
    assert.notEqual(copy.body.id, id);
  });
}

test('a folder keeps its id when renamed, with or without the preference', async () => {
  const f = (await s.request('POST', `${b.u}/mailFolders`, { token: b.token, body: { displayName: 'Before' } })).body;
  for (const headers of [IMMUTABLE, {}]) {
    const r = await s.request('PATCH', `${b.u}/mailFolders/${f.id}`, { token: b.token, headers, body: { displayName: `After ${Object.keys(headers).length}` } });
    assert.equal(r.body.id, f.id);
  }
});
