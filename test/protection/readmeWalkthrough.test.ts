/**
 * The README's onboarding walkthrough ("Protecting mailboxes"), run as written with bash against a
 * real server: only its base URL is pointed at the test server, and `npx mailvault` runs this
 * checkout's command line (on the server's data directory, and on its PostgreSQL database if any).
 * Typed in at once it must end with the tenant enabled and the policy created and activated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const README_URL = 'http://127.0.0.1:8365';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The fields of Graph's answers this test reads. */
interface Entity {
  '@odata.type'?: string;
  id: string;
  status: string;
  displayName?: string;
  isEnabled?: boolean;
  directoryObjectId?: string;
  userPrincipalName?: string;
}
interface List {
  value: Entity[];
}

/** The first fenced `sh` block of the README's "Protecting mailboxes" section. */
function walkthrough(readme: string): string {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Protecting mailboxes\n'));
  assert.ok(section, 'the README has a "Protecting mailboxes" section');
  const block = /^```sh\n([\s\S]*?)^```$/m.exec(section);
  assert.ok(block, 'the section has a fenced sh block');
  return block[1];
}

/** The JSON values curl printed one after another (no separator between them). */
function answers(stdout: string): Entity[] {
  const out: Entity[] = [];
  let depth = 0, start = -1, inString = false;
  for (let i = 0; i < stdout.length; i++) {
    const c = stdout[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(stdout.slice(start, i + 1)) as Entity);
  }
  return out;
}

test('the README onboarding walkthrough, typed in at once, ends enabled with the policy activated', async () => {
  const script = walkthrough(fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8'));
  assert.equal(script.split(README_URL).length, 2, `the walkthrough names ${README_URL} once`);
  assert.doesNotMatch(script, /<[a-z ]+>/, 'no placeholder is left to fill in');

  const s = await startServer({ memory: false, schedulerInterval: '3600000' });
  try {
    const { dataDir, databaseUrl } = s.app.core.config;
    const env: NodeJS.ProcessEnv = { ...process.env, MAILVAULT_DATA: dataDir, TSX: import.meta.resolve('tsx'), CLI };
    if (databaseUrl) env.MAILVAULT_DATABASE_URL = databaseUrl;
    else delete env.MAILVAULT_DATABASE_URL;
    // `npx mailvault` is this checkout's command line; every other command is the machine's own.
    const prelude = 'set -euo pipefail\nnpx() { if [ "$1" = mailvault ]; then shift; node --import "$TSX" "$CLI" "$@"; else command npx "$@"; fi; }\n';
    const { stdout } = await promisify(execFile)('bash', ['-c', prelude + script.replace(README_URL, s.base)], { cwd: ROOT, env, timeout: 120_000 });

    // what the commented commands answered, in order
    const printed = answers(stdout);
    assert.deepEqual(
      printed.map((a) => [a['@odata.type'], a.status]),
      [
        ['#microsoft.graph.serviceApp', 'active'],
        ['#microsoft.graph.serviceStatus', 'enabled'],
        ['#microsoft.graph.exchangeProtectionPolicy', 'updating'],
      ],
      stdout,
    );

    // the server's state: a new tenant, enabled, whose one policy protects its one mailbox
    const tenants = (await s.request<List>('GET', '/_mailvault/tenants', { token: s.adminToken })).body.value;
    const made = tenants.filter((t) => t.id !== s.tenantId);
    assert.deepEqual(made.map((t) => t.displayName), ['Fabrikam']);
    const tenantId = made[0].id;
    assert.match(tenantId, GUID);
    const token = await s.token({ tenantId });
    const BR = '/v1.0/solutions/backupRestore';
    assert.equal((await s.request<{ serviceStatus: Entity }>('GET', BR, { token })).body.serviceStatus.status, 'enabled');
    const apps = (await s.request<List>('GET', `${BR}/serviceApps`, { token })).body.value;
    assert.deepEqual(apps.map((a) => a.status), ['active']);
    const policies = (await s.request<List>('GET', `${BR}/protectionPolicies`, { token })).body.value;
    assert.deepEqual(policies.map((p) => [p.id, p.displayName, p.isEnabled]), [[printed[2].id, 'Exchange', true]]);

    await s.advance('PT1M');
    assert.equal((await s.request<Entity>('GET', `${BR}/protectionPolicies/${printed[2].id}`, { token })).body.status, 'active');
    const units = (await s.request<List>('GET', `${BR}/exchangeProtectionPolicies/${printed[2].id}/mailboxProtectionUnits`, { token })).body.value;
    const users = (await s.request<List>('GET', '/v1.0/users', { token })).body.value;
    assert.deepEqual(units.map((u) => [u.directoryObjectId, u.status]), [[users[0].id, 'protected']]);
    assert.equal(users[0].userPrincipalName, 'adele@fabrikam.example');
  } finally {
    await s.close();
  }
});
