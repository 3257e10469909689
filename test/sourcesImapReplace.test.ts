/**
 * An IMAP message expunged and appended again with the same Message-ID (a client rewriting it, or
 * ransomware replacing it with an altered copy) is one change of the same hosted message — new
 * content, same id — never a deletion plus a second message. Over HTTP only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { startServer, type TestServer } from './helpers/server.js';
import { dovecotSkip, startDovecot, type Dovecot } from './helpers/dovecot.js';
import { createUser, newTenant, ok } from './helpers/protection.js';

const skip = dovecotSkip();
process.env.MAILVAULT_SOURCE_POLL_SECONDS = '1';

let s: TestServer;
let dv: Dovecot | undefined;
before(async () => {
  s = await startServer();
  if (!skip) dv = await startDovecot();
});
after(async () => {
  await s.close();
  await dv?.stop();
});

const mime = (body: string) =>
  Buffer.from(`From: a@fabrikam.example\r\nTo: b@contoso.example\r\nSubject: Quarterly report\r\nMessage-ID: <report-q3@fabrikam.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}\r\n`);

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a message replaced on the IMAP server (expunged, appended again with its Message-ID) is the same hosted message with the new content', { skip }, async () => {
  const t = await newTenant(s);
  const u = await createUser(s, t, 'Replace');
  dv!.addUser('grace', 'grace-pw');
  const c = new ImapFlow({ host: dv!.host, port: dv!.port, secure: false, doSTARTTLS: false, auth: { user: 'grace', pass: 'grace-pw' }, logger: false });
  await c.connect();
  const original = mime('Revenue grew 12 %.');
  await c.append('INBOX', original, ['\\Seen']);
  const source = ok(
    await s.request('POST', '/_mailvault/sources', { token: t.app, body: { userId: u.id, kind: 'imap', settings: { host: dv!.host, port: dv!.port, tls: 'none', username: 'grace', password: 'grace-pw' } } }),
    201,
  );
  const messages = async () => ok(await s.request('GET', `/v1.0/users/${u.id}/messages?$select=internetMessageId,isRead&$top=100`, { token: t.app }), 200).value as any[];
  const value = async (id: string) => Buffer.from((await s.request('GET', `/v1.0/users/${u.id}/messages/${id}/$value`, { token: t.app })).text, 'latin1');
  const [first] = await until('the first sync', async () => {
    const list = await messages();
    return list.length === 1 && list;
  });
  assert.ok((await value(first.id)).equals(original));

  const altered = mime('Revenue fell 40 %. Pay the invoice to the new account.');
  await c.mailboxOpen('INBOX');
  await c.messageDelete('1:*', { uid: true });
  await c.append('INBOX', altered, []);
  await until('the replacement', async () => (await value(first.id)).equals(altered));
  const after = await messages();
  assert.equal(after.length, 1, 'no second message');
  assert.equal(after[0].id, first.id, 'the same hosted message');
  assert.equal(after[0].isRead, false, 'with the new flags');
  await c.logout();
  assert.equal((await s.request('DELETE', `/_mailvault/sources/${source.id}`, { token: t.app })).status, 204);
});
