/**
 * Concurrent requests that race for one outcome get it once: the rule is checked in the write that
 * makes the change, not before it (same-named folders, deletes, group member references), and a change
 * made to a message read before it is made again when the message changed in between.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { createUser, newTenant, ok, postMessage, type Tenant } from '../helpers/protect.js';
import { createGroup } from '../helpers/protection.js';

let s: TestServer;
let t: Tenant;
before(async () => {
  s = await startServer();
  t = await newTenant(s);
});
after(() => s.close());

/** The statuses of 12 concurrent copies of one request, counted. */
async function race(method: string, path: string, body?: unknown): Promise<Record<number, number>> {
  const rs = await Promise.all(Array.from({ length: 12 }, () => s.request(method, path, { token: t.app, body })));
  const counts: Record<number, number> = {};
  for (const r of rs) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

test('concurrent creates of one folder name: one 201, the others 409 ErrorFolderExists, one folder', async () => {
  const u = await createUser(s, t, 'Folders');
  assert.deepEqual(await race('POST', `/v1.0/users/${u.id}/mailFolders`, { displayName: 'Projects' }), { 201: 1, 409: 11 });
  const renamed = ok(await s.request('POST', `/v1.0/users/${u.id}/mailFolders`, { token: t.app, body: { displayName: 'Other' } }), 201).id;
  const second = ok(await s.request('POST', `/v1.0/users/${u.id}/mailFolders`, { token: t.app, body: { displayName: 'Third' } }), 201).id;
  const both = await Promise.all([renamed, second].map((id) => s.request('PATCH', `/v1.0/users/${u.id}/mailFolders/${id}`, { token: t.app, body: { displayName: 'Same' } })));
  assert.deepEqual(both.map((r) => r.status).sort(), [200, 409], 'two renames to one name');
  const names = ok(await s.request('GET', `/v1.0/users/${u.id}/mailFolders?$top=100`, { token: t.app }), 200).value.map((f: { displayName: string }) => f.displayName);
  assert.equal(names.filter((n: string) => n === 'Projects').length, 1);
  assert.equal(names.filter((n: string) => n === 'Same').length, 1);
});

test('concurrent deletes of one message, folder or user: one 204, the others 404', async () => {
  const u = await createUser(s, t, 'Deletes');
  const m = await postMessage(s, t, u.id, { subject: 'Once' });
  assert.deepEqual(await race('DELETE', `/v1.0/users/${u.id}/messages/${m}`), { 204: 1, 404: 11 });
  const f = ok(await s.request('POST', `/v1.0/users/${u.id}/mailFolders`, { token: t.app, body: { displayName: 'Doomed' } }), 201).id;
  assert.deepEqual(await race('DELETE', `/v1.0/users/${u.id}/mailFolders/${f}`), { 204: 1, 404: 11 });
  assert.deepEqual(await race('DELETE', `/v1.0/users/${u.id}`), { 204: 1, 404: 11 });
});

test('concurrent adds of one member reference: one 204, the others 400', async () => {
  const u = await createUser(s, t, 'Member');
  const g = await createGroup(s, t, []);
  assert.deepEqual(await race('POST', `/v1.0/groups/${g}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${u.id}` }), { 204: 1, 400: 11 });
  assert.deepEqual(ok(await s.request('GET', `/v1.0/groups/${g}/members`, { token: t.app }), 200).value.map((x: { id: string }) => x.id), [u.id]);
});

test('concurrent attachment adds: every 201 is kept (the others are 409 ErrorIrresolvableConflict), none is lost', async () => {
  const u = await createUser(s, t, 'Attachments');
  const m = await postMessage(s, t, u.id, { subject: 'Many attachments' });
  const rs = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      s.request('POST', `/v1.0/users/${u.id}/messages/${m}/attachments`, { token: t.app, body: { '@odata.type': '#microsoft.graph.fileAttachment', name: `a${i}.txt`, contentBytes: Buffer.from(`file ${i}`).toString('base64') } }),
    ),
  );
  const created = rs.filter((r) => r.status === 201).map((r) => r.body.name as string);
  for (const r of rs) if (r.status !== 201) assert.equal(r.body.error.code, 'ErrorIrresolvableConflict', r.text);
  assert.ok(created.length >= 1);
  const kept = ok(await s.request('GET', `/v1.0/users/${u.id}/messages/${m}/attachments`, { token: t.app }), 200).value.map((a: { name: string }) => a.name);
  assert.deepEqual(kept.sort(), created.sort());
});

test('a message deleted while it is moved stays deleted; a move into a folder deleted meanwhile is 404 and leaves nothing in it', async () => {
  const u = await createUser(s, t, 'Moves');
  const m = await postMessage(s, t, u.id, { subject: 'Moved and deleted' });
  const rs = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      i === 3 ? s.request('DELETE', `/v1.0/users/${u.id}/messages/${m}`, { token: t.app }) : s.request('POST', `/v1.0/users/${u.id}/messages/${m}/move`, { token: t.app, body: { destinationId: i % 2 ? 'archive' : 'inbox' } }),
    ),
  );
  assert.equal(rs[3].status, 204);
  ok(await s.request('GET', `/v1.0/users/${u.id}/messages/${m}`, { token: t.app }), 404);
  const f = ok(await s.request('POST', `/v1.0/users/${u.id}/mailFolders`, { token: t.app, body: { displayName: 'Target' } }), 201).id;
  const moved = await postMessage(s, t, u.id, { subject: 'Into a doomed folder' });
  const [del, mv] = await Promise.all([
    s.request('DELETE', `/v1.0/users/${u.id}/mailFolders/${f}`, { token: t.app }),
    s.request('POST', `/v1.0/users/${u.id}/messages/${moved}/move`, { token: t.app, body: { destinationId: f } }),
  ]);
  assert.equal(del.status, 204);
  // Either the move came first and the message went with the folder, or it found the folder gone.
  assert.ok(mv.status === 201 || mv.status === 404, mv.text);
  const inDeleted = await s.app.core.store.db.selectFrom('messages').select('id').where('tenant_id', '=', t.id).where('folder_id', '=', f).execute();
  assert.deepEqual(inDeleted, []);
  ok(await s.request('GET', `/v1.0/users/${u.id}/messages/${moved}`, { token: t.app }), mv.status === 201 ? 404 : 200);
});
