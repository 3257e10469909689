import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import selfsigned from 'selfsigned';
import { startHttpsServer, graphClient, TEST_CERT } from '../helpers/graphClient.js';
import { startServer, type TestServer } from '../helpers/server.js';

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

// The certificate the server makes for itself (issue 17, finding 9): users trust it with
// NODE_EXTRA_CA_CERTS, so it must serve this server and be unable to vouch for any other host.

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The official client in a process of its own, which reads NODE_EXTRA_CA_CERTS as it starts. */
const CHILD = `
import { Client } from '@microsoft/microsoft-graph-client';
const base = process.env.MAILVAULT_BASE;
const client = Client.init({
  authProvider: (done) => done(null, process.env.MAILVAULT_TOKEN),
  baseUrl: base + '/',
  defaultVersion: 'v1.0',
  customHosts: new Set([new URL(base).hostname]),
});
try {
  const root = await client.api('/solutions/backupRestore').get();
  console.log(JSON.stringify({ context: root['@odata.context'] }));
} catch (e) {
  // The client keeps only fetch's message ("fetch failed"): the TLS error's code from fetch itself.
  const cause = await fetch(base + '/_mailvault/health').then(() => '', (f) => String(f?.cause?.code ?? f?.message));
  console.log(JSON.stringify({ error: String(e?.message ?? e), cause }));
}`;

async function graphClientProcess(base: string, token: string, trusted: string): Promise<{ context?: string; error?: string; cause?: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: repoRoot,
    env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: trusted, MAILVAULT_BASE: base, MAILVAULT_TOKEN: token },
  });
  return JSON.parse(stdout);
}

test('the official Graph client, in a process started with NODE_EXTRA_CA_CERTS, trusts the certificate the server generated', async () => {
  const g = await startServer({ memory: false, https: true });
  try {
    const cert = path.join(g.app.core.config.dataDir!, 'tls-cert.pem');
    assert.ok(fs.existsSync(cert));
    const port = new URL(g.base).port;
    for (const base of [`https://localhost:${port}`, `https://127.0.0.1:${port}`]) {
      const ok = await graphClientProcess(base, await g.token(), cert);
      assert.equal(ok.context, `${base}/v1.0/$metadata#solutions/backupRestore/$entity`, JSON.stringify(ok));
    }
    // The trust comes from that certificate: a process trusting another one is refused.
    const refused = await graphClientProcess(g.base, await g.token(), TEST_CERT);
    assert.equal(refused.context, undefined);
    assert.equal(refused.cause, 'DEPTH_ZERO_SELF_SIGNED_CERT', JSON.stringify(refused));
  } finally {
    await g.close();
  }
});

/** A certificate for evil.example signed with `signer`'s key, named as issued by it. */
async function evilCertificate(signer: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'evil.example' }], {
    algorithm: 'sha256',
    ca: signer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'evil.example' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Serves `served` and connects to it as evil.example trusting only `anchor`: null if trusted, else the error's code. */
async function connectTrusting(served: { cert: string; key: string }, anchor: string): Promise<string | null> {
  const server = https.createServer(served, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<string | null>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'evil.example', ca: [anchor] }, () => {
        socket.end();
        resolve(null);
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
  } finally {
    server.close();
  }
}

/** What earlier versions generated: a CA without name constraints. */
async function earlierCaCertificate(): Promise<{ cert: string; key: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

test('the generated certificate cannot sign: a certificate for another host signed with its key is refused', async () => {
  const g = await startServer({ memory: false, https: true });
  let generated: { cert: string; key: string };
  try {
    const dir = g.app.core.config.dataDir!;
    generated = { cert: fs.readFileSync(path.join(dir, 'tls-cert.pem'), 'utf8'), key: fs.readFileSync(path.join(dir, 'tls-key.pem'), 'utf8') };
  } finally {
    await g.close();
  }
  const x509 = new X509Certificate(generated.cert);
  assert.equal(x509.ca, false);
  assert.equal(x509.checkHost('localhost'), 'localhost');
  assert.equal(x509.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x509.checkIP('::1'), '::1');
  assert.equal(x509.checkHost('evil.example'), undefined);

  const forged = await evilCertificate(generated);
  assert.ok(new X509Certificate(forged.cert).verify(x509.publicKey), 'the forged certificate carries a valid signature of the key');
  // openssl s_client says "invalid CA certificate" (79); Node 20 reports UNSPECIFIED.
  assert.notEqual(await connectTrusting(forged, generated.cert), null);

  // The same forgery with a certificate of the kind earlier versions made succeeds: the check above can fail.
  const earlier = await earlierCaCertificate();
  assert.equal(await connectTrusting(await evilCertificate(earlier), earlier.cert), null);
  // The test suite's own certificate is of the new kind.
  assert.equal(new X509Certificate(fs.readFileSync(TEST_CERT)).ca, false);
});

test('a CA certificate an earlier version left in the data directory is replaced by a leaf at start', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-tls-'));
  try {
    const earlier = await earlierCaCertificate();
    fs.writeFileSync(path.join(dir, 'tls-cert.pem'), earlier.cert, { mode: 0o644 });
    fs.writeFileSync(path.join(dir, 'tls-key.pem'), earlier.key, { mode: 0o600 });
    const g = await startServer({ memory: false, data: dir, https: true });
    let replaced: string;
    try {
      replaced = fs.readFileSync(path.join(dir, 'tls-cert.pem'), 'utf8');
      assert.equal(fs.statSync(path.join(dir, 'tls-cert.pem')).mode & 0o777, 0o600);
      assert.equal(await graphClientProcess(g.base, await g.token(), path.join(dir, 'tls-cert.pem')).then((r) => r.context), `${g.base}/v1.0/$metadata#solutions/backupRestore/$entity`);
    } finally {
      await g.close();
    }
    assert.notEqual(replaced, earlier.cert);
    assert.equal(new X509Certificate(replaced).ca, false);
    // A leaf is kept from then on.
    const again = await startServer({ memory: false, data: dir, https: true });
    await again.close();
    assert.equal(fs.readFileSync(path.join(dir, 'tls-cert.pem'), 'utf8'), replaced);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
