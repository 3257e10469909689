/**
 * src/identity/tokens.ts without a server: parseExpiry's bounds and syntaxes, canonicalTenantId, and
 * mint → verify round trips with a key generated here (application, delegated and administrator
 * tokens), plus the TokenError each bad token gets: expired, no exp, wrong audience, wrong issuer,
 * a tid that is no GUID, another key's signature, and text that is not a JWT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, decodeJwt, type CryptoKey } from 'jose';
import {
  parseExpiry,
  canonicalTenantId,
  mintToken,
  mintAdminToken,
  TokenVerifier,
  TokenError,
  EMULATOR_ADMIN,
  EMULATOR_AUDIENCE,
  DEFAULT_APP_ID,
  DEFAULT_APP_NAME,
} from '../../src/identity/tokens.js';
import type { SigningKey } from '../../src/identity/keys.js';
import { ALL_PERMISSIONS } from '../../src/http/permissions.js';

const TENANT = '7c4e2a1b-3d5f-4a6b-9c8d-0e1f2a3b4c5d';
const USER = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

async function newKey(kid: string = crypto.randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  return { kid, privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const keyReady = newKey();

/** A token signed with `key` whose claims and times the test chooses (seconds relative to now). */
async function craft(key: SigningKey, claims: Record<string, unknown>, o: { aud?: string; iss?: string; exp?: number | null } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuer(o.iss ?? `https://sts.windows.net/${TENANT}/`)
    .setAudience(o.aud ?? 'https://graph.microsoft.com')
    .setIssuedAt(now - 7200)
    .setNotBefore(now - 7200);
  if (o.exp !== null) jwt.setExpirationTime(now + (o.exp ?? 3600));
  return jwt.sign(key.privateKey);
}

async function refused(verifier: TokenVerifier, token: string, message: RegExp): Promise<void> {
  await assert.rejects(verifier.verify(token), (e: unknown) => e instanceof TokenError && message.test(e.message));
}

test('parseExpiry reads shorthand and ISO 8601 durations into seconds; 1h when absent', () => {
  assert.equal(parseExpiry(undefined), 3600);
  const cases: Array<[string, number]> = [['1s', 1], ['30m', 1800], ['2h', 7200], ['1d', 86_400], ['PT1H', 3600], ['PT90M', 5400], ['P1D', 86_400], ['PT0.6S', 1]];
  for (const [text, seconds] of cases) assert.equal(parseExpiry(text), seconds, text);
});

test('parseExpiry keeps a lifetime between one second and the maximum, 24h unless given', () => {
  assert.equal(parseExpiry('24h'), 86_400);
  assert.equal(parseExpiry('P1D'), 86_400);
  assert.throws(() => parseExpiry('25h'), /invalid expiry: 25h is longer than the maximum token lifetime, 24h/);
  assert.throws(() => parseExpiry('P1W'), /longer than the maximum/);
  assert.equal(parseExpiry('P1W', '7d'), 604_800);
  assert.throws(() => parseExpiry('2h', '1h'), /longer than the maximum token lifetime, 1h/);
  for (const bad of ['0s', '0h', 'PT0S', 'PT0.4S', 'P0D']) assert.throws(() => parseExpiry(bad), /invalid expiry: .* \(a duration such as 1h, 30m or PT2H\)/, bad);
});

test('parseExpiry refuses text that is no duration, and a maximum that is none', () => {
  for (const bad of ['', '1', 'h', '1w', '1H', '-1h', '1.5h', ' 1h', '1h ', '1234567890s', 'P', 'PT', 'forever']) {
    assert.throws(() => parseExpiry(bad), /invalid expiry/, JSON.stringify(bad));
  }
  for (const max of ['', 'never', '0s', 'PT']) assert.throws(() => parseExpiry('1h', max), /invalid maximum token lifetime/, JSON.stringify(max));
});

test('canonicalTenantId: a GUID, trimmed and lower-cased; anything else undefined', () => {
  assert.equal(canonicalTenantId(TENANT), TENANT);
  assert.equal(canonicalTenantId(` ${TENANT.toUpperCase()}\n`), TENANT);
  for (const bad of [undefined, null, 42, {}, '', 'contoso.onmicrosoft.com', `{${TENANT}}`, TENANT.replaceAll('-', ''), `${TENANT}0`, TENANT.replace('7', 'g')]) {
    assert.equal(canonicalTenantId(bad), undefined, String(bad));
  }
});

test('an application token verifies as its tenant, app and roles', async () => {
  const key = await keyReady;
  const token = await mintToken(key, { tenantId: TENANT.toUpperCase(), roles: ['BackupRestore-Search.Read.All'] });
  const claims = decodeJwt(token);
  assert.equal(claims.tid, TENANT);
  assert.equal(claims.iss, `https://sts.windows.net/${TENANT}/`);
  assert.equal(claims.aud, 'https://graph.microsoft.com');
  assert.equal(Number(claims.exp) - Number(claims.iat), 3600);
  const principal = await new TokenVerifier(key).verify(token);
  assert.deepEqual(principal, {
    tenantId: TENANT,
    kind: 'application',
    appId: DEFAULT_APP_ID,
    appDisplayName: DEFAULT_APP_NAME,
    userId: null,
    userName: null,
    permissions: new Set(['BackupRestore-Search.Read.All']),
    graph: true,
    emulatorAdmin: false,
  });
  assert.deepEqual((await new TokenVerifier(key).verify(await mintToken(key, { tenantId: TENANT }))).permissions, new Set(ALL_PERMISSIONS));
});

