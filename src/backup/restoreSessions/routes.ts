/**
 * The restore-session routes (spec §7.8-§7.10): exchangeRestoreSessions, the polymorphic
 * restoreSessions set, artifacts and bulk addition requests. HTTP only; rules live in the service.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core.js';
import { checkODataType, graphOf, readBody, sendCollection, sendEntity, sendKeptEntity, type GraphRequest } from '../../http/context.js';
import { errors } from '../../errors.js';
import { normalizeQuery, orderSql, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../http/odata.js';
import { bulkIdOf, type RestoreSessionsService, type Caller } from './service.js';
import { readBulkRequestBody, readCreateBody, readPatchBody, type ArtifactKind } from './requests.js';
import { artifactDeltaWire, artifactWire, bulkRequestWire, sessionWire, type ArtifactRow, type SessionRow } from './wire.js';

const BASE = '/solutions/backupRestore';
const SESSIONS = `${BASE}/exchangeRestoreSessions`;
const POLY = `${BASE}/restoreSessions`;

const SESSION_PROPS = [
  'id', 'status', 'restoreJobType', 'restoreSessionArtifactCount', 'createdBy', 'createdDateTime',
  'lastModifiedBy', 'lastModifiedDateTime', 'completedDateTime', 'error',
] as const;
const NAVS = ['mailboxRestoreArtifacts', 'granularMailboxRestoreArtifacts', 'mailboxRestoreArtifactsBulkAdditionRequests'] as const;

const sessionSpec: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    status: { column: 'status', type: 'enum', members: 'restoreSessionStatus' },
    restoreJobType: { column: 'restore_job_type', type: 'enum', members: 'restoreJobType' },
    createdDateTime: { column: 'created_at', type: 'date' },
    lastModifiedDateTime: { column: 'last_modified_at', type: 'date' },
    completedDateTime: { column: 'completed_at', type: 'date' },
    'restoreSessionArtifactCount/total': { column: 'artifact_total', type: 'number' },
    'restoreSessionArtifactCount/completed': { column: 'artifact_completed', type: 'number' },
    'restoreSessionArtifactCount/inProgress': { column: 'artifact_in_progress', type: 'number' },
    'restoreSessionArtifactCount/failed': { column: 'artifact_failed', type: 'number' },
  },
  selectable: SESSION_PROPS,
  defaultOrder: [['created_at', 'asc']],
  key: 'id',
};

const ARTIFACT_PROPS = [
  'id', 'destinationType', 'status', 'startDateTime', 'completionDateTime', 'restoredFolderId',
  'restoredFolderName', 'restoredItemCount', 'error', 'restorePoint',
];

const artifactSpec = (kind: ArtifactKind): CollectionSpec => ({
  fields: {
    id: { column: 'id', type: 'string' },
    status: { column: 'status', type: 'enum', members: 'artifactRestoreStatus' },
    destinationType: { column: 'destination_type', type: 'enum', members: 'destinationType' },
    startDateTime: { column: 'start_at', type: 'date' },
    completionDateTime: { column: 'completion_at', type: 'date' },
    ...(kind === 'granular' ? { searchResponseId: { column: 'search_response_id', type: 'string' as const } } : {}),
  },
  selectable: kind === 'granular' ? [...ARTIFACT_PROPS, 'artifactCount', 'searchResponseId'] : ARTIFACT_PROPS,
  defaultOrder: [['ordinal', 'asc']],
  key: 'id',
});

const ARTIFACT_NAV: Record<ArtifactKind, { path: string; type: string }> = {
  mailbox: { path: 'mailboxRestoreArtifacts', type: 'mailboxRestoreArtifact' },
  granular: { path: 'granularMailboxRestoreArtifacts', type: 'granularMailboxRestoreArtifact' },
};

const callerOf = (g: GraphRequest): Caller => ({ tenantId: g.tenantId, principal: g.principal });
type IdParams = { id: string };

export function restoreSessionRoutes(app: FastifyInstance, core: Core, service: RestoreSessionsService): void {
  const read = { config: { op: 'restoreSessions.read' as const } };
  const write = { config: { op: 'restoreSessions.write' as const } };

  // ---- sessions --------------------------------------------------------------------------------

  app.post(SESSIONS, write, async (req, reply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    const body = readBody(req, g, 'exchangeRestoreSession');
    checkODataType(body, 'exchangeRestoreSession');
    if (body.mailboxRestoreArtifactsBulkAdditionRequests !== undefined) {
      throw errors.badRequest('Bulk addition requests are created with POST .../exchangeRestoreSessions/{id}/mailboxRestoreArtifactsBulkAdditionRequests.');
    }
    const session = await service.create(callerOf(g), readCreateBody(body, g.version));
    return sendEntity(reply, g, {
      type: 'exchangeRestoreSession',
      context: 'solutions/backupRestore/exchangeRestoreSessions/$entity',
      value: sessionWire(session),
      status: 201,
      location: `${SESSIONS}/${session.id}`,
    });
  });

  const listSessions = (polymorphic: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const g = graphOf(req);
    const q = parseCollectionQuery(req.query as Record<string, unknown>, sessionSpec);
    let query = core.store.db.selectFrom('restore_sessions').selectAll().where('tenant_id', '=', g.tenantId);
    if (q.where) query = query.where(q.where);
    const rows = await query.orderBy(orderSql(q.orderBy)).limit(q.top + 1).offset(q.skip).execute();
    let count: number | undefined;
    if (q.count) {
      let c = core.store.db.selectFrom('restore_sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', g.tenantId);
      if (q.where) c = c.where(q.where);
      count = Number((await c.executeTakeFirstOrThrow()).n);
    }
    return sendCollection(reply, req, g, {
      type: polymorphic ? 'restoreSessionBase' : 'exchangeRestoreSession',
      context: polymorphic ? 'solutions/backupRestore/restoreSessions' : 'solutions/backupRestore/exchangeRestoreSessions',
      items: rows.slice(0, q.top).map((r) => sessionWire(r, { withType: polymorphic })),
      query: q,
      hasMore: rows.length > q.top,
      count,
    });
  };
  app.get(SESSIONS, read, listSessions(false));
  app.get(POLY, read, listSessions(true));

  const getSession = (polymorphic: boolean) => (req: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select', '$expand']);
    const type = 'exchangeRestoreSession';
    const context = polymorphic ? 'solutions/backupRestore/restoreSessions/$entity' : 'solutions/backupRestore/exchangeRestoreSessions/$entity';
    const found = service.findSession(g.tenantId, req.params.id);
    // A session at hand without $expand is answered synchronously (no promise between request and reply).
    if (q.$expand === undefined && !(found instanceof Promise)) {
      const select = q.$select !== undefined ? parseSelect(q.$select, SESSION_PROPS) : undefined;
      const value = () => sessionWire(found.row, { withType: polymorphic });
      return found.kept ? sendKeptEntity(reply, g, found.row, { type, context, select }, value) : sendEntity(reply, g, { type, context, select, value: value() });
    }
    return Promise.resolve(found).then(async ({ row: session }) => {
      const value = sessionWire(session, { withType: polymorphic });
      const expand = q.$expand !== undefined ? parseSelect(q.$expand, NAVS) : undefined;
      for (const nav of expand ?? []) value[nav] = await expanded(nav as (typeof NAVS)[number], session, g);
      const select = q.$select !== undefined ? parseSelect(q.$select, SESSION_PROPS) : undefined;
      if (select) for (const nav of expand ?? []) select.add(nav);
      return sendEntity(reply, g, { type, context, value, select });
    });
  };
  app.get(`${SESSIONS}/:id`, read, getSession(false));
  app.get(`${POLY}/:id`, read, getSession(true));

  const expanded = async (nav: (typeof NAVS)[number], session: SessionRow, g: GraphRequest): Promise<unknown[]> => {
    if (nav === 'mailboxRestoreArtifactsBulkAdditionRequests') {
      const bulk = await service.bulkRequestOf(g.tenantId, session.id);
      return bulk ? [bulkRequestWire(bulk, g.version, { withLists: false })] : [];
    }
    const kind: ArtifactKind = nav === 'mailboxRestoreArtifacts' ? 'mailbox' : 'granular';
    const rows = await core.store.db
      .selectFrom('restore_artifacts')
      .selectAll()
      .where('tenant_id', '=', g.tenantId)
      .where('session_id', '=', session.id)
      .where('kind', '=', kind)
      .orderBy('ordinal')
      .execute();
    return withRestorePoints(g.tenantId, rows);
  };

  app.patch<{ Params: IdParams }>(`${SESSIONS}/:id`, write, async (req, reply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    const input = readPatchBody(req.body ?? {}, g.version);
    const result = await service.patch(callerOf(g), req.params.id, input);
    const value = sessionWire(result.session);
    for (const d of result.deltas) {
      value[`${ARTIFACT_NAV[d.kind].path}@delta`] = d.items.map((item) =>
        item.ok
          ? artifactDeltaWire(item.artifact)
          : {
              '@contentId': crypto.randomUUID(),
              '@Core.DataModificationException': { info: { code: 'Invalid', message: item.message }, failedOperation: 'remove', responseCode: 409 },
              id: item.id,
            },
      );
    }
    return sendEntity(reply, g, { type: 'exchangeRestoreSession', context: 'solutions/backupRestore/exchangeRestoreSessions/$entity', value });
  });

  const deleteSession = async (req: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    await service.delete(callerOf(g), req.params.id);
    return reply.code(204).send();
  };
  app.delete(`${POLY}/:id`, write, deleteSession);
  app.delete(`${SESSIONS}/:id`, write, deleteSession);

  const activate = async (req: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null || Object.keys(req.body).length > 0)) {
      throw errors.badRequest('activate takes no parameters.');
    }
    const session = await service.activate(callerOf(g), req.params.id);
    return sendEntity(reply, g, {
      type: 'exchangeRestoreSession',
      context: 'solutions/backupRestore/restoreSessions/$entity',
      value: sessionWire(session, { withType: true }),
    });
  };
  app.post(`${POLY}/:id/activate`, write, activate);
  app.post(`${SESSIONS}/:id/activate`, write, activate);

  // ---- artifacts -------------------------------------------------------------------------------

  const withRestorePoints = async (tenantId: string, rows: ArtifactRow[]) => {
    const points = await service.restorePointsOf(tenantId, rows.map((r) => r.restore_point_id));
    return rows.map((r) => artifactWire(r, points.get(r.restore_point_id)));
  };

  for (const kind of ['mailbox', 'granular'] as const) {
    const nav = ARTIFACT_NAV[kind];
    const spec = artifactSpec(kind);
    app.get<{ Params: IdParams }>(`${SESSIONS}/:id/${nav.path}`, read, async (req, reply) => {
      const g = graphOf(req);
      const q = parseCollectionQuery(req.query as Record<string, unknown>, spec);
      const session = await service.getSession(g.tenantId, req.params.id);
      let query = core.store.db
        .selectFrom('restore_artifacts')
        .selectAll()
        .where('tenant_id', '=', g.tenantId)
        .where('session_id', '=', session.id)
        .where('kind', '=', kind);
      if (q.where) query = query.where(q.where);
      const rows = await query.orderBy(orderSql(q.orderBy)).limit(q.top + 1).offset(q.skip).execute();
      let count: number | undefined;
      if (q.count) {
        let c = core.store.db
          .selectFrom('restore_artifacts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', g.tenantId)
          .where('session_id', '=', session.id)
          .where('kind', '=', kind);
        if (q.where) c = c.where(q.where);
        count = Number((await c.executeTakeFirstOrThrow()).n);
      }
      return sendCollection(reply, req, g, {
        type: nav.type,
        context: `solutions/backupRestore/exchangeRestoreSessions('${session.id}')/${nav.path}`,
        items: await withRestorePoints(g.tenantId, rows.slice(0, q.top)),
        query: q,
        hasMore: rows.length > q.top,
        count,
      });
    });

    app.get<{ Params: IdParams & { artifactId: string } }>(`${SESSIONS}/:id/${nav.path}/:artifactId`, read, async (req, reply) => {
      const g = graphOf(req);
      const q = normalizeQuery(req.query as Record<string, unknown>);
      rejectUnsupported(q, ['$select']);
      const select = q.$select !== undefined ? parseSelect(q.$select, spec.selectable) : undefined;
      const session = await service.getSession(g.tenantId, req.params.id);
      const row = await core.store.db
        .selectFrom('restore_artifacts')
        .selectAll()
        .where('tenant_id', '=', g.tenantId)
        .where('session_id', '=', session.id)
        .where('kind', '=', kind)
        .where('id', '=', req.params.artifactId.trim().toLowerCase())
        .executeTakeFirst();
      if (!row) throw errors.itemNotFound(`The restore artifact '${req.params.artifactId}' was not found in this restore session.`);
      const [value] = await withRestorePoints(g.tenantId, [row]);
      return sendEntity(reply, g, {
        type: nav.type,
        context: `solutions/backupRestore/exchangeRestoreSessions('${session.id}')/${nav.path}/$entity`,
        value,
        select,
      });
    });
  }

  // ---- bulk addition requests -------------------------------------------------------------------

  const BULK = `${SESSIONS}/:id/mailboxRestoreArtifactsBulkAdditionRequests`;
  const bulkContext = (sessionId: string) => `solutions/backupRestore/exchangeRestoreSessions('${sessionId}')/mailboxRestoreArtifactsBulkAdditionRequests`;

  app.post<{ Params: IdParams }>(BULK, write, async (req, reply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    const session = await service.getSession(g.tenantId, bulkIdOf(req.params.id));
    const row = await service.createBulkRequest(callerOf(g), session.id, readBulkRequestBody(req.body ?? {}, g.version));
    return sendEntity(reply, g, {
      type: 'mailboxRestoreArtifactsBulkAdditionRequest',
      context: `${bulkContext(session.id)}/$entity`,
      value: bulkRequestWire(row, g.version, { withLists: true }),
      status: 201,
      location: `${SESSIONS}/${session.id}/mailboxRestoreArtifactsBulkAdditionRequests/${row.id}`,
    });
  });

  // The bulk request endpoints take no OData query options (spec §11.1).
  app.get<{ Params: IdParams }>(BULK, read, async (req, reply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    const session = await service.getSession(g.tenantId, bulkIdOf(req.params.id));
    const row = await service.bulkRequestOf(g.tenantId, session.id);
    return sendCollection(reply, req, g, {
      type: 'mailboxRestoreArtifactsBulkAdditionRequest',
      context: bulkContext(session.id),
      items: row ? [bulkRequestWire(row, g.version, { withLists: false })] : [],
    });
  });

  app.get<{ Params: IdParams & { requestId: string } }>(`${BULK}/:requestId`, read, async (req, reply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    const session = await service.getSession(g.tenantId, bulkIdOf(req.params.id));
    const row = await service.getBulkRequest(g.tenantId, session.id, req.params.requestId);
    return sendEntity(reply, g, {
      type: 'mailboxRestoreArtifactsBulkAdditionRequest',
      context: `${bulkContext(session.id)}/$entity`,
      value: bulkRequestWire(row, g.version, { withLists: true }),
    });
  });

  app.delete<{ Params: IdParams & { requestId: string } }>(`${BULK}/:requestId`, write, async (req, reply) => {
    const g = graphOf(req);
    rejectUnsupported(normalizeQuery(req.query as Record<string, unknown>), []);
    await service.deleteBulkRequest(callerOf(g), req.params.id, req.params.requestId);
    return reply.code(204).send();
  });
}
