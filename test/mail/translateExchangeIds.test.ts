/**
 * `POST /users/{id}/translateExchangeIds` and `/me/translateExchangeIds`: every pair of id formats,
 * round trips back to the REST id, ids that do not resolve (unknown, malformed, another user's,
 * another tenant's) left out, the body's errors and Graph's permissions.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestServer } from '../helpers/server.js';
import { deliver, newMailbox, type Mailbox } from '../helpers/mailbox.js';
import { mailService } from '../../src/mail/service.js';

const FORMATS = ['entryId', 'ewsId', 'immutableEntryId', 'restId', 'restImmutableEntryId'] as const;
type Format = (typeof FORMATS)[number];

let s: TestServer;
let a: Mailbox;
let b: Mailbox;
let other: Mailbox;
let messages: string[];
let folder: string;
before(async () => {
  s = await startServer();
  a = await newMailbox(s);
  b = await newMailbox(s, a.tenantId);
  other = await newMailbox(s);
  messages = [await deliver(s, a, 'inbox', 'One'), await deliver(s, a, 'inbox', 'Two')];
  folder = (await s.request('POST', `${a.u}/mailFolders`, { token: a.token, body: { displayName: 'Projects' } })).body.id;
});
after(() => s.close());

async function translate(m: Mailbox, inputIds: unknown, sourceIdType: unknown, targetIdType: unknown, token = m.token, path = m.u) {
  return s.request('POST', `${path}/translateExchangeIds`, { token, body: { inputIds, sourceIdType, targetIdType } });
}

/** Every format of an item's id, from its REST id. */
async function formsOf(m: Mailbox, restId: string): Promise<Record<Format, string>> {
  const out = {} as Record<Format, string>;
  for (const f of FORMATS) {
    const r = await translate(m, [restId], 'restId', f);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { '@odata.context': `${s.base}/v1.0/$metadata#Collection(microsoft.graph.convertIdResult)`, value: [{ sourceId: restId, targetId: r.body.value[0]?.targetId }] });
    out[f] = r.body.value[0].targetId;
  }
  return out;
}

test('every pair of formats translates, and every format leads back to the REST id', async () => {
  for (const id of [messages[0], folder]) {
    const forms = await formsOf(a, id);
    // the REST id is the immutable one; the binary forms are Graph's URL-safe base64 with the padding count last
    assert.equal(forms.restId, id);
    assert.equal(forms.restImmutableEntryId, id);
    assert.equal(forms.ewsId, Buffer.from(id, 'base64url').toString('base64'));
    assert.match(forms.ewsId, /^[A-Za-z0-9+/]+={0,2}$/);
    for (const f of ['entryId', 'immutableEntryId'] as const) {
      assert.match(forms[f], /^[A-Za-z0-9_-]+[012]$/);
      const bytes = Buffer.from(forms[f].slice(0, -1), 'base64url');
      assert.equal(bytes.readUInt32BE(0), 0, 'MAPI flags');
      assert.ok(bytes.subarray(21).equals(Buffer.from(id, 'base64url')), 'the id\'s bytes after the header');
    }
    assert.notEqual(forms.entryId, forms.immutableEntryId);
    for (const source of FORMATS) {
      for (const target of FORMATS) {
        const r = await translate(a, [forms[source]], source, target);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.body.value, [{ sourceId: forms[source], targetId: forms[target] }], `${source} → ${target}`);
      }
    }
  }
});

test('ids given to items through the mail service (not base64url) translate and come back too', async () => {
  const svc = mailService(s.app.core);
  const inbox = (await svc.wellKnownFolderId(a.tenantId, a.uid, 'inbox'))!;
  const odd = 'odd/folder+id.1@x';
  await s.app.core.store.write((trx) => svc.createFolder(trx, a.tenantId, a.uid, { id: odd, parentId: inbox, displayName: 'Odd' }));
  const forms = await formsOf(a, odd);
  assert.equal(forms.ewsId, odd);
  for (const source of FORMATS) {
    const r = await translate(a, [forms[source]], source, 'restId');
    assert.deepEqual(r.body.value, [{ sourceId: forms[source], targetId: odd }], source);
  }
});

test('ids that do not resolve in this mailbox are left out; the others keep their order', async () => {
  const mine = await formsOf(a, messages[1]);
  const theirs = await formsOf(b, await deliver(s, b, 'inbox', 'Theirs'));
  const foreign = await formsOf(other, await deliver(s, other, 'inbox', 'Foreign'));
  for (const f of FORMATS) {
    const inputIds = ['AAMkAGI2AAAAAAAAAAAAAAAAAAAAAA', theirs[f], mine[f], 'not an id', '', 'x'.repeat(5000), foreign[f], mine[f], 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1'];
    const r = await translate(a, inputIds, f, 'restId');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.value, [{ sourceId: mine[f], targetId: messages[1] }, { sourceId: mine[f], targetId: messages[1] }], f);
    // each user resolves its own
    assert.equal((await translate(b, [theirs[f]], f, 'restId')).body.value.length, 1);
    assert.equal((await translate(other, [foreign[f]], f, 'restId')).body.value.length, 1);
  }
  // an id of the wrong format for the source type does not resolve either
  assert.deepEqual((await translate(a, [mine.restId], 'entryId', 'restId')).body.value, []);
  assert.deepEqual((await translate(a, [mine.entryId], 'immutableEntryId', 'restId')).body.value, []);
  assert.deepEqual((await translate(a, [], 'restId', 'ewsId')).body.value, []);
});

