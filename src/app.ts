/** Wires config → store → services → HTTP. The one place that knows everything. */
import './tickMaps.js';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Config } from './config.js';
import { OffsetClock } from './clock.js';
import { Store } from './store/store.js';
import { loadDefaultTenant, loadOrCreateSigningKey } from './identity/keys.js';
import { loadTls } from './identity/tls.js';
import { securePrivateDir } from './files.js';
import { DEFAULT_APP_ID, TokenVerifier, externalIssuer, type ExternalIssuer, type Principal } from './identity/tokens.js';
import { createLocalJWKSet, createRemoteJWKSet } from 'jose';
import { BACKUP_RESTORE_PERMISSIONS } from './http/permissions.js';
import { Tenants } from './backup/tenants.js';
import { Scheduler } from './engine/scheduler.js';
import { EventBus, type Core } from './core.js';
import { buildServer } from './http/server.js';
import { serviceRoutes, metadataRoutes } from './http/routes/service.js';
import { adminRoutes } from './http/routes/admin.js';
import type { Area } from './area.js';
import { mailArea } from './mail/area.js';
import { protectionArea } from './backup/protection/area.js';
import { vaultArea } from './vault/area.js';
import { sourcesArea } from './sources/area.js';
import { RESTORE_ARTIFACT_JOB, restoreSessionsArea, type RestoreSessionsService } from './backup/restoreSessions/area.js';
import { engineArea, type EngineService } from './engine/area.js';
import { restoreArtifactJob } from './engine/restore/artifactJob.js';
import type { MailService } from './mail/service.js';
import type { ProtectionService } from './backup/protection/service.js';
import type { VaultService } from './vault/service.js';
import type { VaultContext } from './vault/context.js';


/** Where the emulated clock's offset from real time is kept (milliseconds, as text). */
const CLOCK_OFFSET = 'clock_offset_ms';

/** The demo tenant's id (documented in the README). */
export const DEMO_TENANT_ID = 'c0ffee00-0000-4000-8000-000000000001';

/** The areas' services, as app.ts wired them (tools, tests and benchmarks reach the areas here). */
export interface Services {
  mail: MailService;
  protection: ProtectionService;
  vault: VaultService;
  restoreSessions: RestoreSessionsService;
  engine: EngineService;
}

