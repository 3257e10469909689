/**
 * PostgreSQL stopped and started again under load. On a private PostgreSQL instance (the shared
 * server other tests use is never touched), a server with the demo tenant and a paced restore running
 * takes concurrent creates and reads while its database is stopped (immediate: as a crash would) and
 * started again. Every request answers a 2xx or a 503 with Retry-After in Graph's envelope, the
 * process lives on, the outage is logged once and the scheduler and the worker wait it out; once the
 * database is back everything works without a restart, the restore ends with every item copied once,
 * and every write that got a 2xx is there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectGraphError, startServer, type TestResponse, type TestServer } from '../helpers/server.js';
import { postgresBinDir, startPostgresInstance, type PostgresInstance } from '../helpers/postgresInstance.js';
import { SESSIONS, RP1, RP2 } from '../helpers/demo.js';

const ADELE = 'c0ffee00-0001-4000-8000-000000000001';
const ALEX = 'c0ffee00-0001-4000-8000-000000000002';
/** Requests per client at most, and the pause after a 503 (a client would wait Retry-After; these keep probing). */
const MAX_REQUESTS = 400;
const PAUSE_AFTER_503_MS = 25;
/** Messages deleted after the restore point, which the restore brings back: about 14 s of paced work. */
const LOST = 60;

const bin = postgresBinDir();
const skip = bin || process.env.CI ? false : 'PostgreSQL is not installed here (no /usr/lib/postgresql/*/bin with initdb and pg_ctl)';

interface Load {
  /** What got a 2xx: a message (by id, with its subject) or a restore session. */
  messages: Map<string, string>;
  sessions: Set<string>;
  ok: number;
  unavailable: number;
  /** Anything else: a status other than 2xx and 503, a malformed 503, a dropped connection. */
  unexpected: string[];
  stop(): Promise<void>;
}

/** Asserts the outage's answer: 503 serviceNotAvailable in Graph's envelope, with Retry-After in whole seconds. */
function expectUnavailable(r: TestResponse): void {
  expectGraphError(r, 503, 'serviceNotAvailable');
  assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
}

