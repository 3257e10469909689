/**
 * The sources of one server: the secret box and one sync worker per active source, started at server
 * start and when a source is made or resumed, stopped on pause, delete and close.
 */
import crypto from 'node:crypto';
import type { Core } from '../core.js';
import type { Trx } from '../store/store.js';
import type { SourceTable } from '../store/schema.js';
import { ImapSync, LeaseLost, type ImapSettings, type Lease } from './imap.js';
import type { SecretBox } from './secrets.js';

export interface SourcesContext {
  core: Core;
  box: SecretBox;
  workers: Map<string, ImapSync>;
  pollMs: number;
  closing: boolean;
  /** This node, as a lease holder. */
  nodeId: string;
}

export function newNodeId(): string {
  return crypto.randomUUID();
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
    { pollMs: ctx.pollMs, batchMessages: 500, batchBytes: 8 << 20, log, lease: lease(ctx, row.id, row.settings + row.secret) },
    (status, error, synced) => setStatus(ctx, row.id, status, error, synced, true),
  );
  ctx.workers.set(row.id, worker);
  void worker.start().then(() => {
    if (ctx.workers.get(row.id) === worker) ctx.workers.delete(row.id);
  });
}

/** Starts a worker for every active source this node does not run yet (made or resumed on another node). */
export async function discoverSources(ctx: SourcesContext): Promise<void> {
  if (ctx.closing) return;
  const rows = await ctx.core.store.db.selectFrom('sources').selectAll().where('paused', '=', 0).execute();
  for (const row of rows) if (!ctx.workers.has(row.id)) startWorker(ctx, row);
}

export async function stopWorker(ctx: SourcesContext, id: string): Promise<void> {
  const worker = ctx.workers.get(id);
  if (!worker) return;
  await worker.stop();
  ctx.workers.delete(id);
}

async function setStatus(ctx: SourcesContext, id: string, status: SourceTable['status'], error: string | null, synced = false, asHolder = false): Promise<void> {
  const now = ctx.core.clock.now().toISOString();
  await ctx.core.store.write((trx) => {
    let q = trx
      .updateTable('sources')
      .set({ status, error, updated_at: now, ...(synced ? { last_sync_at: now } : {}) })
      .where('id', '=', id)
      .where('paused', '=', 0);
    if (asHolder) q = q.where('lease_owner', '=', ctx.nodeId);
    return q.execute();
  });
}

/**
 * The source's lease, in real time: long enough to outlast an idle wait between two passes (each pass
 * renews it, as does every write), so a node that dies hands the source over within about that long.
 */
function lease(ctx: SourcesContext, id: string, version: string): Lease {
  const ttl = Math.max(60_000, 3 * ctx.pollMs);
  const until = () => new Date(Date.now() + ttl).toISOString();
  const renew = async (trx: Trx, take: boolean) => {
    const now = new Date().toISOString();
    const r = await trx
      .updateTable('sources')
      .set({ lease_owner: ctx.nodeId, lease_until: until() })
      .where('id', '=', id)
      .where((eb) => (take ? eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', ctx.nodeId), eb('lease_until', '<', now)]) : eb('lease_owner', '=', ctx.nodeId)))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  };
  return {
    retryMs: Math.min(ttl / 2, Math.max(1000, ctx.pollMs)),
    acquire: () =>
      ctx.core.store.write(async (trx) => {
        const row = await trx.selectFrom('sources').select(['paused', 'settings', 'secret']).where('id', '=', id).executeTakeFirst();
        if (!row || row.paused || row.settings + row.secret !== version) return 'stale' as const;
        return renew(trx, true);
      }),
    async hold(trx) {
      if (!(await renew(trx, false))) throw new LeaseLost();
    },
    async release() {
      await ctx.core.store.write((trx) => trx.updateTable('sources').set({ lease_owner: null, lease_until: null }).where('id', '=', id).where('lease_owner', '=', ctx.nodeId).execute());
    },
  };
}
