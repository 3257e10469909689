/**
 * The official Graph JS client against a test server. The client sends the bearer token only over
 * HTTPS and only to Graph hosts or `customHosts`, so the server runs with TLS (a test certificate
 * for localhost in test/fixtures/tls, trusted through NODE_EXTRA_CA_CERTS set by `npm test`).
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@microsoft/microsoft-graph-client';
import { startServer, type TestServer } from './server.js';

const tls = (name: string) => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
export const TEST_CERT = tls('localhost-cert.pem');
export const TEST_KEY = tls('localhost-key.pem');

/** A real server over HTTPS (base URL https://localhost:<port>). */
export function startHttpsServer(flags: Record<string, string | boolean> = {}): Promise<TestServer> {
  return startServer({ ...flags, cert: TEST_CERT, key: TEST_KEY });
}

export function graphClient(s: TestServer, token: string, version: 'v1.0' | 'beta' = 'v1.0'): Client {
  if (!s.base.startsWith('https://')) throw new Error('the Graph client sends tokens only over HTTPS: use startHttpsServer');
  return Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: s.base + '/',
    defaultVersion: version,
    customHosts: new Set([new URL(s.base).hostname]),
  });
}
