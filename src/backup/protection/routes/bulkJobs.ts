/** Mailbox protection units bulk addition jobs (spec §7.6), under a policy and at the root set. */
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core.js';
import { graphOf, readBody, checkODataType, sendCollection, sendEntity } from '../../../http/context.js';
import { errors } from '../../../errors.js';
import { normalizeQuery, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../../http/odata.js';
import { protectionWrite } from '../env.js';
import { requireProtectionChanges } from '../serviceStatus.js';
import { MAX_BULK_JOB_RESOURCES, bulkJobById, createBulkJob } from '../bulkJobs.js';
import { bulkJobWire } from '../wire.js';
import { BASE, CONTEXT, byOf, isObject, page, params, policyOf } from './common.js';

const SELECTABLE = ['id', 'displayName', 'status', 'error', 'createdBy', 'createdDateTime', 'lastModifiedBy', 'lastModifiedDateTime', 'directoryObjectIds', 'mailboxes'];

const SPEC: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    displayName: { column: 'display_name', type: 'string' },
    status: { column: 'status', type: 'enum', members: 'protectionUnitsBulkJobStatus' },
    createdDateTime: { column: 'created_at', type: 'date' },
    lastModifiedDateTime: { column: 'last_modified_at', type: 'date' },
  },
  selectable: SELECTABLE.filter((s) => s !== 'directoryObjectIds' && s !== 'mailboxes'),
  defaultOrder: [['created_at', 'asc']],
  key: 'id',
};

const SET = 'mailboxProtectionUnitsBulkAdditionJobs';

/**
 * A job may name 50,000 resources: room for as many full-length SMTP addresses (254 characters,
 * quoted, with a comma) whatever the server's general body limit.
 */
const JOB_BODY_LIMIT = MAX_BULK_JOB_RESOURCES * 260;
const ENTITY = `${CONTEXT}/${SET}/$entity`;

function strings(v: unknown, name: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) {
    throw errors.invalidCreateRequest(`${name} must be an array of non-empty strings.`);
  }
  return [...new Set(v as string[])];
}

export function bulkJobRoutes(app: FastifyInstance, core: Core): void {

  const bodyLimit = Math.max(core.config.bodyLimit, JOB_BODY_LIMIT);
  app.post(`${BASE}/exchangeProtectionPolicies/:policyId/${SET}`, { bodyLimit, config: { op: 'bulkJobs.write' } }, async (req, reply) => {
    const g = graphOf(req);
    await requireProtectionChanges(core, g);
    const policyId = (await policyOf(core, req, g.tenantId))!;
    if (!isObject(req.body)) throw errors.invalidCreateRequest('The request body must be a mailboxProtectionUnitsBulkAdditionJob.');
    const body = readBody(req, g, 'mailboxProtectionUnitsBulkAdditionJob');
    checkODataType(body, 'mailboxProtectionUnitsBulkAdditionJob');
    if (body.displayName !== undefined && body.displayName !== null && typeof body.displayName !== 'string') {
      throw errors.invalidCreateRequest('displayName must be a string.');
    }
    const mailboxes = strings(body.mailboxes, 'mailboxes');
    const directoryObjectIds = strings(body.directoryObjectIds, 'directoryObjectIds');
    if (mailboxes.length + directoryObjectIds.length === 0) throw errors.invalidCreateRequest('Name at least one mailbox or directory object id.');
    if (mailboxes.length + directoryObjectIds.length > MAX_BULK_JOB_RESOURCES) {
      throw errors.protectionUnitsLimitBreached(`A bulk addition job can add at most ${MAX_BULK_JOB_RESOURCES} resources.`);
    }
    const row = await protectionWrite(core, (trx, env) =>
      createBulkJob(trx, env, g.tenantId, policyId, { displayName: (body.displayName as string | undefined) ?? null, mailboxes, directoryObjectIds }, byOf(g)),
    );
    return sendEntity(reply, g, { type: 'mailboxProtectionUnitsBulkAdditionJob', value: bulkJobWire(row, true), context: ENTITY, status: 201, location: `solutions/backupRestore/${SET}/${row.id}` });
  });

  for (const base of [`${BASE}/exchangeProtectionPolicies/:policyId/${SET}`, `${BASE}/${SET}`]) {
    app.get(base, { config: { op: 'bulkJobs.read' } }, async (req, reply) => {
      const g = graphOf(req);
      const policyId = await policyOf(core, req, g.tenantId);
      const q = parseCollectionQuery(req.query as Record<string, unknown>, SPEC);
      let qb = core.store.db.selectFrom('protection_bulk_jobs').selectAll().where('tenant_id', '=', g.tenantId);
      if (policyId) qb = qb.where('policy_id', '=', policyId);
      const { rows, hasMore, count } = await page(qb, q);
      return sendCollection(reply, req, g, {
        type: 'mailboxProtectionUnitsBulkAdditionJob',
        items: rows.map((r) => bulkJobWire(r, false)),
        context: `${CONTEXT}/${SET}`,
        query: q,
        hasMore,
        count,
      });
    });

    app.get(`${base}/:jobId`, { config: { op: 'bulkJobs.read' } }, async (req, reply) => {
      const g = graphOf(req);
      const q = normalizeQuery(req.query as Record<string, unknown>);
      rejectUnsupported(q, ['$select']);
      const policyId = await policyOf(core, req, g.tenantId);
      const row = await bulkJobById(core.store.db, g.tenantId, params(req).jobId, policyId);
      return sendEntity(reply, g, {
        type: 'mailboxProtectionUnitsBulkAdditionJob',
        value: bulkJobWire(row, true),
        context: ENTITY,
        select: q.$select ? parseSelect(q.$select, SELECTABLE) : undefined,
      });
    });
  }
}