test('the id stays the same across a move, so its translations do too', async () => {
  const id = await deliver(s, a, 'inbox', 'Moving');
  const before = await formsOf(a, id);
  const moved = await s.request('POST', `${a.u}/messages/${id}/move`, { token: a.token, body: { destinationId: 'archive' } });
  assert.equal(moved.body.id, id);
  assert.deepEqual(await formsOf(a, id), before);
});

test('the request body: required parameters, formats, at most 1,000 ids, nothing else', async () => {
  expectGraphError(await translate(a, undefined, 'restId', 'ewsId'), 400, 'BadRequest');
  expectGraphError(await translate(a, 'AAMk', 'restId', 'ewsId'), 400, 'BadRequest');
  expectGraphError(await translate(a, [messages[0], 5], 'restId', 'ewsId'), 400, 'BadRequest');
  expectGraphError(await translate(a, [messages[0]], undefined, 'ewsId'), 400, 'BadRequest');
  expectGraphError(await translate(a, [messages[0]], 'restId', 'owaId'), 400, 'BadRequest');
  expectGraphError(await translate(a, [messages[0]], 'restId', 7), 400, 'BadRequest');
  expectGraphError(await translate(a, Array(1001).fill(messages[0]), 'restId', 'ewsId'), 400, 'BadRequest');
  assert.equal((await translate(a, Array(1000).fill(messages[0]), 'restId', 'ewsId')).body.value.length, 1000);
  const extra = await s.request('POST', `${a.u}/translateExchangeIds`, { token: a.token, body: { inputIds: [messages[0]], sourceIdType: 'restId', targetIdType: 'ewsId', mailbox: 'x' } });
  expectGraphError(extra, 400, 'BadRequest');
  expectGraphError(await s.request('POST', `${a.u}/translateExchangeIds`, { token: a.token, body: [] }), 400, 'BadRequest');
  // the format names as Graph's enum spells them, in any case
  assert.equal((await translate(a, [messages[0]], 'RESTID', 'EwsId')).body.value.length, 1);
  expectGraphError(await s.request('GET', `${a.u}/translateExchangeIds`, { token: a.token }), 405, 'methodNotAllowed');
});

test('permissions as Graph: User.ReadBasic.All or above; a delegated caller translates its own mailbox\'s ids only', async () => {
  const body = { inputIds: [messages[0]], sourceIdType: 'restId', targetIdType: 'restImmutableEntryId' };
  const expected = [{ sourceId: messages[0], targetId: messages[0] }];
  for (const roles of [['User.ReadBasic.All'], ['User.Read.All'], ['User.ReadWrite.All']]) {
    const r = await s.request('POST', `${a.u}/translateExchangeIds`, { token: await s.token({ tenantId: a.tenantId, roles }), body });
    assert.deepEqual(r.body.value, expected, roles.join());
  }
  for (const roles of [['Mail.Read'], ['Mail.ReadWrite'], ['Group.Read.All']]) {
    expectGraphError(await s.request('POST', `${a.u}/translateExchangeIds`, { token: await s.token({ tenantId: a.tenantId, roles }), body }), 403, 'accessDenied');
  }
  for (const scopes of [['User.Read'], ['User.ReadBasic.All'], ['User.ReadWrite']]) {
    const me = await s.token({ tenantId: a.tenantId, userId: a.uid, scopes });
    const r = await s.request('POST', '/v1.0/me/translateExchangeIds', { token: me, body });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { '@odata.context': `${s.base}/v1.0/$metadata#Collection(microsoft.graph.convertIdResult)`, value: expected });
    assert.deepEqual((await s.request('POST', `/v1.0/users/${a.upn}/translateExchangeIds`, { token: me, body })).body.value, expected);
    expectGraphError(await s.request('POST', `${b.u}/translateExchangeIds`, { token: me, body }), 403, 'ErrorAccessDenied');
  }
  expectGraphError(await s.request('POST', '/v1.0/me/translateExchangeIds', { token: await s.token({ tenantId: a.tenantId, userId: a.uid, scopes: ['Mail.Read'] }), body }), 403, 'accessDenied');
  expectGraphError(await s.request('POST', '/v1.0/me/translateExchangeIds', { token: a.token, body }), 400, 'BadRequest');
  // another tenant's token does not see this tenant's user
  expectGraphError(await s.request('POST', `${a.u}/translateExchangeIds`, { token: other.token, body }), 404, 'ErrorInvalidUser');
  // beta as v1.0
  const beta = await s.request('POST', `/beta/users/${a.uid}/translateExchangeIds`, { token: a.token, body });
  assert.deepEqual(beta.body, { '@odata.context': `${s.base}/beta/$metadata#Collection(microsoft.graph.convertIdResult)`, value: expected });
});
