/**
 * A fresh tenant with one user (and so one mailbox) and a few messages, for the mail tests that need
 * mailboxes of their own; the one place those tests make tenants.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { TestServer } from './server.js';

export interface Mailbox {
  tenantId: string;
  /** Application token of the tenant with every permission. */
  token: string;
  uid: string;
  upn: string;
  /** `/v1.0/users/{uid}` */
  u: string;
}

export async function newMailbox(s: TestServer, tenantId?: string): Promise<Mailbox> {
  tenantId ??= await s.newTenant();
  const token = await s.token({ tenantId });
  const nick = `mbx${crypto.randomBytes(4).toString('hex')}`;
  const upn = `${nick}@contoso.test`;
  const r = await s.request('POST', '/v1.0/users', {
    token,
    body: { accountEnabled: true, displayName: 'Mail User', mailNickname: nick, userPrincipalName: upn, passwordProfile: { password: 'Secret-123456' } },
  });
  assert.equal(r.status, 201, r.text);
  return { tenantId, token, uid: r.body.id, upn, u: `/v1.0/users/${r.body.id}` };
}

/** A plain-text message delivered (not a draft) to the folder; its id. */
export async function deliver(s: TestServer, b: Mailbox, folder: string, subject: string): Promise<string> {
  const mime = [
    'From: Pat Smith <pat@fabrikam.example>',
    `To: Mail User <${b.upn}>`,
    `Subject: ${subject}`,
    'Date: Tue, 03 Nov 2026 09:15:00 +0000',
    `Message-ID: <${crypto.randomBytes(6).toString('hex')}@fabrikam.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello.',
    '',
  ].join('\r\n');
  const raw = Buffer.from(mime).toString('base64');
  const r = await s.request('POST', `${b.u}/mailFolders/${folder}/messages`, { token: b.token, raw, headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}
