/**
 * hostPolicy (src/http/hosts.ts) without a server, over Configs built by loadConfig: which `Host`
 * values are served (loopback names on a loopback server; its own address and host name otherwise;
 * --allowed-hosts and --public-url names always; a missing Host only for HTTP/1.0; nothing that is
 * not a host[:port]), and the origin links are built on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import type { FastifyRequest } from 'fastify';
import { hostPolicy } from '../../src/http/hosts.js';
import { loadConfig } from '../../src/config.js';

/** The policy of a server started with these options (and no MAILVAULT_ variables). */
const policy = (raw: Record<string, string | boolean> = {}) => hostPolicy(loadConfig({ memory: true, ...raw }, {}));

function check(p: ReturnType<typeof policy>, accepted: string[], refused: string[]): void {
  for (const h of accepted) assert.equal(p.accepts(h, '1.1'), true, `accepts ${JSON.stringify(h)}`);
  for (const h of refused) assert.equal(p.accepts(h, '1.1'), false, `refuses ${JSON.stringify(h)}`);
}

test('a loopback server answers loopback names only, with any port, in any case', () => {
  check(
    policy(),
    ['localhost', 'localhost:8365', 'LocalHost:1', 'localhost.', 'localhost.:8365', '127.0.0.1', '127.0.0.1:8365', '127.1.2.3', '[::1]', '[::1]:8365'],
    ['evil.example', 'evil.example:8365', 'localhost.evil.example', '127.0.0.1.evil.example', '128.0.0.1', '[::2]', '0.0.0.0', os.hostname()],
  );
});

test('a missing Host is served for HTTP/1.0 only', () => {
  const p = policy();
  assert.equal(p.accepts(undefined, '1.0'), true);
  assert.equal(p.accepts(undefined, '1.1'), false);
  assert.equal(p.accepts(undefined, '2.0'), false);
});

test('a Host that is not host[:port] is refused, whatever name it starts with', () => {
  const tooLong = `${'a'.repeat(63)}.`.repeat(5) + 'localhost';
  check(policy(), [], [
    '',
    ' localhost',
    'localhost ',
    'local host',
    'localhost/',
    'localhost/path',
    'user@localhost',
    'localhost:',
    'localhost:123456',
    'localhost:80:80',
    '::1',
    '[::1',
    '[localhost]',
    '-localhost',
    `${'a'.repeat(64)}.localhost`,
    'localhost\r\nX-Injected: 1',
    tooLong,
  ]);
});

test('--allowed-hosts and --public-url names are served besides the loopback ones, ignoring case', () => {
  const p = policy({ allowedHosts: 'Mail.Example, vault.internal', publicUrl: 'https://Public.Example:8443/base/' });
  check(p, ['mail.example', 'MAIL.EXAMPLE:443', 'vault.internal:8365', 'public.example', 'public.example:8443', 'localhost'], ['example', 'other.mail.example', 'mail.example.evil']);
});

test('a server on an address answers that address, its host name and the loopback names, nothing else', () => {
  check(policy({ host: '10.1.2.3' }), ['10.1.2.3', '10.1.2.3:8365', os.hostname(), os.hostname().toUpperCase(), 'localhost', '127.0.0.1'], ['10.1.2.4', 'evil.example']);
  check(policy({ host: '2001:db8::1' }), ['[2001:db8::1]', '[2001:DB8::1]:8365'], ['[2001:db8::2]', '2001:db8::1']);
  check(policy({ host: 'mailvault.example' }), ['mailvault.example', 'MailVault.Example:80'], ['example', 'vault.example']);
});

test('a server on every address (0.0.0.0) answers each interface address', () => {
  const p = policy({ host: '0.0.0.0' });
  const addresses = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
  for (const a of addresses) assert.equal(p.accepts(a.family === 'IPv6' ? `[${a.address}]:8365` : `${a.address}:8365`, '1.1'), true, a.address);
  assert.equal(p.accepts('203.0.113.77', '1.1'), addresses.some((a) => a.address === '203.0.113.77'));
});

test('links are built on --public-url without its trailing slash, else on the request Host, else the listening address', () => {
  const req = (host: string | undefined) => ({ protocol: 'http', headers: { host } }) as unknown as FastifyRequest;
  assert.equal(policy({ publicUrl: 'https://public.example:8443/base//' }).origin(req('localhost:8365')), 'https://public.example:8443/base');
  assert.equal(policy({ publicUrl: 'https://public.example' }).origin(req('localhost')), 'https://public.example');
  assert.equal(policy().origin(req('localhost:8365')), 'http://localhost:8365');
  assert.equal(policy({ port: '9000' }).origin(req(undefined)), 'http://127.0.0.1:9000');
  assert.equal(policy({ host: '::1', port: '9000' }).origin(req(undefined)), 'http://[::1]:9000');
});

test(
  'an --allowed-hosts name written with a trailing dot is served',
  () => {
    check(policy({ allowedHosts: 'mail.example.' }), ['mail.example', 'mail.example.'], []);
  },
);
