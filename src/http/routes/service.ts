import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core.js';
import type { TenantRow } from '../../backup/tenants.js';
import { graphOf, sendEntity, sendKeptEntity } from '../context.js';
import { errors } from '../../errors.js';
import { model } from '../../graph/model.js';
import { normalizeQuery, rejectUnsupported, parseSelect } from '../odata.js';
import { serviceStatusWire } from '../../backup/protection/wire.js';
import { enableService } from '../../backup/protection/serviceStatus.js';
import { protectionWrite } from '../../backup/protection/env.js';
import { byOf, isObject } from '../../backup/protection/routes/common.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function serviceRoutes(app: FastifyInstance, core: Core): void {
  // The busiest read of all: answered synchronously from the cached tenant row when there is one.
  app.get('/solutions/backupRestore', { config: { op: 'backupRestore.get' } }, (req, reply) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const select = q.$select ? parseSelect(q.$select, ['id', 'serviceStatus']) : undefined;
    const send = (t: TenantRow) =>
      sendKeptEntity(reply, g, t, { type: 'backupRestoreRoot', context: 'solutions/backupRestore/$entity', select }, () => ({
        id: g.tenantId,
        serviceStatus: serviceStatusWire(t),
      }));
    const cached = core.tenants.peek(g.tenantId);
    return cached ? send(cached) : core.tenants.get(g.tenantId).then(send);
  });

  // The root's emailNotificationsSetting (spec §5.11) is not part of the Exchange control plane here.
  const notifications = () => {
    throw errors.notImplemented('emailNotificationsSetting is not implemented: Mailvault sends no notification email.');
  };
  app.get('/solutions/backupRestore/emailNotificationsSetting', { config: { op: 'emailNotificationsSetting.get' } }, notifications);
  app.patch('/solutions/backupRestore/emailNotificationsSetting', { config: { op: 'emailNotificationsSetting.update' } }, notifications);

  /**
   * `enable` (A:backuprestoreroot-enable): the tenant's consumer becomes `thirdparty`; the status is
   * `enabled` when a service app controls the tenant, `protectionChangeLocked` otherwise (spec §8.1).
   */
  app.post('/solutions/backupRestore/enable', { config: { op: 'backupRestore.enable' } }, async (req, reply) => {
    const g = graphOf(req);
    const body = req.body;
    if (!isObject(body)) throw errors.invalidAppOwnerTenantId("The parameter 'appOwnerTenantId' is required.");
    for (const k of Object.keys(body)) {
      if (k !== 'appOwnerTenantId') throw errors.badRequest(`The parameter '${k}' in the request payload is not a valid parameter for the operation 'enable'.`);
    }
    const owner = body.appOwnerTenantId;
    if (typeof owner !== 'string' || !GUID.test(owner)) throw errors.invalidAppOwnerTenantId("The parameter 'appOwnerTenantId' must be the id (a GUID) of the tenant that owns the billing profile.");
    await protectionWrite(core, (trx, env) => enableService(trx, env, g.tenantId, owner.toLowerCase(), byOf(g)));
    const t = await core.tenants.get(g.tenantId);
    return sendEntity(reply, g, {
      type: 'serviceStatus',
      context: 'microsoft.graph.serviceStatus',
      value: { '@odata.type': '#microsoft.graph.serviceStatus', ...serviceStatusWire(t) },
    });
  });
}

/** `GET /{version}/$metadata`: the CSDL of the backupRestore slice. */
export function metadataRoutes(app: FastifyInstance, version: 'v1.0' | 'beta'): void {
  app.get(`/${version}/$metadata`, { config: { public: true } }, async (_req, reply) => {
    const csdl = model(version).csdl;
    const doc = `<?xml version="1.0" encoding="utf-8"?>\n<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">\n<edmx:DataServices>\n${csdl.replace(/^<\?xml[^>]*>\s*/, '')}\n</edmx:DataServices>\n</edmx:Edmx>\n`;
    return reply.type('application/xml').send(doc);
  });
}
