import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer, expectGraphError } from '../helpers/server.js';
import { loadConfig, ConfigError } from '../../src/config.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const mailvault = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' });

test('mailvault token prints only a JWT that the server on that data directory accepts', async () => {
  const s = await startServer({ memory: false });
  try {
    const dataDir = s.app.core.config.dataDir!;
    // The signing key is the database's: on PostgreSQL the command is told which database.
    const db = s.app.core.config.databaseUrl ? ['--database-url', s.app.core.config.databaseUrl] : [];
    const out = mailvault('token', '--data', dataDir, ...db);
    assert.match(out, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const r = await s.request('GET', '/v1.0/solutions/backupRestore', { token: out.trim() });
    assert.equal(r.status, 200);
    assert.equal(r.body.id, s.tenantId, 'without --tenant the token is for the default tenant');
    const narrow = mailvault('token', '--data', dataDir, ...db, '--roles', 'BackupRestore-Restore.Read.All').trim();
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: narrow }), 403, 'accessDenied');
    const delegated = mailvault('token', '--data', dataDir, ...db, '--user', '845457dc-4bb2-4815-bef3-8628ebd1952e', '--scopes', 'BackupRestore-Control.Read.All').trim();
    assert.equal((await s.request('GET', '/v1.0/solutions/backupRestore', { token: delegated })).status, 200);
  } finally {
    await s.close();
  }
});

test('--allow-anonymous: requests without a token act with every BackupRestore permission of the default tenant', async () => {
  const s = await startServer({ allowAnonymous: true });
  try {
    const r = await s.request('GET', '/v1.0/solutions/backupRestore', { token: null });
    assert.equal(r.status, 200);
    assert.equal(r.body.id, s.tenantId);
    const created = await s.request('POST', '/v1.0/solutions/backupRestore/exchangeRestoreSessions', { token: null, body: {} });
    assert.equal(created.status, 201);
    expectGraphError(await s.request('GET', '/v1.0/users', { token: null }), 403, 'accessDenied');
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: 'bad' }), 401, 'InvalidAuthenticationToken');
  } finally {
    await s.close();
  }
  assert.throws(() => loadConfig({ allowAnonymous: true, host: '0.0.0.0' }, {}), ConfigError);
});
