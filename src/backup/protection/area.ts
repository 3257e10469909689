/**
 * The protection control plane: service status, service apps, Exchange protection policies, units,
 * inclusion rules and bulk addition jobs, with their asynchronous transitions on the scheduler.
 */
import type { Area } from '../../area.js';
import type { Core } from '../../core.js';
import { protectionService, type ProtectionService } from './service.js';
import { protectionTick } from './scheduler.js';
import { seedProtection } from './seed.js';
import { serviceAppRoutes } from './routes/serviceApps.js';
import { policyRoutes } from './routes/policies.js';
import { unitRoutes } from './routes/units.js';
import { ruleRoutes } from './routes/rules.js';
import { bulkJobRoutes } from './routes/bulkJobs.js';

export type { ProtectionService, UnitSummary } from './service.js';

export function protectionArea(core: Core): Area<ProtectionService> {
  core.scheduler.register('protection', (now) => protectionTick(core, now));
  return {
    name: 'protection',
    service: protectionService(core),
    graphRoutes(app) {
      serviceAppRoutes(app, core);
      policyRoutes(app, core);
      unitRoutes(app, core);
      ruleRoutes(app, core);
      bulkJobRoutes(app, core);
    },
    seedDemo: (tenantId) => seedProtection(core, tenantId),
  };
}
