import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, expectGraphError, type TestResponse, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(() => s.close());

/** A fresh tenant and an application token for it holding every permission. */
async function tenant() {
  const tenantId = await s.newTenant();
  const token = await s.token({ tenantId });
  return { tenantId, token };
}

const newUser = (nick: string, extra: Record<string, unknown> = {}) => ({
  accountEnabled: true,
  displayName: nick[0].toUpperCase() + nick.slice(1) + ' Tester',
  mailNickname: nick,
  userPrincipalName: `${nick}@contoso.test`,
  passwordProfile: { forceChangePasswordNextSignIn: true, password: 'xWwvJ]6NMw+bWH-d' },
  ...extra,
});

test('creating a user returns 201 with the Graph user shape, a Location, and a mailbox', async () => {
  const { token } = await tenant();
  const r = await s.request('POST', '/v1.0/users', { token, body: newUser('adele', { givenName: 'Adele', surname: 'Vance', jobTitle: 'Retail Manager', businessPhones: ['+1 425 555 0109'] }) });
  assert.equal(r.status, 201);
  const id = r.body.id;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers.get('location'), `${s.base}/v1.0/users/${id}`);
  assert.deepEqual(r.body, {
    '@odata.context': `${s.base}/v1.0/$metadata#users/$entity`,
    businessPhones: ['+1 425 555 0109'],
    displayName: 'Adele Tester',
    givenName: 'Adele',
    jobTitle: 'Retail Manager',
    mail: 'adele@contoso.test',
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: 'Vance',
    userPrincipalName: 'adele@contoso.test',
    id,
    accountEnabled: true,
    mailNickname: 'adele',
    createdDateTime: r.body.createdDateTime,
    usageLocation: null,
    department: null,
    companyName: null,
    deletedDateTime: null,
  });
  assert.match(r.body.createdDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const byUpn = await s.request('GET', '/v1.0/users/ADELE@contoso.test', { token });
  assert.equal(byUpn.status, 200);
  assert.deepEqual(Object.keys(byUpn.body), ['@odata.context', 'businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id', 'accountEnabled']);
  assert.equal(byUpn.body.id, id);
  const folders = await s.request('GET', `/v1.0/users/${id}/mailFolders`, { token });
  assert.equal(folders.status, 200);
  assert.equal(folders.body.value.length, 7);
  const sel = await s.request('GET', `/v1.0/users/${id}?$select=displayName,mailNickname`, { token });
  assert.deepEqual(sel.body, { '@odata.context': `${s.base}/v1.0/$metadata#users/$entity`, displayName: 'Adele Tester', id, mailNickname: 'adele' });
});

test('user creation validates required properties, UPN syntax and uniqueness, unknown properties', async () => {
  const { token } = await tenant();
  const { passwordProfile: _p, ...noPassword } = newUser('a');
  expectGraphError(await s.request('POST', '/v1.0/users', { token, body: noPassword }), 400, 'Request_BadRequest');
  const { displayName: _d, ...noName } = newUser('b');
  const e = expectGraphError(await s.request('POST', '/v1.0/users', { token, body: noName }), 400, 'Request_BadRequest');
  assert.equal(e.message, "Property 'displayName' is required.");
  expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('c', { userPrincipalName: 'not an upn' }) }), 400, 'Request_BadRequest');
  expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('d', { accountEnabled: 'yes' }) }), 400, 'Request_BadRequest');
  const unknown = expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('e', { favouriteColour: 'blue' }) }), 400, 'Request_BadRequest');
  assert.match(unknown.message, /favouriteColour/);
  assert.equal((await s.request('POST', '/v1.0/users', { token, body: newUser('f') })).status, 201);
  const dup = expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('f', { userPrincipalName: 'F@contoso.test' }) }), 400, 'Request_BadRequest');
  assert.equal(dup.message, 'Another object with the same value for property userPrincipalName already exists.');
  expectGraphError(await s.request('POST', '/v1.0/users', { token, raw: '[1,2]', headers: { 'content-type': 'application/json' } }), 400, 'BadRequest');
  expectGraphError(await s.request('POST', '/v1.0/users', { token, raw: 'x', headers: { 'content-type': 'text/plain' } }), 415, 'UnsupportedMediaType');
});

