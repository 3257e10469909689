/**
 * A restored message's vault version shares the text of the version it restores instead of holding a
 * copy (restoring it again refers to the version holding the text, never to a reference); readers see
 * the same snapshot either way, and retention gives the text to the restored version
 * before it removes the one holding it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { createUser, deleteMessage, newTenant, ok, postMessage, protectMailboxes } from '../helpers/protect.js';
import { activate, createSession, waitForSession } from '../restore/drill.js';
import type { VaultService } from '../../src/vault/service.js';

test('a restored message refers to the version it restores, and keeps its snapshot when retention removes that version', async () => {
  const s = await startServer();
  try {
    const t = await newTenant(s);
    const user = await createUser(s, t, 'Shared');
    const kept = await postMessage(s, t, user.id, { subject: 'Kept as it was' });
    const lost = await postMessage(s, t, user.id, { subject: 'Deleted then restored' });
    const p = await protectMailboxes(s, t, [user.id]);
    const latestPoint = async () => {
      await s.advance('PT10M');
      const body = { protectionUnitIds: [p.unitOf.get(user.id)!], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, restorePointPreference: 'latest' };
      return ok(await s.request('POST', '/v1.0/solutions/backupRestore/restorePoints/search', { token: t.app, body }), 200).searchResults[0].restorePoint.id as string;
    };
    const restoreFrom = async (pointId: string) => {
      const session = await createSession(s, t, { mailboxRestoreArtifacts: [{ restorePoint: { id: pointId }, destinationType: 'inPlace' }] });
      await activate(s, t, session);
      assert.equal((await waitForSession(s, t, session)).status, 'completed');
    };
    const pointId = await latestPoint();
    await deleteMessage(s, t, user.id, lost);
    await s.advance('PT10M');
    await restoreFrom(pointId);

    const db = s.app.core.store.db;
    const versions = () => db.selectFrom('vault_versions').select(['seq', 'op', 'props', 'props_seq']).where('tenant_id', '=', t.id).where('item_id', '=', lost).orderBy('seq').execute();
    const [original, tombstone, restored] = await versions();
    assert.equal(tombstone.op, 'delete');
    assert.equal(restored.op, 'upsert');
    assert.equal(restored.props, null, 'the restored version holds no copy of the text');
    assert.equal(Number(restored.props_seq), Number(original.seq));
    const message = ok(await s.request('GET', `/v1.0/users/${user.id}/messages/${lost}`, { token: t.app }), 200);
    assert.equal(message.subject, 'Deleted then restored');

    const vault = s.app.services.vault as VaultService;
    const at = (await s.request('GET', '/_mailvault/clock')).body.now;
    const subjectsAt = async (when: string) => {
      const out = new Map<string, unknown>();
      for await (const batch of vault.stateAt(t.id, user.id, when)) for (const m of batch.messages ?? []) out.set(m.itemId, m.props.subject);
      return out;
    };
    assert.deepEqual(await subjectsAt(at), new Map([[kept, 'Kept as it was'], [lost, 'Deleted then restored']]));

    // Restoring the restored version again refers to the version holding the text, never to a reference.
    const second = await latestPoint();
    await deleteMessage(s, t, user.id, lost);
    await s.advance('PT10M');
    await restoreFrom(second);
    const again = (await versions()).at(-1)!;
    assert.equal(again.props, null);
    assert.equal(Number(again.props_seq), Number(original.seq));

    // A year on, retention keeps only the latest version of each item: the restored one, now with the text itself.
    await s.advance('P366D');
    const report = ok(await s.request('GET', '/_mailvault/vault/gc', { token: s.adminToken }), 200).lastRun;
    assert.ok(report && report.versionsRemoved >= 2, `versions removed: ${report?.versionsRemoved}`);
    const left = await versions();
    assert.equal(left.length, 1);
    assert.equal(left[0].seq, again.seq);
    assert.equal(left[0].props_seq, null);
    assert.equal(left[0].props, original.props, 'the text moved to the version that shared it');
    const now = (await s.request('GET', '/_mailvault/clock')).body.now;
    assert.deepEqual(await subjectsAt(now), new Map([[kept, 'Kept as it was'], [lost, 'Deleted then restored']]));
  } finally {
    await s.close();
  }
});
