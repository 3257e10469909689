/**
 * /_mailvault/sources: attach an external mailbox to a hosted one, list, read, change, pause and
 * resume, and delete (which stops mirroring; the hosted mailbox and its backups stay).
 *
 * Who may call: the emulator administrator (any tenant; `tenantId` in the body, the default tenant
 * otherwise), or a token of a tenant holding User.ReadWrite.All (application or delegated) for that
 * tenant's sources only. Another tenant's source is not found. Passwords are write-only.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import { mailService } from '../mail/service.js';
import type { SourceTable } from '../store/schema.js';
import type { ImapSettings } from './imap.js';
import { passwordAad, startWorker, stopWorker, type SourcesContext } from './context.js';

const MANAGE_PERMISSION = 'User.ReadWrite.All';

interface Scope {
  /** undefined: every tenant (the administrator). */
  tenantId: string | undefined;
  admin: boolean;
}

function scopeOf(req: FastifyRequest): Scope {
  const principal = req.graph?.principal;
  if (!principal) throw errors.unauthenticated('A token is required.');
  if (principal.emulatorAdmin) return { tenantId: undefined, admin: true };
  if (principal.permissions.has(MANAGE_PERMISSION)) return { tenantId: principal.tenantId, admin: false };
  throw errors.accessDenied(`Managing sources needs the emulator administrator or a token of the tenant holding ${MANAGE_PERMISSION}.`);
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  const body = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: string[], what: string): void {
  const unknown = Object.keys(o).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw errors.badRequest(`Unknown property '${unknown}' in ${what}.`);
}

const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$/;
const TLS_MODES = ['none', 'starttls', 'implicit'] as const;

function text(v: unknown, name: string, max: number): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) {
    throw errors.badRequest(`'${name}' must be a non-empty string of at most ${max} characters without control characters.`);
  }
  return v;
}

/** Validates settings (all fields, or only those given when `partial`), password apart. */
function parseSettings(v: unknown, partial: boolean): { settings: Partial<ImapSettings>; password: string | undefined } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw errors.badRequest("'settings' must be an object.");
  const s = v as Record<string, unknown>;
  onlyKeys(s, ['host', 'port', 'tls', 'username', 'password'], 'settings');
  const out: Partial<ImapSettings> = {};
  const need = (k: string) => {
    if (!partial && s[k] === undefined) throw errors.badRequest(`'settings.${k}' is required.`);
    return s[k] !== undefined;
  };
  if (need('host')) {
    const host = text(s.host, 'settings.host', 253);
    if (!HOST.test(host)) throw errors.badRequest("'settings.host' must be a host name or an IP address.");
    out.host = host;
  }
  if (need('port')) {
    if (typeof s.port !== 'number' || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw errors.badRequest("'settings.port' must be an integer from 1 to 65535.");
    out.port = s.port;
  }
  if (need('tls')) {
    if (!TLS_MODES.includes(s.tls as (typeof TLS_MODES)[number])) throw errors.badRequest("'settings.tls' must be 'none', 'starttls' or 'implicit'.");
    out.tls = s.tls as ImapSettings['tls'];
  }
  if (need('username')) out.username = text(s.username, 'settings.username', 320);
  const password = need('password') ? text(s.password, 'settings.password', 1024) : undefined;
  return { settings: out, password };
}

function view(ctx: SourcesContext, row: SourceTable) {
  const settings = JSON.parse(row.settings) as ImapSettings;
  const status = row.paused ? 'paused' : row.status;
  const last = row.last_sync_at ? Date.parse(row.last_sync_at) : undefined;
  const now = ctx.core.clock.now().getTime();
  const lagSeconds = status === 'idle' && last !== undefined ? 0 : last !== undefined ? Math.max(0, Math.round((now - last) / 1000)) : null;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.mailbox_id,
    kind: row.kind,
    settings: { ...settings, password: null },
    status,
    paused: row.paused === 1,
    lastSyncDateTime: row.last_sync_at,
    itemsSynced: Number(row.items_synced),
    lagSeconds,
    error: row.error,
    createdDateTime: row.created_at,
  };
}

async function findSource(ctx: SourcesContext, scope: Scope, id: string): Promise<SourceTable> {
  let q = ctx.core.store.db.selectFrom('sources').selectAll().where('id', '=', id);
  if (scope.tenantId !== undefined) q = q.where('tenant_id', '=', scope.tenantId);
  const row = await q.executeTakeFirst();
  if (!row) throw errors.itemNotFound(`No source '${id}'.`);
  return row;
}

