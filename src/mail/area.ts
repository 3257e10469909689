/**
 * The mail area: the directory (users, groups), hosted mailboxes and the Graph mail API, bulk
 * import/export (cli.ts) and the demo tenant's people and mail. Other areas use it only through the
 * MailService app.ts hands them and the `mailChanged` events it emits.
 */
import type { Area } from '../area.js';
import type { Core } from '../core.js';
import { mailService, type MailService } from './service.js';
import { pruneChanges } from './delta.js';
import { directoryRoutes } from './routes/directory.js';
import { exchangeIdRoutes } from './routes/exchangeIds.js';
import { folderRoutes } from './routes/folders.js';
import { messageRoutes } from './routes/messages.js';
import { seedDemoMail } from './demo.js';

/** The delta log is pruned at most this often (emulated time). */
const PRUNE_EVERY_MS = 3_600_000;

export function mailArea(core: Core): Area<MailService> {
  let lastPrune = 0;
  core.scheduler.register('mail.pruneChanges', async (now) => {
    if (now.getTime() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now.getTime();
    await pruneChanges(core, now);
  });
  return {
    name: 'mail',
    service: mailService(core),
    graphRoutes(app) {
      directoryRoutes(app, core);
      folderRoutes(app, core);
      messageRoutes(app, core);
      exchangeIdRoutes(app, core);
    },
    seedDemo: (tenantId) => seedDemoMail(core, tenantId),
  };
}
