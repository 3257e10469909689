/**
 * No request, however malformed, gets a 5xx the spec does not document: every route of the server (read
 * from its router, v1.0 and beta), with real and broken ids, broken query options and bodies of every
 * wrong shape. The documented 5xx are TooManyActiveRestoreSessions (500) and the 501 of what Mailvault
 * does not implement (emailNotificationsSetting).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startServer({ demo: true });
});
after(() => s.close());

/** Every route as [path with :params, methods], from the router's own listing. */
function routes(): Array<{ path: string; methods: string[] }> {
  const out: Array<{ path: string; methods: string[] }> = [];
  const stack: string[] = [];
  for (const line of s.app.server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    stack[depth] = (depth > 0 ? stack[depth - 1] : '') + m[2].replace(/:(\w+)(\|:\w+)*/g, ':$1');
    if (m[3]) out.push({ path: stack[depth], methods: m[3].split(', ').filter((x) => x !== 'HEAD') });
  }
  return out;
}

test('malformed requests to every route get a 4xx (or a documented 5xx), and the server stays up', async () => {
  const all = routes();
  assert.ok(all.length > 150, `the router lists ${all.length} routes`);
  const user = (await s.request('GET', '/v1.0/users?$top=1')).body.value[0].id as string;
  const ids = [user, '1f1fccc3-a642-4f61-bf49-f37b9a888279', crypto.randomUUID(), '%E0%A4%A', "'q'", 'a'.repeat(3000), '%00'];
  const queries = ['?$filter=garbage', '?$top=-1&$skip=x', '?$expand=foo($filter=x)&$orderby=id desc desc', '?$skiptoken=garbage&$count=maybe', '?%24filter=%ZZ'];
  let deep: unknown = 1;
  for (let i = 0; i < 3000; i++) deep = { a: deep };
  const bodies = ['[]', 'null', '"s"', '{"displayName":"a\\u0000b","subject":"\\u0000","mailNickname":"n\\u0000"}', JSON.stringify(deep), '{"a":', '{"__proto__":{"x":1}}',
    '{"displayName":5,"id":[],"mailboxRestoreArtifacts":{},"protectionUnitIds":"x","destinationType":7,"subject":{},"toRecipients":[null],"effectiveDateTime":{}}',
    '{"mailboxRestoreArtifacts@delta":[{"@removed":5}],"mailboxProtectionUnits@delta":[null,1,"x"],"artifactQuery":{"queryExpression":5}}'];
  const unexpected: string[] = [];
  let sent = 0;
  const hit = async (method: string, path: string, body?: string) => {
    sent++;
    const r = await s.request(method, path, body === undefined ? {} : { raw: body, headers: { 'content-type': 'application/json' } });
    if (r.status >= 500 && !/TooManyActiveRestoreSessions|notImplemented/.test(r.text)) unexpected.push(`${method} ${path.slice(0, 120)} ${body?.slice(0, 60) ?? ''} → ${r.status} ${r.text.slice(0, 200)}`);
  };
  for (const r of all) {
    for (const id of r.path.includes(':') ? ids : ['']) {
      const path = r.path.replace(/:\w+/g, id);
      for (const method of r.methods) {
        if (method === 'GET') for (const q of queries) await hit('GET', path + q);
        else for (const b of bodies) await hit(method, path, b);
      }
    }
  }
  assert.deepEqual(unexpected, [], `${unexpected.length} of ${sent} requests got an undocumented 5xx`);
  assert.equal((await s.request('GET', '/_mailvault/health', { token: null })).status, 200);
});

test('U+0000 is refused in the URL and in JSON strings with 400 BadRequest, and nothing is stored', async () => {
  const before = (await s.request('GET', '/v1.0/users?$count=true&$top=1')).body['@odata.count'];
  for (const r of [
    await s.request('GET', '/v1.0/users/%00'),
    await s.request('GET', "/v1.0/users?$filter=displayName eq 'a%00'"),
    await s.request('POST', '/v1.0/users', { raw: '{"displayName":"a\\u0000b","userPrincipalName":"nul@contoso.example","mailNickname":"nul","accountEnabled":true,"passwordProfile":{"password":"Passw0rd!x"}}', headers: { 'content-type': 'application/json' } }),
  ]) {
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error.code, 'BadRequest');
    assert.match(r.body.error.message, /NUL character/);
  }
  assert.equal((await s.request('GET', '/v1.0/users?$count=true&$top=1')).body['@odata.count'], before);
  // An escaped backslash before the text u0000 is no NUL: in JSON, two backslashes and u0000 are a backslash and 'u0000'.
  const ok = await s.request('POST', '/v1.0/groups', { raw: '{"displayName":"a\\\\u0000","mailEnabled":false,"mailNickname":"slash","securityEnabled":true}', headers: { 'content-type': 'application/json' } });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.displayName, 'a\\u0000');
});
