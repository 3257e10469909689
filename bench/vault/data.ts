/** Synthetic mail for the vault benchmark: deterministic (seeded), shaped like the mail area's snapshots. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { MailService } from '../../src/mail/service.js';
import { receivedMessage, type MessageRecord, type MessageSnapshot } from '../../src/mail/model.js';
import { newItemId } from '../../src/mail/ids.js';

import { prng, type Rng } from '../../src/mail/prng.js';

export { prng, type Rng };

const WORDS = ['quarterly', 'report', 'budget', 'invoice', 'meeting', 'launch', 'plan', 'review', 'contract', 'offsite', 'forecast', 'security', 'training', 'roadmap', 'design', 'pricing', 'update', 'status', 'customer', 'feedback', 'hiring', 'travel', 'expenses', 'partner', 'webinar', 'inventory', 'renewal', 'draft', 'final', 'notes'];

export function subjectFor(r: Rng): string {
  const n = 2 + r.int(4);
  return Array.from({ length: n }, () => r.pick(WORDS)).join(' ').replace(/^./, (c) => c.toUpperCase());
}

const FIRST = ['anna', 'ben', 'carla', 'david', 'elena', 'felix', 'grace', 'hugo', 'irene', 'jonas', 'kara', 'liam', 'maya', 'noah', 'olga', 'paul', 'quinn', 'rosa', 'sam', 'tara', 'umar', 'vera', 'will', 'xenia', 'yusuf', 'zoe', 'adam', 'bea', 'chris', 'dora', 'emil', 'fay', 'gus', 'hana', 'ivan', 'jade', 'karl', 'lena', 'milo', 'nina'];
const LAST = ['smith', 'jones', 'garcia', 'miller', 'davis', 'lopez', 'wilson', 'anderson', 'thomas', 'taylor', 'moore', 'jackson', 'martin', 'lee', 'perez', 'white', 'harris', 'clark', 'lewis', 'young', 'walker', 'hall', 'allen', 'king', 'wright', 'scott', 'green', 'baker', 'adams', 'nelson', 'hill', 'campbell', 'mitchell', 'roberts', 'carter', 'phillips', 'evans', 'turner', 'torres', 'parker', 'collins', 'edwards', 'stewart', 'morris', 'murphy', 'cook', 'rogers', 'morgan', 'cooper', 'reed'];
const DOMAINS = ['contoso', 'fabrikam', 'northwind', 'adatum', 'litware', 'tailspin', 'woodgrove', 'proseware', 'wingtip', 'lucerne'];
const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
/** Person n of the pool (n < 2,000): first.last@company.test */
export const person = (n: number) => ({ first: FIRST[n % 40], last: LAST[Math.floor(n / 40) % 50], address: `${FIRST[n % 40]}.${LAST[Math.floor(n / 40) % 50]}@${DOMAINS[n % 10]}.test` });
export const address = (n: number) => person(n).address;
const recipient = (n: number) => ({ emailAddress: { name: `${cap(person(n).first)} ${cap(person(n).last)}`, address: address(n) } });

/** A complete message snapshot (what MailChange.props carries for a message). */
export function snapshot(r: Rng, now: string, o: { senders: number; subject?: string; attachmentRate?: number }): MessageSnapshot {
  const from = recipient(r.int(o.senders));
  return receivedMessage({
    at: now,
    subject: o.subject ?? subjectFor(r),
    bodyPreview: `Hello, this is about ${subjectFor(r).toLowerCase()} and a few other things worth reading.`,
    from,
    toRecipients: Array.from({ length: 1 + r.int(3) }, () => recipient(r.int(o.senders))),
    ccRecipients: r.next() < 0.3 ? [recipient(r.int(o.senders))] : [],
    internetMessageId: `<${crypto.randomUUID()}@example.test>`,
    conversationId: `conv-${r.int(1e9)}`,
    hasAttachments: r.next() < (o.attachmentRate ?? 0.2),
  });
}

let corpus: string | undefined;

/** MIME-like content of about `size` bytes: headers and a slice of a large random text (distinct per call). */
export function content(r: Rng, size: number): Buffer {
  if (!corpus) {
    const c = prng(99);
    const words: string[] = [];
    for (let n = 0; n < 4_000_000; ) {
      const w = c.pick(WORDS) + c.int(1000);
      words.push(w);
      n += w.length + 1;
    }
    corpus = words.join(' ');
  }
  const at = r.int(corpus.length - size - 1);
  return Buffer.from(`From: someone@example.test\r\nSubject: synthetic ${r.int(1e9)}\r\nContent-Type: text/plain\r\n\r\n${corpus.slice(at, at + size)}`);
}

export interface BenchApp {
  app: App;
  mail: MailService;
  tenantId: string;
  close(): Promise<void>;
}

/** A server on a fresh data directory (or in memory), not listening unless asked. */
export async function benchApp(o: { memory?: boolean } = {}): Promise<BenchApp> {
  const dir = o.memory ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'mailvault-bench-vault-'));
  const config = loadConfig({ port: '0', logLevel: 'silent', ...(dir ? { data: dir } : { memory: true }) }, {});
  const app = await createApp(config);
  return {
    app,
    mail: app.services.mail,
    tenantId: app.core.defaultTenantId,
    async close() {
      await app.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Users (with their mailboxes) in batches; returns their ids and inbox ids. */
export async function makeUsers(b: BenchApp, count: number, prefix: string): Promise<Array<{ id: string; inbox: string }>> {
  const out: Array<{ id: string; inbox: string }> = [];
  for (let i = 0; i < count; i += 100) {
    const made = await b.app.core.store.write(async (trx) => {
      const list = [];
      for (let k = i; k < Math.min(count, i + 100); k++) {
        const u = await b.mail.createUser(trx, b.tenantId, { userPrincipalName: `${prefix}${k}@bench.test`, displayName: `${prefix} ${k}` });
        list.push(u.id);
      }
      return list;
    });
    for (const id of made) out.push({ id, inbox: (await b.mail.wellKnownFolderId(b.tenantId, id, 'inbox'))! });
  }
  return out;
}

/** Protects mailboxes the way the protection area announces it: a protectionChanged event per unit. */
export async function protect(b: BenchApp, mailboxIds: string[]): Promise<void> {
  for (let i = 0; i < mailboxIds.length; i += 200) {
    const at = b.app.core.clock.now().toISOString();
    await b.app.core.store.write((trx) =>
      b.app.core.events.protectionChanged.emit(
        trx,
        mailboxIds.slice(i, i + 200).map((mailboxId) => ({ tenantId: b.tenantId, unitId: `unit-${mailboxId}`, mailboxId, protected: true, at })),
      ),
    );
  }
}

export function newMessage(folderId: string, props: MessageSnapshot, mimeSha256: string): MessageRecord {
  return { id: newItemId('message'), folderId, props, mimeSha256 };
}
