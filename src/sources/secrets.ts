/**
 * Secrets of sources (passwords) at rest: AES-256-GCM under a key kept outside the database —
 * MAILVAULT_SECRET_KEY (base64 of 32 bytes), else `secret.key` in the data directory (made 0600 on
 * first start), else (in memory) a key that lives as long as the process. A fresh 12-byte IV per
 * write; the additional data binds the text to its source and field, so a row's secret cannot be
 * moved to another row.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE, writePrivateFile } from '../files.js';

export interface SecretBox {
  seal(plain: string, aad: string): string;
  open(sealed: string, aad: string): string;
}

export const SECRET_KEY_FILE = 'secret.key';

export function loadSecretKey(dataDir: string | undefined, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.MAILVAULT_SECRET_KEY;
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new Error('MAILVAULT_SECRET_KEY must be the base64 of 32 bytes');
    return key;
  }
  if (!dataDir) return crypto.randomBytes(32);
  const file = path.join(dataDir, SECRET_KEY_FILE);
  if (!fs.existsSync(file)) writePrivateFile(file, crypto.randomBytes(32).toString('base64') + '\n');
  else if ((fs.statSync(file).mode & 0o777) !== PRIVATE_FILE_MODE) fs.chmodSync(file, PRIVATE_FILE_MODE);
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} must hold the base64 of 32 bytes`);
  return key;
}

export function secretBox(key: Buffer): SecretBox {
  const kid = crypto.createHash('sha256').update(key).digest('hex').slice(0, 16);
  return {
    seal(plain, aad) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad));
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return JSON.stringify({ kid, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ct: ct.toString('base64') });
    },
    open(sealed, aad) {
      const s = JSON.parse(sealed) as { kid: string; iv: string; tag: string; ct: string };
      if (s.kid !== kid) throw new Error('the secret was sealed under another key (MAILVAULT_SECRET_KEY or secret.key changed)');
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(s.iv, 'base64'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(s.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(s.ct, 'base64')), decipher.final()]).toString('utf8');
    },
  };
}
