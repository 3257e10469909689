/**
 * The seed page (shared/seeds/000_753d83df825c5278.txt): both documented requests of "Create
 * exchangeRestoreSession", verbatim, against a fresh demo server — as raw HTTP, through
 * @microsoft/microsoft-graph-client, and through the Kiota models of @microsoft/msgraph-sdk.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { JsonParseNodeFactory, JsonSerializationWriterFactory } from '@microsoft/kiota-serialization-json';
import {
  createExchangeRestoreSessionFromDiscriminatorValue,
  createGranularMailboxRestoreArtifactCollectionResponseFromDiscriminatorValue,
  createMailboxRestoreArtifactCollectionResponseFromDiscriminatorValue,
  createRestoreSessionBaseCollectionResponseFromDiscriminatorValue,
  serializeExchangeRestoreSession,
  type ExchangeRestoreSession,
} from '@microsoft/msgraph-sdk/models/index.js';
import type { TestServer } from '../helpers/server.js';
import { graphClient, startHttpsServer } from '../helpers/graphClient.js';
import { DEFAULT_APP_ID, DEFAULT_APP_NAME } from '../../src/identity/tokens.js';

/** Example 1's request body exactly as the page shows it. */
const EXAMPLE_1_HTTP = `{
"mailboxRestoreArtifacts": [
{
"restorePoint": { "id": "1f1fccc3-a642-4f61-bf49-f37b9a888279" },
"destinationType": "inPlace"
},
{
"restorePoint": { "id": "1f1fccc3-a642-4f61-bf49-f37b9a888280" },
"destinationType": "inPlace"
}
]
}`;

/** Example 2's request body exactly as the page shows it. */
const EXAMPLE_2_HTTP = `{
"@odata.type": "#microsoft.graph.exchangeRestoreSession",
"granularMailboxRestoreArtifacts": [
{
"restorePoint": { "id": "1f1fccc3-a642-4f61-bf49-f37b9a888279" },
"destinationType": "inPlace",
"searchResponseId" : "M2UyZDAwMDAwMDMxMzkzYTMyNj"
}
]
}`;

