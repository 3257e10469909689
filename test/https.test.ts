import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpsServer, graphClient } from './helpers/graphClient.js';
import type { TestServer } from './helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startHttpsServer();
});
after(() => s.close());

test('the official Graph client works over HTTPS with a minted token', async () => {
  assert.match(s.base, /^https:\/\/localhost:\d+$/);
  const client = graphClient(s, await s.token());
  const root = await client.api('/solutions/backupRestore').get();
  assert.equal(root['@odata.context'], `${s.base}/v1.0/$metadata#solutions/backupRestore/$entity`);
  assert.equal(root.serviceStatus.status, 'disabled');
  const beta = await graphClient(s, await s.token(), 'beta').api('/solutions/backupRestore').get();
  assert.equal(beta.serviceStatus.status, 'disabled');
});

test('the Graph client surfaces Graph errors with their code', async () => {
  const client = graphClient(s, await s.token({ roles: ['BackupRestore-Search.Read.All'] }));
  await assert.rejects(client.api('/solutions/backupRestore').get(), (e: { statusCode: number; code: string }) => {
    assert.equal(e.statusCode, 403);
    assert.equal(e.code, 'accessDenied');
    return true;
  });
});
