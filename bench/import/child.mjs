// The import half of bench/import: the built product (dist/, `npm run build`) in its own process,
// so the peak RSS measured is the import's own. Prints one line of JSON.
import { createApp } from '../../dist/app.js';
import { loadConfig } from '../../dist/config.js';
import { mailService } from '../../dist/mail/service.js';
import { importMessages, mboxSource } from '../../dist/mail/importer.js';

const [dataDir, mbox] = process.argv.slice(2);
const app = await createApp(loadConfig({ data: dataDir, logLevel: 'silent' }, {}));
const core = app.core;
const tenantId = core.defaultTenantId;
await core.store.write((trx) => mailService(core).createUser(trx, tenantId, { userPrincipalName: 'ivy@contoso.test', displayName: 'Ivy' }));
let peak = 0;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
const result = await importMessages(core, mboxSource(mbox), { tenantId, user: 'ivy@contoso.test' });
clearInterval(sample);
await app.close();
const maxRss = Math.max(peak, process.resourceUsage().maxRSS * 1024);
process.stdout.write(JSON.stringify({ imported: result.imported, skipped: result.skipped, seconds: result.seconds, maxRss }) + '\n');
