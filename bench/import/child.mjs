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
// where the memory is: the process before the import, and the peaks of the V8 heap and of buffers during it
const startRss = process.memoryUsage.rss();
const peak = { rss: 0, heapTotal: 0, heapUsed: 0, arrayBuffers: 0 };
const sample = setInterval(() => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k]);
}, 100);
const result = await importMessages(core, mboxSource(mbox), { tenantId, user: 'ivy@contoso.test' });
clearInterval(sample);
await app.close();
const maxRss = Math.max(peak.rss, process.resourceUsage().maxRSS * 1024);
process.stdout.write(JSON.stringify({ imported: result.imported, skipped: result.skipped, seconds: result.seconds, maxRss, startRss, peak }) + '\n');
