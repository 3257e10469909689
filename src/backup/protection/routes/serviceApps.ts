/** `/solutions/backupRestore/serviceApps` (spec §7.2). */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core.js';
import { graphOf, readBody, checkODataType, sendCollection, sendEntity } from '../../../http/context.js';
import { parseDateAndTime } from '../../../http/dates.js';
import { errors } from '../../../errors.js';
import { normalizeQuery, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../../http/odata.js';
import { protectionWrite } from '../env.js';
import { activateServiceApp, deactivateServiceApp, deleteServiceApp, registerServiceApp, serviceAppById } from '../serviceApps.js';
import { serviceAppWire } from '../wire.js';
import { BASE, CONTEXT, byOf, contentLocation, isObject, page, params } from './common.js';

const SELECTABLE = ['id', 'application', 'effectiveDateTime', 'lastModifiedBy', 'lastModifiedDateTime', 'registrationDateTime', 'status'];

const SPEC: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    status: { column: 'status', type: 'enum', members: 'serviceAppStatus' },
    registrationDateTime: { column: 'registration_at', type: 'date' },
    effectiveDateTime: { column: 'effective_at', type: 'date' },
    lastModifiedDateTime: { column: 'last_modified_at', type: 'date' },
  },
  selectable: SELECTABLE,
  defaultOrder: [['registration_at', 'asc']],
  key: 'id',
};

export function serviceAppRoutes(app: FastifyInstance, core: Core): void {
  const entity = `${CONTEXT}/serviceApps/$entity`;

  app.get(`${BASE}/serviceApps`, { config: { op: 'serviceApps.read' } }, async (req, reply) => {
    const g = graphOf(req);
    const q = parseCollectionQuery(req.query as Record<string, unknown>, SPEC);
    const qb = core.store.db.selectFrom('service_apps').selectAll().where('tenant_id', '=', g.tenantId);
    const { rows, hasMore, count } = await page(qb, q);
    return sendCollection(reply, req, g, { type: 'serviceApp', items: rows.map(serviceAppWire), context: `${CONTEXT}/serviceApps`, query: q, hasMore, count });
  });

  app.post(`${BASE}/serviceApps`, { config: { op: 'serviceApps.write' } }, async (req, reply) => {
    const g = graphOf(req);
    checkODataType(readBody(req, g, 'serviceApp'), 'serviceApp');
    const row = await protectionWrite(core, (trx, env) =>
      registerServiceApp(trx, env, g.tenantId, { id: g.principal.appId, displayName: g.principal.appDisplayName }, byOf(g)),
    );
    // §11 #2: the text says 201 Created (the example's 202 is a doc slip).
    return sendEntity(reply, g, { type: 'serviceApp', value: serviceAppWire(row), context: entity, status: 201, location: `solutions/backupRestore/serviceApps/${row.id}` });
  });

  app.get(`${BASE}/serviceApps/:id`, { config: { op: 'serviceApps.read' } }, async (req, reply) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const row = await serviceAppById(core.store.db, g.tenantId, params(req).id);
    return sendEntity(reply, g, { type: 'serviceApp', value: serviceAppWire(row), context: entity, select: q.$select ? parseSelect(q.$select, SELECTABLE) : undefined });
  });

  app.delete(`${BASE}/serviceApps/:id`, { config: { op: 'serviceApps.write' } }, async (req, reply) => {
    const g = graphOf(req);
    await protectionWrite(core, (trx, env) => deleteServiceApp(trx, env, g.tenantId, params(req).id));
    return reply.code(204).send();
  });

  app.post(`${BASE}/serviceApps/:id/activate`, { config: { op: 'serviceApps.activation' } }, async (req, reply) => {
    const g = graphOf(req);
    const body = req.body;
    if (!isObject(body)) throw errors.badRequest("The request body must be {\"effectiveDateTime\": \"<ISO 8601 date-time>\"}.");
    for (const k of Object.keys(body)) {
      if (k !== 'effectiveDateTime') throw errors.badRequest(`The parameter '${k}' in the request payload is not a valid parameter for the operation 'activate'.`);
    }
    const at = parseDateAndTime(body.effectiveDateTime);
    if (!at) throw errors.badRequest("The parameter 'effectiveDateTime' is required and must be an ISO 8601 date-time.");
    const row = await protectionWrite(core, (trx, env) => activateServiceApp(trx, env, g.tenantId, params(req).id, at.toISOString(), byOf(g)));
    contentLocation(reply, g, `solutions/backupRestore/serviceApps/${row.id}`);
    return sendEntity(reply, g, { type: 'serviceApp', value: serviceAppWire(row), context: entity, status: 202 });
  });

  app.post(`${BASE}/serviceApps/:id/deactivate`, { config: { op: 'serviceApps.activation' } }, async (req, reply) => {
    const g = graphOf(req);
    if (isObject(req.body) && Object.keys(req.body).length > 0) throw errors.badRequest("The operation 'deactivate' takes no parameters.");
    const row = await protectionWrite(core, (trx, env) => deactivateServiceApp(trx, env, g.tenantId, params(req).id, byOf(g)));
    contentLocation(reply, g, `solutions/backupRestore/serviceApps/${row.id}`);
    return sendEntity(reply, g, { type: 'serviceApp', value: serviceAppWire(row), context: entity, status: 202 });
  });
}
