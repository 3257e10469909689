import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { exportJWK, importJWK, generateKeyPair, type JWK, type CryptoKey } from 'jose';
import { makePrivateDir, writePrivateFile } from '../files.js';

/** The RS256 key that signs this server's tokens; kept in the data directory (or in memory). */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

const FILE = 'signing-key.json';

export async function loadOrCreateSigningKey(dataDir: string | undefined): Promise<SigningKey> {
  const file = dataDir ? path.join(dataDir, FILE) : undefined;
  if (file && fs.existsSync(file)) {
    const jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK & { kid: string };
    return fromPrivateJwk(jwk);
  }
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
  if (file) {
    makePrivateDir(path.dirname(file));
    writePrivateFile(file, JSON.stringify(jwk));
    // Two processes may race to create the key: whoever renamed last wins; read back what is on disk.
    return fromPrivateJwk(JSON.parse(fs.readFileSync(file, 'utf8')));
  }
  return fromPrivateJwk(jwk);
}

async function fromPrivateJwk(jwk: JWK & { kid: string }): Promise<SigningKey> {
  const privateKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  void d; void p; void q; void dp; void dq; void qi;
  const publicJwk = { ...pub, kid: jwk.kid, alg: 'RS256', use: 'sig' };
  const publicKey = (await importJWK(publicJwk, 'RS256')) as CryptoKey;
  return { kid: jwk.kid, privateKey, publicKey, publicJwk };
}

/** Facts about this server kept beside its data: the default tenant. */
export interface ServerFile {
  defaultTenantId: string;
}

export function readServerFile(dataDir: string | undefined): ServerFile | undefined {
  if (!dataDir) return undefined;
  const file = path.join(dataDir, 'server.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ServerFile) : undefined;
}

export function writeServerFile(dataDir: string | undefined, content: ServerFile): void {
  if (!dataDir) return;
  makePrivateDir(dataDir);
  writePrivateFile(path.join(dataDir, 'server.json'), JSON.stringify(content, null, 2));
}
