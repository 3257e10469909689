/**
 * The protection control plane: service status, service apps, Exchange protection policies, units,
 * inclusion rules and bulk addition jobs, with their asynchronous transitions on the scheduler.
 */
import type { Area } from '../../area.js';
import { protectionService } from './service.js';
import { protectionTick } from './scheduler.js';
import { seedProtection } from './seed.js';
import { serviceAppRoutes } from './routes/serviceApps.js';
import { policyRoutes } from './routes/policies.js';
import { unitRoutes } from './routes/units.js';
import { ruleRoutes } from './routes/rules.js';
import { bulkJobRoutes } from './routes/bulkJobs.js';

export type { ProtectionService, UnitSummary } from './service.js';

export const protectionArea: Area = {
  name: 'protection',
  setup(core) {
    core.services.protection = protectionService(core);
    core.scheduler.register('protection', (now) => protectionTick(core, now));
  },
  graphRoutes(app, core) {
    serviceAppRoutes(app, core);
    policyRoutes(app, core);
    unitRoutes(app, core);
    ruleRoutes(app, core);
    bulkJobRoutes(app, core);
  },
  seedDemo: seedProtection,
};
