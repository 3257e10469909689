/** `protectionPolicies` (polymorphic) and `exchangeProtectionPolicies` (spec §7.3). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../../core.js';
import { graphOf, readBody, checkODataType, sendCollection, sendEntity, contextUrl, type GraphRequest } from '../../../http/context.js';
import { errors } from '../../../errors.js';
import { normalizeQuery, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../../http/odata.js';
import { propertyNames, shape } from '../../../graph/shape.js';
import { protectionWrite } from '../env.js';
import { requireProtectionChanges } from '../serviceStatus.js';
import {
  MAX_UNITS_PER_REQUEST,
  activatePolicy,
  createPolicy,
  deactivatePolicy,
  deletePolicy,
  patchPolicy,
  policyById,
  type DeltaItem,
  type DeltaOutcome,
} from '../policies.js';
import { UNIT_IN_FLIGHT } from '../machines.js';
import { policyWire, unitWire, type PolicyRow, type Wire } from '../wire.js';
import { usersByIds } from '../directory.js';
import { BASE, CONTEXT, byOf, checkId, contentLocation, isDelegated, isObject, page, params } from './common.js';

const SELECTABLE = [
  'id',
  'displayName',
  'isEnabled',
  'status',
  'createdBy',
  'createdDateTime',
  'lastModifiedBy',
  'lastModifiedDateTime',
  'retentionSettings',
  'protectionPolicyArtifactCount',
];

const SPEC: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    displayName: { column: 'display_name', type: 'string' },
    status: { column: 'status', type: 'enum', members: 'protectionPolicyStatus' },
    isEnabled: { column: 'is_enabled', type: 'boolean' },
    createdDateTime: { column: 'created_at', type: 'date' },
    lastModifiedDateTime: { column: 'last_modified_at', type: 'date' },
  },
  selectable: SELECTABLE,
  defaultOrder: [['created_at', 'asc']],
  key: 'id',
};

const MAX_DISPLAY_NAME = 1024;

function checkDisplayName(v: unknown): string {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > MAX_DISPLAY_NAME) {
    throw errors.invalidDisplayName(`displayName must be a string of 1 to ${MAX_DISPLAY_NAME} characters.`);
  }
  return v;
}

/** protectionPolicyArtifactCount is computed only when asked for with $select (TS-beta note). */
async function withArtifactCounts(core: Core, tenantId: string, items: Wire[], select: Set<string> | undefined): Promise<Wire[]> {
  if (!select?.has('protectionPolicyArtifactCount') || items.length === 0) return items;
  const units = await core.store.db
    .selectFrom('protection_units')
    .select(['policy_id', 'status', 'error'])
    .where('tenant_id', '=', tenantId)
    .where('policy_id', 'in', items.map((i) => i.id as string))
    .execute();
  return items.map((item) => {
    const mine = units.filter((u) => u.policy_id === item.id);
    return {
      ...item,
      protectionPolicyArtifactCount: {
        total: mine.length,
        completed: mine.filter((u) => u.status === 'protected').length,
        inProgress: mine.filter((u) => UNIT_IN_FLIGHT.has(u.status)).length,
        failed: mine.filter((u) => u.error !== null).length,
      },
    };
  });
}

function policyParam(req: FastifyRequest): string {
  return checkId(params(req).id, errors.invalidPolicyId, 'policy');
}

/** `mailboxProtectionUnits` of a create: `{ directoryObjectId }` items, at most 50, no duplicates. */
function readUnitsToCreate(g: GraphRequest, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw errors.invalidCreateRequest('mailboxProtectionUnits must be an array of {"directoryObjectId": "<id>"} objects.');
  if (value.length > MAX_UNITS_PER_REQUEST) {
    throw errors.protectionUnitsLimitBreached(`A request can add at most ${MAX_UNITS_PER_REQUEST} protection units; it has ${value.length}.`);
  }
  const names = propertyNames(g.version, 'mailboxProtectionUnit');
  const ids = value.map((item) => {
    if (!isObject(item) || typeof item.directoryObjectId !== 'string' || item.directoryObjectId.length === 0) {
      throw errors.invalidCreateRequest('Each protection unit needs a directoryObjectId.');
    }
    for (const k of Object.keys(item)) {
      if (!k.startsWith('@odata.') && !names.has(k)) throw errors.invalidCreateRequest(`The property '${k}' does not exist on type 'microsoft.graph.mailboxProtectionUnit'.`);
    }
    checkODataType(item, 'mailboxProtectionUnit');
    return item.directoryObjectId;
  });
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw errors.duplicateProtectionUnitInList(`The directory object '${id}' appears more than once in the request.`);
    seen.add(id);
  }
  return ids;
}

