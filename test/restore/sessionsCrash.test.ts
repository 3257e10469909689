/**
 * A 201 is durable: a child `mailvault serve` receives concurrent creates and is killed with SIGKILL
 * mid-stream; restarted on the same data directory, every session it acknowledged is there, whole.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrCreateSigningKey, type SigningKey } from '../../src/identity/keys.js';
import { mintToken } from '../../src/identity/tokens.js';
import { DEMO_TENANT_ID } from '../../src/app.js';
import { Store } from '../../src/store/store.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SEED1 = {
  mailboxRestoreArtifacts: [
    { restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888279' }, destinationType: 'inPlace' },
    { restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888280' }, destinationType: 'inPlace' },
  ],
};

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-crash-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** `mailvault serve --demo` from the sources on `dataDir`; resolves with its base URL once listening. */
function serve(): Promise<{ child: ChildProcess; base: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--demo', '--port', '0', '--data', dataDir, '--log-level', 'silent'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, base: m[1] });
    });
    child.once('exit', (code, signal) => reject(new Error(`server exited (${code ?? signal}) before listening: ${out}`)));
  });
}

/** The signing key the server keeps in its database, read as `mailvault token --data` does. */
async function signingKey(): Promise<SigningKey> {
  const store = await Store.open({ file: path.join(dataDir, 'mailvault.db') });
  try {
    return await loadOrCreateSigningKey(store, dataDir);
  } finally {
    await store.close();
  }
}

test('every session that got a 201 survives SIGKILL and restart, with its artifacts', { timeout: 120_000 }, async (t) => {
  const first = await serve();
  const token = await mintToken(await signingKey(), { tenantId: DEMO_TENANT_ID });
  const url = `${first.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  const acknowledged: string[] = [];
  let failures = 0;
  let killed = false;
  const worker = async () => {
    while (!killed) {
      try {
        const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(SEED1) });
        const text = await res.text();
        if (res.status !== 201) throw new Error(`unexpected ${res.status}: ${text}`);
        acknowledged.push(JSON.parse(text).id);
      } catch (error) {
        if (!killed) throw error;
        failures++;
      }
    }
  };
  const workers = Array.from({ length: 32 }, worker);
  // Kill in the middle of the stream, once a good number of creates were acknowledged.
  while (acknowledged.length < 300) await new Promise((r) => setTimeout(r, 5));
  const exited = new Promise((r) => first.child.once('exit', r));
  first.child.kill('SIGKILL');
  killed = true;
  await Promise.all(workers);
  await exited;
  assert.ok(acknowledged.length >= 300);
  t.diagnostic(`${acknowledged.length} creates acknowledged before SIGKILL, ${failures} cut off`);

  const second = await serve();
  try {
    const base = `${second.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions`;
    const missing: string[] = [];
    for (let i = 0; i < acknowledged.length; i += 32) {
      await Promise.all(
        acknowledged.slice(i, i + 32).map(async (id) => {
          const res = await fetch(`${base}/${id}?$expand=mailboxRestoreArtifacts`, { headers });
          if (res.status !== 200) return missing.push(id);
          const body = await res.json();
          assert.equal(body.status, 'draft');
          assert.deepEqual(body.restoreSessionArtifactCount, { total: 2, completed: 0, inProgress: 0, failed: 0 });
          assert.deepEqual(body.mailboxRestoreArtifacts.map((a: any) => a.restorePoint.id), SEED1.mailboxRestoreArtifacts.map((a) => a.restorePoint.id));
        }),
      );
    }
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged sessions were lost`);
    const count = await fetch(`${base}?$count=true&$top=1`, { headers });
    const total = (await count.json())['@odata.count'];
    assert.ok(total >= acknowledged.length, 'nothing acknowledged is missing from the list');
    assert.ok(total <= acknowledged.length + 32 + failures, 'at most the in-flight creates committed without an answer');
  } finally {
    const exited = new Promise((r) => second.child.once('exit', r));
    second.child.kill('SIGTERM');
    await exited;
  }
});
