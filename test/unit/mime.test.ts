/**
 * src/mail/mime.ts without a server: summarizeMime's headers (encoded words, folded lines, addresses,
 * dates, thread root, importance, read receipt, mbox Status), its preview and body type for plain,
 * HTML-only and multipart/alternative bodies in several charsets, attachment presence, a message
 * with no body, and the MimeError for bytes that are no message; previewOf and htmlToText;
 * readMimeContent's decoded body and attachments; composeMime read back by summarizeMime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeMime, readMimeContent, composeMime, previewOf, htmlToText, MimeError } from '../../src/mail/mime.js';

/** A message from header and body lines, joined with CRLF. */
const mime = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');
const mimeLatin1 = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

const who = (name: string, address: string) => ({ emailAddress: { name, address } });

test('headers: encoded words, folded lines, addresses, dates, ids', async () => {
  const s = await summarizeMime(
    mime(
      'Received: from mx.example by mail.example; Tue, 2 Jan 2024 10:00:05 +0100 (CET)',
      'Received: from client by mx.example; Tue, 2 Jan 2024 09:59:00 +0100',
      'From: =?UTF-8?B?QWTDqGxlIFZhbmNl?= <adele@contoso.example>',
      'Sender: assistant@contoso.example',
      'To: "Lee, Grady" <grady@contoso.example>, megan@contoso.example,',
      ' =?ISO-8859-1?Q?J=F6rg?= <joerg@contoso.example>',
      'Cc: Team: a@contoso.example, b@contoso.example;',
      'Bcc: hidden@contoso.example',
      'Reply-To: replies@contoso.example',
      'Subject: =?UTF-8?Q?Caf=C3=A9?= and',
      '\t=?UTF-8?B?ZnLDvGhzdMO8Y2s=?=   ',
      'Date: Tue, 2 Jan 2024 09:58:00 +0100 (CET)',
      'Message-ID: <own@contoso.example>',
      'In-Reply-To: <parent@contoso.example>',
      'References: <root@contoso.example>',
      '  <parent@contoso.example>',
      'X-Priority: 1 (Highest)',
      'Disposition-Notification-To: adele@contoso.example',
      'Status: RO',
      '',
      'Hello.',
    ),
  );
  assert.equal(s.subject, 'Café and frühstück');
  assert.deepEqual(s.from, who('Adèle Vance', 'adele@contoso.example'));
  assert.deepEqual(s.sender, who('assistant@contoso.example', 'assistant@contoso.example'));
  assert.deepEqual(s.toRecipients, [who('Lee, Grady', 'grady@contoso.example'), who('megan@contoso.example', 'megan@contoso.example'), who('Jörg', 'joerg@contoso.example')]);
  assert.deepEqual(s.ccRecipients.map((r) => r.emailAddress.address), ['a@contoso.example', 'b@contoso.example'], 'a group is flattened');
  assert.deepEqual(s.bccRecipients, [who('hidden@contoso.example', 'hidden@contoso.example')]);
  assert.deepEqual(s.replyTo, [who('replies@contoso.example', 'replies@contoso.example')]);
  assert.equal(s.sentDateTime, '2024-01-02T08:58:00.000Z');
  assert.equal(s.receivedDateTime, '2024-01-02T09:00:05.000Z', 'the first (topmost) Received header');
  assert.equal(s.internetMessageId, '<own@contoso.example>');
  assert.equal(s.threadRootId, '<root@contoso.example>');
  assert.equal(s.importance, 'high');
  assert.equal(s.isReadReceiptRequested, true);
  assert.equal(s.seen, true);
  assert.equal(s.hasAttachments, false);
  assert.equal(s.bodyPreview, 'Hello.');
  assert.equal(s.bodyContentType, 'text');
});

