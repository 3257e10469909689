/**
 * Several nodes on one PostgreSQL database (runs with MAILVAULT_TEST_DATABASE_URL only): a mailbox
 * protected through one node is captured when another node, started before the protection, changes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { createUser, newTenant, ok, postMessage, protectMailboxes } from '../helpers/protect.js';

test('a change made through another node is captured once the mailbox is protected', { skip: !process.env.MAILVAULT_TEST_DATABASE_URL && 'PostgreSQL only' }, async () => {
  const a = await startServer();
  const b = await startServer({ databaseUrl: a.app.core.config.databaseUrl as string });
  try {
    const t = await newTenant(a);
    const user = await createUser(a, t, 'Shared');
    // b is up before the protection, which a makes.
    await protectMailboxes(a, t, [user.id]);
    const tb = { ...t, app: await b.token({ tenantId: t.id }) };
    const id = await postMessage(b, tb, user.id, { subject: 'Written through the other node' });
    const versions = await b.app.core.store.db.selectFrom('vault_versions').select(['op', 'item_kind']).where('tenant_id', '=', t.id).where('item_id', '=', id).execute();
    assert.deepEqual(versions, [{ op: 'upsert', item_kind: 'message' }]);
    ok(await b.request('DELETE', `/v1.0/users/${user.id}/messages/${id}`, { token: tb.app }), 204);
    const after = await a.app.core.store.db.selectFrom('vault_versions').select('op').where('tenant_id', '=', t.id).where('item_id', '=', id).orderBy('seq').execute();
    assert.deepEqual(after.map((v) => v.op), ['upsert', 'delete']);
  } finally {
    await b.app.close();
    await a.close();
  }
});
