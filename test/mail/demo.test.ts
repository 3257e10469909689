/**
 * The demo tenant's people and mail (`--demo`): what README.md documents is what the server holds,
 * it is seeded once per data directory, and the same on every run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, DEMO_TENANT_ID, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { mintToken } from '../../src/identity/tokens.js';

interface Demo {
  app: App;
  base: string;
  token: string;
  get(p: string): Promise<any>;
}

async function open(flags: Record<string, string | boolean>): Promise<Demo> {
  const app = await createApp(loadConfig({ port: '0', logLevel: 'silent', demo: true, schedulerInterval: '86400000', ...flags }, {}));
  const base = await app.listen();
  const token = await mintToken(app.core.key, { tenantId: DEMO_TENANT_ID });
  const get = async (p: string) => {
    const r = await fetch(base + p, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, p);
    return r.json();
  };
  return { app, base, token, get };
}

/** The README's demo section: its users (name, id, UPN) and groups (name, mail, id, member first names). */
function readmeDemo() {
  const readme = fs.readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf("### The demo tenant's people and mail"));
  const users = [...section.matchAll(/^\| ([^|`]+?) \| `([0-9a-f-]{36})` \| `([^`]+)` \|$/gm)].map((m) => ({ displayName: m[1], id: m[2], userPrincipalName: m[3] }));
  const groups = [...section.matchAll(/^\| (.+?) \(`([^`]+)`\) \| `([0-9a-f-]{36})` \| (.+?) \|$/gm)].map((m) => ({ displayName: m[1], mail: m[2], id: m[3], members: m[4].split(', ') }));
  const tenant = /seeds tenant `([0-9a-f-]{36})`/.exec(section)?.[1];
  const perUser = Number(/each with (\d+) messages/.exec(section)?.[1]);
  return { users, groups, tenant, perUser };
}

/** What must not change between runs: every user's messages as ids, folders, subjects, times and flags. */
async function fingerprint(d: Demo, userIds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of userIds) {
    const folders = (await d.get(`/v1.0/users/${id}/mailFolders?$top=100`)).value.map((f: any) => `${f.id} ${f.displayName} ${f.totalItemCount}`);
    const messages = (await d.get(`/v1.0/users/${id}/messages?$top=1000&$orderby=receivedDateTime&$select=subject,parentFolderId,receivedDateTime,internetMessageId,isRead,isDraft,hasAttachments`)).value;
    out.push(...folders, ...messages.map((m: any) => `${m.id} ${m.parentFolderId} ${m.receivedDateTime} ${m.internetMessageId} ${m.isRead} ${m.isDraft} ${m.hasAttachments} ${m.subject}`));
  }
  return out;
}

let dir: string;
let demo: Demo;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-demo-'));
  demo = await open({ data: dir });
});
after(async () => {
  await demo.app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the demo tenant holds the users, groups and members the README documents, each user with a mailbox full of mail', async () => {
  const doc = readmeDemo();
  assert.equal(doc.tenant, DEMO_TENANT_ID);
  assert.equal(doc.users.length, 10);
  assert.equal(doc.groups.length, 2);
  const users = (await demo.get('/v1.0/users?$select=id,displayName,userPrincipalName')).value;
  assert.deepEqual(users, doc.users);
  for (const g of doc.groups) {
    const group = await demo.get(`/v1.0/groups/${g.id}`);
    assert.deepEqual([group.displayName, group.mail], [g.displayName, g.mail]);
    const members = (await demo.get(`/v1.0/groups/${g.id}/members?$select=displayName`)).value.map((m: any) => m.displayName.split(' ')[0]);
    assert.deepEqual(members.sort(), [...g.members].sort());
  }
  assert.equal((await demo.get('/v1.0/groups')).value.length, 2);

  let total = 0;
  const inFolder = new Map<string, number>();
  for (const u of doc.users) {
    const all = await demo.get(`/v1.0/users/${u.userPrincipalName}/messages?$count=true&$top=1&$select=id`);
    assert.equal(all['@odata.count'], doc.perUser, u.userPrincipalName);
    total += all['@odata.count'];
    for (const f of (await demo.get(`/v1.0/users/${u.id}/mailFolders`)).value) inFolder.set(f.displayName, (inFolder.get(f.displayName) ?? 0) + f.totalItemCount);
    const projects = (await demo.get(`/v1.0/users/${u.id}/mailFolders/inbox/childFolders`)).value;
    assert.deepEqual(projects.map((f: any) => f.displayName), ['Projects']);
    const drafts = await demo.get(`/v1.0/users/${u.id}/mailFolders/drafts/messages?$filter=isDraft eq false&$count=true&$select=id`);
    assert.equal(drafts['@odata.count'], 0, 'everything in Drafts is a draft');
    const withFiles = await demo.get(`/v1.0/users/${u.id}/messages?$filter=hasAttachments eq true&$count=true&$top=1&$select=id`);
    assert.ok(withFiles['@odata.count'] > doc.perUser * 0.05 && withFiles['@odata.count'] < doc.perUser * 0.25, `${withFiles['@odata.count']} with attachments`);
    const attachments = (await demo.get(`/v1.0/users/${u.id}/messages/${withFiles.value[0].id}/attachments`)).value;
    assert.equal(attachments.length, 1);
    assert.ok(attachments[0].size > 0);
  }
  assert.equal(total, 3000);
  for (const name of ['Inbox', 'Sent Items', 'Archive', 'Deleted Items', 'Drafts']) assert.ok(inFolder.get(name)! > 50, `${name}: ${inFolder.get(name)}`);
});

test('the demo is seeded once per data directory, and the same on every run', async () => {
  const ids = readmeDemo().users.map((u) => u.id);
  const first = await fingerprint(demo, ids);
  await demo.app.close();
  demo = await open({ data: dir });
  assert.deepEqual(await fingerprint(demo, ids), first, 'a restart neither seeds again nor changes anything');
  const fresh = await open({ memory: true });
  try {
    assert.deepEqual(await fingerprint(fresh, ids), first, 'another data directory gets the same demo');
  } finally {
    await fresh.app.close();
  }
});