test('defaults: no sender is the from, no dates or ids are null, the thread root falls back to In-Reply-To then the own id', async () => {
  const s = await summarizeMime(mime('From: a@contoso.example', 'In-Reply-To: <parent@x>', 'Message-ID: <own@x>', '', 'x'));
  assert.deepEqual(s.sender, s.from);
  assert.equal(s.subject, '');
  assert.equal(s.sentDateTime, null);
  assert.equal(s.receivedDateTime, null);
  assert.equal(s.threadRootId, '<parent@x>');
  assert.equal(s.importance, 'normal');
  assert.equal(s.isReadReceiptRequested, false);
  assert.equal(s.seen, false);
  assert.deepEqual(s.toRecipients, []);
  assert.equal((await summarizeMime(mime('Message-ID: <own@x>', '', 'x'))).threadRootId, '<own@x>');
  const bare = await summarizeMime(mime('Subject: x', 'Date: not a date', 'Received: by host without a date', '', 'x'));
  assert.equal(bare.from, null);
  assert.equal(bare.sender, null);
  assert.equal(bare.threadRootId, null);
  assert.equal(bare.internetMessageId, null);
  assert.equal(bare.sentDateTime, null);
  assert.equal(bare.receivedDateTime, null);
});

test('importance: the Importance header first, then X-Priority', async () => {
  const importance = async (...headers: string[]) => (await summarizeMime(mime('Subject: x', ...headers, '', 'x'))).importance;
  assert.equal(await importance('Importance: LOW', 'X-Priority: 1'), 'low');
  assert.equal(await importance('Importance: urgent', 'X-Priority: 2'), 'high');
  assert.equal(await importance('X-Priority: 5 (Lowest)'), 'low');
  assert.equal(await importance('X-Priority: 3'), 'normal');
  assert.equal(await importance('X-Priority: high'), 'normal');
});

test('a message with no body has an empty preview; with only headers and no blank line too', async () => {
  for (const m of [mime('Subject: nothing', '', ''), mime('Subject: nothing', ''), mime('Subject: nothing')]) {
    const s = await summarizeMime(m);
    assert.equal(s.subject, 'nothing');
    assert.equal(s.bodyPreview, '');
    assert.equal(s.bodyContentType, 'text');
    assert.equal(s.hasAttachments, false);
  }
});

test('multipart/alternative: the preview is the text part, the body type html', async () => {
  const s = await summarizeMime(
    mime(
      'Subject: alt',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Plain   text=',
      ' line=C3=A9',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>HTML text</p>',
      '--b1--',
      '',
    ),
  );
  assert.equal(s.bodyPreview, 'Plain text lineé');
  assert.equal(s.bodyContentType, 'html');
  assert.equal(s.hasAttachments, false);
});

test('an HTML-only body: the preview is its text, markup, scripts and entities resolved', async () => {
  const s = await summarizeMime(
    mime(
      'Subject: html',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<html><head><title>T</title></head><body><script>alert(1)</script><p>Fish&nbsp;&amp;&#32;chips&#x21;</p><div>&lt;b&gt;</div></body></html>').toString('base64'),
    ),
  );
  assert.equal(s.bodyPreview, 'Fish & chips! <b>');
  assert.equal(s.bodyContentType, 'html');
});

const withCharset = (charset: string, body: Buffer) => Buffer.concat([mime('Subject: c', `Content-Type: text/plain; charset=${charset}`, '', ''), body]);
/** Euro sign, blank, left double quote, q, right double quote in windows-1252. */
const CP1252 = Buffer.from([0x80, 0x20, 0x93, 0x71, 0x94]);

test('charsets: latin-1, utf-8 and an unknown label (read as latin-1) are decoded', async () => {
  const preview = async (charset: string, body: Buffer) => (await summarizeMime(withCharset(charset, body))).bodyPreview;
  assert.equal(await preview('iso-8859-1', mimeLatin1('Gr\u00fc\u00dfe aus K\u00f6ln')), 'Grüße aus Köln');
  assert.equal(await preview('x-no-such-charset', mimeLatin1('caf\u00e9')), 'café');
  assert.equal(await preview('utf-8', Buffer.from('日本語のメール')), '日本語のメール');
});