test('listing users pages to the end, filters, orders, counts and selects', async () => {
  const { token } = await tenant();
  const nicks = ['amy', 'ben', 'cara', 'dan', 'anna'];
  for (const n of nicks) assert.equal((await s.request('POST', '/v1.0/users', { token, body: newUser(n) })).status, 201);
  const seen: string[] = [];
  let url: string | undefined = '/v1.0/users?$top=2&$select=displayName';
  let pages = 0;
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token });
    assert.equal(r.status, 200);
    for (const u of r.body.value) {
      assert.deepEqual(Object.keys(u), ['displayName', 'id']);
      seen.push(u.displayName);
    }
    url = r.body['@odata.nextLink'];
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, ['Amy Tester', 'Anna Tester', 'Ben Tester', 'Cara Tester', 'Dan Tester']);
  const f = await s.request('GET', "/v1.0/users?$filter=startswith(displayName,'a')&$orderby=displayName desc&$count=true", { token });
  assert.equal(f.body['@odata.count'], 2);
  assert.deepEqual(f.body.value.map((u: any) => u.userPrincipalName), ['anna@contoso.test', 'amy@contoso.test']);
  const eq = await s.request('GET', "/v1.0/users?$filter=userPrincipalName eq 'ben@contoso.test'", { token });
  assert.equal(eq.body.value.length, 1);
  expectGraphError(await s.request('GET', "/v1.0/users?$filter=nosuch eq 'x'", { token }), 400, 'BadRequest');
  expectGraphError(await s.request('GET', '/v1.0/users?$top=0', { token }), 400, 'BadRequest');
});