export interface App {
  core: Core;
  services: Services;
  /** The vault's internals (benchmarks and tests drive its tasks directly). */
  vault: VaultContext;
  server: FastifyInstance;
  /** Listens and resolves with the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createApp(config: Config): Promise<App> {
  const dataDir = config.dataDir;
  if (dataDir) {
    securePrivateDir(dataDir, (file, from, to) => {
      if (config.logLevel !== 'silent') console.error(`[mailvault] ${file}: mode ${from.toString(8)} -> ${to.toString(8)} (readable by its owner only)`);
    });
  }
  const store = await Store.open({ file: dataDir ? path.join(dataDir, 'mailvault.db') : undefined, databaseUrl: config.databaseUrl });
  const clock = new OffsetClock();
  const savedOffset = await store.db.selectFrom('server_state').select('value').where('key', '=', CLOCK_OFFSET).executeTakeFirst();
  const clockRepaired = savedOffset !== undefined && clock.restoreOffset(Number(savedOffset.value));
  if (clockRepaired && config.logLevel !== 'silent') {
    console.error(`[mailvault] the saved clock (offset ${savedOffset.value} ms) was past the latest time the clock may show; it now shows ${clock.now().toISOString()}`);
  }
  const key = await loadOrCreateSigningKey(store, dataDir);
  const defaultTenantId = await loadDefaultTenant(store, dataDir, config.demo ? DEMO_TENANT_ID : undefined);

  const logError = (name: string, error: unknown) => {
    if (config.logLevel !== 'silent') console.error(`[mailvault] scheduled task ${name} failed:`, error);
  };
  const core: Core = {
    config,
    clock,
    store,
    key,
    verifier: new TokenVerifier(key, trustedIssuer(config)),
    tenants: new Tenants(store, clock),
    scheduler: new Scheduler(() => clock.now(), logError),
    defaultTenantId,
    events: { mailChanged: new EventBus(), protectionChanged: new EventBus() },
    anonymousPrincipal: (): Principal => ({
      tenantId: defaultTenantId,
      kind: 'application',
      appId: DEFAULT_APP_ID,
      appDisplayName: 'Mailvault anonymous developer',
      userId: null,
      userName: null,
      permissions: new Set(BACKUP_RESTORE_PERMISSIONS),
      graph: true,
      emulatorAdmin: true,
    }),
    syncClock: async () => {
      const saved = await store.db.selectFrom('server_state').select('value').where('key', '=', CLOCK_OFFSET).executeTakeFirst();
      if (saved) clock.restoreOffset(Number(saved.value));
    },
    saveClock: async (force = false) => {
      // Nodes on one database share the clock: it only ever moves forward there, whichever node moved it.
      const value = String(clock.offset);
      await store.write((trx) =>
        trx
          .insertInto('server_state')
          .values({ key: CLOCK_OFFSET, value })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value }).where(force ? sql<boolean>`true` : sql<boolean>`cast(server_state.value as bigint) < cast(excluded.value as bigint)`))
          .execute(),
      );
      await core.syncClock();
    },
  };

  if (clockRepaired) await core.saveClock(true);
  // A move made through another node on the same database is taken up at the next tick, before any task runs.
  core.scheduler.register('clock', () => core.syncClock());

  // The areas, in dependency order: each is handed the services of those it uses, and nothing else.
  const mail = mailArea(core);
  const protection = protectionArea(core);
  const vault = await vaultArea(core, { mail: mail.service, protection: protection.service });
  const sources = await sourcesArea(core);
  const engine = engineArea(core);
  const restoreSessions = restoreSessionsArea(core, { vault: vault.service, mail: mail.service, protection: protection.service, jobs: engine.service });
  engine.service.register(RESTORE_ARTIFACT_JOB, restoreArtifactJob({ core, mail: mail.service, vault: vault.service, sessions: restoreSessions.service }));
  await engine.service.start();
  const areas: Area[] = [mail, protection, vault, sources, restoreSessions, engine];

  await core.tenants.create(defaultTenantId, config.demo ? 'Mailvault Demo' : 'Contoso');
  if (config.demo) await seedDemoOnce(core, areas);

  const server = buildServer(core, { https: config.https ? await loadTls(config) : undefined });
  metadataRoutes(server, 'v1.0');
  metadataRoutes(server, 'beta');
  server.register(async (scope) => adminRoutes(scope, core));
  for (const area of areas) if (area.adminRoutes) server.register(async (scope) => area.adminRoutes!(scope));
  for (const prefix of ['/v1.0', '/beta']) {
    server.register(
      async (scope) => {
        serviceRoutes(scope, core);
        for (const area of areas) area.graphRoutes?.(scope);
      },
      { prefix },
    );
  }

  return {
    core,
    services: { mail: mail.service, protection: protection.service, vault: vault.service, restoreSessions: restoreSessions.service, engine: engine.service },
    vault: vault.context,
    server,
    async listen() {
      await server.listen({ host: config.host, port: config.port });
      core.scheduler.start(config.schedulerIntervalMs);
      const addr = server.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host === '127.0.0.1' && config.https ? 'localhost' : config.host;
      return `${config.https ? 'https' : 'http'}://${host}:${port}`;
    },
    async close() {
      core.scheduler.stop();
      await server.close();
      await core.scheduler.idle();
      for (const area of [...areas].reverse()) await area.close?.();
      await store.close();
    },
  };
}

/** The external issuer of --issuer and --jwks (a JWKS file, or a URL fetched and cached as keys rotate). */
function trustedIssuer(config: Config): ExternalIssuer | undefined {
  if (!config.issuer || !config.jwks) return undefined;
  const keys = /^https?:\/\//i.test(config.jwks) ? createRemoteJWKSet(new URL(config.jwks)) : createLocalJWKSet(JSON.parse(fs.readFileSync(config.jwks, 'utf8')));
  return externalIssuer(config.issuer, keys);
}

async function seedDemoOnce(core: Core, areas: Area[]): Promise<void> {
  const done = await core.store.db.selectFrom('server_state').select('value').where('key', '=', 'demo_seeded').executeTakeFirst();
  if (done) return;
  for (const area of areas) await area.seedDemo?.(DEMO_TENANT_ID);
  await core.store.write((trx) => trx.insertInto('server_state').values({ key: 'demo_seeded', value: core.clock.now().toISOString() }).execute());
}
