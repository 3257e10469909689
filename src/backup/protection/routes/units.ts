/**
 * Mailbox protection units (spec §7.5): the root set, a policy's units, the polymorphic
 * `protectionUnits` (with its type-cast paths), and offboard / cancelOffboard (delegated only).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../../core.js';
import { graphOf, sendCollection, sendEntity, type GraphRequest } from '../../../http/context.js';
import { errors } from '../../../errors.js';
import { normalizeQuery, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../../http/odata.js';
import { protectionWrite } from '../env.js';
import { requireProtectionChanges } from '../serviceStatus.js';
import { policyById } from '../policies.js';
import { canMove, moveUnit, unitById } from '../units.js';
import { unitWire, type UnitRow } from '../wire.js';
import { BASE, CONTEXT, byOf, checkId, isDelegated, isObject, page, params } from './common.js';

const SELECTABLE = [
  'id',
  'policyId',
  'directoryObjectId',
  'displayName',
  'email',
  'status',
  'protectionSources',
  'createdBy',
  'createdDateTime',
  'lastModifiedBy',
  'lastModifiedDateTime',
  'error',
  'offboardRequestedDateTime',
];

/** The sentinel as a stored date (what a $filter literal `0001-01-01T00:00:00Z` becomes). */
const NEVER_STORED = new Date('0001-01-01T00:00:00Z').toISOString();

/** and/or operators a unit $filter may have (ERR FilterLengthExceeded; Microsoft's limit is unpublished). */
export const MAX_FILTER_TERMS = 20;

const SPEC: CollectionSpec = {
  fields: {
    // A unit id in a filter is checked as in a path (ERR: list units, 400 InvalidProtectionUnitId).
    id: { column: 'u.id', type: 'string', toStored: (v) => checkId(v, errors.invalidProtectionUnitId, 'protection unit') },
    policyId: { column: 'u.policy_id', type: 'string' },
    directoryObjectId: { column: 'u.directory_object_id', type: 'string' },
    status: { column: 'u.status', type: 'enum', members: 'protectionUnitStatus' },
    displayName: { column: 'usr.display_name', type: 'string' },
    email: { column: 'coalesce(usr.mail, usr.user_principal_name)', type: 'string' },
    createdDateTime: { column: 'u.created_at', type: 'date' },
    lastModifiedDateTime: { column: 'u.last_modified_at', type: 'date' },
    // Never requested reads as the sentinel (spec §2.1), so it filters and sorts as the sentinel too.
    offboardRequestedDateTime: { column: `coalesce(u.offboard_requested_at, '${NEVER_STORED}')`, type: 'date' },
  },
  selectable: SELECTABLE,
  defaultOrder: [['u.created_at', 'asc']],
  key: 'u.id',
  maxFilterTerms: MAX_FILTER_TERMS,
};

/**
 * What an application caller may filter and sort on: displayName and email are null for it on the
 * wire, so they are null in its $filter and $orderby too (no finding a unit by an address it cannot see).
 */
const APP_SPEC: CollectionSpec = {
  ...SPEC,
  fields: { ...SPEC.fields, displayName: { column: 'cast(null as text)', type: 'string' }, email: { column: 'cast(null as text)', type: 'string' } },
};

type UnitWithUser = UnitRow & { user_display_name: string | null; user_mail: string | null; user_upn: string | null };

function unitQuery(core: Core, tenantId: string) {
  return core.store.db
    .selectFrom('protection_units as u')
    .leftJoin('users as usr', (j) => j.onRef('usr.tenant_id', '=', 'u.tenant_id').onRef('usr.id', '=', 'u.mailbox_id'))
    .selectAll('u')
    .select(['usr.display_name as user_display_name', 'usr.mail as user_mail', 'usr.user_principal_name as user_upn'])
    .where('u.tenant_id', '=', tenantId);
}

function toWire(g: GraphRequest, r: UnitWithUser) {
  const user = r.user_display_name !== null ? { displayName: r.user_display_name, email: r.user_mail ?? r.user_upn ?? '' } : undefined;
  return unitWire(r, { version: g.version, delegated: isDelegated(g), user });
}

function unitParam(req: FastifyRequest): string {
  return checkId(params(req).id, errors.invalidProtectionUnitId, 'protection unit');
}

