import type { FastifyInstance } from 'fastify';
import type { Core } from '../../core.js';
import { graphOf, sendEntity } from '../context.js';
import { errors } from '../errors.js';
import { model } from '../../graph/model.js';
import { normalizeQuery, rejectUnsupported, parseSelect } from '../odata.js';

/** The backupRestoreRoot singleton as a tenant sees it. */
export async function readRoot(core: Core, tenantId: string): Promise<Record<string, unknown>> {
  const t = await core.tenants.get(tenantId);
  return {
    id: tenantId,
    serviceStatus: serviceStatusOf(t),
  };
}

export function serviceStatusOf(t: {
  service_status: string;
  disable_reason: string;
  backup_service_consumer: string;
  status_modified_at: string | null;
  status_modified_by: string | null;
  locked_at: string | null;
}): Record<string, unknown> {
  const day = 86_400_000;
  const locked = t.locked_at ? new Date(t.locked_at).getTime() : undefined;
  return {
    status: t.service_status,
    disableReason: t.disable_reason,
    backupServiceConsumer: t.backup_service_consumer,
    gracePeriodDateTime: locked !== undefined ? new Date(locked + 30 * day).toISOString() : null,
    restoreAllowedTillDateTime: locked !== undefined ? new Date(locked + 30 * day).toISOString() : null,
    lastModifiedDateTime: t.status_modified_at,
    lastModifiedBy: t.status_modified_by ? JSON.parse(t.status_modified_by) : null,
  };
}

export function serviceRoutes(app: FastifyInstance, core: Core): void {
  app.get('/solutions/backupRestore', { config: { op: 'backupRestore.get' } }, async (req, reply) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const select = q.$select ? parseSelect(q.$select, ['id', 'serviceStatus']) : undefined;
    return sendEntity(reply, g, {
      type: 'backupRestoreRoot',
      context: 'solutions/backupRestore/$entity',
      value: await readRoot(core, g.tenantId),
      select,
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
