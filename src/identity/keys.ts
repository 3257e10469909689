import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { exportJWK, importJWK, generateKeyPair, type JWK, type CryptoKey } from 'jose';
import type { Store } from '../store/store.js';

/**
 * The RS256 key that signs this server's tokens. It is kept in the database (server_state), so every
 * node of a deployment on one PostgreSQL database signs and accepts the same tokens, and
 * `mailvault token` reads it from there too.
 */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

/** Where an earlier version kept the key: taken into the database at first start. */
const FILE = 'signing-key.json';
const STATE_KEY = 'signing_key';

export async function loadOrCreateSigningKey(store: Store, dataDir: string | undefined): Promise<SigningKey> {
  const file = dataDir ? path.join(dataDir, FILE) : undefined;
  const candidate = async (): Promise<string> => {
    if (file && fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
    const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    return JSON.stringify({ ...(await exportJWK(privateKey)), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' });
  };
  // Two nodes may start at once: the first insert wins and both read back what the database holds.
  const stored = (await readState(store, STATE_KEY)) ?? (await insertStateOnce(store, STATE_KEY, await candidate()));
  return fromPrivateJwk(JSON.parse(stored) as JWK & { kid: string });
}

/** A value of server_state, if it is set. */
export async function readState(store: Store, key: string): Promise<string | undefined> {
  return (await store.db.selectFrom('server_state').select('value').where('key', '=', key).executeTakeFirst())?.value;
}

/** Sets a server_state value unless one is set already; answers the value that is set. */
export async function insertStateOnce(store: Store, key: string, value: string): Promise<string> {
  await store.write((trx) => trx.insertInto('server_state').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute());
  return (await readState(store, key))!;
}

async function fromPrivateJwk(jwk: JWK & { kid: string }): Promise<SigningKey> {
  const privateKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  void d; void p; void q; void dp; void dq; void qi;
  const publicJwk = { ...pub, kid: jwk.kid, alg: 'RS256', use: 'sig' };
  const publicKey = (await importJWK(publicJwk, 'RS256')) as CryptoKey;
  return { kid: jwk.kid, privateKey, publicKey, publicJwk };
}

/**
 * The tenant tokens are for when none is named, kept in the database beside the key: the demo tenant
 * with --demo; else the one set already (or, from an earlier version, in the data directory's
 * server.json); else a new one.
 */
export async function loadDefaultTenant(store: Store, dataDir: string | undefined, demoTenantId?: string): Promise<string> {
  if (demoTenantId) {
    await store.write((trx) =>
      trx.insertInto('server_state').values({ key: DEFAULT_TENANT, value: demoTenantId }).onConflict((oc) => oc.column('key').doUpdateSet({ value: demoTenantId })).execute(),
    );
    return demoTenantId;
  }
  const set = await readState(store, DEFAULT_TENANT);
  if (set) return set;
  const file = dataDir ? path.join(dataDir, 'server.json') : undefined;
  const earlier = file && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { defaultTenantId?: string }).defaultTenantId : undefined;
  return insertStateOnce(store, DEFAULT_TENANT, earlier ?? crypto.randomUUID());
}

const DEFAULT_TENANT = 'default_tenant_id';