test(
  "a windows-1252 preview has its euro sign and curly quotes, as readMimeContent's body does",
  async () => {
    assert.deepEqual((await readMimeContent('unit-test-cp1252', async () => withCharset('windows-1252', CP1252))).body, { contentType: 'text', content: '€ “q”' });
    assert.equal((await summarizeMime(withCharset('windows-1252', CP1252))).bodyPreview, '€ “q”');
  },
);

test('attachments: a disposition of attachment, a named part that is not inline, and an enclosed message count; an inline image does not', async () => {
  const multipart = (...part: string[]) =>
    summarizeMime(mime('Subject: a', 'Content-Type: multipart/mixed; boundary="m"', '', '--m', 'Content-Type: text/plain', '', 'Body text', '--m', ...part, '--m--', ''));
  assert.equal((await multipart('Content-Type: application/pdf', 'Content-Disposition: attachment', '', 'x')).hasAttachments, true);
  assert.equal((await multipart('Content-Type: application/pdf; name="report.pdf"', '', 'x')).hasAttachments, true);
  assert.equal((await multipart('Content-Type: message/rfc822', '', 'Subject: inner', '', 'inner body')).hasAttachments, true);
  const inline = await multipart('Content-Type: image/png; name="logo.png"', 'Content-Disposition: inline; filename="logo.png"', 'Content-ID: <logo>', '', 'x');
  assert.equal(inline.hasAttachments, false);
  assert.equal(inline.bodyPreview, 'Body text');
  assert.equal(inline.subject, 'a', 'an enclosed message does not replace the outer headers');
});

test('bytes that are no message are a MimeError', async () => {
  await assert.rejects(summarizeMime(Buffer.alloc(0)), (e: unknown) => e instanceof MimeError && e.message === 'empty message');
  for (const bad of ['Hello, this is not a header\r\n\r\nbody', ': no field name\r\n', ' Subject: folded first\r\n', '\r\nSubject: x\r\n', '%PDF-1.7\n']) {
    await assert.rejects(summarizeMime(Buffer.from(bad)), (e: unknown) => e instanceof MimeError && /does not start with a header field/.test(e.message), JSON.stringify(bad));
  }
  await assert.rejects(summarizeMime(Buffer.from([0x00, 0xff, 0xfe, 0x3a, 0x0a])), MimeError);
});

test('malformed but readable messages are summarized, not thrown', async () => {
  const unterminated = await summarizeMime(mime('Subject: broken', 'Content-Type: multipart/mixed; boundary="never"', '', 'preamble only, no parts'));
  assert.equal(unterminated.subject, 'broken');
  assert.equal(unterminated.hasAttachments, false);
  const badWord = await summarizeMime(mime('Subject: =?UTF-8?B?###?= =?x-unknown?Q?abc?=', 'From: =?UTF-8?Q?broken <a@contoso.example>', '', 'x'));
  assert.equal(typeof badWord.subject, 'string');
  assert.equal(badWord.from?.emailAddress.address, 'a@contoso.example');
  const badBase64 = await summarizeMime(mime('Subject: b', 'Content-Transfer-Encoding: base64', '', '!!!not base64***'));
  assert.equal(typeof badBase64.bodyPreview, 'string');
});

test('previewOf: whitespace collapsed and trimmed, at most 255 characters of the first 4096', () => {
  assert.equal(previewOf('  a \r\n\t b  '), 'a b');
  assert.equal(previewOf(''), '');
  const words = 'word '.repeat(200);
  assert.equal(previewOf(words), words.slice(0, 255));
  assert.equal(previewOf(' '.repeat(5000) + 'late'), '', 'text after the first 4096 characters is not read');
  assert.equal(previewOf(' '.repeat(4000) + 'x'.repeat(300)).length, 96);
  assert.equal(previewOf(`${' \n'.repeat(1000)}${'y'.repeat(300)}`), 'y'.repeat(255));
});

