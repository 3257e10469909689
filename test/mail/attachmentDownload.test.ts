/**
 * Downloads of stored content (an attachment's `$value`, a message's `$value`) at the wire: never
 * sniffed, always `Content-Disposition: attachment` with the file name (RFC 6266, RFC 5987 for what
 * is not ASCII), sandboxed, so stored HTML or SVG never runs on the server's origin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { newMailbox, type Mailbox } from '../helpers/mailbox.js';
import { contentDisposition } from '../../src/mail/routes/common.js';

let s: TestServer;
let b: Mailbox;
before(async () => {
  s = await startServer();
  b = await newMailbox(s);
});
after(() => s.close());

const file = (name: string, contentType: string, content: string) => ({ '@odata.type': '#microsoft.graph.fileAttachment', name, contentType, contentBytes: Buffer.from(content).toString('base64') });

function expectDownload(r: { status: number; headers: Headers }, disposition: string): void {
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('content-disposition'), disposition);
  assert.equal(r.headers.get('content-security-policy'), "sandbox; default-src 'none'");
}

test('an attachment\'s $value: its bytes and type, as a download that is never sniffed nor rendered', async () => {
  const html = '<html><body><script>fetch("/v1.0/users").then(r => r.text()).then(alert)</script></body></html>';
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"/>';
  const attachments = [
    [file('evil.html', 'text/html', html), 'attachment; filename="evil.html"'],
    [file('logo.svg', 'image/svg+xml', svg), 'attachment; filename="logo.svg"'],
    [file('page.xhtml', 'application/xhtml+xml', html), 'attachment; filename="page.xhtml"'],
    [file('Résumé "final" 100%.pdf', 'application/pdf', '%PDF-1.4'), `attachment; filename="R_sum_ _final_ 100_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%20100%25.pdf`],
    [file('../../etc/passwd', 'text/plain', 'root:x:0:0'), 'attachment; filename=".._.._etc_passwd"'],
    [file('日本語.txt', 'text/plain', 'テキスト'), `attachment; filename="___.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt`],
  ] as const;
  const draft = await s.request('POST', `${b.u}/messages`, { token: b.token, body: { subject: 'Files', body: { contentType: 'text', content: 'see attached' }, attachments: attachments.map(([a]) => a) } });
  assert.equal(draft.status, 201, draft.text);
  const list = (await s.request('GET', `${b.u}/messages/${draft.body.id}/attachments`, { token: b.token })).body.value;
  assert.equal(list.length, attachments.length);
  for (const [i, [a, disposition]] of attachments.entries()) {
    const meta = list.find((x: any) => x.name === a.name);
    assert.ok(meta, a.name);
    for (const path of [`${b.u}/messages/${draft.body.id}/attachments/${meta.id}/$value`, `${b.u}/mailFolders/drafts/messages/${draft.body.id}/attachments/${meta.id}/$value`]) {
      const r = await s.request('GET', path, { token: b.token });
      expectDownload(r, disposition);
      assert.equal(r.headers.get('content-type'), meta.contentType, `${i}`);
      assert.equal(r.text, Buffer.from(a.contentBytes, 'base64').toString());
    }
  }
});

test('a message\'s $value: the MIME as text/plain, a download named after the subject', async () => {
  const draft = await s.request('POST', `${b.u}/messages`, { token: b.token, body: { subject: 'Q3 <b>review</b> — draft', body: { contentType: 'html', content: '<script>alert(1)</script>' } } });
  const r = await s.request('GET', `${b.u}/messages/${draft.body.id}/$value`, { token: b.token });
  expectDownload(r, `attachment; filename="Q3 <b>review<_b> _ draft.eml"; filename*=UTF-8''Q3%20%3Cb%3Ereview%3C_b%3E%20%E2%80%94%20draft.eml`);
  assert.equal(r.headers.get('content-type'), 'text/plain');
  assert.match(r.text, /^[\s\S]*Subject: /);
  const untitled = await s.request('POST', `${b.u}/messages`, { token: b.token, body: { body: { contentType: 'text', content: 'x' } } });
  expectDownload(await s.request('GET', `${b.u}/mailFolders/drafts/messages/${untitled.body.id}/$value`, { token: b.token }), 'attachment; filename="message.eml"');
});

test('Content-Disposition for any name: control characters dropped, quotes and separators made safe, the name bounded', () => {
  assert.equal(contentDisposition('report.pdf'), 'attachment; filename="report.pdf"');
  assert.equal(contentDisposition('a\r\nSet-Cookie: x=1.txt'), 'attachment; filename="aSet-Cookie: x=1.txt"');
  assert.equal(contentDisposition('back\\slash"quote'), 'attachment; filename="back_slash_quote"; filename*=UTF-8\'\'back_slash%22quote');
  assert.equal(contentDisposition(''), 'attachment; filename="download"');
  assert.equal(contentDisposition('\u0000\u0007'), 'attachment; filename="download"');
  assert.equal(contentDisposition("it's (1)*.txt"), `attachment; filename="it's (1)*.txt"`);
  assert.equal(contentDisposition('\ud800 lone.txt'), `attachment; filename="_ lone.txt"; filename*=UTF-8''%EF%BF%BD%20lone.txt`);
  const long = contentDisposition('x'.repeat(5000) + '.txt');
  assert.equal(long, `attachment; filename="${'x'.repeat(200)}"`);
});
