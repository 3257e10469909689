/**
 * The vault: continuous capture of protected mailboxes, restore points, restore point search and
 * granular search, retention and garbage collection (docs/vault.md).
 */
import type { FastifyInstance } from 'fastify';
import { requireEmulatorAdmin } from '../http/routes/admin.js';
import type { Area } from '../area.js';
import type { Core } from '../core.js';
import { errors } from '../errors.js';
import type { ProtectionUnitSource, VaultContext } from './context.js';
import type { MailService } from '../mail/service.js';
import { keywordIndex } from './keywordIndex.js';
import { onMailChanged, onProtectionChanged } from './capture.js';
import { loadHints, makeDuePoints } from './restorePoints.js';
import { indexOnTick } from './indexer.js';
import { collectGarbage, GC_INTERVAL_MS } from './gc.js';
import { createVaultService, type VaultService } from './service.js';
import { vaultRoutes } from './routes.js';
import { seedVaultDemo } from './seed.js';

/** The vault's service, and its internals for one server (benchmarks and tests drive its tick and collection tasks directly). */
export type VaultArea = Area<VaultService> & { context: VaultContext };

export async function vaultArea(core: Core, uses: { mail: MailService; protection: ProtectionUnitSource }): Promise<VaultArea> {
  const ctx: VaultContext = {
    core,
    mail: uses.mail,
    protection: uses.protection,
    index: keywordIndex(core.store.dialect),
    everProtected: new Set(),
    dirty: new Map(),
    unindexed: true,
    capturedSinceTick: false,
    lastGc: undefined,
    holds: [],
  };
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
  return {
    name: 'vault',
    service: createVaultService(ctx),
    context: ctx,
    graphRoutes(app) {
      vaultRoutes(app, ctx);
    },
    adminRoutes(app: FastifyInstance) {
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
    seedDemo: (tenantId) => seedVaultDemo(ctx, tenantId),
  };
}