/** `clients` clients, each creating a message or a restore session and reading it back, until stopped. */
function load(s: TestServer, clients: number): Load {
  const out: Load = { messages: new Map(), sessions: new Set(), ok: 0, unavailable: 0, unexpected: [], stop: async () => {} };
  let stopped = false;
  const call = async (method: string, path: string, body?: unknown): Promise<TestResponse | undefined> => {
    let r: TestResponse;
    try {
      r = await s.request(method, path, { body });
    } catch (error) {
      out.unexpected.push(`${method} ${path}: ${(error as Error).message}`);
      return undefined;
    }
    if (r.status >= 200 && r.status < 300) {
      out.ok++;
      return r;
    }
    if (r.status === 503) {
      try {
        expectUnavailable(r);
        out.unavailable++;
      } catch (error) {
        out.unexpected.push(`${method} ${path}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, PAUSE_AFTER_503_MS));
      return undefined;
    }
    out.unexpected.push(`${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
    return undefined;
  };
  const client = async (n: number) => {
    for (let i = 0; i < MAX_REQUESTS && !stopped; i += 2) {
      if ((i / 2 + n) % 2 === 0) {
        const subject = `Load ${n}.${i}`;
        const created = await call('POST', `/v1.0/users/${ALEX}/messages`, { subject, body: { contentType: 'text', content: subject } });
        if (created) {
          out.messages.set(created.body.id, subject);
          await call('GET', `/v1.0/users/${ALEX}/messages/${created.body.id}?$select=subject`);
        } else await call('GET', `/v1.0/users/${ALEX}/messages?$top=5&$select=subject`);
      } else {
        const created = await call('POST', SESSIONS, { mailboxRestoreArtifacts: [{ restorePoint: { id: RP2 }, destinationType: 'new' }] });
        if (created) {
          out.sessions.add(created.body.id);
          await call('GET', `${SESSIONS}/${created.body.id}`);
        } else await call('GET', `${SESSIONS}?$top=5`);
      }
    }
  };
  const running = Promise.all(Array.from({ length: clients }, (_, n) => client(n)));
  out.stop = async () => {
    stopped = true;
    await running;
  };
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every message of Adele's mailbox, every folder: internetMessageId → how many. */
async function messageIds(s: TestServer): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let next: string | undefined = `/v1.0/users/${ADELE}/messages?$top=1000&$select=internetMessageId`;
  while (next) {
    const r: TestResponse = await s.request('GET', next);
    assert.equal(r.status, 200, r.text);
    for (const m of r.body.value) out.set(m.internetMessageId, (out.get(m.internetMessageId) ?? 0) + 1);
    next = r.body['@odata.nextLink'];
  }
  return out;
}

test('PostgreSQL stopped and started under load: 503 with Retry-After meanwhile, then everything works and nothing acknowledged is lost', { skip, timeout: 90_000 }, async (t) => {
  if (!bin) assert.fail('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin with initdb and pg_ctl), and under CI this test must run');
  const lines: string[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
    consoleError(...args);
  };
  let db: PostgresInstance | undefined;
  let s: TestServer | undefined;
  try {
    db = await startPostgresInstance();
    // Realistic timing paces the restore (250 items a minute), so it is still running when the database goes.
    s = await startServer({ demo: true, databaseUrl: db.url, timing: 'realistic', logLevel: 'error' });
    const before = await messageIds(s);
    assert.ok(before.size > 100, `Adele's mailbox has ${before.size} messages`);
    // Mail lost after the restore point: the restore brings it back in place.
    const lost = (await s.request('GET', `/v1.0/users/${ADELE}/mailFolders/inbox/messages?$top=${LOST}&$select=id`)).body.value as Array<{ id: string }>;
    assert.equal(lost.length, LOST);
    for (const m of lost) assert.equal((await s.request('DELETE', `/v1.0/users/${ADELE}/messages/${m.id}`)).status, 204);
    assert.equal((await messageIds(s)).size, before.size - LOST);

    const restore = await s.request('POST', SESSIONS, { body: { mailboxRestoreArtifacts: [{ restorePoint: { id: RP1 }, destinationType: 'inPlace' }] } });
    assert.equal(restore.status, 201, restore.text);
    assert.equal((await s.request('POST', `/v1.0/solutions/backupRestore/restoreSessions/${restore.body.id}/activate`)).status, 200);

    const traffic = load(s, 4);
    await sleep(700);
    assert.ok(traffic.ok > 0, 'the load got answers before the outage');

    await db.stop('immediate');
    await sleep(800);
    // The outage, as a client meets it: reads, writes and clock moves answer 503 with Retry-After.
    expectUnavailable(await s.request('GET', `/v1.0/users/${ALEX}/messages?$top=1`));
    expectUnavailable(await s.request('POST', `/v1.0/users/${ALEX}/messages`, { body: { subject: 'during the outage' } }));
    expectUnavailable(await s.request('POST', SESSIONS, { body: {} }));
    expectUnavailable(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { advance: 'PT1M' } }));
    // The process is alive and answers what needs no database.
    assert.equal((await s.request('GET', '/_mailvault/health')).status, 200);
    assert.ok(traffic.unavailable > 0, 'the load met the outage');
    // Several scheduler ticks and job polls pass while the database is away.
    await sleep(1500);

    const answeredBeforeRestart = traffic.ok;
    await db.start();
    await sleep(1000);
    await traffic.stop();
    assert.deepEqual(traffic.unexpected, [], 'every request answered a 2xx or a 503 with Retry-After');
    assert.ok(traffic.ok > answeredBeforeRestart, 'the load got answers again once the database was back, without a restart');

    // Everything works again, without a restart: create, read, the scheduler.
    const created = await s.request('POST', `/v1.0/users/${ALEX}/messages`, { body: { subject: 'after the outage' } });
    assert.equal(created.status, 201, created.text);
    assert.equal((await s.request('GET', `/v1.0/users/${ALEX}/messages/${created.body.id}`)).body.subject, 'after the outage');
    const moved = await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { advance: 'PT10M' } });
    assert.equal(moved.status, 200, moved.text);

    // The restore that was running when the database went ends with every lost message back once
    // (the clock move ran what it made due).
    const session = await s.request('GET', `${SESSIONS}/${restore.body.id}`);
    assert.equal(session.body.status, 'completed', session.text);
    const [artifact] = (await s.request('GET', `${SESSIONS}/${restore.body.id}/mailboxRestoreArtifacts`)).body.value;
    assert.equal(artifact.status, 'succeeded', JSON.stringify(artifact));
    assert.equal(artifact.restoredItemCount, LOST, 'every lost message restored');
    assert.deepEqual(await messageIds(s), before, 'every lost message back once, nothing else changed');

    // Every write that got a 2xx is there.
    for (const [id, subject] of traffic.messages) {
      const r: TestResponse = await s.request('GET', `/v1.0/users/${ALEX}/messages/${id}?$select=subject`);
      assert.equal(r.status, 200, `acknowledged message ${id}: ${r.text}`);
      assert.equal(r.body.subject, subject);
    }
    for (const id of traffic.sessions) assert.equal((await s.request('GET', `${SESSIONS}/${id}`)).status, 200, `acknowledged session ${id}`);

    // The outage was logged once, when it began and when it ended; no tick or poll logged its failure.
    assert.equal(lines.filter((l) => l.includes('PostgreSQL is unavailable')).length, 1, lines.join('\n'));
    assert.equal(lines.filter((l) => l.includes('PostgreSQL is back')).length, 1, lines.join('\n'));
    assert.deepEqual(lines.filter((l) => /failed/i.test(l)), []);
    t.diagnostic(`load: ${traffic.ok} answered, ${traffic.unavailable} answered 503; ${traffic.messages.size} messages and ${traffic.sessions.size} sessions acknowledged`);
  } finally {
    console.error = consoleError;
    await s?.close();
    await db?.destroy();
  }
});
