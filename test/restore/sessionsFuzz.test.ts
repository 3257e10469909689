/**
 * The restore-session writes (create, PATCH, bulk request) given bodies that are valid ones bent out of
 * shape, or made up of the API's own names and values at random: every answer is a 2xx or a Graph error
 * envelope with a 4xx, and a refused request changes nothing. The bodies come from a seeded generator,
 * the same every run; a failure names the body that caused it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { prng, type Rng } from '../../src/mail/prng.js';
import { expectGraphError, startServer, type TestServer, type TestResponse } from '../helpers/server.js';

const SESSIONS = '/v1.0/solutions/backupRestore/exchangeRestoreSessions';
const POINT = '1f1fccc3-a642-4f61-bf49-f37b9a888279';
const ROUNDS = 120;

let s: TestServer;
before(async () => {
  s = await startServer({ demo: true });
});
after(() => s.close());

/** Names and values of the restore-session API, and the wrong kinds of value any of them may meet. */
const NAMES = [
  'mailboxRestoreArtifacts', 'granularMailboxRestoreArtifacts', 'mailboxRestoreArtifacts@delta', 'granularMailboxRestoreArtifacts@delta',
  'restorePoint', 'restorePoint@odata.bind', 'id', '@odata.id', '@odata.type', '@removed', 'reason', 'destinationType', 'searchResponseId',
  'displayName', 'mailboxes', 'directoryObjectIds', 'protectionTimePeriod', 'startDateTime', 'endDateTime', 'restorePointPreference',
  'tags', 'status', 'constructor',
];
const ATOMS: unknown[] = [
  null, true, false, 0, -1, 1e308, 1.5, '', ' ', 'inPlace', 'new', 'x'.repeat(5000), '\ud800', POINT, '1f1fccc3-a642-4f61-bf49-f37b9a888280',
  'M2UyZDAwMDAwMDMxMzkzYTMyNj', '2024-01-01T00:00:00Z', 'not-a-date', '#microsoft.graph.exchangeRestoreSession', 'latest', 'oldest',
  'fastRestore', 'someone@contoso.example', [], {},
];

function made(r: Rng, depth: number): unknown {
  if (depth > 4 || r.next() < 0.3) return r.pick(ATOMS);
  if (r.next() < 0.4) return Array.from({ length: r.int(4) }, () => made(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = r.int(4); i > 0; i--) o[r.pick(NAMES)] = made(r, depth + 1);
  return o;
}

/** One value or member of `v`, at any depth, replaced by a made-up one. */
function bent(r: Rng, v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null || r.next() < 0.3) return made(r, depth);
  const copy: Record<string, unknown> = Array.isArray(v) ? ([...v] as unknown as Record<string, unknown>) : { ...v };
  const keys = Object.keys(copy);
  if (keys.length > 0 && r.next() < 0.8) {
    const k = r.pick(keys);
    copy[k] = bent(r, copy[k], depth + 1);
  } else copy[r.pick(NAMES)] = made(r, depth + 1);
  return copy;
}

function body(r: Rng, valid: unknown): string {
  return JSON.stringify(r.next() < 0.6 ? bent(r, valid) : made(r, 0));
}

/** A 2xx, or a 4xx carrying the Graph error envelope (its innerError checked as every error test checks it). */
function answered(r: TestResponse, what: string): void {
  assert.ok(r.status < 500, `${what} → ${r.status} ${r.text.slice(0, 300)}`);
  if (r.status < 400) return;
  const e = r.body?.error;
  assert.equal(typeof e?.code, 'string', `${what} → ${r.status} without an error code: ${r.text.slice(0, 300)}`);
  assert.equal(typeof e.message, 'string', what);
  assert.doesNotThrow(() => expectGraphError(r, r.status, e.code), what);
}

const post = (path: string, raw: string) => s.request('POST', path, { raw, headers: { 'content-type': 'application/json' } });
const sessionCount = async () => (await s.request('GET', `${SESSIONS}?$count=true&$top=1`)).body['@odata.count'] as number;

test('creates: every body gets a 201 or an error envelope, and a refused one stores no session', async () => {
  const r = prng(6);
  const valid = { mailboxRestoreArtifacts: [{ restorePoint: { id: POINT }, destinationType: 'inPlace' }] };
  let count = await sessionCount();
  const statuses = new Set<number>();
  for (let i = 0; i < ROUNDS; i++) {
    const raw = body(r, valid);
    const res = await post(SESSIONS, raw);
    answered(res, `POST ${raw.slice(0, 300)}`);
    statuses.add(res.status);
    if (res.status === 201) count++;
    assert.equal(await sessionCount(), count, `POST ${raw.slice(0, 300)} → ${res.status}`);
  }
  assert.ok(statuses.has(201) && statuses.has(400), `answers seen: ${[...statuses].join(', ')}`);
});

test('PATCH: every body gets a 200 or an error envelope, and a refused one leaves the session as it was', async () => {
  const r = prng(7);
  const valid = { 'mailboxRestoreArtifacts@delta': [{ restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888280' }, destinationType: 'inPlace' }, { '@removed': { reason: 'deleted' }, id: 'x' }] };
  const created = await post(SESSIONS, JSON.stringify({ mailboxRestoreArtifacts: [{ restorePoint: { id: POINT }, destinationType: 'inPlace' }] }));
  assert.equal(created.status, 201);
  const path = `${SESSIONS}/${created.body.id}`;
  const statuses = new Set<number>();
  for (let i = 0; i < ROUNDS; i++) {
    const before = await s.request('GET', `${path}?$expand=mailboxRestoreArtifacts`);
    const raw = body(r, valid);
    const res = await s.request('PATCH', path, { raw, headers: { 'content-type': 'application/json' } });
    answered(res, `PATCH ${raw.slice(0, 300)}`);
    statuses.add(res.status);
    if (res.status >= 400) assert.deepEqual((await s.request('GET', `${path}?$expand=mailboxRestoreArtifacts`)).body, before.body, `PATCH ${raw.slice(0, 300)} → ${res.status}`);
  }
  assert.ok(statuses.has(400), `answers seen: ${[...statuses].join(', ')}`);
});

test('bulk requests: every body gets a 201 or an error envelope, and a refused one makes no request', async () => {
  const r = prng(8);
  const valid = { displayName: 'Bulk', destinationType: 'inPlace', mailboxes: ['someone@contoso.example'], protectionTimePeriod: { startDateTime: '2024-01-01T00:00:00Z' }, restorePointPreference: 'latest', tags: 'fastRestore' };
  const statuses = new Set<number>();
  for (let i = 0; i < ROUNDS; i++) {
    const session = await post(SESSIONS, '{}');
    assert.equal(session.status, 201);
    const requests = `${SESSIONS}/${session.body.id}/mailboxRestoreArtifactsBulkAdditionRequests`;
    const raw = body(r, valid);
    const res = await post(requests, raw);
    answered(res, `POST bulk ${raw.slice(0, 300)}`);
    statuses.add(res.status);
    const listed = (await s.request('GET', requests)).body.value as unknown[];
    assert.equal(listed.length, res.status === 201 ? 1 : 0, `POST bulk ${raw.slice(0, 300)} → ${res.status}`);
  }
  assert.ok(statuses.has(201) && statuses.has(400), `answers seen: ${[...statuses].join(', ')}`);
});