test('PATCH updates a user (204); DELETE removes it from the directory and its mailbox from the mail API', async () => {
  const { token } = await tenant();
  const id = (await s.request('POST', '/v1.0/users', { token, body: newUser('gina') })).body.id;
  const p = await s.request('PATCH', `/v1.0/users/${id}`, { token, body: { displayName: 'Gina G', jobTitle: 'Boss', officeLocation: '18/2111', accountEnabled: false } });
  assert.equal(p.status, 204);
  assert.equal(p.text, '');
  const g = await s.request('GET', `/v1.0/users/${id}?$select=displayName,jobTitle,officeLocation,accountEnabled`, { token });
  assert.deepEqual(g.body, { '@odata.context': `${s.base}/v1.0/$metadata#users/$entity`, displayName: 'Gina G', jobTitle: 'Boss', officeLocation: '18/2111', accountEnabled: false, id });
  expectGraphError(await s.request('PATCH', `/v1.0/users/${id}`, { token, body: { displayName: 42 } }), 400, 'Request_BadRequest');
  expectGraphError(await s.request('PATCH', `/v1.0/users/${id}`, { token, body: { shoeSize: 42 } }), 400, 'Request_BadRequest');
  assert.equal((await s.request('DELETE', `/v1.0/users/${id}`, { token })).status, 204);
  const gone = expectGraphError(await s.request('GET', `/v1.0/users/${id}`, { token }), 404, 'Request_ResourceNotFound');
  assert.equal(gone.message, `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  expectGraphError(await s.request('DELETE', `/v1.0/users/${id}`, { token }), 404, 'Request_ResourceNotFound');
  expectGraphError(await s.request('GET', `/v1.0/users/${id}/messages`, { token }), 404, 'ErrorInvalidUser');
  const list = await s.request('GET', '/v1.0/users', { token });
  assert.equal(list.body.value.length, 0);
});

test('groups: create, get, list, members $ref add/remove, members@odata.bind', async () => {
  const { token } = await tenant();
  const a = (await s.request('POST', '/v1.0/users', { token, body: newUser('ann') })).body.id;
  const b = (await s.request('POST', '/v1.0/users', { token, body: newUser('bob') })).body.id;
  const c = await s.request('POST', '/v1.0/groups', { token, body: { displayName: 'Sales', description: 'Sellers', mailEnabled: true, mailNickname: 'sales', securityEnabled: false, groupTypes: ['Unified'], 'members@odata.bind': [`https://graph.microsoft.com/v1.0/directoryObjects/${a}`] } });
  assert.equal(c.status, 201);
  const gid = c.body.id;
  assert.deepEqual(c.body, {
    '@odata.context': `${s.base}/v1.0/$metadata#groups/$entity`,
    id: gid,
    deletedDateTime: null,
    createdDateTime: c.body.createdDateTime,
    description: 'Sellers',
    displayName: 'Sales',
    groupTypes: ['Unified'],
    mail: 'sales@contoso.test',
    mailEnabled: true,
    mailNickname: 'sales',
    securityEnabled: false,
    visibility: 'Public',
  });
  assert.equal(c.headers.get('location'), `${s.base}/v1.0/groups/${gid}`);
  assert.equal((await s.request('GET', `/v1.0/groups/${gid}`, { token })).body.displayName, 'Sales');
  assert.equal((await s.request('GET', '/v1.0/groups', { token })).body.value.length, 1);
  const add = await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${b}` } });
  assert.equal(add.status, 204);
  const dup = expectGraphError(await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${b}` } }), 400, 'Request_BadRequest');
  assert.equal(dup.message, "One or more added object references already exist for the following modified properties: 'members'.");
  expectGraphError(await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: { '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-000000000000' } }), 404, 'Request_ResourceNotFound');
  expectGraphError(await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: { id: b } }), 400, 'Request_BadRequest');
  const members = await s.request('GET', `/v1.0/groups/${gid}/members?$select=displayName`, { token });
  assert.deepEqual(members.body, {
    '@odata.context': `${s.base}/v1.0/$metadata#directoryObjects`,
    value: [
      { '@odata.type': '#microsoft.graph.user', displayName: 'Ann Tester', id: a },
      { '@odata.type': '#microsoft.graph.user', displayName: 'Bob Tester', id: b },
    ],
  });
  assert.equal((await s.request('DELETE', `/v1.0/groups/${gid}/members/${a}/$ref`, { token })).status, 204);
  expectGraphError(await s.request('DELETE', `/v1.0/groups/${gid}/members/${a}/$ref`, { token }), 404, 'Request_ResourceNotFound');
  const after = await s.request('GET', `/v1.0/groups/${gid}/members`, { token });
  assert.deepEqual(after.body.value.map((m: any) => m.id), [b]);
  // a deleted user leaves its groups
  assert.equal((await s.request('DELETE', `/v1.0/users/${b}`, { token })).status, 204);
  assert.deepEqual((await s.request('GET', `/v1.0/groups/${gid}/members`, { token })).body.value, []);
  expectGraphError(await s.request('POST', '/v1.0/groups', { token, body: { displayName: 'X', mailNickname: 'x' } }), 400, 'Request_BadRequest');
  expectGraphError(await s.request('GET', '/v1.0/groups/6a5e0000-0000-4000-8000-000000000000', { token }), 404, 'Request_ResourceNotFound');
  assert.equal((await s.request('PATCH', `/v1.0/groups/${gid}`, { token, body: { description: 'Everyone who sells' } })).status, 204);
  assert.equal((await s.request('GET', `/v1.0/groups/${gid}`, { token })).body.description, 'Everyone who sells');
  assert.equal((await s.request('DELETE', `/v1.0/groups/${gid}`, { token })).status, 204);
  expectGraphError(await s.request('GET', `/v1.0/groups/${gid}`, { token }), 404, 'Request_ResourceNotFound');
});

