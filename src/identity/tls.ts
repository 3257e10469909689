/**
 * The server's TLS material: --cert/--key, or a self-signed certificate for the names a local server
 * is reached by, made once into the data directory.
 *
 * Users trust that certificate (NODE_EXTRA_CA_CERTS, curl --cacert), so it must not be able to vouch for
 * anything else: it is a leaf (CA:FALSE, no keyCertSign), which OpenSSL, and with it Node, accepts as a
 * trust anchor for itself and refuses as the issuer of any other certificate. Whoever reads tls-key.pem
 * can impersonate this server to those clients, and no other host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import selfsigned from 'selfsigned';
import type { Config } from '../config.js';
import { writePrivateFile } from '../files.js';

export interface TlsMaterial {
  key: string;
  cert: string;
}

/** The names the generated certificate serves. */
export const TLS_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

export async function loadTls(config: Config): Promise<TlsMaterial> {
  if (config.certFile && config.keyFile) {
    return { cert: fs.readFileSync(config.certFile, 'utf8'), key: fs.readFileSync(config.keyFile, 'utf8') };
  }
  const dir = config.dataDir;
  const certFile = dir ? path.join(dir, 'tls-cert.pem') : undefined;
  const keyFile = dir ? path.join(dir, 'tls-key.pem') : undefined;
  if (certFile && keyFile && fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    const existing = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
    // Earlier versions made a CA here, one that can sign certificates for any host: replaced by a leaf
    // in the same file, which a client that trusts the file trusts from its next start.
    if (!new X509Certificate(existing.cert).ca) return existing;
    if (config.logLevel !== 'silent') {
      console.error(`[mailvault] ${certFile} was a CA certificate (it could sign certificates for any host): replaced by one for ${[...TLS_NAMES.dns, ...TLS_NAMES.ip].join(', ')} only; restart clients that trust it`);
    }
  }
  const tls = await selfSignedCertificate();
  if (certFile && keyFile) {
    writePrivateFile(keyFile, tls.key);
    writePrivateFile(certFile, tls.cert);
  }
  return tls;
}

/** A self-signed leaf certificate (RSA 2048, SHA-256, five years unless told) for localhost, 127.0.0.1 and ::1. */
export async function selfSignedCertificate(years = 5): Promise<TlsMaterial> {
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + years);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...TLS_NAMES.dns.map((value) => ({ type: 2 as const, value })), ...TLS_NAMES.ip.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