export function unitRoutes(app: FastifyInstance, core: Core): void {
  const list = (context: string, policyScoped: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const g = graphOf(req);
    let qb = unitQuery(core, g.tenantId);
    if (policyScoped) {
      const policyId = checkId(params(req).policyId, errors.invalidPolicyId, 'policy');
      await policyById(core.store.db, g.tenantId, policyId);
      qb = qb.where('u.policy_id', '=', policyId);
    }
    const q = parseCollectionQuery(req.query as Record<string, unknown>, isDelegated(g) ? SPEC : APP_SPEC);
    const { rows, hasMore, count } = await page(qb, q);
    return sendCollection(reply, req, g, { type: 'mailboxProtectionUnit', items: rows.map((r) => toWire(g, r as UnitWithUser)), context, query: q, hasMore, count });
  };

  const one = (context: string, policyScoped: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const g = graphOf(req);
    const q = normalizeQuery(req.query as Record<string, unknown>);
    rejectUnsupported(q, ['$select']);
    const id = unitParam(req);
    let qb = unitQuery(core, g.tenantId).where('u.id', '=', id);
    if (policyScoped) {
      const policyId = checkId(params(req).policyId, errors.invalidPolicyId, 'policy');
      await policyById(core.store.db, g.tenantId, policyId);
      qb = qb.where('u.policy_id', '=', policyId);
    }
    const row = (await qb.executeTakeFirst()) as UnitWithUser | undefined;
    if (!row) throw errors.protectionUnitNotFound(`The protection unit '${id}' was not found.`);
    return sendEntity(reply, g, { type: 'mailboxProtectionUnit', value: toWire(g, row), context, select: q.$select ? parseSelect(q.$select, SELECTABLE) : undefined });
  };

  const units = `${CONTEXT}/mailboxProtectionUnits`;
  const cast = `${CONTEXT}/protectionUnits/microsoft.graph.mailboxProtectionUnit`;
  app.get(`${BASE}/mailboxProtectionUnits`, { config: { op: 'units.read' } }, list(units, false));
  app.get(`${BASE}/mailboxProtectionUnits/:id`, { config: { op: 'units.read' } }, one(`${units}/$entity`, false));
  app.get(`${BASE}/exchangeProtectionPolicies/:policyId/mailboxProtectionUnits`, { config: { op: 'units.read' } }, list(units, true));
  app.get(`${BASE}/exchangeProtectionPolicies/:policyId/mailboxProtectionUnits/:id`, { config: { op: 'units.read' } }, one(`${units}/$entity`, true));
  app.get(`${BASE}/protectionUnits`, { config: { op: 'units.read' } }, list(`${CONTEXT}/protectionUnits`, false));
  app.get(`${BASE}/protectionUnits/microsoft.graph.mailboxProtectionUnit`, { config: { op: 'units.read' } }, list(cast, false));
  app.get(`${BASE}/protectionUnits/:id`, { config: { op: 'units.read' } }, one(`${CONTEXT}/protectionUnits/$entity`, false));
  app.get(`${BASE}/protectionUnits/:id/microsoft.graph.mailboxProtectionUnit`, { config: { op: 'units.read' } }, one(`${cast}/$entity`, false));

  // Beta only (mailboxprotectionunit-update): billingPolicyId of removed units; no billing here.
  app.patch(`${BASE}/mailboxProtectionUnits/:id`, { config: { op: 'units.offboard' } }, async (req, reply) => {
    const g = graphOf(req);
    if (g.version === 'v1.0') {
      reply.header('Allow', 'GET');
      throw errors.methodNotAllowed(`The HTTP method 'PATCH' is not allowed for this resource.`);
    }
    throw errors.notImplemented('Updating a mailboxProtectionUnit (billingPolicyId) is not implemented: Mailvault has no billing policies.');
  });

  for (const action of ['offboard', 'cancelOffboard'] as const) {
    app.post(`${BASE}/protectionUnits/:id/${action}`, { config: { op: 'units.offboard' } }, async (req, reply) => {
      const g = graphOf(req);
      await requireProtectionChanges(core, g);
      const id = unitParam(req);
      if (isObject(req.body) && Object.keys(req.body).length > 0) throw errors.badRequest(`The operation '${action}' takes no parameters.`);
      await protectionWrite(core, async (trx, env) => {
        const unit = await unitById(trx, g.tenantId, id);
        if (!unit) throw errors.protectionUnitNotFound(`The protection unit '${id}' was not found.`);
        // Offboarding is for units removed from their policy (A:protectionunitbase-offboard example 2).
        if (action === 'offboard') {
          if (unit.policy_id !== null || !canMove(unit, 'offboard')) {
            throw errors.operationNotAllowed("Can't process this request as it is not in valid state.", { details: [] });
          }
          await moveUnit(trx, env, unit, 'offboard', { by: byOf(g), set: { offboard_requested_at: env.now } });
        } else {
          if (!canMove(unit, 'cancelOffboard')) {
            throw errors.operationNotAllowed('Offboarding cannot be cancelled as it is not in a valid state.', { details: [] });
          }
          await moveUnit(trx, env, unit, 'cancelOffboard', { by: byOf(g) });
        }
      });
      const row = (await unitQuery(core, g.tenantId).where('u.id', '=', id).executeTakeFirst()) as UnitWithUser;
      return sendEntity(reply, g, { type: 'mailboxProtectionUnit', value: toWire(g, row), context: `${CONTEXT}/protectionUnits/$entity` });
    });
  }
}
