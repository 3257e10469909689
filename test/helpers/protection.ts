/**
 * Helpers for the protection control plane tests: a fresh tenant with its tokens, directory
 * objects made through the mail area's Graph endpoints, and the §8.1 onboarding.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { TestServer, TestResponse } from './server.js';

export const BR = '/v1.0/solutions/backupRestore';

export interface Tenant {
  id: string;
  /** Application token with every permission. */
  app: string;
  /** Delegated token with every scope. */
  user: string;
  userId: string;
}

export async function newTenant(s: TestServer): Promise<Tenant> {
  const id = await s.newTenant();
  const userId = crypto.randomUUID();
  return {
    id,
    app: await s.token({ tenantId: id }),
    user: await s.token({ tenantId: id, userId, userName: 'Tenant Admin' }),
    userId,
  };
}

export function ok<T = any>(r: TestResponse<T>, status: number): T {
  assert.equal(r.status, status, `expected ${status}, got ${r.status} ${r.text}`);
  return r.body;
}

let n = 0;
export async function createUser(s: TestServer, t: Tenant, name?: string): Promise<{ id: string; mail: string; displayName: string }> {
  const nick = `${name ?? 'user'}${++n}${crypto.randomBytes(3).toString('hex')}`;
  const r = await s.request('POST', '/v1.0/users', {
    token: t.app,
    body: {
      displayName: `${name ?? 'User'} ${n}`,
      userPrincipalName: `${nick}@contoso.example`,
      mailNickname: nick,
      accountEnabled: true,
      passwordProfile: { password: 'Passw0rd!long' },
    },
  });
  const u = ok(r, 201);
  return { id: u.id, mail: u.mail ?? u.userPrincipalName, displayName: u.displayName };
}

export async function createGroup(s: TestServer, t: Tenant, members: string[] = []): Promise<string> {
  const nick = `group${++n}${crypto.randomBytes(3).toString('hex')}`;
  const r = await s.request('POST', '/v1.0/groups', {
    token: t.app,
    body: { displayName: nick, mailNickname: nick, mailEnabled: false, securityEnabled: true },
  });
  const g = ok(r, 201);
  for (const m of members) await addMember(s, t, g.id, m);
  return g.id;
}

export async function addMember(s: TestServer, t: Tenant, groupId: string, memberId: string): Promise<void> {
  const r = await s.request('POST', `/v1.0/groups/${groupId}/members/$ref`, {
    token: t.app,
    body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${memberId}` },
  });
  ok(r, 204);
}

export async function removeMember(s: TestServer, t: Tenant, groupId: string, memberId: string): Promise<void> {
  ok(await s.request('DELETE', `/v1.0/groups/${groupId}/members/${memberId}/$ref`, { token: t.app }), 204);
}

/** §8.1: register the app, activate it (delegated), let it take effect, enable the service. */
export async function onboard(s: TestServer, t: Tenant): Promise<string> {
  const app = ok(await s.request('POST', `${BR}/serviceApps`, { token: t.app, body: {} }), 201);
  ok(await s.request('POST', `${BR}/serviceApps/${app.id}/activate`, { token: t.user, body: { effectiveDateTime: new Date(0).toISOString() } }), 202);
  await s.advance('PT1M');
  const status = ok(await s.request('POST', `${BR}/enable`, { token: t.app, body: { appOwnerTenantId: t.id } }), 200);
  assert.equal(status.status, 'enabled');
  return app.id;
}

export async function createPolicy(s: TestServer, t: Tenant, userIds: string[], displayName = 'Exchange Protection Policy'): Promise<any> {
  return ok(
    await s.request('POST', `${BR}/exchangeProtectionPolicies`, {
      token: t.app,
      body: { displayName, mailboxProtectionUnits: userIds.map((id) => ({ directoryObjectId: id })) },
    }),
    201,
  );
}

export async function units(s: TestServer, t: Tenant, policyId?: string, token = t.app, headers: Record<string, string> = {}): Promise<any[]> {
  const path = policyId ? `${BR}/exchangeProtectionPolicies/${policyId}/mailboxProtectionUnits` : `${BR}/mailboxProtectionUnits`;
  return ok(await s.request('GET', path, { token, headers }), 200).value;
}

export async function policy(s: TestServer, t: Tenant, id: string): Promise<any> {
  return ok(await s.request('GET', `${BR}/exchangeProtectionPolicies/${id}`, { token: t.app }), 200);
}

export const PREFER_ALL = { prefer: 'include-unknown-enum-members' };