test('directory permissions are Graph\'s: read, write, and GroupMember.ReadWrite.All for members', async () => {
  const { tenantId, token } = await tenant();
  const uid = (await s.request('POST', '/v1.0/users', { token, body: newUser('perm') })).body.id;
  const gid = (await s.request('POST', '/v1.0/groups', { token, body: { displayName: 'G', mailEnabled: false, mailNickname: 'g', securityEnabled: true } })).body.id;
  const userRead = await s.token({ tenantId, roles: ['User.Read.All'] });
  assert.equal((await s.request('GET', '/v1.0/users', { token: userRead })).status, 200);
  const denied = expectGraphError(await s.request('POST', '/v1.0/users', { token: userRead, body: newUser('nope') }), 403, 'accessDenied');
  assert.match(denied.message, /User\.ReadWrite\.All/);
  expectGraphError(await s.request('DELETE', `/v1.0/users/${uid}`, { token: userRead }), 403, 'accessDenied');
  expectGraphError(await s.request('GET', '/v1.0/groups', { token: userRead }), 403, 'accessDenied');
  const groupRead = await s.token({ tenantId, roles: ['Group.Read.All'] });
  assert.equal((await s.request('GET', `/v1.0/groups/${gid}/members`, { token: groupRead })).status, 200);
  expectGraphError(await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token: groupRead, body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${uid}` } }), 403, 'accessDenied');
  const memberWrite = await s.token({ tenantId, roles: ['GroupMember.ReadWrite.All'] });
  assert.equal((await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token: memberWrite, body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${uid}` } })).status, 204);
  expectGraphError(await s.request('POST', '/v1.0/groups', { token: memberWrite, body: { displayName: 'H', mailEnabled: false, mailNickname: 'h', securityEnabled: true } }), 403, 'accessDenied');
  expectGraphError(await s.request('GET', '/v1.0/users', { token: null }), 401, 'InvalidAuthenticationToken');
  const delegated = await s.token({ tenantId, scopes: ['User.Read.All'], userId: uid });
  assert.equal((await s.request('GET', `/v1.0/users/${uid}`, { token: delegated })).status, 200);
});

test('tenants are isolated: another tenant\'s users and groups are not found', async () => {
  const a = await tenant();
  const b = await tenant();
  const uid = (await s.request('POST', '/v1.0/users', { token: a.token, body: newUser('iso') })).body.id;
  const gid = (await s.request('POST', '/v1.0/groups', { token: a.token, body: { displayName: 'Iso', mailEnabled: false, mailNickname: 'iso', securityEnabled: true } })).body.id;
  expectGraphError(await s.request('GET', `/v1.0/users/${uid}`, { token: b.token }), 404, 'Request_ResourceNotFound');
  expectGraphError(await s.request('GET', '/v1.0/users/iso@contoso.test', { token: b.token }), 404, 'Request_ResourceNotFound');
  expectGraphError(await s.request('GET', `/v1.0/groups/${gid}`, { token: b.token }), 404, 'Request_ResourceNotFound');
  expectGraphError(await s.request('PATCH', `/v1.0/users/${uid}`, { token: b.token, body: { displayName: 'x' } }), 404, 'Request_ResourceNotFound');
  // the same UPN may exist in another tenant
  assert.equal((await s.request('POST', '/v1.0/users', { token: b.token, body: newUser('iso') })).status, 201);
  assert.equal((await s.request('GET', '/v1.0/users', { token: b.token })).body.value.length, 1);
});

