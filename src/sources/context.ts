/**
 * The sources of one server: the secret box and one sync worker per active source, started at server
 * start and when a source is made or resumed, stopped on pause, delete and close.
 */
import type { Core } from '../core.js';
import type { SourceTable } from '../store/schema.js';
import { ImapSync, type ImapSettings } from './imap.js';
import type { SecretBox } from './secrets.js';

export interface SourcesContext {
  core: Core;
  box: SecretBox;
  workers: Map<string, ImapSync>;
  pollMs: number;
  closing: boolean;
}

export const passwordAad = (sourceId: string) => `${sourceId}|password`;

export function startWorker(ctx: SourcesContext, row: SourceTable): void {
  if (ctx.closing || row.paused || ctx.workers.has(row.id)) return;
  const settings = JSON.parse(row.settings) as ImapSettings;
  let password: string;
  try {
    password = ctx.box.open(row.secret, passwordAad(row.id));
  } catch (e) {
    void setStatus(ctx, row.id, 'error', `the password cannot be read: ${(e as Error).message}`);
    return;
  }
  const log = (message: string) => {
    if (ctx.core.config.logLevel !== 'silent') console.error(`[mailvault] ${message}`);
  };
  const worker = new ImapSync(
    ctx.core,
    { id: row.id, tenantId: row.tenant_id, mailboxId: row.mailbox_id, settings, password },
    { pollMs: ctx.pollMs, batchMessages: 500, batchBytes: 8 << 20, log },
    (status, error, synced) => setStatus(ctx, row.id, status, error, synced),
  );
  ctx.workers.set(row.id, worker);
  worker.start();
}

export async function stopWorker(ctx: SourcesContext, id: string): Promise<void> {
  const worker = ctx.workers.get(id);
  if (!worker) return;
  await worker.stop();
  ctx.workers.delete(id);
}

async function setStatus(ctx: SourcesContext, id: string, status: SourceTable['status'], error: string | null, synced = false): Promise<void> {
  const now = ctx.core.clock.now().toISOString();
  await ctx.core.store.write((trx) =>
    trx
      .updateTable('sources')
      .set({ status, error, updated_at: now, ...(synced ? { last_sync_at: now } : {}) })
      .where('id', '=', id)
      .where('paused', '=', 0)
      .execute(),
  );
}