/** `mailboxProtectionUnits@delta`: adds `{directoryObjectId}`, removals `{"@removed": {...}, "id"}`. */
function readDelta(value: unknown): DeltaItem[] {
  if (!Array.isArray(value)) throw errors.badRequest('mailboxProtectionUnits@delta must be an array.');
  if (value.length > MAX_UNITS_PER_REQUEST) {
    throw errors.protectionUnitsLimitBreached(`A request can change at most ${MAX_UNITS_PER_REQUEST} protection units; it has ${value.length}.`);
  }
  const items = value.map((item): DeltaItem => {
    if (!isObject(item)) throw errors.badRequest('Each item of mailboxProtectionUnits@delta must be an object.');
    const contentId = typeof item['@contentId'] === 'string' ? item['@contentId'] : undefined;
    if (item['@removed'] !== undefined) {
      if (!isObject(item['@removed']) || typeof item.id !== 'string' || item.id.length === 0) {
        throw errors.badRequest('A removal needs "@removed": {"reason": "changed"} and the id of the protection unit.');
      }
      return { op: 'remove', id: item.id, contentId };
    }
    if (typeof item.directoryObjectId !== 'string' || item.directoryObjectId.length === 0) {
      throw errors.badRequest('An addition needs the directoryObjectId of the mailbox owner.');
    }
    return { op: 'add', directoryObjectId: item.directoryObjectId, contentId };
  });
  const seen = new Set<string>();
  for (const item of items) {
    const key = item.op === 'add' ? `add:${item.directoryObjectId}` : `remove:${item.id}`;
    if (seen.has(key)) throw errors.duplicateProtectionUnitInList(`'${item.op === 'add' ? item.directoryObjectId : item.id}' appears more than once in mailboxProtectionUnits@delta.`);
    seen.add(key);
  }
  return items;
}

