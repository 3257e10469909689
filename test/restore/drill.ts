/**
 * The ransomware drill's pieces, shared by the restore tests: a protected mailbox filled in bulk
 * (setup only: through the mail service, many messages per transaction), an "attack" that rewrites
 * and deletes mail, and restore sessions driven over HTTP.
 */
import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/server.js';
import { BR, createFolder, createUser, listPoints, newTenant, ok, protectMailboxes, type Tenant } from '../helpers/protect.js';
import { mailService, type MailService } from '../../src/mail/service.js';
import { summarizeMime, type MimeSummary } from '../../src/mail/mime.js';
import { snapshotFromSummary } from '../../src/mail/messages.js';
import type { Core } from '../../src/core.js';

export const SESSIONS = `${BR}/exchangeRestoreSessions`;

export interface Seeded {
  id: string;
  folderId: string;
  subject: string;
  sender: string;
  mime: Buffer;
}

export function mimeOf(o: { subject: string; sender: string; to: string; body: string; messageId: string; date: Date }): Buffer {
  return Buffer.from(
    [
      `From: ${o.sender.split('@')[0]} <${o.sender}>`,
      `To: <${o.to}>`,
      `Subject: ${o.subject}`,
      `Message-ID: ${o.messageId}`,
      `Date: ${o.date.toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      o.body,
      '',
    ].join('\r\n'),
  );
}

const mail = (core: Core): MailService => mailService(core);

/** Fills folders of a mailbox with `n` received messages, round-robin over folders and `senders` senders. */
export async function seedMessages(core: Core, tenantId: string, mailboxId: string, folderIds: string[], n: number, o: { senders?: number; tag?: string } = {}): Promise<Seeded[]> {
  const senders = o.senders ?? 10;
  const tag = o.tag ?? 'm';
  const out: Seeded[] = [];
  const date = core.clock.now();
  for (let start = 0; start < n; start += 500) {
    const items = [];
    for (let i = start; i < Math.min(n, start + 500); i++) {
      const sender = `sender${i % senders}@fabrikam.example`;
      const subject = `Report ${tag}${i}: quarterly numbers`;
      const mime = mimeOf({ subject, sender, to: 'owner@contoso.example', body: `Dear owner,\r\nthe numbers of ${tag}${i} are ${i * 7}.\r\n`, messageId: `<${tag}${i}.${Date.now()}@fabrikam.example>`, date });
      items.push({ mime, summary: await summarizeMime(mime), folderId: folderIds[i % folderIds.length], subject, sender });
    }
    const byFolder = new Map<string, typeof items>();
    for (const it of items) byFolder.set(it.folderId, [...(byFolder.get(it.folderId) ?? []), it]);
    await core.store.write(async (trx) => {
      for (const [folderId, list] of byFolder) {
        const made = await mail(core).importMime(trx, tenantId, mailboxId, folderId, list.map((l) => ({ mime: l.mime, summary: l.summary, isRead: false })));
        made.forEach((m, k) => out.push({ id: m.id, folderId, subject: list[k].subject, sender: list[k].sender, mime: list[k].mime }));
      }
    });
  }
  return out;
}

/** The attack: every message's subject and body rewritten in place (same id), then every `deleteEvery`-th deleted. */
export async function attack(core: Core, tenantId: string, mailboxId: string, victims: Seeded[], deleteEvery = 3): Promise<{ rewritten: Seeded[]; deleted: Seeded[] }> {
  const deleted = victims.filter((_, i) => i % deleteEvery === 0);
  const rewritten = victims.filter((_, i) => i % deleteEvery !== 0);
  for (let start = 0; start < victims.length; start += 500) {
    const part = victims.slice(start, start + 500);
    const now = core.clock.now().toISOString();
    const records: { v: Seeded; mime: Buffer; summary: MimeSummary }[] = [];
    for (const v of part) {
      const mime = mimeOf({ subject: `ENCRYPTED ${v.id.slice(-6)}`, sender: v.sender, to: 'owner@contoso.example', body: `Your files are encrypted. ${Buffer.from(v.subject).toString('base64')}`, messageId: `<x${v.id.slice(-10)}@evil.example>`, date: new Date(now) });
      const summary = await summarizeMime(mime);
      records.push({ v, mime, summary });
    }
    await core.store.write(async (trx) => {
      const hashes = await mail(core).putBlobs(trx, records.map((r) => r.mime));
      await mail(core).upsertMessages(
        trx,
        tenantId,
        mailboxId,
        records.map((r, i) => ({ id: r.v.id, folderId: r.v.folderId, mimeSha256: hashes[i], props: snapshotFromSummary(r.summary, { id: r.v.id, now, isDraft: false, isRead: true }) })),
      );
    });
  }
  for (let start = 0; start < deleted.length; start += 500) {
    await core.store.write((trx) => mail(core).deleteMessages(trx, tenantId, mailboxId, deleted.slice(start, start + 500).map((d) => d.id)));
  }
  return { rewritten, deleted };
}

/**
 * The drill's scene: a new tenant whose one protected mailbox ("Victim") held `n` messages across
 * Inbox and Projects at its restore point `pointId`, all rewritten or deleted by the attack since.
 */
export async function attackedMailbox(s: TestServer, n: number): Promise<{ t: Tenant; userId: string; inbox: string; seeded: Seeded[]; pointId: string }> {
  const t = await newTenant(s);
  t.app = await s.token({ tenantId: t.id, expires: '2h' });
  const userId = (await createUser(s, t, 'Victim')).id;
  const inbox = ok(await s.request('GET', `/v1.0/users/${userId}/mailFolders/inbox`, { token: t.app }), 200).id;
  const projects = await createFolder(s, t, userId, 'Projects');
  const seeded = await seedMessages(s.app.core, t.id, userId, [inbox, projects], n);
  const unitId = (await protectMailboxes(s, t, [userId])).unitOf.get(userId)!;
  await s.advance('PT15M');
  const [point] = await listPoints(s, t.app, unitId);
  await attack(s.app.core, t.id, userId, seeded);
  return { t, userId, inbox, seeded, pointId: point.id };
}

export async function createSession(s: TestServer, t: Tenant, body: Record<string, unknown>): Promise<string> {
  return ok(await s.request('POST', SESSIONS, { token: t.app, body: { '@odata.type': '#microsoft.graph.exchangeRestoreSession', ...body } }), 201).id;
}

export async function activate(s: TestServer, t: Tenant, sessionId: string): Promise<any> {
  return ok(await s.request('POST', `${SESSIONS}/${sessionId}/activate`, { token: t.app }), 200);
}

/** The session, with evolvable enum members (the status `failed`) shown as they are. */
export async function getSession(s: TestServer, t: Tenant, sessionId: string): Promise<any> {
  return ok(await s.request('GET', `${SESSIONS}/${sessionId}`, { token: t.app, headers: { prefer: 'include-unknown-enum-members' } }), 200);
}

export async function artifacts(s: TestServer, t: Tenant, sessionId: string, kind: 'mailboxRestoreArtifacts' | 'granularMailboxRestoreArtifacts' = 'mailboxRestoreArtifacts'): Promise<any[]> {
  return ok(await s.request('GET', `${SESSIONS}/${sessionId}/${kind}`, { token: t.app }), 200).value;
}

const TERMINAL = new Set(['completed', 'completedWithError', 'failed']);

/** Polls the session (real time) until it reaches a terminal status. */
export async function waitForSession(s: TestServer, t: Tenant, sessionId: string, timeoutMs = 20_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const session = await getSession(s, t, sessionId);
    if (TERMINAL.has(session.status)) return session;
    if (Date.now() > until) assert.fail(`session ${sessionId} still ${session.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every message of a mailbox (id → the few properties the drill compares), through the Graph API. */
export async function listMessages(s: TestServer, t: Tenant, userId: string, folderId?: string): Promise<Map<string, any>> {
  const out = new Map<string, any>();
  const base = folderId ? `/v1.0/users/${userId}/mailFolders/${folderId}/messages` : `/v1.0/users/${userId}/messages`;
  let next: string | undefined = `${base}?$top=1000&$select=id,subject,parentFolderId,internetMessageId,receivedDateTime,sentDateTime,isRead`;
  while (next) {
    const r: any = ok(await s.request('GET', next, { token: t.app }), 200);
    for (const m of r.value) out.set(m.id, m);
    next = r['@odata.nextLink'];
  }
  return out;
}

/** Runs `fn` over `items` with at most `n` at a time. */
export async function eachLimit<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

/** Protects mailboxes on a server with realistic timing (policy activation takes about an hour there). */
export async function protectSlowly(s: TestServer, t: Tenant, userIds: string[]): Promise<Map<string, string>> {
  const { onboard, createPolicy, units } = await import('../helpers/protection.js');
  await onboard(s, t);
  const policy = await createPolicy(s, t, userIds);
  ok(await s.request('POST', `${BR}/protectionPolicies/${policy.id}/activate`, { token: t.app }), 202);
  await s.advance('PT2H');
  const out = new Map<string, string>();
  for (const u of await units(s, t, policy.id)) {
    assert.equal(u.status, 'protected');
    out.set(u.directoryObjectId, u.id);
  }
  return out;
}
