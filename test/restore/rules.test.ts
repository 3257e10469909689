/**
 * The restore engine's rules beyond the drill: per-artifact failures with their documented codes,
 * folders recreated in place, moves undone, lost items counted and reported, delta queries, and the
 * realistic timing profile (Microsoft's pace per mailbox, concurrent restores of one mailbox).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { BR, createFolder, createUser, listPoints, moveMessage, newTenant, ok, pointAt, protectMailboxes, type Tenant } from '../helpers/protect.js';
import { activate, artifacts, createSession, getSession, protectSlowly, seedMessages, waitForSession } from './drill.js';
import type { MailService } from '../../src/mail/service.js';
import type { VaultService } from '../../src/vault/service.js';
import { sha256Hex } from '../../src/mail/ids.js';


describe('instant timing', () => {
  let s: TestServer;
  let t: Tenant;
  before(async () => {
    s = await startServer();
    t = await newTenant(s);
  });
  after(() => s?.close());

  /** A protected mailbox with `n` messages in its Inbox; the restore point taken when protection began. */
  async function victim(n: number, folders: (s: TestServer, userId: string) => Promise<string[]> = async () => []) {
    const user = await createUser(s, t, 'Victim');
    const inbox = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/inbox`, { token: t.app }), 200).id;
    const extra = await folders(s, user.id);
    const seeded = await seedMessages(s.app.core, t.id, user.id, [inbox, ...extra], n);
    const unitId = (await protectMailboxes(s, t, [user.id])).unitOf.get(user.id)!;
    const point = await pointAt(s, t, unitId, await s.now());
    await s.advance('PT15M');
    return { user, inbox, extra, seeded, unitId, point };
  }

  async function restore(point: string, destinationType = 'inPlace') {
    const id = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: point }, destinationType }] });
    await activate(s, t, id);
    const session = await waitForSession(s, t, id);
    return { session, artifact: (await artifacts(s, t, id))[0], id };
  }

  test('a deleted folder is recreated in place with its id, name and parent, and its messages come back into it', async () => {
    const v = await victim(30, async (srv, userId) => [await createFolder(srv, t, userId, 'Contracts')]);
    const [contracts] = v.extra;
    const sub = ok(await s.request('POST', `/v1.0/users/${v.user.id}/mailFolders/${contracts}/childFolders`, { token: t.app, body: { displayName: 'Signed' } }), 201).id;
    const inSub = await seedMessages(s.app.core, t.id, v.user.id, [sub], 4, { tag: 'signed' });
    await s.advance('PT15M');
    const point = await pointAt(s, t, v.unitId, await s.now());
    await s.advance('PT15M');
    ok(await s.request('DELETE', `/v1.0/users/${v.user.id}/mailFolders/${contracts}`, { token: t.app }), 204);
    await s.advance('PT15M');

    const { session, artifact } = await restore(point);
    assert.equal(session.status, 'completed');
    assert.equal(artifact.restoredItemCount, 15 + 4, 'the half of the 30 that was in Contracts, and the 4 in Signed');
    const folder = ok(await s.request('GET', `/v1.0/users/${v.user.id}/mailFolders/${contracts}`, { token: t.app }), 200);
    assert.equal(folder.displayName, 'Contracts');
    const root = ok(await s.request('GET', `/v1.0/users/${v.user.id}/mailFolders/msgfolderroot`, { token: t.app }), 200);
    assert.equal(folder.parentFolderId, root.id);
    const signed = ok(await s.request('GET', `/v1.0/users/${v.user.id}/mailFolders/${sub}`, { token: t.app }), 200);
    assert.deepEqual([signed.displayName, signed.parentFolderId], ['Signed', contracts]);
    const inSigned = ok(await s.request('GET', `/v1.0/users/${v.user.id}/mailFolders/${sub}/messages?$select=id`, { token: t.app }), 200).value.map((m: any) => m.id);
    assert.deepEqual(inSigned.sort(), inSub.map((m) => m.id).sort());
  });

  test('a message moved away since the restore point goes back to its folder (a move keeps the id: the same message, not a copy)', async () => {
    const v = await victim(3);
    const deleted = ok(await s.request('GET', `/v1.0/users/${v.user.id}/mailFolders/deleteditems`, { token: t.app }), 200).id;
    assert.equal(await moveMessage(s, t, v.user.id, v.seeded[0].id, deleted), v.seeded[0].id);
    await s.advance('PT15M');
    const { artifact } = await restore(v.point);
    assert.equal(artifact.restoredItemCount, 1);
    const back = ok(await s.request('GET', `/v1.0/users/${v.user.id}/messages/${v.seeded[0].id}`, { token: t.app }), 200);
    assert.equal(back.parentFolderId, v.inbox);
    assert.deepEqual(ok(await s.request('GET', `/v1.0/users/${v.user.id}/mailFolders/${deleted}/messages`, { token: t.app }), 200).value, []);
  });

  test('restored mail shows up in a delta query of its folder, and the vault captures it in the next restore point', async () => {
    const v = await victim(6);
    let r = ok(await s.request('GET', `/v1.0/users/${v.user.id}/mailFolders/${v.inbox}/messages/delta`, { token: t.app }), 200);
    while (r['@odata.nextLink']) r = ok(await s.request('GET', r['@odata.nextLink'], { token: t.app }), 200);
    const deltaLink = r['@odata.deltaLink'];
    assert.ok(deltaLink);
    await s.app.core.store.write((trx) => (s.app.services.mail as MailService).deleteMessages(trx, t.id, v.user.id, v.seeded.slice(0, 4).map((m) => m.id)));
    await s.advance('PT15M');
    await restore(v.point);
    const changes = ok(await s.request('GET', deltaLink, { token: t.app }), 200).value;
    const ids = new Set(changes.filter((c: any) => !c['@removed']).map((c: any) => c.id));
    for (const m of v.seeded.slice(0, 4)) assert.ok(ids.has(m.id), `delta lists restored ${m.id}`);

    const restoredAt = await s.now();
    await s.advance('PT15M');
    const [latest] = await listPoints(s, t.app, v.unitId);
    assert.ok(latest.protectionDateTime > restoredAt, 'a restore point after the restore');
    const vault = s.app.services.vault as VaultService;
    const captured = new Set<string>();
    for await (const batch of vault.stateAt(t.id, v.user.id, latest.protectionDateTime)) for (const m of batch.messages ?? []) captured.add(m.itemId);
    assert.deepEqual([...captured].sort(), v.seeded.map((m) => m.id).sort());
  });

  test('a restored message is found by every $filter and $orderby column exactly as before it was deleted', async () => {
    const v = await victim(3);
    const path = `/v1.0/users/${v.user.id}/messages`;
    const m = ok(
      await s.request('POST', path, {
        token: t.app,
        body: {
          subject: 'Überweisung März',
          importance: 'high',
          isRead: true,
          from: { emailAddress: { name: 'Ärger Team', address: 'ÄRGER.Team@Fabrikam.example' } },
          toRecipients: [{ emailAddress: { address: 'victim@contoso.example' } }],
          body: { contentType: 'text', content: 'Bitte prüfen.' },
          singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }],
        },
      }),
      201,
    );
    ok(await s.request('POST', `${path}/${m.id}/attachments`, { token: t.app, body: { '@odata.type': '#microsoft.graph.fileAttachment', name: 'a.txt', contentType: 'text/plain', contentBytes: 'aGk=' } }), 201);
    const filters = [
      `from/emailAddress/address eq 'ärger.team@fabrikam.example'`,
      `subject eq 'Überweisung März'`,
      'isRead eq true',
      'isDraft eq false',
      `importance eq 'high'`,
      'hasAttachments eq true',
    ];
    const found = async () => {
      const out: unknown[] = [];
      for (const f of filters) out.push(ok(await s.request('GET', `${path}?$filter=${encodeURIComponent(f)}&$select=subject`, { token: t.app }), 200).value.map((x: { id: string }) => x.id));
      const stored = ok(await s.request('GET', `${path}/${m.id}`, { token: t.app }), 200);
      for (const f of ['internetMessageId', 'conversationId']) {
        out.push(ok(await s.request('GET', `${path}?$filter=${encodeURIComponent(`${f} eq '${stored[f]}'`)}&$select=id`, { token: t.app }), 200).value.map((x: { id: string }) => x.id));
      }
      for (const o of ['receivedDateTime desc,subject', 'sentDateTime,subject', 'createdDateTime desc,subject']) {
        out.push(ok(await s.request('GET', `${path}?$orderby=${o}&$select=id`, { token: t.app }), 200).value.map((x: { id: string }) => x.id));
      }
      return out;
    };
    const before = await found();
    before.forEach((ids, i) => assert.ok((ids as string[]).includes(m.id), `query ${i} finds the message`));
    await s.advance('PT15M');
    const point = await pointAt(s, t, v.unitId, await s.now());
    await s.advance('PT15M');
    ok(await s.request('DELETE', `${path}/${m.id}`, { token: t.app }), 204);
    await s.advance('PT15M');
    const { artifact } = await restore(point);
    assert.equal(artifact.restoredItemCount, 1);
    assert.deepEqual(await found(), before);
  });

  test('items whose content is lost are counted and reported, and the others restored; nothing restorable fails the artifact', async () => {
    const v = await victim(10);
    const mail = s.app.services.mail as MailService;
    await s.app.core.store.write((trx) => mail.deleteMessages(trx, t.id, v.user.id, v.seeded.map((m) => m.id)));
    await s.advance('PT15M');
    // Simulated storage loss: the content of three messages disappears from the blob store.
    const lost = v.seeded.slice(0, 3);
    await s.app.core.store.write((trx) => trx.deleteFrom('blobs').where('sha256', 'in', lost.map((m) => sha256Hex(m.mime))).execute());
    const { session, artifact } = await restore(v.point);
    assert.equal(session.status, 'completed');
    assert.equal(artifact.status, 'succeeded');
    assert.equal(artifact.restoredItemCount, 7);
    assert.equal(artifact.error.code, 'UnknownError');
    assert.equal(artifact.error.message, '3 of 10 items could not be restored.');
    assert.deepEqual(
      artifact.error.details.map((d: any) => [d.code, d.target]).sort(),
      lost.map((m) => ['ItemNotRestored', m.id]).sort(),
    );
    assert.equal(artifact.error.details[0].message, 'The content of the item is no longer stored.');

    await s.app.core.store.write((trx) => trx.deleteFrom('blobs').where('sha256', 'in', v.seeded.map((m) => sha256Hex(m.mime))).execute());
    await s.app.core.store.write((trx) => mail.deleteMessages(trx, t.id, v.user.id, v.seeded.map((m) => m.id)));
    await s.advance('PT15M');
    const again = await restore(v.point);
    assert.equal(again.session.status, 'failed');
    assert.deepEqual(again.session.restoreSessionArtifactCount, { total: 1, completed: 0, inProgress: 0, failed: 1 });
    assert.equal(again.artifact.status, 'failed');
    assert.equal(again.artifact.restoredItemCount, 0);
    assert.equal(again.artifact.error.message, '10 of 10 items could not be restored.');
  });

  test('a mailbox deleted before the restore ran fails its artifact with ArtifactNotFound; the other artifact still runs', async () => {
    const a = await victim(2);
    const b = await victim(2);
    const id = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: a.point }, destinationType: 'inPlace' }, { restorePoint: { id: b.point }, destinationType: 'inPlace' }] });
    ok(await s.request('DELETE', `/v1.0/users/${a.user.id}`, { token: t.app }), 204);
    await activate(s, t, id);
    const session = await waitForSession(s, t, id);
    assert.equal(session.status, 'completedWithError');
    assert.deepEqual(session.restoreSessionArtifactCount, { total: 2, completed: 1, inProgress: 0, failed: 1 });
    const list = await artifacts(s, t, id);
    const failed = list.find((x) => x.restorePoint.id === a.point);
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error, { code: 'ArtifactNotFound', message: `The mailbox '${a.user.id}' no longer exists.`, target: null, details: [], innerError: null });
    assert.ok(failed.completionDateTime);
    assert.equal(list.find((x) => x.restorePoint.id === b.point).status, 'succeeded');
  });

  test('anything unexpected fails the artifact with UnknownError and a message saying what went wrong', async () => {
    const v = await victim(2);
    // Simulated damage: the mailbox's top folder is gone, so the restore has nowhere to put anything.
    await s.app.core.store.write((trx) => trx.deleteFrom('folders').where('tenant_id', '=', t.id).where('mailbox_id', '=', v.user.id).where('well_known_name', '=', 'msgfolderroot').execute());
    const { session, artifact } = await restore(v.point);
    assert.equal(session.status, 'failed');
    assert.deepEqual(session.restoreSessionArtifactCount, { total: 1, completed: 0, inProgress: 0, failed: 1 });
    assert.ok(session.completedDateTime);
    assert.equal(artifact.status, 'failed');
    assert.deepEqual(artifact.error, {
      code: 'UnknownError',
      message: `The restore failed: the mailbox ${v.user.id} has no root or inbox folder`,
      target: null,
      details: [],
      innerError: null,
    });
    assert.ok(artifact.startDateTime && artifact.completionDateTime);
  });

  test('a restore point that expired before the restore ran fails with InvalidRestoreTime', async () => {
    const v = await victim(2);
    const id = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: v.point }, destinationType: 'inPlace' }] });
    await s.advance('P366D');
    await activate(s, t, id);
    const session = await waitForSession(s, t, id);
    assert.equal(session.status, 'failed');
    const [a] = await artifacts(s, t, id);
    assert.equal(a.status, 'failed');
    assert.equal(a.error.code, 'InvalidRestoreTime');
    assert.equal(a.startDateTime, null);
  });
});

describe('realistic timing', () => {
  let s: TestServer;
  let t: Tenant;
  let user: { id: string };
  let point: string;
  /** A second mailbox, protected at the same time, for the test of a point expiring during its restore. */
  let other: { user: { id: string }; seeded: Array<{ id: string }>; point: string };
  before(async () => {
    s = await startServer({ timing: 'realistic' });
    t = await newTenant(s);
    user = await createUser(s, t, 'Paced');
    const inbox = ok(await s.request('GET', `/v1.0/users/${user.id}/mailFolders/inbox`, { token: t.app }), 200).id;
    const seeded = await seedMessages(s.app.core, t.id, user.id, [inbox], 600);
    const expiring = await createUser(s, t, 'Expiring');
    const inbox2 = ok(await s.request('GET', `/v1.0/users/${expiring.id}/mailFolders/inbox`, { token: t.app }), 200).id;
    const seeded2 = await seedMessages(s.app.core, t.id, expiring.id, [inbox2], 600, { tag: 'expiring' });
    const units = await protectSlowly(s, t, [user.id, expiring.id]);
    const now = await s.now();
    point = await pointAt(s, t, units.get(user.id)!, now);
    other = { user: expiring, seeded: seeded2, point: await pointAt(s, t, units.get(expiring.id)!, now) };
    await s.advance('PT15M');
    await s.app.core.store.write((trx) => (s.app.services.mail as MailService).deleteMessages(trx, t.id, user.id, seeded.map((m) => m.id)));
    await s.advance('PT15M');
  });
  after(() => s?.close());

  test('a restore goes at 250 items a minute of emulated time; a second session for the same mailbox fails with DuplicateArtifactRestoreRequest', async () => {
    const first = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: point }, destinationType: 'inPlace' }] });
    const second = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: point }, destinationType: 'new' }] });
    await activate(s, t, first);
    let session = await getSession(s, t, first);
    for (const until = Date.now() + 10_000; session.status === 'activating' && Date.now() < until; session = await getSession(s, t, first)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(session.status, 'active');
    assert.deepEqual(session.restoreSessionArtifactCount, { total: 1, completed: 0, inProgress: 1, failed: 0 });
    let [a] = await artifacts(s, t, first);
    assert.equal(a.status, 'inProgress');
    assert.ok(a.startDateTime);
    const start = Date.parse(a.startDateTime);
    /** At most the items 250 a minute allow from the start to `at`. */
    const allowed = (at: string) => Math.floor(((Date.parse(at) - start) * 250) / 60_000);
    assert.ok(a.restoredItemCount <= allowed(await s.now()), `barely started: ${a.restoredItemCount}`);

    await activate(s, t, second);
    const other = await waitForSession(s, t, second);
    assert.equal(other.status, 'failed');
    const [dup] = await artifacts(s, t, second);
    assert.equal(dup.error.code, 'DuplicateArtifactRestoreRequest');

    for (const minutes of [1, 2]) {
      await s.advance('PT1M');
      [a] = await artifacts(s, t, first);
      const n = a.restoredItemCount;
      assert.ok(n >= 250 * minutes && n <= allowed(await s.now()), `after ${minutes} minute(s): ${n}`);
    }
    assert.equal((await getSession(s, t, first)).status, 'active');
    await s.advance('PT1M');
    session = await waitForSession(s, t, first);
    assert.equal(session.status, 'completed');
    [a] = await artifacts(s, t, first);
    assert.equal(a.restoredItemCount, 600);
    const took = new Date(a.completionDateTime).getTime() - new Date(a.startDateTime).getTime();
    // 600 items at 250 a minute need 2.4 minutes; the worker noticed at the clock move after that.
    assert.ok(took >= 144_000 && took <= 185_000, `600 items at 250 a minute take about 2.4 minutes, not ${took} ms`);
  });

  test('a restore running when its restore point expires keeps what it reads from the garbage collection, and restores every item', async () => {
    const { user: u, seeded, point: p } = other;
    await s.app.core.store.write((trx) => (s.app.services.mail as MailService).deleteMessages(trx, t.id, u.id, seeded.map((m) => m.id)));
    await s.advance('PT15M'); // a later point holds the deletions
    const expires = ok(await s.request('GET', `${BR}/restorePoints/${p}`, { token: t.app }), 200).expirationDateTime;
    ok(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { set: new Date(Date.parse(expires) - 60_000).toISOString() } }), 200);

    const id = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: p }, destinationType: 'inPlace' }] });
    await activate(s, t, id);
    let [a] = await artifacts(s, t, id);
    for (const until = Date.now() + 10_000; a.status !== 'inProgress' && Date.now() < until; [a] = await artifacts(s, t, id)) await new Promise((r) => setTimeout(r, 20));
    await s.advance('PT1M');
    [a] = await artifacts(s, t, id);
    assert.equal(a.status, 'inProgress');
    assert.ok(a.restoredItemCount < 600, `still running: ${a.restoredItemCount}`);
    ok(await s.request('GET', `${BR}/restorePoints/${p}`, { token: t.app }), 404);
    ok(await s.request('POST', '/_mailvault/vault/gc', { token: s.adminToken }), 200); // the point expired: only the running restore holds it

    await s.advance('PT3M');
    const session = await waitForSession(s, t, id);
    assert.equal(session.status, 'completed');
    [a] = await artifacts(s, t, id);
    assert.equal(a.restoredItemCount, 600);
    assert.equal(ok(await s.request('GET', `/v1.0/users/${u.id}/messages?$count=true&$top=1`, { token: t.app }), 200)['@odata.count'], 600);
    // Done, it holds nothing: the next collection removes the point.
    ok(await s.request('POST', '/_mailvault/vault/gc', { token: s.adminToken }), 200);
    assert.equal(await s.app.core.store.db.selectFrom('restore_points').select('id').where('id', '=', p).executeTakeFirst(), undefined);
  });
});


