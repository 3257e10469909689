/**
 * Protecting mailboxes over HTTP, the way a backup application does (spec §8.1): onboard the tenant,
 * create an Exchange policy naming the users, activate it, let the clock run until the units are
 * protected. Also small mail helpers to change those mailboxes through the mail area's Graph API.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { TestServer } from './server.js';
import { BR, createPolicy, createUser, newTenant, ok, onboard, units, type Tenant } from './protection.js';

export { BR, createUser, newTenant, ok, type Tenant };

export interface Protected {
  policyId: string;
  /** unit id by user id */
  unitOf: Map<string, string>;
}

/**
 * Onboards the tenant (once) and protects the users' mailboxes: the first call creates and activates
 * the tenant's Exchange policy, later calls add units to it (one active policy per tenant). Returns
 * when every unit is `protected`.
 */
export async function protectMailboxes(s: TestServer, t: Tenant & { onboarded?: boolean; policyId?: string }, userIds: string[]): Promise<Protected> {
  if (!t.onboarded) {
    await onboard(s, t);
    t.onboarded = true;
  }
  if (!t.policyId) {
    const policy = await createPolicy(s, t, userIds, `Policy ${crypto.randomBytes(3).toString('hex')}`);
    ok(await s.request('POST', `${BR}/protectionPolicies/${policy.id}/activate`, { token: t.app }), 202);
    t.policyId = policy.id as string;
  } else {
    const delta = userIds.map((id) => ({ directoryObjectId: id }));
    ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${t.policyId}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': delta } }), 200);
  }
  await s.advance('PT1M');
  const unitOf = new Map<string, string>();
  for (const u of await units(s, t, t.policyId)) {
    if (!userIds.includes(u.directoryObjectId)) continue;
    assert.equal(u.status, 'protected', `unit ${u.id} is ${u.status}`);
    unitOf.set(u.directoryObjectId, u.id);
  }
  assert.equal(unitOf.size, userIds.length);
  return { policyId: t.policyId, unitOf };
}

/** Removes a unit from the tenant's policy and lets it leave protection. */
export async function removeUnit(s: TestServer, t: Tenant & { policyId?: string }, unitId: string): Promise<void> {
  const delta = [{ '@removed': { reason: 'changed' }, id: unitId }];
  ok(await s.request('PATCH', `${BR}/exchangeProtectionPolicies/${t.policyId}`, { token: t.app, body: { 'mailboxProtectionUnits@delta': delta } }), 200);
  await s.advance('PT1M');
}

/** Deactivates the policy and lets the units become unprotected. */
export async function unprotect(s: TestServer, t: Tenant, policyId: string): Promise<void> {
  ok(await s.request('POST', `${BR}/protectionPolicies/${policyId}/deactivate`, { token: t.app }), 202);
  await s.advance('PT1M');
}

export interface NewMessage {
  subject: string;
  from?: string;
  fromName?: string;
  to?: string[];
  cc?: string[];
  attachment?: boolean;
  folderId?: string;
  draft?: boolean;
}

const addr = (address: string, name?: string) => ({ emailAddress: { address, name: name ?? address.split('@')[0] } });

/** Creates a received (not draft, unless asked) message; returns its id. */
export async function postMessage(s: TestServer, t: Tenant, userId: string, m: NewMessage): Promise<string> {
  const path = m.folderId ? `/v1.0/users/${userId}/mailFolders/${m.folderId}/messages` : `/v1.0/users/${userId}/messages`;
  const body: Record<string, unknown> = {
    subject: m.subject,
    body: { contentType: 'text', content: `About ${m.subject}.` },
    from: addr(m.from ?? 'someone@fabrikam.example', m.fromName),
    toRecipients: (m.to ?? ['me@contoso.example']).map((a) => addr(a)),
    ccRecipients: (m.cc ?? []).map((a) => addr(a)),
  };
  if (!m.draft) body.singleValueExtendedProperties = [{ id: 'Integer 0x0E07', value: '1' }];
  if (m.attachment) {
    body.attachments = [{ '@odata.type': '#microsoft.graph.fileAttachment', name: 'report.txt', contentType: 'text/plain', contentBytes: Buffer.from(`report for ${m.subject}`).toString('base64') }];
  }
  return ok(await s.request('POST', path, { token: t.app, body }), 201).id;
}

export async function patchMessage(s: TestServer, t: Tenant, userId: string, id: string, body: Record<string, unknown>): Promise<void> {
  ok(await s.request('PATCH', `/v1.0/users/${userId}/messages/${id}`, { token: t.app, body }), 200);
}

export async function deleteMessage(s: TestServer, t: Tenant, userId: string, id: string): Promise<void> {
  ok(await s.request('DELETE', `/v1.0/users/${userId}/messages/${id}`, { token: t.app }), 204);
}

export async function moveMessage(s: TestServer, t: Tenant, userId: string, id: string, destinationId: string): Promise<string> {
  return ok(await s.request('POST', `/v1.0/users/${userId}/messages/${id}/move`, { token: t.app, body: { destinationId } }), 201).id;
}

export async function createFolder(s: TestServer, t: Tenant, userId: string, displayName: string): Promise<string> {
  return ok(await s.request('POST', `/v1.0/users/${userId}/mailFolders`, { token: t.app, body: { displayName } }), 201).id;
}

export const TICK_MS = 600_000;

/** Moves the clock to `minutes` past the next 10-minute restore point tick; returns that tick (ms). */
export async function alignToTick(s: TestServer, minutes = 1): Promise<number> {
  const now = new Date(await s.now()).getTime();
  const tick = Math.ceil(now / TICK_MS) * TICK_MS;
  ok(await s.request('POST', '/_mailvault/clock', { token: s.adminToken, body: { set: new Date(tick + minutes * 60_000).toISOString() } }), 200);
  return tick;
}

/** GET restorePoints of a unit; the body's `value`. */
export async function listPoints(s: TestServer, token: string, unitId: string, query = '$filter=protectionDateTime lt 2999-01-01T00:00:00Z'): Promise<any[]> {
  const r = await s.request('GET', `${BR}/restorePoints?$expand=protectionUnit($filter=id eq '${unitId}')&${query}`, { token });
  return ok(r, 200).value;
}

/** The id of a unit's latest restore point at or before `at`. */
export async function pointAt(s: TestServer, t: Tenant, unitId: string, at: string): Promise<string> {
  const after = new Date(new Date(at).getTime() + 1).toISOString();
  const points = await listPoints(s, t.app, unitId, `$filter=protectionDateTime lt ${after}`);
  assert.ok(points.length > 0, 'a restore point exists');
  return points[0].id;
}