export function sourcesRoutes(app: FastifyInstance, ctx: SourcesContext): void {
  const { core } = ctx;

  app.post('/_mailvault/sources', async (req, reply: FastifyReply) => {
    const scope = scopeOf(req);
    const body = objectBody(req);
    onlyKeys(body, scope.admin ? ['tenantId', 'userId', 'kind', 'settings', 'paused'] : ['userId', 'kind', 'settings', 'paused'], 'the source');
    let tenantId = scope.tenantId ?? core.defaultTenantId;
    if (scope.admin && body.tenantId !== undefined) {
      tenantId = text(body.tenantId, 'tenantId', 64).toLowerCase();
      if (!(await core.tenants.exists(tenantId))) throw errors.badRequest(`No tenant '${tenantId}'.`);
    }
    const userKey = text(body.userId, 'userId', 320);
    if (body.kind !== 'imap') throw errors.badRequest("'kind' must be 'imap' (sources of kind 'graph' are not available yet).");
    const { settings, password } = parseSettings(body.settings, false);
    if (body.paused !== undefined && typeof body.paused !== 'boolean') throw errors.badRequest("'paused' must be true or false.");
    const user = await mailService(core).findUser(tenantId, userKey);
    if (!user || user.deleted) throw errors.badRequest(`No user '${userKey}' in the tenant.`);
    const id = crypto.randomUUID();
    const now = core.clock.now().toISOString();
    const row: SourceTable = {
      id,
      tenant_id: tenantId,
      mailbox_id: user.id,
      kind: 'imap',
      settings: JSON.stringify({ host: settings.host, port: settings.port, tls: settings.tls, username: settings.username }),
      secret: ctx.box.seal(password!, passwordAad(id)),
      paused: body.paused ? 1 : 0,
      status: 'initialSync',
      last_sync_at: null,
      items_synced: 0,
      error: null,
      created_at: now,
      updated_at: now,
      lease_owner: null,
      lease_until: null,
    };
    const inserted = await core.store.write(async (trx) => {
      const taken = await trx.selectFrom('sources').select('id').where('tenant_id', '=', tenantId).where('mailbox_id', '=', user.id).executeTakeFirst();
      if (taken) return false;
      await trx.insertInto('sources').values(row).execute();
      return true;
    });
    if (!inserted) throw errors.conflict(`The mailbox of '${userKey}' already has a source.`);
    startWorker(ctx, row);
    return reply.code(201).send(view(ctx, row));
  });

  app.get('/_mailvault/sources', async (req) => {
    const scope = scopeOf(req);
    let q = core.store.db.selectFrom('sources').selectAll().orderBy('created_at').orderBy('id');
    if (scope.tenantId !== undefined) q = q.where('tenant_id', '=', scope.tenantId);
    return { value: (await q.execute()).map((r) => view(ctx, r)) };
  });

  app.get<{ Params: { id: string } }>('/_mailvault/sources/:id', async (req) => {
    return view(ctx, await findSource(ctx, scopeOf(req), req.params.id));
  });

  app.patch<{ Params: { id: string } }>('/_mailvault/sources/:id', async (req) => {
    const scope = scopeOf(req);
    const row = await findSource(ctx, scope, req.params.id);
    const body = objectBody(req);
    onlyKeys(body, ['settings', 'paused'], 'the change');
    if (body.paused !== undefined && typeof body.paused !== 'boolean') throw errors.badRequest("'paused' must be true or false.");
    const parsed = body.settings !== undefined ? parseSettings(body.settings, true) : { settings: {}, password: undefined };
    await stopWorker(ctx, row.id);
    const settings = { ...(JSON.parse(row.settings) as ImapSettings), ...parsed.settings };
    const changed: Partial<SourceTable> = {
      settings: JSON.stringify({ host: settings.host, port: settings.port, tls: settings.tls, username: settings.username }),
      updated_at: core.clock.now().toISOString(),
    };
    if (parsed.password !== undefined) changed.secret = ctx.box.seal(parsed.password, passwordAad(row.id));
    if (body.paused !== undefined) changed.paused = body.paused ? 1 : 0;
    if (body.settings !== undefined || body.paused === false) {
      // the worker starts over: until its first pass ends, the source is not idle
      changed.error = null;
      changed.status = row.last_sync_at ? 'syncing' : 'initialSync';
    }
    await core.store.write((trx) => trx.updateTable('sources').set(changed).where('id', '=', row.id).execute());
    const updated = (await core.store.db.selectFrom('sources').selectAll().where('id', '=', row.id).executeTakeFirst())!;
    startWorker(ctx, updated);
    return view(ctx, updated);
  });

  app.delete<{ Params: { id: string } }>('/_mailvault/sources/:id', async (req, reply) => {
    const row = await findSource(ctx, scopeOf(req), req.params.id);
    await stopWorker(ctx, row.id);
    await core.store.write(async (trx) => {
      await trx.deleteFrom('source_items').where('source_id', '=', row.id).execute();
      await trx.deleteFrom('source_folders').where('source_id', '=', row.id).execute();
      await trx.deleteFrom('sources').where('id', '=', row.id).execute();
    });
    return reply.code(204).send();
  });
}
