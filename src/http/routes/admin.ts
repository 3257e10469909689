/**
 * Emulator-only endpoints under /_mailvault: health, signing keys, tokens, tenants, the clock.
 *
 * Who may call what (docs/security.md): health and keys need no token; reading the clock needs any
 * valid token; a tenant's application token may mint tokens for its own tenant with permissions it
 * holds itself; everything server-wide (the clock, tenants, tokens for any tenant, and the controls
 * areas add, such as the vault's GC) needs the emulator administrator (`mailvault token --admin`, or
 * the anonymous caller under --allow-anonymous).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import crypto from 'node:crypto';
import type { Core } from '../../core.js';
import { errors } from '../../errors.js';
import { parseDateAndTime } from '../dates.js';
import { canonicalTenantId, mintAdminToken, mintToken, parseExpiry, type Principal } from '../../identity/tokens.js';
import { ClockRangeError, LATEST_CLOCK_MS, parseIsoDuration } from '../../clock.js';

/** The caller, if it is the emulator administrator; else 403. */
export function requireEmulatorAdmin(req: FastifyRequest): Principal {
  const principal = req.graph?.principal;
  if (!principal?.emulatorAdmin) {
    throw errors.accessDenied("This control is the emulator administrator's: use a token from 'mailvault token --admin'.");
  }
  return principal;
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  const body = req.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('The body must be a JSON object.');
  return body as Record<string, unknown>;
}

const strings = (v: unknown, name: string): string[] | undefined => {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length > 200) || v.length > 200) throw errors.badRequest(`'${name}' must be an array of strings.`);
  return v as string[];
};
const str = (v: unknown, name: string): string | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw errors.badRequest(`'${name}' must be a non-empty string of at most 200 characters.`);
  return v;
};

const TOKEN_FIELDS = new Set(['tenantId', 'appId', 'appDisplayName', 'userId', 'userName', 'roles', 'scopes', 'expires', 'admin']);

