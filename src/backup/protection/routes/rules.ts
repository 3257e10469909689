/**
 * Mailbox inclusion rules (spec §7.4), under a policy and at the root set they are bound to:
 * list, create, get, update (dynamic), delete, run (static), deleteAndUnprotect (dynamic).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../../core.js';
import { graphOf, readBody, checkODataType, sendCollection, sendEntity } from '../../../http/context.js';
import { errors } from '../../../errors.js';
import { normalizeQuery, parseCollectionQuery, parseSelect, rejectUnsupported, type CollectionSpec } from '../../../http/odata.js';
import { protectionWrite } from '../env.js';
import { requireProtectionChanges } from '../serviceStatus.js';
import { checkExpression, createRule, deleteAndUnprotectRule, deleteRule, ruleById, runRule, updateRule } from '../rules.js';
import { ruleWire } from '../wire.js';
import { BASE, CONTEXT, byOf, checkId, isObject, page, params, policyOf } from './common.js';

const SELECTABLE = ['id', 'status', 'isAutoApplyEnabled', 'mailboxExpression', 'error', 'createdBy', 'createdDateTime', 'lastModifiedBy', 'lastModifiedDateTime'];

const SPEC: CollectionSpec = {
  fields: {
    id: { column: 'id', type: 'string' },
    status: { column: 'status', type: 'enum', members: 'protectionRuleStatus' },
    isAutoApplyEnabled: { column: 'is_auto_apply_enabled', type: 'boolean' },
    mailboxExpression: { column: 'expression', type: 'string' },
    createdDateTime: { column: 'created_at', type: 'date' },
    lastModifiedDateTime: { column: 'last_modified_at', type: 'date' },
  },
  selectable: SELECTABLE,
  defaultOrder: [['created_at', 'asc']],
  key: 'id',
};

const ENTITY = `${CONTEXT}/mailboxInclusionRules/$entity`;

export function ruleRoutes(app: FastifyInstance, core: Core): void {
  const ruleParam = (req: FastifyRequest) => checkId(params(req).ruleId, errors.invalidInclusionRuleId, 'inclusion rule');

  app.post(`${BASE}/exchangeProtectionPolicies/:policyId/mailboxInclusionRules`, { config: { op: 'rules.write' } }, async (req, reply) => {
    const g = graphOf(req);
    await requireProtectionChanges(core, g);
    const policyId = (await policyOf(core, req, g.tenantId))!;
    if (!isObject(req.body)) throw errors.invalidInclusionRuleCreateRequest('The request body must be a mailboxProtectionRule with a mailboxExpression.');
    const body = readBody(req, g, 'mailboxProtectionRule');
    checkODataType(body, 'mailboxProtectionRule');
    if (body.mailboxExpression === undefined) throw errors.invalidInclusionRuleCreateRequest('mailboxExpression is required.');
    if (body.isAutoApplyEnabled !== undefined && body.isAutoApplyEnabled !== null && typeof body.isAutoApplyEnabled !== 'boolean') {
      throw errors.invalidInclusionRuleCreateRequest('isAutoApplyEnabled must be true (dynamic rule) or false (static rule).');
    }
    const dynamic = body.isAutoApplyEnabled === true;
    checkExpression(body.mailboxExpression, dynamic);
    const row = await protectionWrite(core, (trx, env) =>
      createRule(trx, env, g.tenantId, policyId, { expression: body.mailboxExpression as string, dynamic }, byOf(g)),
    );
    // §11 #3: 201 Created, as the page's text says.
    return sendEntity(reply, g, { type: 'mailboxProtectionRule', value: ruleWire(row), context: ENTITY, status: 201, location: `solutions/backupRestore/mailboxInclusionRules/${row.id}` });
  });

  for (const base of [`${BASE}/exchangeProtectionPolicies/:policyId/mailboxInclusionRules`, `${BASE}/mailboxInclusionRules`]) {
    app.get(base, { config: { op: 'rules.read' } }, async (req, reply) => {
      const g = graphOf(req);
      const policyId = await policyOf(core, req, g.tenantId);
      const q = parseCollectionQuery(req.query as Record<string, unknown>, SPEC);
      let qb = core.store.db.selectFrom('protection_rules').selectAll().where('tenant_id', '=', g.tenantId);
      if (policyId) qb = qb.where('policy_id', '=', policyId);
      const { rows, hasMore, count } = await page(qb, q);
      return sendCollection(reply, req, g, { type: 'mailboxProtectionRule', items: rows.map(ruleWire), context: `${CONTEXT}/mailboxInclusionRules`, query: q, hasMore, count });
    });

    app.get(`${base}/:ruleId`, { config: { op: 'rules.read' } }, async (req, reply) => {
      const g = graphOf(req);
      const q = normalizeQuery(req.query as Record<string, unknown>);
      rejectUnsupported(q, ['$select']);
      const id = ruleParam(req);
      const row = await ruleById(core.store.db, g.tenantId, id, await policyOf(core, req, g.tenantId));
      return sendEntity(reply, g, { type: 'mailboxProtectionRule', value: ruleWire(row), context: ENTITY, select: q.$select ? parseSelect(q.$select, SELECTABLE) : undefined });
    });

    app.patch(`${base}/:ruleId`, { config: { op: 'rules.write' } }, async (req, reply) => {
      const g = graphOf(req);
      await requireProtectionChanges(core, g);
      const id = ruleParam(req);
      const policyId = await policyOf(core, req, g.tenantId);
      if (!isObject(req.body)) throw errors.invalidProtectionRulePatchRequest('The request body must be a mailboxProtectionRule with a mailboxExpression.');
      const body = readBody(req, g, 'mailboxProtectionRule');
      checkODataType(body, 'mailboxProtectionRule');
      if (body.isAutoApplyEnabled !== undefined) throw errors.invalidProtectionRulePatchRequest('isAutoApplyEnabled can only be set when the rule is created.');
      if (body.mailboxExpression === undefined) throw errors.invalidProtectionRulePatchRequest('mailboxExpression is required.');
      const row = await protectionWrite(core, (trx, env) => updateRule(trx, env, g.tenantId, id, policyId, body.mailboxExpression, byOf(g)));
      return sendEntity(reply, g, { type: 'mailboxProtectionRule', value: ruleWire(row), context: ENTITY });
    });

    app.delete(`${base}/:ruleId`, { config: { op: 'rules.write' } }, async (req, reply) => {
      const g = graphOf(req);
      await requireProtectionChanges(core, g);
      const id = ruleParam(req);
      const policyId = await policyOf(core, req, g.tenantId);
      await protectionWrite(core, (trx, env) => deleteRule(trx, env, g.tenantId, id, policyId, byOf(g)));
      return reply.code(204).send();
    });

    app.post(`${base}/:ruleId/run`, { config: { op: 'rules.write' } }, async (req, reply) => {
      const g = graphOf(req);
      await requireProtectionChanges(core, g);
      const id = ruleParam(req);
      const policyId = await policyOf(core, req, g.tenantId);
      const row = await protectionWrite(core, (trx, env) => runRule(trx, env, g.tenantId, id, policyId, byOf(g)));
      // §11 #4: 200 OK, as the page's text says.
      return sendEntity(reply, g, { type: 'mailboxProtectionRule', value: ruleWire(row), context: ENTITY });
    });

    app.post(`${base}/:ruleId/deleteAndUnprotect`, { config: { op: 'rules.write' } }, async (req, reply) => {
      const g = graphOf(req);
      await requireProtectionChanges(core, g);
      const id = ruleParam(req);
      const policyId = await policyOf(core, req, g.tenantId);
      const row = await protectionWrite(core, (trx, env) => deleteAndUnprotectRule(trx, env, g.tenantId, id, policyId, byOf(g)));
      return sendEntity(reply, g, { type: 'mailboxProtectionRule', value: ruleWire(row), context: ENTITY, status: 202 });
    });
  }
}
