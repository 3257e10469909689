/**
 * Links as a long-running archiver uses them: the official Graph client, which appends to a `$select`
 * already in a URL, stores every `@odata.nextLink`/`@odata.deltaLink` and calls `.select(...)` on
 * it again. A link holds its token alone, so it never grows; the token keeps the query's options.
 * Also: links of the previous version still work, and any malformed skip token is a 400.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import { startHttpsServer, graphClient } from '../helpers/graphClient.js';
import { expectGraphError, type TestServer } from '../helpers/server.js';
import { SESSIONS, RP1 } from '../helpers/demo.js';

const ADELE = '/users/c0ffee00-0001-4000-8000-000000000001';
const BR = '/solutions/backupRestore';
/** What the archiver selects on every message request. */
const SELECT = ['id', 'conversationId', 'isDraft', 'internetMessageId'];

let s: TestServer;
let client: Client;
before(async () => {
  s = await startHttpsServer({ demo: true });
  client = graphClient(s, await s.token());
  for (let i = 0; i < 5; i++) assert.equal((await s.request('POST', SESSIONS, { body: { mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] } })).status, 201);
});
after(() => s.close());

/** GET through the client with `.select(...)` as the archiver calls it; 200 or a failure. */
async function get(link: string, select: string[], headers: Record<string, string> = {}): Promise<any> {
  const res: Response = await client.api(link).select(select).headers(headers).responseType(ResponseType.RAW).get();
  const text = await res.text();
  assert.equal(res.status, 200, `${link}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** An item's properties, annotations left out. */
const fields = (item: Record<string, unknown>) => Object.keys(item).filter((k) => !k.startsWith('@')).sort();

function onlyToken(link: string, option: '$skiptoken' | '$deltatoken'): void {
  const url = new URL(link);
  assert.deepEqual([...url.searchParams.keys()], [option], link);
}

test('a folder synced 1,000 times through its stored deltaLink, .select() added each time: the link keeps its length, every sync 200', async (t) => {
  // the initial round, in pages, each stored link followed with .select() again
  let link = `${ADELE}/mailFolders/inbox/messages/delta`;
  const seen = new Set<string>();
  let deltaLink: string | undefined;
  const pages: string[] = [];
  while (!deltaLink) {
    const body = await get(link, SELECT, { Prefer: 'odata.maxpagesize=40' });
    for (const m of body.value) {
      assert.deepEqual(fields(m), [...SELECT].sort());
      seen.add(m.id);
    }
    if (body['@odata.nextLink']) {
      link = body['@odata.nextLink'];
      onlyToken(link, '$skiptoken');
      pages.push(link);
    } else deltaLink = body['@odata.deltaLink'];
  }
  assert.ok(pages.length >= 2, `pages: ${pages.length}`);
  assert.equal(new Set(pages.map((p) => p.length)).size, 1, 'every nextLink as long as the first');
  const inbox = await s.request('GET', `/v1.0${ADELE}/mailFolders/inbox`);
  assert.equal(seen.size, inbox.body.totalItemCount);
  onlyToken(deltaLink, '$deltatoken');

  const length = deltaLink.length;
  const started = process.hrtime.bigint();
  for (let i = 0; i < 1000; i++) {
    const body = await get(deltaLink, SELECT);
    assert.deepEqual(body.value, []);
    deltaLink = body['@odata.deltaLink'] as string;
    assert.equal(deltaLink.length, length, `sync ${i + 1}`);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`1,000 no-change syncs: ${ms.toFixed(0)} ms; deltaLink ${length} characters before and after`);

  // a change comes back with the round's own $select, whatever the client adds this time
  const r = await s.request('PATCH', `/v1.0${ADELE}/messages/${[...seen][0]}`, { body: { isRead: false } });
  assert.equal(r.status, 200, r.text);
  const body = await get(deltaLink, ['subject', 'body']);
  assert.deepEqual(body.value.map((m: any) => m.id), [[...seen][0]]);
  assert.deepEqual(fields(body.value[0]), [...SELECT].sort());
  assert.equal(body['@odata.deltaLink'].length, length);
});

test('folder delta: the stored links carry only their token, and the round keeps its $select', async () => {
  let link = `${ADELE}/mailFolders/delta`;
  let deltaLink: string | undefined;
  const lengths = new Set<number>();
  while (!deltaLink) {
    const body = await get(link, ['displayName'], { Prefer: 'odata.maxpagesize=3' });
    for (const f of body.value) assert.deepEqual(fields(f), ['displayName', 'id']);
    if (body['@odata.nextLink']) {
      link = body['@odata.nextLink'];
      onlyToken(link, '$skiptoken');
      lengths.add(link.length);
    } else deltaLink = body['@odata.deltaLink'];
  }
  assert.equal(lengths.size, 1);
  for (let i = 0; i < 20; i++) {
    const body = await get(deltaLink, ['displayName', 'parentFolderId']);
    assert.deepEqual(body.value, []);
    assert.equal(body['@odata.deltaLink'].length, deltaLink.length);
    deltaLink = body['@odata.deltaLink'] as string;
  }
});

/**
 * Follows a collection's nextLinks (at most `maxPages`) with `.select()` on every one (the client
 * adds `also` to the token's options, which the server ignores); every link holds its token alone
 * and, the offsets having as many digits, is as long as the others. Returns the ids seen, in order.
 */
async function pageThrough(first: string, select: string[], also: string[], expectKeys: string[], maxPages = 9): Promise<string[]> {
  const ids: string[] = [];
  const lengths = new Set<number>();
  let link: string | undefined = first;
  let n = 0;
  while (link && n < maxPages) {
    const body = await get(link, n++ === 0 ? select : also);
    for (const item of body.value) {
      assert.deepEqual(fields(item), [...expectKeys].sort(), link);
      ids.push(item.id);
    }
    link = body['@odata.nextLink'];
    if (link && n < maxPages) {
      onlyToken(link, '$skiptoken');
      lengths.add(link.length);
    }
  }
  assert.ok(n >= 3, `${first}: ${n} pages`);
  assert.equal(lengths.size, 1, `${first}: link lengths ${[...lengths]}`);
  return ids;
}

test('nextLink paging of messages, folders, users and restore sessions: links hold only the token, which keeps $select, $filter, $orderby and $top', async () => {
  const all = (await s.request('GET', `/v1.0${ADELE}/messages?$select=id&$orderby=receivedDateTime desc&$top=1000`)).body.value.map((m: any) => m.id);
  // offsets 10..90: the same number of digits on every link
  const messages = await pageThrough(`${ADELE}/messages?$top=10&$orderby=receivedDateTime desc`, ['subject', 'isRead'], ['subject', 'isRead', 'body'], ['id', 'subject', 'isRead']);
  assert.deepEqual(messages.slice(0, 90), all.slice(0, 90));

  const folders = await pageThrough(`${ADELE}/mailFolders?$top=2`, ['displayName'], ['displayName'], ['id', 'displayName']);
  const allFolders = (await s.request('GET', `/v1.0${ADELE}/mailFolders?$top=100`)).body.value.map((f: any) => f.id);
  assert.deepEqual(folders, allFolders);

  const users = await pageThrough(`/users?$top=2&$filter=startswith(userPrincipalName,'a') or endswith(userPrincipalName,'.demo')`, ['displayName', 'mail'], ['displayName', 'mail', 'jobTitle'], ['id', 'displayName', 'mail']);
  assert.equal(users.length, 10);
  assert.equal(new Set(users).size, 10);

  const sessions = await pageThrough(`${BR}/exchangeRestoreSessions?$top=2&$orderby=createdDateTime desc`, ['status'], ['status', 'createdBy'], ['id', 'status']);
  const allSessions = (await s.request('GET', `${SESSIONS}?$orderby=createdDateTime desc&$select=id`)).body.value.map((x: any) => x.id);
  assert.deepEqual(sessions, allSessions);
});

test('a nextLink followed with other options than its own: the token\'s options win, the next link is no longer', async () => {
  const first = await s.request('GET', `/v1.0/users?$top=3&$select=displayName&$count=true`);
  const link = first.body['@odata.nextLink'] as string;
  assert.equal(first.body['@odata.count'], 10);
  const r = await s.request('GET', `${link}&$select=mail,jobTitle,displayName&$top=7&$filter=displayName eq 'nobody'&$count=false`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.value.length, 3);
  assert.equal(r.body['@odata.count'], 10);
  for (const u of r.body.value) assert.deepEqual(Object.keys(u).sort(), ['displayName', 'id']);
  assert.equal(r.body['@odata.nextLink'].length, link.length);
  // the same option twice beside the token: still the token's query
  const twice = await s.request('GET', `${link}&$select=mail&$select=mail`);
  assert.equal(twice.status, 200, twice.text);
});

test('links of the previous version (options in the link, {"o":N} tokens, delta tokens without $select) keep working', async () => {
  const old = Buffer.from(JSON.stringify({ o: 3 })).toString('base64url');
  const r = await s.request('GET', `/v1.0/users?$top=3&$select=displayName&$skiptoken=${old}`);
  assert.equal(r.status, 200, r.text);
  const expected = (await s.request('GET', '/v1.0/users?$top=10&$select=displayName')).body.value.slice(3, 6);
  assert.deepEqual(r.body.value, expected);
  onlyToken(r.body['@odata.nextLink'], '$skiptoken');
  const next = await s.request('GET', r.body['@odata.nextLink']);
  assert.deepEqual(next.body.value, (await s.request('GET', '/v1.0/users?$top=10&$select=displayName')).body.value.slice(6, 9));

  // a delta token as the previous version wrote it: 7 fields, the $select in the link
  const round = await s.request('GET', `/v1.0${ADELE}/mailFolders/sentitems/messages/delta?$select=subject`, { headers: { prefer: 'odata.maxpagesize=1000' } });
  const token = new URL(round.body['@odata.deltaLink']).searchParams.get('$deltatoken')!;
  const parts = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
  assert.equal(parts.length, 8);
  const payload = Buffer.from(JSON.stringify(parts.slice(0, 7))).toString('base64url');
  const legacy = `${payload}.${crypto.createHash('sha256').update('mailvault-delta:' + payload).digest('base64url').slice(0, 12)}`;
  const m = round.body.value[0].id as string;
  assert.equal((await s.request('PATCH', `/v1.0${ADELE}/messages/${m}`, { body: { isRead: true } })).status, 200);
  const again = await s.request('GET', `/v1.0${ADELE}/mailFolders/sentitems/messages/delta?$select=subject,isRead&$deltatoken=${legacy}`);
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.body.value.map((x: any) => ({ id: x.id, subject: x.subject, isRead: x.isRead, fields: fields(x) })), [{ id: m, subject: round.body.value[0].subject, isRead: true, fields: ['id', 'isRead', 'subject'] }]);
  onlyToken(again.body['@odata.deltaLink'], '$deltatoken');
});

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const BAD_SKIPTOKENS = [
  b64('{"o":1e20}'),
  b64('{"o":9223372036854775808}'),
  b64('{"o":18446744073709551616}'),
  b64('{"o":1e308}'),
  b64('{"o":9007199254740993}'),
  b64('{"o":-1}'),
  b64('{"o":1.5}'),
  b64('{"o":"5"}'),
  b64('{"o":null}'),
  b64('{"o":5,"x":1}'),
  b64('{"o":5,"q":[]}'),
  b64('{"o":5,"q":{"$top":5}}'),
  b64('{"o":5,"q":{"$skiptoken":"x"}}'),
  b64('null'),
  b64('[1]'),
  b64('5'),
  b64('not json'),
  'garbage!',
  '%00',
  'x'.repeat(3000),
];

test('a malformed, huge or out-of-range $skiptoken is 400 BadRequest on every paged collection, never a 500', async () => {
  const units = (await s.request('GET', `/v1.0${BR}/mailboxProtectionUnits?$top=1`)).body.value;
  const policy = (await s.request('GET', `/v1.0${BR}/protectionPolicies?$top=1`)).body.value[0].id;
  const session = (await s.request('GET', `${SESSIONS}?$top=1`)).body.value[0].id;
  const group = (await s.request('GET', '/v1.0/groups?$top=1')).body.value[0]?.id;
  const collections = [
    `${SESSIONS}`,
    `/v1.0${BR}/restoreSessions`,
    `${SESSIONS}/${session}/mailboxRestoreArtifacts`,
    '/v1.0/users',
    '/v1.0/groups',
    ...(group ? [`/v1.0/groups/${group}/members`] : []),
    `/v1.0${ADELE}/messages`,
    `/v1.0${ADELE}/mailFolders/inbox/messages`,
    `/v1.0${ADELE}/mailFolders`,
    `/v1.0${BR}/protectionPolicies`,
    `/v1.0${BR}/exchangeProtectionPolicies/${policy}/mailboxProtectionUnits`,
    `/v1.0${BR}/mailboxProtectionUnits`,
    `/v1.0${BR}/serviceApps`,
    `/v1.0${BR}/restorePoints?$expand=protectionUnit($filter=id eq '${units[0].id}')&$filter=protectionDateTime lt 2099-01-01T00:00:00Z`,
  ];
  for (const c of collections) {
    for (const token of BAD_SKIPTOKENS) {
      const r = await s.request('GET', `${c}${c.includes('?') ? '&' : '?'}$skiptoken=${encodeURIComponent(token)}`);
      const code = c.includes('/restorePoints') ? 'InvalidSearchRequest' : 'BadRequest';
      expectGraphError(r, 400, code);
    }
  }
  // a token whose options are not ones the collection takes is refused as those options would be
  expectGraphError(await s.request('GET', `/v1.0/users?$skiptoken=${b64('{"o":0,"q":{"$filter":"nosuch eq 1"}}')}`), 400, 'BadRequest');
  expectGraphError(await s.request('GET', `/v1.0/users?$skiptoken=${b64('{"o":0,"q":{"$search":"x"}}')}`), 400, 'BadRequest');
  // the largest offset a token may hold is answered, with nothing
  const far = await s.request('GET', `/v1.0/users?$skiptoken=${b64(`{"o":${Number.MAX_SAFE_INTEGER},"q":{}}`)}`);
  assert.equal(far.status, 200, far.text);
  assert.deepEqual(far.body.value, []);
});

test('a delta token changed by hand is 410 SyncStateNotFound or 400, never a 500', async () => {
  const round = await s.request('GET', `/v1.0${ADELE}/mailFolders/archive/messages/delta`, { headers: { prefer: 'odata.maxpagesize=1000' } });
  const parts = JSON.parse(Buffer.from(new URL(round.body['@odata.deltaLink']).searchParams.get('$deltatoken')!.split('.')[0], 'base64url').toString());
  const sign = (v: unknown) => {
    const payload = Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${payload}.${crypto.createHash('sha256').update('mailvault-delta:' + payload).digest('base64url').slice(0, 12)}`;
  };
  const path = `/v1.0${ADELE}/mailFolders/archive/messages/delta`;
  for (const v of [null, 5, 'x', [], {}, [...parts.slice(0, 4), 'x', 1, null, null], [...parts.slice(0, 4), null, 1e300, null, null], [...parts.slice(0, 7), 5], [...parts, 'extra']]) {
    for (const option of ['$deltatoken', '$skiptoken']) expectGraphError(await s.request('GET', `${path}?${option}=${sign(v)}`), 410, 'SyncStateNotFound');
  }
  expectGraphError(await s.request('GET', `${path}?$deltatoken=${sign([...parts.slice(0, 7), 'nosuchproperty'])}`), 400, 'BadRequest');
});