test('users and groups share one id space: a chosen id must be a GUID not used by any user or group', async () => {
  const { token } = await tenant();
  const chosen = 'c0ffee00-1111-4000-8000-000000000001';
  const u = await s.request('POST', '/v1.0/users', { token, body: newUser('idy', { id: chosen.toUpperCase() }) });
  assert.equal(u.status, 201);
  assert.equal(u.body.id, chosen);
  const group = (id: unknown) => ({ id, displayName: 'G', mailEnabled: false, mailNickname: 'g', securityEnabled: true });
  const taken = expectGraphError(await s.request('POST', '/v1.0/groups', { token, body: group(chosen) }), 400, 'Request_BadRequest');
  assert.equal(taken.message, 'Another object with the same value for property id already exists.');
  expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('idz', { id: chosen }) }), 400, 'Request_BadRequest');
  const gid = 'c0ffee00-2222-4000-8000-000000000001';
  assert.equal((await s.request('POST', '/v1.0/groups', { token, body: group(gid) })).body.id, gid);
  expectGraphError(await s.request('POST', '/v1.0/groups', { token, body: group(gid) }), 400, 'Request_BadRequest');
  expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('idw', { id: gid }) }), 400, 'Request_BadRequest');
  const malformed = expectGraphError(await s.request('POST', '/v1.0/groups', { token, body: group('not-a-guid') }), 400, 'Request_BadRequest');
  assert.equal(malformed.message, "Invalid value specified for property 'id' of resource 'Group'.");
  expectGraphError(await s.request('POST', '/v1.0/groups', { token, body: group(42) }), 400, 'Request_BadRequest');
  // a deleted user's id stays taken
  assert.equal((await s.request('DELETE', `/v1.0/users/${chosen}`, { token })).status, 204);
  expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('idv', { id: chosen }) }), 400, 'Request_BadRequest');
  assert.equal((await s.request('GET', '/v1.0/groups', { token })).body.value.length, 1, 'refused creations changed nothing');
});

test('group member references: malformed ones are 400, a group cannot contain itself; members and groups page to the end', async () => {
  const { tenantId, token } = await tenant();
  const gid = (await s.request('POST', '/v1.0/groups', { token, body: { displayName: 'Big', mailEnabled: false, mailNickname: 'big', securityEnabled: true } })).body.id;
  const ref = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
  expectGraphError(await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: ref('%E0%A4%A') }), 400, 'Request_BadRequest');
  expectGraphError(await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: { '@odata.id': 'https://graph.microsoft.com/v1.0/me' } }), 400, 'Request_BadRequest');
  expectGraphError(await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: ref(gid) }), 404, 'Request_ResourceNotFound');
  expectGraphError(await s.request('POST', '/v1.0/groups', { token, body: { displayName: 'X', mailEnabled: false, mailNickname: 'x', securityEnabled: true, 'members@odata.bind': ['https://graph.microsoft.com/v1.0/users/%ZZ'] } }), 400, 'Request_BadRequest');
  const ids: string[] = [];
  for (const n of ['m1', 'm2', 'm3', 'm4', 'm5']) {
    const id = (await s.request('POST', '/v1.0/users', { token, body: newUser(n) })).body.id;
    ids.push(id);
    assert.equal((await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: ref(id) })).status, 204);
    await s.advance('PT1S');
  }
  const inner = (await s.request('POST', '/v1.0/groups', { token, body: { displayName: 'Inner', mailEnabled: false, mailNickname: 'inner', securityEnabled: true } })).body.id;
  assert.equal((await s.request('POST', `/v1.0/groups/${gid}/members/$ref`, { token, body: { '@odata.id': `https://graph.microsoft.com/v1.0/groups('${inner}')` } })).status, 204);
  const seen: string[] = [];
  let url: string | undefined = `/v1.0/groups/${gid}/members?$top=2&$select=id`;
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token: await s.token({ tenantId, roles: ['GroupMember.ReadWrite.All'] }) });
    assert.equal(r.status, 200);
    assert.ok(r.body.value.length <= 2);
    seen.push(...r.body.value.map((m: any) => `${m['@odata.type']} ${m.id}`));
    url = r.body['@odata.nextLink'];
  }
  assert.deepEqual(seen, [...ids.map((id) => `#microsoft.graph.user ${id}`), `#microsoft.graph.group ${inner}`], 'in the order they were added');
  const names: string[] = [];
  url = '/v1.0/groups?$top=1&$select=displayName';
  while (url) {
    const r: TestResponse = await s.request('GET', url, { token });
    names.push(...r.body.value.map((g: any) => g.displayName));
    url = r.body['@odata.nextLink'];
  }
  assert.deepEqual(names, ['Big', 'Inner']);
  // Group.ReadWrite.All writes groups and their members
  const groupWrite = await s.token({ tenantId, roles: ['Group.ReadWrite.All'] });
  assert.equal((await s.request('DELETE', `/v1.0/groups/${gid}/members/${ids[0]}/$ref`, { token: groupWrite })).status, 204);
  assert.equal((await s.request('PATCH', `/v1.0/groups/${inner}`, { token: groupWrite, body: { displayName: 'Inner circle' } })).status, 204);
  expectGraphError(await s.request('GET', '/v1.0/users', { token: groupWrite }), 403, 'accessDenied');
});

