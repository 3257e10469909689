/**
 * Granular search finds its candidates in the keyword index (SQLite FTS5), not by reading the
 * mailbox: a version the index does not hold is not found by a keyword query.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { BR, createUser, newTenant, ok, postMessage, protectMailboxes } from '../helpers/protect.js';

test('keyword queries read their candidates from the FTS5 index', { skip: process.env.MAILVAULT_TEST_DATABASE_URL ? 'no keyword index on PostgreSQL' : false }, async () => {
  const s = await startServer();
  try {
    const t = await newTenant(s);
    const u = await createUser(s, t, 'Indexed');
    const twin = await createUser(s, t, 'Twin');
    await postMessage(s, t, u.id, { subject: 'Budget review', from: 'cfo@contoso.example' });
    await postMessage(s, t, u.id, { subject: 'Lunch' });
    await postMessage(s, t, twin.id, { subject: 'Budget review' });
    const p = await protectMailboxes(s, t, [u.id, twin.id]);
    const unitId = p.unitOf.get(u.id)!;
    const count = async (queryExpression: string) => {
      const body = { protectionUnitIds: [unitId], protectionTimePeriod: { startDateTime: '2000-01-01T00:00:00Z' }, restorePointPreference: 'latest', artifactQuery: { artifactType: 'message', queryExpression } };
      return ok(await s.request('POST', `${BR}/restorePoints/search`, { token: t.app, body }), 200).searchResults[0].artifactHitCount as number;
    };

    // The twin mailbox's message is not counted: a match never leaves its mailbox.
    const late = await postMessage(s, t, u.id, { subject: 'Budget numbers' });
    await s.advance('PT10M');
    assert.equal(await count("Subject -like 'budget'"), 2);
    assert.equal(await count("Sender -eq 'cfo@contoso.example'"), 1);
    assert.equal(await count("HasAttachment -eq 'false'"), 3);
    const db = s.app.core.store.db;
    const version = await db.selectFrom('vault_versions').select('seq').where('tenant_id', '=', t.id).where('item_id', '=', late).executeTakeFirstOrThrow();

    // Take that version out of the index: keyword queries no longer see it, the version itself is still there.
    await s.app.core.store.write((trx) => s.app.vault.index.remove(trx, [Number(version.seq)]));
    assert.equal(await count("Subject -like 'budget'"), 1, 'the candidates come from the index');
    assert.equal(await count("Subject -eq 'Budget numbers'"), 0, '-eq is an index lookup too');
    assert.equal(await count("HasAttachment -eq 'false'"), 2, 'facets too');
  } finally {
    await s.close();
  }
});