export function adminRoutes(app: FastifyInstance, core: Core): void {
  app.get('/_mailvault/health', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/_mailvault/keys', { config: { public: true } }, async () => ({ keys: [core.key.publicJwk] }));

  app.post('/_mailvault/token', async (req, reply) => {
    const body = objectBody(req);
    const unknown = Object.keys(body).find((k) => !TOKEN_FIELDS.has(k));
    if (unknown !== undefined) throw errors.badRequest(`Unknown property '${unknown}'.`);
    const caller = req.graph!.principal;
    const expires = str(body.expires, 'expires') ?? '1h';
    let seconds: number;
    try {
      seconds = parseExpiry(expires, core.config.maxTokenLifetime);
    } catch (error) {
      throw errors.badRequest((error as Error).message);
    }
    if (body.admin !== undefined) {
      if (body.admin !== true || Object.keys(body).some((k) => k !== 'admin' && k !== 'expires')) throw errors.badRequest("'admin' is true, with at most 'expires' beside it.");
      requireEmulatorAdmin(req);
      const token = await mintAdminToken(core.key, { expires, maxLifetime: core.config.maxTokenLifetime });
      return reply.send({ token_type: 'Bearer', expires_in: seconds, access_token: token });
    }
    let roles = strings(body.roles, 'roles');
    let scopes = strings(body.scopes, 'scopes');
    if (roles && scopes) throw errors.badRequest("Give either 'roles' or 'scopes', not both.");
    const named = str(body.tenantId, 'tenantId');
    const tenantId = named === undefined ? (caller.emulatorAdmin && !caller.graph ? core.defaultTenantId : caller.tenantId) : canonicalTenantId(named);
    if (!tenantId) throw errors.badRequest(`'tenantId' must be a tenant id (a GUID).`);
    const appId = str(body.appId, 'appId');
    const userId = str(body.userId, 'userId');
    if (!caller.emulatorAdmin) {
      // A tenant's own application may hand out what it holds, in its own tenant, as itself.
      if (caller.kind !== 'application') throw errors.accessDenied('Only an application token (or the emulator administrator) may mint tokens.');
      if (tenantId !== caller.tenantId) throw errors.accessDenied("A tenant's token mints tokens for its own tenant only.");
      if (appId !== undefined && appId !== caller.appId) throw errors.accessDenied('A minted token keeps the application id of the token that mints it.');
      const delegated = userId !== undefined || scopes !== undefined;
      if (!roles && !scopes) (delegated ? (scopes = [...caller.permissions]) : (roles = [...caller.permissions]));
      const beyond = (roles ?? scopes ?? []).filter((p) => !caller.permissions.has(p));
      if (beyond.length > 0) throw errors.accessDenied(`A token may grant only permissions its minter holds; not held: ${beyond.slice(0, 10).join(', ')}.`);
    } else if (!(await core.tenants.exists(tenantId))) {
      throw errors.itemNotFound(`The tenant '${tenantId}' does not exist; create it with POST /_mailvault/tenants.`);
    }
    const token = await mintToken(core.key, {
      tenantId,
      appId: appId ?? (caller.emulatorAdmin ? undefined : caller.appId),
      appDisplayName: str(body.appDisplayName, 'appDisplayName'),
      userId,
      userName: str(body.userName, 'userName'),
      roles,
      scopes,
      expires,
      maxLifetime: core.config.maxTokenLifetime,
    });
    return reply.send({ token_type: 'Bearer', expires_in: seconds, access_token: token });
  });

  app.get('/_mailvault/tenants', async (req) => {
    requireEmulatorAdmin(req);
    return { value: (await core.tenants.list()).map((t) => ({ id: t.id, displayName: t.display_name, createdDateTime: t.created_at })) };
  });

  app.post('/_mailvault/tenants', async (req, reply) => {
    requireEmulatorAdmin(req);
    const body = objectBody(req);
    const unknown = Object.keys(body).find((k) => k !== 'id' && k !== 'displayName');
    if (unknown !== undefined) throw errors.badRequest(`Unknown property '${unknown}'.`);
    const id = body.id === undefined ? crypto.randomUUID() : canonicalTenantId(body.id);
    if (!id) throw errors.badRequest("'id' must be a tenant id (a GUID).");
    const displayName = str(body.displayName, 'displayName') ?? 'Contoso';
    if (!(await core.tenants.create(id, displayName))) throw errors.conflict(`The tenant '${id}' already exists.`);
    const row = await core.tenants.get(id);
    return reply.code(201).send({ id: row.id, displayName: row.display_name, createdDateTime: row.created_at });
  });

  app.get('/_mailvault/clock', async () => {
    await core.syncClock();
    return { now: core.clock.now().toISOString(), timing: core.config.timing };
  });

  app.post('/_mailvault/clock', async (req) => {
    requireEmulatorAdmin(req);
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest("The body must be {\"advance\": \"<ISO 8601 duration>\"} or {\"set\": \"<ISO date>\"}.");
    const keys = Object.keys(body);
    if (keys.length !== 1 || !['advance', 'set'].includes(keys[0])) throw errors.badRequest("Give exactly one of 'advance' or 'set'.");
    const latest = new Date(LATEST_CLOCK_MS).toISOString();
    await core.syncClock();
    try {
      if (body.advance !== undefined) {
        const ms = typeof body.advance === 'string' ? parseIsoDuration(body.advance) : undefined;
        if (ms === undefined || !Number.isFinite(ms)) throw errors.badRequest(`'advance' must be an ISO 8601 duration such as PT10M.`);
        core.clock.advance(ms);
      } else {
        const to = parseDateAndTime(body.set);
        if (!to) throw errors.badRequest(`'set' must be an ISO 8601 date-time.`);
        if (to.getTime() < core.clock.now().getTime()) throw errors.badRequest('The clock never moves back.');
        core.clock.set(to);
      }
    } catch (error) {
      if (error instanceof ClockRangeError) throw errors.badRequest(`The clock cannot move past ${latest}: every date the service derives from it must stay storable.`);
      throw error;
    }
    await core.saveClock();
    await core.scheduler.runDue();
    return { now: core.clock.now().toISOString(), timing: core.config.timing };
  });
}