test('htmlToText: block tags become blanks, other tags go, entities are resolved or kept', () => {
  assert.equal(htmlToText('a<br>b<p>c</p>d<span>e</span>'), 'a b c de');
  assert.equal(htmlToText('<style>p{}</style><SCRIPT type="x">y</SCRIPT>z'), '  z');
  assert.equal(htmlToText('&AMP; &#65; &#x42; &#X43; &unknown; &'), '& A B C &unknown; &');
});

test('readMimeContent: the HTML body without its final line end, attachments with names, types, inline and content ids', async () => {
  const m = mime(
    'Subject: content',
    'Content-Type: multipart/mixed; boundary="m"',
    '',
    '--m',
    'Content-Type: multipart/related; boundary="r"',
    '',
    '--r',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Hi <img src="cid:logo"></p>',
    '--r',
    'Content-Type: image/png',
    'Content-Disposition: inline; filename="logo.png"',
    'Content-ID: <logo>',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('PNGDATA').toString('base64'),
    '--r--',
    '--m',
    'Content-Type: text/csv; name="data.csv"',
    'Content-Disposition: attachment; filename="data.csv"',
    '',
    'a,b',
    '--m',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment',
    '',
    'raw',
    '--m--',
    '',
  );
  let loads = 0;
  const load = async () => (loads++, m);
  const content = await readMimeContent('unit-test-sha-1', load);
  assert.deepEqual(content.body, { contentType: 'html', content: '<p>Hi <img src="cid:logo"></p>' });
  assert.deepEqual(
    content.attachments.map((a) => [a.name, a.contentType, a.content.toString(), a.isInline, a.contentId]),
    [
      ['logo.png', 'image/png', 'PNGDATA', true, 'logo'],
      ['data.csv', 'text/csv', 'a,b', false, null],
      ['attachment', 'application/octet-stream', 'raw', false, null],
    ],
  );
  assert.equal(await readMimeContent('unit-test-sha-1', load), content, 'cached by hash');
  assert.equal(loads, 1);
  const text = await readMimeContent('unit-test-sha-2', async () => mime('Subject: t', '', 'just text', ''));
  assert.deepEqual(text, { body: { contentType: 'text', content: 'just text' }, attachments: [] });
});

test('composeMime builds a message summarizeMime reads back', async () => {
  const built = await composeMime({
    from: who('Adèle Vance', 'adele@contoso.example'),
    sender: who('Assistant', 'assistant@contoso.example'),
    toRecipients: [who('grady@contoso.example', 'grady@contoso.example')],
    ccRecipients: [],
    bccRecipients: [who('Hidden', 'hidden@contoso.example')],
    replyTo: [],
    subject: 'Überweisung — Q3',
    body: { contentType: 'html', content: '<p>Numbers &amp; notes</p>' },
    importance: 'low',
    internetMessageId: '<composed@contoso.example>',
    date: new Date('2024-03-04T05:06:07Z'),
    isReadReceiptRequested: true,
    attachments: [{ name: 'notes.txt', contentType: 'text/plain', content: Buffer.from('n'), isInline: false, contentId: null }],
    headers: { 'X-Custom': 'yes' },
    baseBoundary: 'fixed',
  });
  assert.match(built.toString(), /^X-Custom: yes$/m);
  const s = await summarizeMime(built);
  assert.equal(s.subject, 'Überweisung — Q3');
  assert.deepEqual(s.from, who('Adèle Vance', 'adele@contoso.example'));
  assert.deepEqual(s.sender, who('Assistant', 'assistant@contoso.example'));
  assert.deepEqual(s.toRecipients, [who('grady@contoso.example', 'grady@contoso.example')]);
  assert.deepEqual(s.bccRecipients, [who('Hidden', 'hidden@contoso.example')], 'Bcc is kept, as in a draft');
  assert.equal(s.sentDateTime, '2024-03-04T05:06:07.000Z');
  assert.equal(s.internetMessageId, '<composed@contoso.example>');
  assert.equal(s.importance, 'low');
  assert.equal(s.isReadReceiptRequested, true);
  assert.equal(s.hasAttachments, true);
  assert.equal(s.bodyPreview, 'Numbers & notes');
  assert.equal(s.bodyContentType, 'html');
});
