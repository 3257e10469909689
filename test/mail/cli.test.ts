/** `mailvault import` / `mailvault export` against a data directory, checked over HTTP afterwards. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { mintToken } from '../../src/identity/tokens.js';
import { readMbox } from '../../src/mail/mbox.js';

const run = promisify(execFile);
const CLI = path.resolve('src/cli.ts');
let dir: string;

async function open(): Promise<{ app: App; base: string; token: string }> {
  const app = await createApp(loadConfig({ port: '0', logLevel: 'silent', data: dir }, {}));
  const base = await app.listen();
  return { app, base, token: await mintToken(app.core.key, { tenantId: app.core.defaultTenantId }) };
}

async function get(base: string, token: string, p: string) {
  const r = await fetch(base + p, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()) };
}

function cli(...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', CLI, ...args, '--data', dir], { env: { ...process.env, MAILVAULT_DATA: '' } });
}

/** The command exits with 2 (a usage/input error) and says why on stderr. */
async function expectFailure(p: Promise<unknown>, stderr: RegExp) {
  try {
    await p;
  } catch (e: any) {
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, stderr);
    return;
  }
  assert.fail('the command succeeded');
}

const messages = [
  'From: Ann <ann@contoso.test>\nTo: Ivy <ivy@contoso.test>\nSubject: First\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <1@contoso.test>\n\nHello\nFrom the body: this line starts with From\n>From quoted already\n',
  'From: Bob <bob@contoso.test>\r\nTo: ivy@contoso.test\r\nSubject: =?UTF-8?B?w5xiZXI=?=\r\nDate: Tue, 03 Nov 2026 11:00:00 +0000\r\nMessage-ID: <2@contoso.test>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe\r\n',
  'From: Cy <cy@contoso.test>\nSubject: Third\nStatus: RO\n\nthird body\n',
];
/** mboxrd: escape `>*From ` lines inside messages. */
const entry = (m: string) => `From sender@example.com Mon Nov  2 10:00:00 2026\n${m.replace(/^(>*From )/gm, '>$1')}\n`;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-cli-'));
  const { app, base, token } = await open();
  const r = await fetch(`${base}/v1.0/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ accountEnabled: true, displayName: 'Ivy', mailNickname: 'ivy', userPrincipalName: 'ivy@contoso.test', passwordProfile: { password: 'Secret-123456' } }),
  });
  assert.equal(r.status, 201);
  await app.close();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('import an mbox: bad entries are reported and skipped; $value returns the original bytes; export round-trips', async () => {
  const mbox = path.join(dir, 'in.mbox');
  fs.writeFileSync(mbox, entry(messages[0]) + entry('this is not a message at all\n') + entry(messages[1]) + entry(messages[2]));
  const out = await cli('import', '--user', 'IVY@contoso.test', '--mbox', mbox, '--folder', 'Imported');
  assert.match(out.stdout, /^Imported 3 messages into Imported \(1 skipped\) in \d+\.\d s, \d+ messages\/s\n$/);
  assert.match(out.stderr, /skipped message 2 at byte \d+: the message does not start with a header field/);

  const { app, base, token } = await open();
  try {
    const folders = JSON.parse((await get(base, token, '/v1.0/users/ivy@contoso.test/mailFolders?$filter=displayName eq \'Imported\'')).bytes.toString());
    const fid = folders.value[0].id;
    assert.equal(folders.value[0].totalItemCount, 3);
    assert.equal(folders.value[0].unreadItemCount, 2, 'Status: RO marks a message read');
    const list = JSON.parse((await get(base, token, `/v1.0/users/ivy@contoso.test/mailFolders/${fid}/messages?$orderby=subject&$select=subject,internetMessageId`)).bytes.toString());
    assert.deepEqual(list.value.map((m: any) => m.subject), ['First', 'Third', 'Über']);
    const bySubject = new Map(list.value.map((m: any) => [m.subject, m.id]));
    for (const [subject, original] of [['First', messages[0]], ['Über', messages[1]], ['Third', messages[2]]]) {
      const v = await get(base, token, `/v1.0/users/ivy@contoso.test/messages/${bySubject.get(subject)}/$value`);
      assert.equal(v.status, 200);
      assert.deepEqual(v.bytes, Buffer.from(original), subject);
    }
  } finally {
    await app.close();
  }

  const exported = path.join(dir, 'out.mbox');
  const ex = await cli('export', '--user', 'ivy@contoso.test', '--mbox', exported, '--folder', 'Imported');
  assert.match(ex.stdout, /^Exported 3 messages to /);
  const back: string[] = [];
  for await (const m of readMbox(fs.createReadStream(exported))) back.push(m.data.toString());
  assert.deepEqual(back.sort(), [...messages].sort());
});

test('import a directory of .eml files into the inbox; unknown users and bad options fail clearly', async () => {
  const emls = path.join(dir, 'emls');
  fs.mkdirSync(emls);
  fs.writeFileSync(path.join(emls, 'a.eml'), messages[0]);
  fs.writeFileSync(path.join(emls, 'b.eml'), messages[1]);
  fs.writeFileSync(path.join(emls, 'ab-broken.eml'), '\r\n\r\nno header at all\r\n');
  fs.writeFileSync(path.join(emls, 'ignored.txt'), 'x');
  const out = await cli('import', '--user', 'ivy@contoso.test', '--eml', emls);
  assert.match(out.stdout, /^Imported 2 messages into Inbox \(1 skipped\)/);
  assert.match(out.stderr, /^skipped ab-broken\.eml: /m);
  await expectFailure(cli('import', '--user', 'nobody@contoso.test', '--eml', emls), /^mailvault: no user 'nobody@contoso.test' in tenant /);
  const notMbox = path.join(dir, 'x.mbox');
  fs.writeFileSync(notMbox, 'Subject: hi\n\nbody\n');
  await expectFailure(cli('import', '--user', 'ivy@contoso.test', '--mbox', notMbox), /^mailvault: not an mbox file/);
});

test('the mbox reader streams: any chunking of the file gives the same messages, byte for byte', async () => {
  const originals = [...messages, 'Subject: last\r\n\r\nFrom the start of a line\r\n>>From deeper\r\nno final newline'];
  const file = Buffer.from(originals.map(entry).join(''));
  const read = async (chunk: number) => {
    async function* chunks() {
      for (let i = 0; i < file.length; i += chunk) yield file.subarray(i, i + chunk);
    }
    const out: Array<{ data: string; index: number; offset: number }> = [];
    let consumed = 0;
    for await (const m of readMbox(chunks())) {
      assert.ok(m.consumed > consumed && m.consumed <= file.length, 'progress grows');
      consumed = m.consumed;
      out.push({ data: m.data.toString(), index: m.index, offset: m.offset });
    }
    assert.equal(consumed, file.length);
    return out;
  };
  const whole = await read(file.length);
  assert.deepEqual(whole.map((m) => m.data), originals.map((m, i) => (i === originals.length - 1 ? m + '\n' : m)), 'a message without a final line break gains one');
  assert.equal(file.toString('latin1', whole[1].offset, whole[1].offset + 5), 'From ');
  for (const chunk of [1, 2, 3, 7, 64]) assert.deepEqual(await read(chunk), whole, `chunks of ${chunk}`);
});
