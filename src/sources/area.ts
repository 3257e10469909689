/**
 * External mail sources: a hosted mailbox mirrors a mailbox on an IMAP server, continuously, through
 * the mail service's normal write path, so the vault captures every change (README "External mail
 * sources"). Managed under /_mailvault/sources.
 */
import type { Area } from '../area.js';
import type { Core } from '../core.js';
import { loadSecretKey, secretBox } from './secrets.js';
import { discoverSources, newNodeId, stopWorker, type SourcesContext } from './context.js';
import { sourcesRoutes } from './routes.js';

/** Seconds between polls of every folder besides IDLE on INBOX (MAILVAULT_SOURCE_POLL_SECONDS, 30 by default). */
function pollMs(): number {
  const s = Number(process.env.MAILVAULT_SOURCE_POLL_SECONDS ?? 30);
  return Number.isFinite(s) && s >= 0.1 && s <= 3600 ? s * 1000 : 30_000;
}

export async function sourcesArea(core: Core): Promise<Area<void>> {
  const ctx: SourcesContext = { core, box: secretBox(loadSecretKey(core.config.dataDir)), workers: new Map(), pollMs: pollMs(), closing: false, nodeId: newNodeId() };
  await discoverSources(ctx);
  // sources made, resumed or changed on another node sharing the database
  const discovery = setInterval(() => void discoverSources(ctx).catch(() => {}), Math.max(2000, ctx.pollMs)).unref();
  return {
    name: 'sources',
    service: undefined,
    adminRoutes(app) {
      sourcesRoutes(app, ctx);
    },
    async close() {
      ctx.closing = true;
      clearInterval(discovery);
      await Promise.all([...ctx.workers.keys()].map((id) => stopWorker(ctx, id)));
    },
  };
}
