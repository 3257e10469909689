import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import type { VaultService } from '../../src/vault/service.js';

let s: TestServer;
before(async () => {
  s = await startServer({ demo: true });
});
after(() => s.close());

const BR = '/v1.0/solutions/backupRestore';

test('the demo tenant has the documented restore points and granular search response, over real captured history', async () => {
  const first = await s.request('GET', `${BR}/restorePoints/1f1fccc3-a642-4f61-bf49-f37b9a888279`);
  const second = await s.request('GET', `${BR}/restorePoints/1f1fccc3-a642-4f61-bf49-f37b9a888280`);
  assert.equal(first.status, 200, first.text);
  assert.equal(second.status, 200, second.text);
  assert.notEqual(first.body.protectionUnit.id, second.body.protectionUnit.id);
  assert.equal(first.body.protectionUnit.directoryObjectId, 'c0ffee00-0001-4000-8000-000000000001');

  const vault = s.app.services.vault as VaultService;
  const ref = await vault.getSearchResponse(s.tenantId, 'M2UyZDAwMDAwMDMxMzkzYTMyNj');
  assert.deepEqual(ref, { id: 'M2UyZDAwMDAwMDMxMzkzYTMyNj', unitId: first.body.protectionUnit.id, restorePointIds: ['1f1fccc3-a642-4f61-bf49-f37b9a888279'] });
  const hits: string[] = [];
  for await (const batch of vault.searchHitIds('M2UyZDAwMDAwMDMxMzkzYTMyNj', '1f1fccc3-a642-4f61-bf49-f37b9a888279')) hits.push(...batch);
  assert.ok(hits.length > 0);
  // The stored hits are what the same query finds now: the mailbox's messages with attachments at that point.
  const versions = await vault.messageVersionsAt(s.tenantId, 'c0ffee00-0001-4000-8000-000000000001', first.body.protectionDateTime, hits);
  assert.equal(versions.length, hits.length);
  assert.ok(versions.every((v) => v.props.hasAttachments === true));
  const again = await s.request('POST', `${BR}/restorePoints/search`, {
    body: {
      protectionUnitIds: [first.body.protectionUnit.id],
      protectionTimePeriod: { startDateTime: first.body.protectionDateTime, endDateTime: first.body.protectionDateTime },
      restorePointPreference: 'latest',
      artifactQuery: { artifactType: 'message', queryExpression: "HasAttachment -eq 'true'" },
    },
  });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.searchResults[0].restorePoint.id, '1f1fccc3-a642-4f61-bf49-f37b9a888279');
  assert.equal(again.body.searchResults[0].artifactHitCount, hits.length);
});
