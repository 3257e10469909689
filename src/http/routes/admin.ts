/** Emulator-only endpoints under /_mailvault: health, signing keys, tokens, the clock. */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core.js';
import { errors } from '../errors.js';
import { parseDateAndTime } from '../dates.js';
import { mintToken } from '../../identity/tokens.js';
import { parseIsoDuration } from '../../clock.js';

export function adminRoutes(app: FastifyInstance, core: Core): void {
  app.get('/_mailvault/health', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/_mailvault/keys', { config: { public: true } }, async () => ({ keys: [core.key.publicJwk] }));

  app.post('/_mailvault/token', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest('The body must be a JSON object.');
    const strings = (v: unknown, name: string): string[] | undefined => {
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw errors.badRequest(`'${name}' must be an array of strings.`);
      return v as string[];
    };
    const str = (v: unknown, name: string): string | undefined => {
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw errors.badRequest(`'${name}' must be a non-empty string.`);
      return v;
    };
    const roles = strings(body.roles, 'roles');
    const scopes = strings(body.scopes, 'scopes');
    if (roles && scopes) throw errors.badRequest("Give either 'roles' or 'scopes', not both.");
    const tenantId = str(body.tenantId, 'tenantId') ?? req.graph!.tenantId;
    let token: string;
    try {
      token = await mintToken(core.key, {
        tenantId,
        appId: str(body.appId, 'appId'),
        appDisplayName: str(body.appDisplayName, 'appDisplayName'),
        userId: str(body.userId, 'userId'),
        userName: str(body.userName, 'userName'),
        roles,
        scopes,
        expires: str(body.expires, 'expires'),
      });
    } catch (error) {
      throw errors.badRequest((error as Error).message);
    }
    return reply.send({ token_type: 'Bearer', access_token: token });
  });

  app.get('/_mailvault/clock', async () => ({ now: core.clock.now().toISOString(), timing: core.config.timing }));

  app.post('/_mailvault/clock', async (req) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest("The body must be {\"advance\": \"<ISO 8601 duration>\"} or {\"set\": \"<ISO date>\"}.");
    const keys = Object.keys(body);
    if (keys.length !== 1 || !['advance', 'set'].includes(keys[0])) throw errors.badRequest("Give exactly one of 'advance' or 'set'.");
    if (body.advance !== undefined) {
      const ms = typeof body.advance === 'string' ? parseIsoDuration(body.advance) : undefined;
      if (ms === undefined) throw errors.badRequest(`'advance' must be an ISO 8601 duration such as PT10M.`);
      core.clock.advance(ms);
    } else {
      const to = parseDateAndTime(body.set);
      if (!to) throw errors.badRequest(`'set' must be an ISO 8601 date-time.`);
      if (to.getTime() < core.clock.now().getTime()) throw errors.badRequest('The clock never moves back.');
      core.clock.set(to);
    }
    await core.saveClock();
    await core.scheduler.runDue();
    return { now: core.clock.now().toISOString(), timing: core.config.timing };
  });
}