/** The documented 201 bodies (ids, people and dates are the page's examples, compared by shape). */
const DOCUMENTED_201 = {
  '@odata.context': '/solutions/backupRestore/$metadata#exchangeRestoreSessions/$entity',
  id: '959ba739-70b5-43c4-8c90-b2c22014f18b',
  status: 'draft',
  createdBy: { application: { id: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Microsoft Enhanced Restore' }, user: { id: '845457dc-4bb2-4815-bef3-8628ebd1952e', displayName: 'ABC' } },
  createdDateTime: '2023-03-30T12:01:03.45Z',
  lastModifiedBy: { application: { id: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Microsoft Enhanced Restore' }, user: { id: '845457dc-4bb2-4815-bef3-8628ebd1952e', displayName: 'DEF' } },
  lastModifiedDateTime: '2023-03-30T12:01:03.45Z',
  error: null,
};

const APP = { application: { id: DEFAULT_APP_ID, displayName: DEFAULT_APP_NAME } };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let s: TestServer;
let token: string;

before(async () => {
  s = await startHttpsServer({ demo: true, schedulerInterval: '86400000' });
  token = await s.token();
});
after(() => s.close());

/** The whole 201 body Mailvault answers for a fresh session of `total` artifacts. */
function expected201(body: any, o: { total: number; jobType: string; who?: unknown }) {
  assert.match(body.id, GUID);
  assert.match(body.createdDateTime, ISO);
  return {
    '@odata.context': `${s.base}/v1.0/$metadata#solutions/backupRestore/exchangeRestoreSessions/$entity`,
    id: body.id,
    status: 'draft',
    restoreJobType: o.jobType,
    restoreSessionArtifactCount: { total: o.total, completed: 0, inProgress: 0, failed: 0 },
    createdBy: o.who ?? APP,
    createdDateTime: body.createdDateTime,
    lastModifiedBy: o.who ?? APP,
    lastModifiedDateTime: body.createdDateTime,
    completedDateTime: null,
    error: null,
  };
}

/** Every documented key is answered, with the documented static values (spec §11 #6: no nav echo). */
function coversDocumented(body: Record<string, unknown>) {
  for (const [k, v] of Object.entries(DOCUMENTED_201)) {
    assert.ok(k in body, `documented property ${k} is answered`);
    if (k === 'status' || k === 'error') assert.deepEqual(body[k], v);
    else assert.equal(typeof body[k], typeof v, k);
  }
}

test('example 1 verbatim over HTTP: 201 with the full documented body', async () => {
  const r = await s.request('POST', '/v1.0/solutions/backupRestore/exchangeRestoreSessions', { raw: EXAMPLE_1_HTTP, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, expected201(r.body, { total: 2, jobType: 'standard' }));
  coversDocumented(r.body);
  assert.equal(r.headers.get('location'), `${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions/${r.body.id}`);
  assert.equal(r.headers.get('content-location'), r.headers.get('location'));
});

test('example 2 verbatim over HTTP: 201, the granular artifact bound to the search', async () => {
  const r = await s.request('POST', '/v1.0/solutions/backupRestore/exchangeRestoreSessions', { raw: EXAMPLE_2_HTTP, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, expected201(r.body, { total: 1, jobType: 'unknownFutureValue' }));
  coversDocumented(r.body);
  const arts = await s.request('GET', `/v1.0/solutions/backupRestore/exchangeRestoreSessions/${r.body.id}/granularMailboxRestoreArtifacts`);
  const [a] = arts.body.value;
  // The documented echo of the artifact, property by property.
  assert.deepEqual(
    { id: typeof a.id, restorePoint: a.restorePoint.id, restoredFolderId: a.restoredFolderId, status: a.status, startDateTime: a.startDateTime, destinationType: a.destinationType, searchResponseId: a.searchResponseId, error: a.error },
    { id: 'string', restorePoint: '1f1fccc3-a642-4f61-bf49-f37b9a888279', restoredFolderId: null, status: 'added', startDateTime: null, destinationType: 'inPlace', searchResponseId: 'M2UyZDAwMDAwMDMxMzkzYTMyNj', error: null },
  );
});

test('example 1 through @microsoft/microsoft-graph-client, as the page\'s JavaScript snippet', async () => {
  const client = graphClient(s, token);
  const exchangeRestoreSession = {
    mailboxRestoreArtifacts: [
      {
        restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888279' },
        destinationType: 'inPlace',
      },
      {
        restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888280' },
        destinationType: 'inPlace',
      },
    ],
  };
  const result = await client.api('/solutions/backupRestore/exchangeRestoreSessions').post(exchangeRestoreSession);
  assert.deepEqual(result, expected201(result, { total: 2, jobType: 'standard' }));
  const again = await client.api(`/solutions/backupRestore/exchangeRestoreSessions/${result.id}`).get();
  assert.deepEqual(again, result);
});

test('example 2 through @microsoft/microsoft-graph-client, as the page\'s JavaScript snippet', async () => {
  const client = graphClient(s, token);
  const exchangeRestoreSession = {
    '@odata.type': '#microsoft.graph.exchangeRestoreSession',
    granularMailboxRestoreArtifacts: [
      {
        restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888279' },
        destinationType: 'inPlace',
        searchResponseId: 'M2UyZDAwMDAwMDMxMzkzYTMyNj',
      },
    ],
  };
  const result = await client.api('/solutions/backupRestore/exchangeRestoreSessions').post(exchangeRestoreSession);
  assert.deepEqual(result, expected201(result, { total: 1, jobType: 'unknownFutureValue' }));
  const withPrefer = await client.api(`/solutions/backupRestore/exchangeRestoreSessions/${result.id}`).header('Prefer', 'include-unknown-enum-members').get();
  assert.equal(withPrefer.restoreJobType, 'granular');
});

test('a delegated caller through the Graph client is recorded as application and user', async () => {
  const delegated = await s.token({ userId: '845457dc-4bb2-4815-bef3-8628ebd1952e', userName: 'ABC', appDisplayName: 'Microsoft Enhanced Restore', scopes: ['BackupRestore-Restore.ReadWrite.All'] });
  const result = await graphClient(s, delegated).api('/solutions/backupRestore/exchangeRestoreSessions').post(JSON.parse(EXAMPLE_1_HTTP));
  const who = { application: { id: DEFAULT_APP_ID, displayName: 'Microsoft Enhanced Restore' }, user: { id: '845457dc-4bb2-4815-bef3-8628ebd1952e', displayName: 'ABC' } };
  assert.deepEqual(result, expected201(result, { total: 2, jobType: 'standard', who }));
  assert.deepEqual(Object.keys(result.createdBy), Object.keys(DOCUMENTED_201.createdBy));
});

// ---- Kiota models ------------------------------------------------------------------------------

function serialize(model: ExchangeRestoreSession): string {
  const writer = new JsonSerializationWriterFactory().getSerializationWriter('application/json');
  writer.writeObjectValue(undefined, model, serializeExchangeRestoreSession);
  return new TextDecoder().decode(writer.getSerializedContent());
}

function parse<T>(text: string, factory: (n: any) => any): T {
  const node = new JsonParseNodeFactory().getRootParseNode('application/json', new TextEncoder().encode(text).buffer as ArrayBuffer);
  return node.getObjectValue(factory) as T;
}

async function postText(body: string) {
  const res = await fetch(`${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** Every property of the wire body survives Kiota's parse, with its value. */
function survives(parsed: ExchangeRestoreSession, raw: any) {
  assert.deepEqual(parsed.additionalData, { '@odata.context': raw['@odata.context'] }, 'no property falls outside the model');
  assert.equal(parsed.id, raw.id);
  assert.equal(parsed.status, raw.status);
  assert.equal(parsed.restoreJobType, raw.restoreJobType);
  assert.deepEqual({ ...parsed.restoreSessionArtifactCount }, raw.restoreSessionArtifactCount);
  assert.deepEqual(JSON.parse(JSON.stringify(parsed.createdBy)), raw.createdBy);
  assert.deepEqual(JSON.parse(JSON.stringify(parsed.lastModifiedBy)), raw.lastModifiedBy);
  assert.equal(parsed.createdDateTime?.toISOString(), raw.createdDateTime);
  assert.equal(parsed.lastModifiedDateTime?.toISOString(), raw.lastModifiedDateTime);
  assert.equal(parsed.completedDateTime ?? null, raw.completedDateTime);
  assert.equal(raw.error, null);
  // Written back by Kiota's serializer, the model gives the wire body again (less the nulls it does not write).
  const nonNull = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
  const { error, ...back } = JSON.parse(serialize(parsed));
  assert.deepEqual(error, {}, 'Kiota reads "error": null as an empty publicError');
  assert.deepEqual(back, nonNull);
}

test('example 1 through the Kiota models of @microsoft/msgraph-sdk', async () => {
  const requestBody: ExchangeRestoreSession = {
    mailboxRestoreArtifacts: [
      { restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888279' }, destinationType: 'inPlace' },
      { restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888280' }, destinationType: 'inPlace' },
    ],
  };
  const wire = serialize(requestBody);
  assert.deepEqual(JSON.parse(wire), JSON.parse(EXAMPLE_1_HTTP), 'Kiota sends what the page shows');
  const r = await postText(wire);
  assert.equal(r.status, 201, r.text);
  const raw = JSON.parse(r.text);
  assert.deepEqual(raw, expected201(raw, { total: 2, jobType: 'standard' }));
  survives(parse<ExchangeRestoreSession>(r.text, createExchangeRestoreSessionFromDiscriminatorValue), raw);
});

test('example 2 through the Kiota models of @microsoft/msgraph-sdk, and the polymorphic list back', async () => {
  const requestBody: ExchangeRestoreSession = {
    odataType: '#microsoft.graph.exchangeRestoreSession',
    granularMailboxRestoreArtifacts: [
      { restorePoint: { id: '1f1fccc3-a642-4f61-bf49-f37b9a888279' }, destinationType: 'inPlace', searchResponseId: 'M2UyZDAwMDAwMDMxMzkzYTMyNj' },
    ],
  };
  const wire = serialize(requestBody);
  assert.deepEqual(JSON.parse(wire), JSON.parse(EXAMPLE_2_HTTP));
  const r = await postText(wire);
  assert.equal(r.status, 201, r.text);
  const raw = JSON.parse(r.text);
  assert.deepEqual(raw, expected201(raw, { total: 1, jobType: 'unknownFutureValue' }));
  survives(parse<ExchangeRestoreSession>(r.text, createExchangeRestoreSessionFromDiscriminatorValue), raw);

  const list = await fetch(`${s.base}/v1.0/solutions/backupRestore/restoreSessions?$filter=id eq '${raw.id}'`, { headers: { authorization: `Bearer ${token}` } });
  const page = parse<{ value?: ExchangeRestoreSession[] }>(await list.text(), createRestoreSessionBaseCollectionResponseFromDiscriminatorValue);
  assert.equal(page.value?.length, 1);
  assert.equal(page.value![0].odataType, '#microsoft.graph.exchangeRestoreSession');
  assert.equal(page.value![0].id, raw.id);
  assert.deepEqual({ ...page.value![0].restoreSessionArtifactCount }, raw.restoreSessionArtifactCount);
});

test('the artifacts of both seed sessions, with their restore points inlined, through the Kiota models', async () => {
  const bodies = [JSON.parse(EXAMPLE_1_HTTP), JSON.parse(EXAMPLE_2_HTTP)];
  const navs = [
    ['mailboxRestoreArtifacts', createMailboxRestoreArtifactCollectionResponseFromDiscriminatorValue],
    ['granularMailboxRestoreArtifacts', createGranularMailboxRestoreArtifactCollectionResponseFromDiscriminatorValue],
  ] as const;
  for (const [i, [nav, factory]] of navs.entries()) {
    const created = JSON.parse((await postText(JSON.stringify(bodies[i]))).text);
    const res = await fetch(`${s.base}/v1.0/solutions/backupRestore/exchangeRestoreSessions/${created.id}/${nav}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    const raw = JSON.parse(text).value;
    const parsed = parse<{ value?: any[] }>(text, factory).value!;
    assert.equal(parsed.length, bodies[i][nav].length);
    for (const [k, item] of parsed.entries()) {
      assert.deepEqual(item.additionalData ?? {}, {}, `every property of ${nav} is in the model`);
      assert.deepEqual(item.restorePoint.additionalData ?? {}, {}, 'every property of the inlined restore point is in the model');
      assert.equal(item.id, raw[k].id);
      assert.equal(item.status, 'added');
      assert.equal(item.destinationType, 'inPlace');
      assert.equal(item.restorePoint.id, bodies[i][nav][k].restorePoint.id);
      assert.equal(item.restorePoint.protectionDateTime.toISOString(), new Date(raw[k].restorePoint.protectionDateTime).toISOString());
      assert.equal(item.restorePoint.expirationDateTime.toISOString(), new Date(raw[k].restorePoint.expirationDateTime).toISOString());
      // tags is not compared: Kiota for TypeScript reads a flags enum only from a JSON array, not from the comma-separated string of the wire (spec §2.1).
      if (nav === 'granularMailboxRestoreArtifacts') assert.equal(item.searchResponseId, 'M2UyZDAwMDAwMDMxMzkzYTMyNj');
    }
  }
});