test('addresses are unique among live users: a mail may not be another user\'s UPN or mail; /users/{upn} finds the UPN\'s owner', async () => {
  const { token } = await tenant();
  const ann = (await s.request('POST', '/v1.0/users', { token, body: newUser('ann2') })).body.id;
  const bob = (await s.request('POST', '/v1.0/users', { token, body: newUser('bob2', { mail: 'robert@contoso.test' }) })).body.id;
  const taken = 'Another object with the same value for property proxyAddresses already exists.';
  assert.equal(expectGraphError(await s.request('PATCH', `/v1.0/users/${bob}`, { token, body: { mail: 'ANN2@contoso.test' } }), 400, 'Request_BadRequest').message, taken);
  assert.equal(expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('cy2', { mail: 'robert@contoso.test' }) }), 400, 'Request_BadRequest').message, taken);
  assert.equal(expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('robert') }), 400, 'Request_BadRequest').message, taken, "a UPN that is another user's mail");
  assert.equal(expectGraphError(await s.request('PATCH', `/v1.0/users/${ann}`, { token, body: { userPrincipalName: 'robert@contoso.test' } }), 400, 'Request_BadRequest').message, taken);
  assert.equal(
    expectGraphError(await s.request('PATCH', `/v1.0/users/${ann}`, { token, body: { userPrincipalName: 'bob2@contoso.test' } }), 400, 'Request_BadRequest').message,
    'Another object with the same value for property userPrincipalName already exists.',
  );
  expectGraphError(await s.request('POST', '/v1.0/users', { token, body: newUser('dee2', { mail: 42 }) }), 400, 'Request_BadRequest');
  expectGraphError(await s.request('PATCH', `/v1.0/users/${ann}`, { token, body: { mail: 'not an address' } }), 400, 'Request_BadRequest');
  assert.equal((await s.request('GET', '/v1.0/users?$count=true', { token })).body.value.length, 2, 'nothing was created');
  assert.equal((await s.request('GET', `/v1.0/users/${bob}?$select=mail`, { token })).body.mail, 'robert@contoso.test', 'nothing was changed');
  // a user's own addresses never conflict with each other
  assert.equal((await s.request('PATCH', `/v1.0/users/${ann}`, { token, body: { mail: null } })).status, 204);
  assert.equal((await s.request('PATCH', `/v1.0/users/${ann}`, { token, body: { mail: 'ann.two@contoso.test', userPrincipalName: 'ann.two@contoso.test' } })).status, 204);
  assert.equal((await s.request('GET', '/v1.0/users/ann.two@contoso.test', { token })).body.id, ann);
  assert.equal((await s.request('GET', '/v1.0/users/bob2@contoso.test', { token })).body.id, bob);
  assert.equal((await s.request('GET', '/v1.0/users/robert@contoso.test', { token })).body.id, bob, 'found by mail too');
});
