/**
 * The vault: continuous capture of protected mailboxes, restore points, restore point search and
 * granular search, retention and garbage collection (docs/vault.md).
 */
import type { FastifyInstance } from 'fastify';
import { requireEmulatorAdmin } from '../http/routes/admin.js';
import type { Area } from '../area.js';
import type { Core } from '../core.js';
import { errors } from '../http/errors.js';
import type { VaultContext } from './context.js';
import { keywordIndex } from './keywordIndex.js';
import { onMailChanged, onProtectionChanged } from './capture.js';
import { loadHints, makeDuePoints } from './restorePoints.js';
import { indexOnTick } from './indexer.js';
import { collectGarbage, GC_INTERVAL_MS } from './gc.js';
import { createVaultService } from './service.js';
import { vaultRoutes } from './routes.js';
import { seedVaultDemo } from './seed.js';

const contexts = new WeakMap<Core, VaultContext>();

/** The vault's internals for one server (benchmarks drive the tick and collection tasks directly). */
export function vaultContext(core: Core): VaultContext {
  return contextOf(core);
}

function contextOf(core: Core): VaultContext {
  const ctx = contexts.get(core);
  if (!ctx) throw new Error('the vault area is not set up');
  return ctx;
}

export const vaultArea: Area = {
  name: 'vault',
  async setup(core) {
    const ctx: VaultContext = { core, index: keywordIndex(core.store.dialect), everProtected: new Set(), dirty: new Map(), unindexed: true, capturedSinceTick: false, lastGc: undefined, holds: [] };
    contexts.set(core, ctx);
    core.services.vault = createVaultService(ctx);
    core.events.protectionChanged.on((trx, events) => onProtectionChanged(ctx, trx, events));
    core.events.mailChanged.on((trx, events) => onMailChanged(ctx, trx, events));
    await loadHints(ctx);
    core.scheduler.register('vault.index', async () => {
      await indexOnTick(ctx);
    });
    core.scheduler.register('vault.restorePoints', async (now) => {
      await makeDuePoints(ctx, now);
    });
    let gcDue = core.clock.now().getTime() + GC_INTERVAL_MS;
    core.scheduler.register('vault.gc', async (now) => {
      if (now.getTime() < gcDue) return;
      gcDue = now.getTime() + GC_INTERVAL_MS;
      await collectGarbage(ctx, now);
    });
  },
  graphRoutes(app, core) {
    vaultRoutes(app, contextOf(core));
  },
  adminRoutes(app: FastifyInstance, core) {
    const ctx = contextOf(core);
    app.get('/_mailvault/vault/gc', async (req) => {
      requireEmulatorAdmin(req);
      return { lastRun: ctx.lastGc ?? null };
    });
    app.post('/_mailvault/vault/gc', async (req) => {
      requireEmulatorAdmin(req);
      if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null || Object.keys(req.body).length > 0)) {
        throw errors.badRequest('POST /_mailvault/vault/gc takes no body.');
      }
      return collectGarbage(ctx, core.clock.now());
    });
  },
  async seedDemo(core, tenantId) {
    await seedVaultDemo(contextOf(core), tenantId);
  },
};