test('a delegated token verifies as its user and scopes', async () => {
  const key = await keyReady;
  const token = await mintToken(key, { tenantId: TENANT, userId: USER, userName: 'Adele Vance', scopes: ['Mail.Read', 'User.Read'], appId: 'app-1', appDisplayName: 'App One', expires: '5m' });
  const principal = await new TokenVerifier(key).verify(token);
  assert.equal(principal.kind, 'delegated');
  assert.equal(principal.userId, USER);
  assert.equal(principal.userName, 'Adele Vance');
  assert.equal(principal.appId, 'app-1');
  assert.equal(principal.appDisplayName, 'App One');
  assert.deepEqual(principal.permissions, new Set(['Mail.Read', 'User.Read']));
});

test('mintToken refuses a tenant id that is no GUID and an expiry out of bounds, before signing', async () => {
  const key = await keyReady;
  await assert.rejects(mintToken(key, { tenantId: 'contoso' }), /invalid tenant id: contoso \(a GUID\)/);
  await assert.rejects(mintToken(key, { tenantId: TENANT, expires: '2d' }), /longer than the maximum token lifetime/);
  assert.ok(await mintToken(key, { tenantId: TENANT, expires: '2d', maxLifetime: 'P2D' }));
});

test('the administrator token verifies as EMULATOR_ADMIN, no Graph principal', async () => {
  const key = await keyReady;
  const token = await mintAdminToken(key, { expires: '10m' });
  const claims = decodeJwt(token);
  assert.equal(claims.aud, EMULATOR_AUDIENCE);
  assert.equal(claims.tid, undefined);
  assert.equal(Number(claims.exp) - Number(claims.iat), 600);
  const principal = await new TokenVerifier(key).verify(token);
  assert.equal(principal, EMULATOR_ADMIN);
  assert.equal(principal.graph, false);
  assert.equal(principal.emulatorAdmin, true);
  assert.equal(principal.permissions.size, 0);
  await assert.rejects(mintAdminToken(key, { expires: '48h' }), /longer than the maximum/);
});

test('an expired token, one without exp, and one for another audience are TokenErrors', async () => {
  const key = await keyReady;
  const verifier = new TokenVerifier(key);
  const claims = { tid: TENANT, appid: DEFAULT_APP_ID, roles: ['x'] };
  await refused(verifier, await craft(key, claims, { exp: -3600 }), /^Lifetime validation failed, the token is expired\.$/);
  // within the five minutes of clock skew allowed, it still verifies
  assert.equal((await verifier.verify(await craft(key, claims, { exp: -60 }))).tenantId, TENANT);
  await refused(verifier, await craft(key, claims, { exp: null }), /^Lifetime validation failed, the token has no expiry \(exp\)\.$/);
  await refused(verifier, await craft(key, claims, { aud: 'https://management.azure.com' }), /^Invalid token: .*aud/);
  assert.equal((await verifier.verify(await craft(key, claims, { aud: '00000003-0000-0000-c000-000000000000' }))).graph, true);
});

test('issuer, tid and signature are checked', async () => {
  const key = await keyReady;
  const verifier = new TokenVerifier(key);
  const claims = { tid: TENANT, appid: DEFAULT_APP_ID, roles: ['x'] };
  await refused(verifier, await craft(key, claims, { iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/' }), /issuer does not match the tenant/);
  assert.equal((await verifier.verify(await craft(key, claims, { iss: `https://login.microsoftonline.com/${TENANT}/v2.0` }))).tenantId, TENANT);
  await refused(verifier, await craft(key, { ...claims, tid: 'contoso' }), /the tid claim must be a tenant id/);
  await refused(verifier, await craft(key, { ...claims, tid: undefined }), /the tid claim must be a tenant id/);
  await refused(verifier, await craft(key, { idtyp: 'emulator-admin' }, { aud: EMULATOR_AUDIENCE }), /issuer does not match the audience/);
  const impostor = await newKey(key.kid);
  await refused(verifier, await mintToken(impostor, { tenantId: TENANT }), /^Signature verification failed\.$/);
  await refused(verifier, await mintAdminToken(impostor), /^Signature verification failed\.$/);
});

test('text that is not a JWT signed by the key is a TokenError (not well formed, or a failed signature), never another error', async () => {
  const key = await keyReady;
  const verifier = new TokenVerifier(key);
  const good = await mintToken(key, { tenantId: TENANT });
  const [h, p] = good.split('.');
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
  for (const bad of ['', 'x', 'a.b.c', `${h}.${p}`, `${h}.${p}.!!!`, unsigned, `${good}.extra`]) {
    await refused(verifier, bad, /^(IDX14100: JWT is not well formed\.|Signature verification failed\.)$/);
  }
});

test('a verified token is cached by its text, and by its Authorization header', async () => {
  const key = await keyReady;
  const verifier = new TokenVerifier(key);
  const token = await mintToken(key, { tenantId: TENANT });
  const header = `Bearer ${token}`;
  assert.equal(verifier.cached(header), undefined);
  assert.equal(verifier.cached(undefined), undefined);
  const principal = await verifier.verify(token, header);
  assert.equal(verifier.cached(header), principal);
  assert.equal(await verifier.verify(token), principal);
  assert.equal(verifier.cached(`bearer ${token}`), undefined, 'another header with the same tail is no hit');
});
