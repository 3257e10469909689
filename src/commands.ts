/** The `mailvault` commands: serve, token (import and export are added by the mail area). */
import { Command, Option } from 'commander';
import { loadConfig, ConfigError, DEFAULTS } from './config.js';
import { loadDefaultTenant, loadOrCreateSigningKey, type SigningKey } from './identity/keys.js';
import { Store } from './store/store.js';
import { makePrivateDir } from './files.js';
import { canonicalTenantId, mintAdminToken, mintToken } from './identity/tokens.js';
import { registerMailCommands } from './mail/cli.js';
import path from 'node:path';

const program = new Command();
program.name('mailvault').description('Exchange-style mailboxes behind the Microsoft Graph Backup Storage API').showHelpAfterError();

program
  .command('serve')
  .description('start the server')
  .addOption(new Option('--host <host>', 'interface to listen on').env('MAILVAULT_HOST'))
  .addOption(new Option('--port <port>', 'port (0 picks a free one)').env('MAILVAULT_PORT'))
  .addOption(new Option('--data <dir>', `data directory (default ${DEFAULTS.data})`).env('MAILVAULT_DATA'))
  .addOption(new Option('--memory', 'keep nothing on disk').env('MAILVAULT_MEMORY'))
  .addOption(new Option('--https', 'serve TLS with a certificate made into the data directory').env('MAILVAULT_HTTPS'))
  .addOption(new Option('--cert <file>', 'TLS certificate (PEM)').env('MAILVAULT_CERT'))
  .addOption(new Option('--key <file>', 'TLS private key (PEM)').env('MAILVAULT_KEY'))
  .addOption(new Option('--demo', 'seed a demo tenant with users, mail and restore points').env('MAILVAULT_DEMO'))
  .addOption(new Option('--allow-anonymous', 'local development only: requests without a token act as a developer of the default tenant').env('MAILVAULT_ALLOW_ANONYMOUS'))
  .addOption(new Option('--timing <profile>', 'instant | realistic').env('MAILVAULT_TIMING'))
  .addOption(new Option('--body-limit <bytes>', 'largest accepted request body').env('MAILVAULT_BODY_LIMIT'))
  .addOption(new Option('--database-url <url>', 'PostgreSQL connection string instead of the embedded store').env('MAILVAULT_DATABASE_URL'))
  .addOption(new Option('--policy-state-errors <style>', 'policy activate/deactivate in the wrong state: documented (403 PolicyActionNotAllowed) | examples (400 invalidStateForActivation)').env('MAILVAULT_POLICY_STATE_ERRORS'))
  .addOption(new Option('--log-level <level>', 'fatal | error | warn | info | debug | silent').env('MAILVAULT_LOG_LEVEL'))
  .addOption(new Option('--public-url <url>', 'the base URL clients reach the server at; links are built on it').env('MAILVAULT_PUBLIC_URL'))
  .addOption(new Option('--allowed-hosts <names>', 'host names besides its own that requests may name in Host, comma-separated').env('MAILVAULT_ALLOWED_HOSTS'))
  .addOption(new Option('--body-timeout <seconds>', `a request body that stops arriving is answered 408 after this long (default ${DEFAULTS.bodyTimeoutSeconds})`).env('MAILVAULT_BODY_TIMEOUT'))
  .addOption(new Option('--max-token-lifetime <duration>', `longest lifetime of a minted token (default ${DEFAULTS.maxTokenLifetime})`).env('MAILVAULT_MAX_TOKEN_LIFETIME'))
  .addOption(new Option('--issuer <url>', 'also trust tokens of this OpenID Connect issuer, e.g. https://login.microsoftonline.com/{tenantid}/v2.0').env('MAILVAULT_ISSUER'))
  .addOption(new Option('--jwks <file|url>', "the issuer's JSON Web Key Set").env('MAILVAULT_JWKS'))
  .action(async (opts) => {
    const config = loadConfig(opts);
    const { createApp } = await import('./app.js');
    const app = await createApp(config);
    const base = await app.listen();
    const where = config.databaseUrl ? 'on PostgreSQL' : config.memory ? 'in memory' : `in ${config.dataDir}`;
    console.log(`Mailvault listening on ${base} (data ${where})`);
    console.log(`Graph endpoint: ${base}/v1.0/solutions/backupRestore`);
    if (config.allowAnonymous) {
      console.log('Anonymous requests are allowed (loopback only): they act as the emulator administrator and as an application of the default tenant.');
    }
    if (config.demo) {
      const lifetime = config.maxTokenLifetime;
      const token = await mintToken(app.core.key, { tenantId: app.core.defaultTenantId, expires: lifetime, maxLifetime: lifetime });
      console.log(`\nDemo tenant: ${app.core.defaultTenantId}\nToken (${lifetime}):\n${token}\n`);
      console.log(`Try:\n  curl ${config.https ? '--cacert ' + path.join(config.dataDir ?? '.', 'tls-cert.pem') + ' ' : ''}-H "Authorization: Bearer ${token.slice(0, 12)}..." ${base}/v1.0/solutions/backupRestore`);
      console.log(`  (or: TOKEN=$(npx mailvault token${config.dataDir ? ' --data ' + config.dataDir : ''}) && curl -H "Authorization: Bearer $TOKEN" ${base}/v1.0/solutions/backupRestore)`);
    }
    const stop = async () => {
      await app.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('token')
  .description('print a token the server using this data directory accepts')
  .addOption(new Option('--data <dir>', 'data directory').env('MAILVAULT_DATA').default(DEFAULTS.data))
  .addOption(new Option('--database-url <url>', 'the PostgreSQL database the servers use (their shared signing key is there)').env('MAILVAULT_DATABASE_URL'))
  .option('--admin', "the emulator administrator's token (server-wide controls under /_mailvault), not a Graph token")
  .option('--tenant <id>', 'tenant id (default: the server\'s default tenant)')
  .option('--app <id>', 'application (client) id')
  .option('--user <id>', 'delegated token for this user id')
  .option('--roles <list>', 'application permissions, comma-separated')
  .option('--scopes <list>', 'delegated permissions, comma-separated')
  .option('--expires <duration>', 'lifetime, e.g. 1h, 30m, PT2H', '1h')
  .addOption(new Option('--max-token-lifetime <duration>', `longest lifetime allowed (default ${DEFAULTS.maxTokenLifetime})`).env('MAILVAULT_MAX_TOKEN_LIFETIME').default(DEFAULTS.maxTokenLifetime))
  .action(async (opts) => {
    const dataDir = path.resolve(opts.data);
    const lifetime = { expires: opts.expires, maxLifetime: opts.maxTokenLifetime };
    if (opts.roles && opts.scopes) throw new ConfigError('give --roles or --scopes, not both');
    if (opts.admin && (opts.tenant || opts.app || opts.user || opts.roles || opts.scopes)) throw new ConfigError('--admin takes no tenant, application, user or permissions');
    if (opts.tenant !== undefined && !canonicalTenantId(opts.tenant)) throw new ConfigError(`invalid --tenant: ${opts.tenant} (a GUID)`);
    // The key and the default tenant are the database's: the same for every server on it.
    if (!opts.databaseUrl) makePrivateDir(dataDir);
    const store = await Store.open({ file: path.join(dataDir, 'mailvault.db'), databaseUrl: opts.databaseUrl });
    let key: SigningKey, tenantId: string;
    try {
      key = await loadOrCreateSigningKey(store, dataDir);
      tenantId = opts.tenant ?? (await loadDefaultTenant(store, dataDir));
    } finally {
      await store.close();
    }
    if (opts.admin) {
      process.stdout.write((await mintAdminToken(key, lifetime)) + '\n');
      return;
    }
    const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
    const token = await mintToken(key, {
      tenantId,
      appId: opts.app,
      userId: opts.user,
      roles: list(opts.roles),
      scopes: list(opts.scopes),
      ...lifetime,
    });
    process.stdout.write(token + '\n');
  });

registerMailCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError || (error instanceof Error && /^invalid (expiry|maximum token lifetime)/.test(error.message))) {
    console.error(`mailvault: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
