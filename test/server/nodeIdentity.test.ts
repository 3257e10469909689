/**
 * One deployment, many nodes: the signing key and the default tenant live in the database, so every
 * node on it accepts the same tokens, `mailvault token --database-url` included; and an external
 * OpenID Connect issuer (--issuer, --jwks) is trusted with Microsoft Entra ID's token shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startServer, expectGraphError } from '../helpers/server.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const mailvault = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8' }).trim();

test('nodes on one database sign and accept the same tokens, and share the default tenant', async () => {
  // PostgreSQL: two servers on one database; SQLite: two servers on one data directory's file.
  const a = await startServer({ memory: false });
  const dataDir = a.app.core.config.dataDir!;
  const databaseUrl = a.app.core.config.databaseUrl;
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-node-'));
  const b = await startServer(databaseUrl ? { databaseUrl, data: otherDir, memory: false } : { data: dataDir, memory: false });
  try {
    assert.equal(b.tenantId, a.tenantId);
    assert.equal(b.app.core.key.kid, a.app.core.key.kid);
    const fromA = await a.token({ roles: ['BackupRestore-Control.Read.All'] });
    const root = await b.request('GET', '/v1.0/solutions/backupRestore', { token: fromA });
    assert.equal(root.status, 200, root.text);
    assert.equal(root.body.id, a.tenantId);

    const cli = mailvault('token', '--data', databaseUrl ? fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-cli-')) : dataDir, ...(databaseUrl ? ['--database-url', databaseUrl] : []));
    for (const node of [a, b]) assert.equal((await node.request('GET', '/v1.0/solutions/backupRestore', { token: cli })).status, 200);
    const admin = mailvault('token', '--admin', '--data', dataDir, ...(databaseUrl ? ['--database-url', databaseUrl] : []));
    for (const node of [a, b]) assert.equal((await node.request('GET', '/_mailvault/tenants', { token: admin })).status, 200);
  } finally {
    await b.app.close();
    await a.close();
    fs.rmSync(otherDir, { recursive: true, force: true });
  }
});

test('nodes on one database share the emulated clock: a move through one is the time on every other', async () => {
  const a = await startServer({ memory: false });
  const databaseUrl = a.app.core.config.databaseUrl;
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-node-'));
  const b = await startServer(databaseUrl ? { databaseUrl, data: otherDir, memory: false } : { data: a.app.core.config.dataDir!, memory: false });
  try {
    const day = 86_400_000;
    const start = Date.parse(await b.now());
    const moved = Date.parse(await a.advance('P10D'));
    assert.ok(moved - start >= 10 * day);
    assert.ok(Date.parse(await b.now()) >= moved, 'b reads the time a moved to');
    // b moves on from there, not from its own older time; a then sees b's move at its next tick
    const further = Date.parse(await b.advance('P1D'));
    assert.ok(further >= moved + day, `${new Date(further).toISOString()} is a day after ${new Date(moved).toISOString()}`);
    await a.app.core.scheduler.runDue();
    assert.ok(a.app.core.clock.now().getTime() >= further);
  } finally {
    await b.app.close();
    await a.close();
    fs.rmSync(otherDir, { recursive: true, force: true });
  }
});

test('--issuer and --jwks: tokens of an external OpenID Connect issuer are trusted in the shape Entra ID issues them', async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-jwks-'));
  const jwksFile = path.join(dir, 'jwks.json');
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'entra-key-1', alg: 'RS256', use: 'sig' }] }));
  const s = await startServer({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', jwks: jwksFile });
  const entra = (claims: Record<string, unknown>, o: { kid?: string; key?: CryptoKey; iss?: string; aud?: string; exp?: boolean } = {}) => {
    const tid = String(claims.tid ?? s.tenantId);
    const jwt = new SignJWT({ tid, ver: '2.0', azp: '5b8f2a0c-9a57-4e2a-8c3f-1f7e6f0a1b2c', roles: ['BackupRestore-Control.Read.All'], ...claims })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? 'entra-key-1' })
      .setIssuer(o.iss ?? `https://login.microsoftonline.com/${tid}/v2.0`)
      .setAudience(o.aud ?? '00000003-0000-0000-c000-000000000000')
      .setIssuedAt();
    if (o.exp !== false) jwt.setExpirationTime('1h');
    return jwt.sign(o.key ?? privateKey);
  };
  try {
    const ok = await s.request('GET', '/v1.0/solutions/backupRestore', { token: await entra({}) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.id, s.tenantId);
    // the server's own tokens still work beside them
    assert.equal((await s.request('GET', '/v1.0/solutions/backupRestore')).status, 200);

    const stranger = (await generateKeyPair('RS256', { extractable: true })).privateKey;
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: await entra({}, { key: stranger }) }), 401, 'InvalidAuthenticationToken');
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: await entra({}, { kid: 'unknown-kid' }) }), 401, 'InvalidAuthenticationToken');
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: await entra({}, { iss: 'https://sts.windows.net/evil/' }) }), 401, 'InvalidAuthenticationToken');
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: await entra({}, { aud: 'api://something-else' }) }), 401, 'InvalidAuthenticationToken');
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: await entra({}, { exp: false }) }), 401, 'InvalidAuthenticationToken');
    expectGraphError(await s.request('GET', '/v1.0/solutions/backupRestore', { token: await entra({ tid: 'b0b0b0b0-0000-4000-8000-0000000000bb' }) }), 401, 'OrganizationFromTenantGuidNotFound');
    expectGraphError(await s.request('GET', '/v1.0/users', { token: await entra({}) }), 403, 'accessDenied');
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