export function policyRoutes(app: FastifyInstance, core: Core): void {
  const sendPolicy = async (reply: FastifyReply, g: GraphRequest, row: PolicyRow, o: { typed: boolean; context: string; status?: number; select?: Set<string> }) => {
    const [value] = await withArtifactCounts(core, g.tenantId, [policyWire(row, o.typed)], o.select);
    return sendEntity(reply, g, { type: 'exchangeProtectionPolicy', value, context: o.context, status: o.status, select: o.select });
  };

  for (const set of ['protectionPolicies', 'exchangeProtectionPolicies'] as const) {
    const typed = set === 'protectionPolicies';

    app.get(`${BASE}/${set}`, { config: { op: 'policies.read' } }, async (req, reply) => {
      const g = graphOf(req);
      const q = parseCollectionQuery(req.query as Record<string, unknown>, SPEC);
      const qb = core.store.db.selectFrom('protection_policies').selectAll().where('tenant_id', '=', g.tenantId);
      const { rows, hasMore, count } = await page(qb, q);
      const items = await withArtifactCounts(core, g.tenantId, rows.map((r) => policyWire(r, typed)), q.select);
      return sendCollection(reply, req, g, { type: 'exchangeProtectionPolicy', items, context: `${CONTEXT}/${set}`, query: q, hasMore, count });
    });

    app.get(`${BASE}/${set}/:id`, { config: { op: 'policies.read' } }, async (req, reply) => {
      const g = graphOf(req);
      const q = normalizeQuery(req.query as Record<string, unknown>);
      rejectUnsupported(q, ['$select']);
      const row = await policyById(core.store.db, g.tenantId, policyParam(req));
      return sendPolicy(reply, g, row, { typed, context: `${CONTEXT}/${set}/$entity`, select: q.$select ? parseSelect(q.$select, SELECTABLE) : undefined });
    });

    app.delete(`${BASE}/${set}/:id`, { config: { op: 'policies.write' } }, async (req, reply) => {
      const g = graphOf(req);
      await requireProtectionChanges(core, g);
      const id = policyParam(req);
      await protectionWrite(core, (trx) => deletePolicy(trx, g.tenantId, id));
      return reply.code(204).send();
    });

    for (const action of ['activate', 'deactivate'] as const) {
      app.post(`${BASE}/${set}/:id/${action}`, { config: { op: 'policies.write' } }, async (req, reply) => {
        const g = graphOf(req);
        await requireProtectionChanges(core, g);
        const id = policyParam(req);
        if (isObject(req.body) && Object.keys(req.body).length > 0) throw errors.badRequest(`The operation '${action}' takes no parameters.`);
        const row = await protectionWrite(core, (trx, env) =>
          action === 'activate' ? activatePolicy(trx, env, g.tenantId, id, byOf(g)) : deactivatePolicy(trx, env, g.tenantId, id, byOf(g)),
        );
        contentLocation(reply, g, `solutions/backupRestore/protectionPolicies('${row.id}')`);
        return sendPolicy(reply, g, row, { typed: true, context: `${CONTEXT}/protectionPolicies/$entity`, status: 202 });
      });
    }
  }

  app.post(`${BASE}/exchangeProtectionPolicies`, { config: { op: 'policies.write' } }, async (req, reply) => {
    const g = graphOf(req);
    await requireProtectionChanges(core, g);
    if (req.body === undefined || req.body === null) throw errors.invalidCreateRequest('The request body is empty; a displayName is required.');
    if (!isObject(req.body)) throw errors.invalidCreateRequest('The request body must be an exchangeProtectionPolicy object.');
    const body = readBody(req, g, 'exchangeProtectionPolicy');
    checkODataType(body, 'exchangeProtectionPolicy');
    for (const nav of ['mailboxInclusionRules', 'mailboxProtectionUnitsBulkAdditionJobs']) {
      if (body[nav] !== undefined) throw errors.invalidCreateRequest(`${nav} cannot be created inline; only mailboxProtectionUnits can.`);
    }
    const displayName = checkDisplayName(body.displayName);
    const directoryObjectIds = readUnitsToCreate(g, body.mailboxProtectionUnits);
    const row = await protectionWrite(core, (trx, env) => createPolicy(trx, env, g.tenantId, { displayName, directoryObjectIds }, byOf(g)));
    return sendEntity(reply, g, {
      type: 'exchangeProtectionPolicy',
      value: policyWire(row, false),
      context: `${CONTEXT}/exchangeProtectionPolicies/$entity`,
      status: 201,
      location: `solutions/backupRestore/protectionPolicies/${row.id}`,
    });
  });

  app.patch(`${BASE}/exchangeProtectionPolicies/:id`, { config: { op: 'policies.write' } }, async (req, reply) => {
    const g = graphOf(req);
    await requireProtectionChanges(core, g);
    const id = policyParam(req);
    if (!isObject(req.body)) throw errors.badRequest('The request body must be an exchangeProtectionPolicy object.');
    const body = readBody(req, g, 'exchangeProtectionPolicy', ['mailboxProtectionUnits@delta']);
    checkODataType(body, 'exchangeProtectionPolicy');
    if (body.mailboxProtectionUnits !== undefined) throw errors.badRequest('Change protection units with mailboxProtectionUnits@delta.');
    const displayName = body.displayName === undefined ? undefined : checkDisplayName(body.displayName);
    const delta = body['mailboxProtectionUnits@delta'] === undefined ? undefined : readDelta(body['mailboxProtectionUnits@delta']);
    const { policy, outcomes } = await protectionWrite(core, (trx, env) => patchPolicy(trx, env, g.tenantId, id, { displayName, delta }, byOf(g)));
    const users = isDelegated(g) ? await usersByIds(core.store.db, g.tenantId, outcomes.flatMap((o) => (o.ok ? [o.unit.mailbox_id] : []))) : new Map();
    const opts = { version: g.version, includeUnknownEnumMembers: g.includeUnknownEnumMembers };
    const echo = outcomes.map((o: DeltaOutcome) =>
      o.ok
        ? shape('mailboxProtectionUnit', unitWire(o.unit, { version: g.version, delegated: isDelegated(g), user: users.get(o.unit.mailbox_id) }), opts)
        : {
            ...(o.item.contentId ? { '@contentId': o.item.contentId } : {}),
            '@Core.DataModificationException': {
              info: { code: o.code, message: o.message },
              failedOperation: o.item.op,
              responseCode: o.responseCode,
            },
            ...(o.item.op === 'remove' ? { id: o.item.id } : { directoryObjectId: o.item.directoryObjectId }),
          },
    );
    const body2 = {
      '@odata.context': contextUrl(g, `${CONTEXT}/exchangeProtectionPolicies/$entity`),
      ...shape('exchangeProtectionPolicy', policyWire(policy, false), opts),
      ...(delta !== undefined ? { 'mailboxProtectionUnits@delta': echo } : {}),
    };
    return reply.code(200).send(body2);
  });
}
