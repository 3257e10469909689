/** `mailvault import` and `mailvault export` (mail area): bulk mail in and out of a mailbox. */
import path from 'node:path';
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { DEFAULTS, loadConfig, ConfigError } from '../config.js';
import type { App } from '../app.js';
import { MboxFormatError } from './mbox.js';
import { emlCount, emlSource, exportMbox, importMessages, ImportError, mboxSource } from './importer.js';

const dataOption = () => new Option('--data <dir>', `data directory (default ${DEFAULTS.data})`).env('MAILVAULT_DATA');
const dbOption = () => new Option('--database-url <url>', 'PostgreSQL connection string').env('MAILVAULT_DATABASE_URL');

async function openApp(opts: { data?: string; databaseUrl?: string }): Promise<App> {
  const config = loadConfig({ data: opts.data, databaseUrl: opts.databaseUrl, logLevel: 'silent' });
  // The server's modules load only for the commands that open it (the token command needs none of them).
  const { createApp } = await import('../app.js');
  return createApp(config);
}

function tenantOf(app: App, opts: { tenant?: string; data?: string }): string {
  return opts.tenant ?? app.core.defaultTenantId;
}

async function withApp<T>(opts: { data?: string; databaseUrl?: string }, fn: (app: App) => Promise<T>): Promise<T> {
  const app = await openApp(opts);
  try {
    return await fn(app);
  } catch (e) {
    if (e instanceof ImportError || e instanceof MboxFormatError) throw new ConfigError(e.message);
    throw e;
  } finally {
    await app.close();
  }
}

export function registerMailCommands(program: Command): void {
  program
    .command('import')
    .description('import messages into a mailbox from an mbox file or a directory of .eml files')
    .requiredOption('--user <id|upn>', 'the mailbox owner (object id, userPrincipalName or mail)')
    .option('--mbox <file>', 'an mbox (mboxrd/mboxo) file')
    .option('--eml <dir>', 'a directory of .eml files')
    .option('--folder <name>', 'target folder: a well-known name (inbox, archive, ...) or a top-level folder, created if missing', 'inbox')
    .option('--tenant <id>', "tenant id (default: the server's default tenant)")
    .addOption(dataOption())
    .addOption(dbOption())
    .action(async (opts) => {
      if (!!opts.mbox === !!opts.eml) throw new ConfigError('give exactly one of --mbox FILE or --eml DIR');
      const sourcePath = path.resolve(opts.mbox ?? opts.eml);
      if (!fs.existsSync(sourcePath)) throw new ConfigError(`${sourcePath} does not exist`);
      const total = opts.mbox ? fs.statSync(sourcePath).size : emlCount(sourcePath);
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ stream: process.stderr, format: ' {bar} {percentage}% | {imported} messages | {eta_formatted} left', hideCursor: true }, cliProgress.Presets.shades_classic)
        : undefined;
      let last = 0;
      let lastImported = 0;
      await withApp(opts, async (app) => {
        bar?.start(total, 0, { imported: 0 });
        const result = await importMessages(app.core, opts.mbox ? mboxSource(sourcePath) : emlSource(sourcePath), {
          tenantId: tenantOf(app, opts),
          user: opts.user,
          folder: opts.folder,
          onProgress: (p, imported) => {
            last = p;
            lastImported = imported;
            bar?.update(p, { imported });
          },
          onSkip: (label, reason) => {
            bar?.stop();
            process.stderr.write(`skipped ${label}: ${reason}\n`);
            bar?.start(total, last, { imported: lastImported });
          },
        });
        bar?.update(total);
        bar?.stop();
        const rate = result.seconds > 0 ? Math.round(result.imported / result.seconds) : result.imported;
        process.stdout.write(`Imported ${result.imported} messages into ${result.folderName} (${result.skipped} skipped) in ${result.seconds.toFixed(1)} s, ${rate} messages/s\n`);
      });
    });

  program
    .command('export')
    .description("write a mailbox's messages to an mbox file")
    .requiredOption('--user <id|upn>', 'the mailbox owner (object id, userPrincipalName or mail)')
    .requiredOption('--mbox <file>', 'the mbox file to write')
    .option('--folder <name>', 'only this folder (well-known name or top-level folder)')
    .option('--tenant <id>', "tenant id (default: the server's default tenant)")
    .addOption(dataOption())
    .addOption(dbOption())
    .action(async (opts) => {
      await withApp(opts, async (app) => {
        const n = await exportMbox(app.core, { tenantId: tenantOf(app, opts), user: opts.user, folder: opts.folder, file: path.resolve(opts.mbox) });
        process.stdout.write(`Exported ${n} messages to ${path.resolve(opts.mbox)}\n`);
      });
    });
}
