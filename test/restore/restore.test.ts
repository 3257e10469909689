/**
 * The ransomware drill, end to end through the official Graph client over HTTPS: a protected mailbox
 * of a few thousand messages, time moves on, an attack rewrites every subject and body and deletes a
 * third, new mail arrives, and restore sessions bring the mailbox back from the point before the attack.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseType, type Client } from '@microsoft/microsoft-graph-client';
import { startHttpsServer, graphClient } from '../helpers/graphClient.js';
import type { TestServer } from '../helpers/server.js';
import { BR, createFolder, createUser, listPoints, newTenant, ok, protectMailboxes, type Tenant } from '../helpers/protect.js';
import { artifacts, attack, eachLimit, listMessages, seedMessages, waitForSession, type Seeded } from './drill.js';

const N = 2400;

let s: TestServer;
let t: Tenant;
let client: Client;
let user: { id: string; mail: string; displayName: string };
let unitId: string;
let seeded: Seeded[];
let late: Seeded[];
let beforeAttack: string;
let inbox: string;
let projects: string;
let attacked: { rewritten: Seeded[]; deleted: Seeded[] };
/** The mailbox as the Graph API showed it before the attack. */
let original: Map<string, any>;

before(async () => {
  s = await startHttpsServer();
  t = await newTenant(s);
  client = graphClient(s, t.app);
  user = await createUser(s, t, 'Victim');
  inbox = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/inbox`, { token: t.app }), 200).id;
  projects = await createFolder(s, t, user.id, 'Projects');
  const core = s.app.core;
  seeded = await seedMessages(core, t.id, user.id, [inbox, projects], N);
  const p = await protectMailboxes(s, t, [user.id]);
  unitId = p.unitOf.get(user.id)!;
  await s.advance('PT20M');
  const points = await listPoints(s, t.app, unitId);
  beforeAttack = points[0].id;
  original = await listMessages(s, t, user.id);
  attacked = await attack(core, t.id, user.id, seeded);
  late = await seedMessages(core, t.id, user.id, [inbox], 40, { tag: 'late' });
  await s.advance('PT20M');
});
after(() => s?.close());

async function valueOf(userId: string, id: string): Promise<Buffer> {
  const ab = (await client.api(`/users/${userId}/messages/${id}/$value`).responseType(ResponseType.ARRAYBUFFER).get()) as ArrayBuffer;
  return Buffer.from(ab);
}

async function runSession(body: Record<string, unknown>): Promise<{ session: any; id: string }> {
  const created = await client.api('/solutions/backupRestore/exchangeRestoreSessions').post({ '@odata.type': '#microsoft.graph.exchangeRestoreSession', ...body });
  await client.api(`/solutions/backupRestore/exchangeRestoreSessions/${created.id}/activate`).post({});
  return { session: await waitForSession(s, t, created.id), id: created.id };
}

/** The folder tree under a folder: path → folder id. */
async function tree(userId: string, folderId: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const r = await client.api(`/users/${userId}/mailFolders/${folderId}/childFolders`).top(100).get();
  for (const f of r.value) {
    out.set(prefix + f.displayName, f.id);
    for (const [k, v] of await tree(userId, f.id, prefix + f.displayName + '/')) out.set(k, v);
  }
  return out;
}

test('the attack happened: subjects rewritten, a third deleted, late mail present', async () => {
  const live = await listMessages(s, t, user.id);
  assert.equal(live.size, N - attacked.deleted.length + late.length);
  assert.match(live.get(attacked.rewritten[0].id).subject, /^ENCRYPTED/);
});

test('a restore to a new folder copies the pre-attack mail into "Restored Items <YYYY-DD-MM>, <HH:MM>" with its folder tree', async () => {
  const { session, id } = await runSession({ mailboxRestoreArtifacts: [{ restorePoint: { id: beforeAttack }, destinationType: 'new' }] });
  assert.equal(session.status, 'completed');
  assert.deepEqual(session.restoreSessionArtifactCount, { total: 1, completed: 1, inProgress: 0, failed: 0 });
  assert.ok(session.completedDateTime);
  const [a] = await artifacts(s, t, id);
  assert.equal(a.status, 'succeeded');
  assert.equal(a.restoredItemCount, N);
  assert.equal(a.error, null);
  assert.ok(a.startDateTime && a.completionDateTime && a.startDateTime <= a.completionDateTime);
  const start = new Date(a.startDateTime);
  const pad = (n: number) => String(n).padStart(2, '0');
  const expected = `Restored Items ${start.getUTCFullYear()}-${pad(start.getUTCDate())}-${pad(start.getUTCMonth() + 1)}, ${pad(start.getUTCHours())}:${pad(start.getUTCMinutes())}`;
  assert.equal(a.restoredFolderName, expected);

  const root = await client.api(`/users/${user.id}/mailFolders/${a.restoredFolderId}`).get();
  assert.equal(root.displayName, expected);
  const msgroot = await client.api(`/users/${user.id}/mailFolders/msgfolderroot`).get();
  assert.equal(root.parentFolderId, msgroot.id);
  const sub = await tree(user.id, a.restoredFolderId);
  assert.deepEqual([...sub.keys()].sort(), ['Inbox', 'Projects']);
  const copiesIn = new Map<string, string>();
  for (const [name, fid] of sub) for (const m of (await listMessages(s, t, user.id, fid)).values()) copiesIn.set(m.subject, name);
  assert.equal(copiesIn.size, N);
  for (const m of seeded) assert.equal(copiesIn.get(m.subject), m.folderId === inbox ? 'Inbox' : 'Projects');
  // byte for byte, a sample of the copies
  const bySubject = new Map(seeded.map((m) => [m.subject, m]));
  const copies = [...(await listMessages(s, t, user.id, sub.get('Projects')!)).values()].slice(0, 100);
  await eachLimit(copies, 8, async (c) => assert.ok((await valueOf(user.id, c.id)).equals(bySubject.get(c.subject)!.mime), c.subject));
  // the originals were not touched
  const live = await listMessages(s, t, user.id, inbox);
  assert.match(live.get(attacked.rewritten.find((m) => m.folderId === inbox)!.id).subject, /^ENCRYPTED/);
});

test('a granular restore brings back exactly one sender\'s pre-attack mail into "Recovered Items YYYY-MM-DD, HH:MM"', async () => {
  const sender = 'sender3@fabrikam.example';
  const search = ok(
    await s.request('POST', `${BR}/restorePoints/search`, {
      token: t.app,
      body: {
        protectionUnitIds: [unitId],
        protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z', endDateTime: (await listPoints(s, t.app, unitId)).find((p) => p.id === beforeAttack).protectionDateTime },
        restorePointPreference: 'latest',
        artifactQuery: { artifactType: 'message', queryExpression: `(Sender -eq '${sender}')` },
      },
    }),
    200,
  );
  const expected = seeded.filter((m) => m.sender === sender);
  assert.equal(search.searchResults[0].restorePoint.id, beforeAttack);
  assert.equal(search.searchResults[0].artifactHitCount, expected.length);
  const { session, id } = await runSession({
    granularMailboxRestoreArtifacts: [{ restorePoint: { id: beforeAttack }, destinationType: 'new', searchResponseId: search.searchResponseId }],
  });
  assert.equal(session.status, 'completed');
  const [a] = await artifacts(s, t, id, 'granularMailboxRestoreArtifacts');
  assert.equal(a.status, 'succeeded');
  assert.equal(a.restoredItemCount, expected.length);
  assert.match(a.restoredFolderName, /^Recovered Items \d{4}-\d{2}-\d{2}, \d{2}:\d{2}$/);
  const start = new Date(a.startDateTime);
  assert.equal(a.restoredFolderName.slice(16, 26), start.toISOString().slice(0, 10));
  const sub = await tree(user.id, a.restoredFolderId);
  const got: string[] = [];
  for (const fid of sub.values()) for (const m of (await listMessages(s, t, user.id, fid)).values()) got.push(m.subject);
  assert.deepEqual(got.sort(), expected.map((m) => m.subject).sort());
});

/** Whose mail a granular restore repairs in place before the full in-place restore. */
const REPAIRED_SENDER = 'sender5@fabrikam.example';

async function searchFor(sender: string): Promise<string> {
  const end = (await listPoints(s, t.app, unitId)).find((p) => p.id === beforeAttack).protectionDateTime;
  const r = ok(
    await s.request('POST', `${BR}/restorePoints/search`, {
      token: t.app,
      body: {
        protectionUnitIds: [unitId],
        protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z', endDateTime: end },
        restorePointPreference: 'latest',
        artifactQuery: { artifactType: 'message', queryExpression: `(Sender -eq '${sender}')` },
      },
    }),
    200,
  );
  assert.equal(r.searchResults[0].restorePoint.id, beforeAttack);
  return r.searchResponseId;
}

test('a granular restore in place repairs only the matched messages', async () => {
  const sender = REPAIRED_SENDER;
  const searchResponseId = await searchFor(sender);
  const { session, id } = await runSession({ granularMailboxRestoreArtifacts: [{ restorePoint: { id: beforeAttack }, destinationType: 'inPlace', searchResponseId }] });
  assert.equal(session.status, 'completed');
  const [a] = await artifacts(s, t, id, 'granularMailboxRestoreArtifacts');
  const mine = seeded.filter((m) => m.sender === sender);
  assert.equal(a.restoredItemCount, mine.length);
  const live = new Map([...(await listMessages(s, t, user.id, inbox)), ...(await listMessages(s, t, user.id, projects))]);
  for (const m of mine) assert.equal(live.get(m.id)?.subject, m.subject);
  const other = attacked.rewritten.find((m) => m.sender !== sender)!;
  assert.match(live.get(other.id).subject, /^ENCRYPTED/, 'other senders\' mail is not touched');
  assert.equal(live.has(attacked.deleted.find((m) => m.sender !== sender)!.id), false);
});

test('an in-place restore brings every pre-attack message back byte for byte and leaves later mail alone', async () => {
  const { session, id } = await runSession({ mailboxRestoreArtifacts: [{ restorePoint: { id: beforeAttack }, destinationType: 'inPlace' }] });
  assert.equal(session.status, 'completed');
  assert.deepEqual(session.restoreSessionArtifactCount, { total: 1, completed: 1, inProgress: 0, failed: 0 });
  const [a] = await artifacts(s, t, id);
  assert.equal(a.status, 'succeeded');
  const repaired = seeded.filter((m) => m.sender === REPAIRED_SENDER).length;
  assert.equal(a.restoredItemCount, N - repaired, 'every rewritten and every deleted message not repaired already');
  assert.equal(a.restoredFolderName, user.displayName);
  const msgroot = await client.api(`/users/${user.id}/mailFolders/msgfolderroot`).get();
  assert.equal(a.restoredFolderId, msgroot.id);

  const live = new Map([...(await listMessages(s, t, user.id, inbox)), ...(await listMessages(s, t, user.id, projects))]);
  for (const m of seeded) {
    const got = live.get(m.id);
    assert.ok(got, `message ${m.subject} is back with its id`);
    assert.equal(got.parentFolderId, m.folderId);
    const { '@odata.etag': _e, ...was } = original.get(m.id);
    const { '@odata.etag': _f, ...now } = got;
    assert.deepEqual(now, was, 'subject, internetMessageId, dates and read state as before the attack');
  }
  for (const m of late) assert.equal(live.get(m.id)?.subject, m.subject, 'mail that arrived after the attack stays');
  assert.equal(live.size, N + late.length);
  await eachLimit(seeded, 8, async (m) => assert.ok((await valueOf(user.id, m.id)).equals(m.mime), `$value of ${m.subject}`));
});

test('restoring again when nothing differs writes nothing and creates no folder', async () => {
  const before = (await tree(user.id, 'msgfolderroot')).size;
  const { session, id } = await runSession({ mailboxRestoreArtifacts: [{ restorePoint: { id: beforeAttack }, destinationType: 'new' }] });
  assert.equal(session.status, 'completed');
  const [a] = await artifacts(s, t, id);
  assert.equal(a.status, 'succeeded');
  assert.equal(a.restoredItemCount, 0);
  assert.equal(a.restoredFolderId, null);
  assert.equal(a.restoredFolderName, null);
  assert.equal((await tree(user.id, 'msgfolderroot')).size, before);
});
