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

const contexts = new WeakMap<Core, SourcesContext>();
const discovery = new WeakMap<Core, NodeJS.Timeout>();

function contextOf(core: Core): SourcesContext {
  const ctx = contexts.get(core);
  if (!ctx) throw new Error('the sources area is not set up');
  return ctx;
}

/** Seconds between polls of every folder besides IDLE on INBOX (MAILVAULT_SOURCE_POLL_SECONDS, 30 by default). */
function pollMs(): number {
  const s = Number(process.env.MAILVAULT_SOURCE_POLL_SECONDS ?? 30);
  return Number.isFinite(s) && s >= 0.1 && s <= 3600 ? s * 1000 : 30_000;
}

export const sourcesArea: Area = {
  name: 'sources',
  async setup(core) {
    const ctx: SourcesContext = { core, box: secretBox(loadSecretKey(core.config.dataDir)), workers: new Map(), pollMs: pollMs(), closing: false, nodeId: newNodeId() };
    contexts.set(core, ctx);
    await discoverSources(ctx);
    // sources made, resumed or changed on another node sharing the database
    discovery.set(core, setInterval(() => void discoverSources(ctx).catch(() => {}), Math.max(2000, ctx.pollMs)).unref());
  },
  adminRoutes(app, core) {
    sourcesRoutes(app, contextOf(core));
  },
  async close(core) {
    const ctx = contextOf(core);
    ctx.closing = true;
    clearInterval(discovery.get(core));
    await Promise.all([...ctx.workers.keys()].map((id) => stopWorker(ctx, id)));
  },
};
