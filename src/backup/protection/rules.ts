/**
 * Mailbox inclusion rules (spec §7.4, §8.4). A static rule flattens its groups once (and again on
 * `run`) and adds their members as manual units; a dynamic rule keeps the policy's dynamicRule
 * units equal to its groups' members, re-evaluated by the scheduler, until `deleteAndUnprotect`.
 */
import { sql } from 'kysely';
import type { Trx } from '../../store/store.js';
import { errors, publicError, type ErrorDetail } from '../../errors.js';
import { RULE, transition, type RuleEvent } from './machines.js';
import { dueAfter } from './timing.js';
import { newId, type Env } from './env.js';
import { parseMailboxExpression } from './expression.js';
import { existingGroups, memberUserIds, unitsForMailboxes, type Executor } from './directory.js';
import { MANUAL, DYNAMIC_RULE, attachMailbox, dropSource, alreadyProtectedMessage } from './units.js';
import { policyById, refreshPolicy } from './policies.js';
import type { PolicyRow, RuleRow, UnitRow } from './wire.js';

/** Group ids per expression (ERR, R:protectionrulebase). */
export const MAX_GROUPS_DYNAMIC = 100;
/** "Bulk addition of user accounts via groups can accommodate a maximum of three groups at a time." */
export const MAX_GROUPS_STATIC = 3;
/** Users protected through a dynamic rule. */
export const MAX_DYNAMIC_USERS = 6000;

/** Parses and checks an expression; the errors of rule create and update. */
export function checkExpression(text: unknown, dynamic: boolean): string[] {
  if (typeof text !== 'string' || text.trim() === '') throw errors.invalidRuleExpression('mailboxExpression must be a non-empty string.');
  const parsed = parseMailboxExpression(text);
  if (!parsed.ok) {
    throw errors.invalidRuleExpression(`The rule expression is invalid: ${parsed.message}. Expected (memberOf -any (group.id -in ['<group id>', ...])).`);
  }
  const max = dynamic ? MAX_GROUPS_DYNAMIC : MAX_GROUPS_STATIC;
  if (parsed.groupIds.length > max) {
    throw errors.invalidRuleExpressionGroupLimitExceeded(
      `The expression names ${parsed.groupIds.length} groups; a ${dynamic ? 'dynamic' : 'static'} rule accepts at most ${max}.`,
    );
  }
  return parsed.groupIds;
}

export async function ruleById(db: Executor, tenantId: string, id: string, policyId?: string): Promise<RuleRow> {
  let q = db.selectFrom('protection_rules').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (policyId) q = q.where('policy_id', '=', policyId);
  const row = await q.executeTakeFirst();
  if (!row) throw errors.protectionRuleNotFound(`The protection rule '${id}' was not found.`);
  return row;
}

async function moveRule(trx: Trx, rule: RuleRow, event: RuleEvent, set: Partial<RuleRow> = {}): Promise<RuleRow> {
  const next = transition(RULE, rule.status, event);
  if (!next) throw new Error(`rule ${rule.id}: ${event} not allowed in ${rule.status}`);
  if (next === 'deleted') {
    await trx.deleteFrom('protection_rules').where('tenant_id', '=', rule.tenant_id).where('id', '=', rule.id).execute();
    return rule;
  }
  const changes = { status: next, ...set };
  await trx.updateTable('protection_rules').set(changes).where('tenant_id', '=', rule.tenant_id).where('id', '=', rule.id).execute();
  return { ...rule, ...changes };
}

/** `POST .../mailboxInclusionRules`: the rule is active until its first evaluation. */
export async function createRule(
  trx: Trx,
  env: Env,
  tenantId: string,
  policyId: string,
  input: { expression: string; dynamic: boolean },
  by: string,
): Promise<RuleRow> {
  await policyById(trx, tenantId, policyId);
  if (input.dynamic) {
    const other = await trx
      .selectFrom('protection_rules')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('policy_id', '=', policyId)
      .where('is_auto_apply_enabled', '=', 1)
      .executeTakeFirst();
    if (other) throw errors.invalidInclusionRuleCreateRequest(`The policy already has a dynamic rule ('${other.id}'); a policy can have only one.`);
  }
  const rule: RuleRow = {
    tenant_id: tenantId,
    id: newId(),
    policy_id: policyId,
    kind: 'mailbox',
    expression: input.expression,
    is_auto_apply_enabled: input.dynamic ? 1 : 0,
    status: 'active',
    error: null,
    created_by: by,
    created_at: env.now,
    last_modified_by: by,
    last_modified_at: env.now,
    due_at: dueAfter(env.core.config.timing, 'ruleEvaluation', env.now),
  };
  await trx.insertInto('protection_rules').values(rule).execute();
  return rule;
}

/** `run` (static rules): flattens the groups again. */
export async function runRule(trx: Trx, env: Env, tenantId: string, id: string, policyId: string | undefined, by: string): Promise<RuleRow> {
  const rule = await ruleById(trx, tenantId, id, policyId);
  if (rule.is_auto_apply_enabled === 1) throw errors.runNotAllowedForDynamicRule('Run is only allowed for static rules; dynamic rules are evaluated automatically.');
  if (!transition(RULE, rule.status, 'run')) throw errors.protectionRuleActionNotAllowed(`The rule is ${rule.status}; it can run again once completed.`);
  return moveRule(trx, rule, 'run', { error: null, due_at: dueAfter(env.core.config.timing, 'ruleEvaluation', env.now), last_modified_by: by, last_modified_at: env.now });
}

/** `PATCH` (dynamic rules): a new expression, applied at the next evaluation. */
export async function updateRule(trx: Trx, env: Env, tenantId: string, id: string, policyId: string | undefined, expression: unknown, by: string): Promise<RuleRow> {
  const rule = await ruleById(trx, tenantId, id, policyId);
  if (rule.is_auto_apply_enabled !== 1) throw errors.patchNotAllowedForStaticRule('Static rules cannot be updated; create a new rule instead.');
  if (rule.status === 'deleteRequested') {
    throw errors.invalidProtectionRuleStatusForDynamicRuleEdit('The dynamic rule is being deleted (deleteRequested) and cannot be edited.');
  }
  if (!transition(RULE, rule.status, 'update')) {
    throw errors.invalidProtectionRuleStatusForUpdation(`The rule is ${rule.status}; it can be updated once completed.`);
  }
  checkExpression(expression, true);
  return moveRule(trx, rule, 'update', {
    expression: expression as string,
    error: null,
    due_at: dueAfter(env.core.config.timing, 'ruleEvaluation', env.now),
    last_modified_by: by,
    last_modified_at: env.now,
  });
}

/**
 * `DELETE`: only completed rules; the units they added stay protected. A dynamic rule's units are
 * then protected manually, so they can be removed one by one.
 */
export async function deleteRule(trx: Trx, env: Env, tenantId: string, id: string, policyId: string | undefined, by: string): Promise<void> {
  const rule = await ruleById(trx, tenantId, id, policyId);
  if (rule.status === 'deleteRequested' && rule.is_auto_apply_enabled === 1) {
    throw errors.invalidProtectionRuleStatusForDynamicRuleDeletion('The dynamic rule is already being deleted (deleteRequested).');
  }
  if (transition(RULE, rule.status, 'delete') !== 'deleted') {
    throw errors.invalidProtectionRuleStatusForDeletion(`The rule is ${rule.status}; only completed or completedWithErrors rules can be deleted.`);
  }
  if (rule.is_auto_apply_enabled === 1) {
    const units = await trx
      .selectFrom('protection_units')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('policy_id', '=', rule.policy_id)
      .execute();
    for (const u of units) {
      if ((u.protection_sources & DYNAMIC_RULE) === 0) continue;
      const sources = (u.protection_sources & ~DYNAMIC_RULE) | MANUAL;
      await trx.updateTable('protection_units').set({ protection_sources: sources, last_modified_by: by, last_modified_at: env.now }).where('tenant_id', '=', tenantId).where('id', '=', u.id).execute();
    }
  }
  await moveRule(trx, rule, 'delete');
}

/** `deleteAndUnprotect` (dynamic rules, 202): the rule's units lose the dynamicRule source, then the rule goes. */
export async function deleteAndUnprotectRule(trx: Trx, env: Env, tenantId: string, id: string, policyId: string | undefined, by: string): Promise<RuleRow> {
  const rule = await ruleById(trx, tenantId, id, policyId);
  if (rule.status === 'deleteRequested') {
    throw errors.invalidProtectionRuleStatusForDynamicRuleDeleteAndUnprotectAll('The dynamic rule is already being deleted (deleteRequested).');
  }
  if (rule.is_auto_apply_enabled !== 1) throw errors.protectionRuleActionNotAllowed('deleteAndUnprotect is only allowed for dynamic rules.');
  if (!transition(RULE, rule.status, 'deleteAndUnprotect')) {
    throw errors.invalidProtectionRuleStatusForDynamicRuleDeleteAndUnprotectAll(`The rule is ${rule.status}; it can be deleted once its evaluation completed.`);
  }
  return moveRule(trx, rule, 'deleteAndUnprotect', { due_at: dueAfter(env.core.config.timing, 'ruleEvaluation', env.now), last_modified_by: by, last_modified_at: env.now });
}

const notFoundGroup = (id: string): ErrorDetail => ({ code: 'GroupNotFound', message: `Group '${id}' was not found in the directory.`, target: id });

/** What an evaluation of the rule would change. */
export interface RulePlan {
  policy: PolicyRow;
  attach: string[];
  drop: UnitRow[];
  details: ErrorDetail[];
}

/**
 * Reads what an evaluation would do: static rules add the groups' members; dynamic rules make the
 * policy's dynamicRule units equal to the members (at most 6,000). Undefined when the policy is gone.
 */
export async function planRule(db: Executor, rule: RuleRow): Promise<RulePlan | undefined> {
  const policy = await db.selectFrom('protection_policies').selectAll().where('tenant_id', '=', rule.tenant_id).where('id', '=', rule.policy_id).executeTakeFirst();
  if (!policy) return undefined;
  const dynamic = rule.is_auto_apply_enabled === 1;
  const parsed = parseMailboxExpression(rule.expression);
  const groupIds = parsed.ok ? parsed.groupIds : [];
  const found = await existingGroups(db, rule.tenant_id, groupIds);
  const details: ErrorDetail[] = groupIds.filter((g) => !found.has(g)).map(notFoundGroup);
  let members = await memberUserIds(db, rule.tenant_id, [...found]);
  if (dynamic && members.length > MAX_DYNAMIC_USERS) {
    details.push({ code: 'ProtectionUnitsLimitBreached', message: `At most ${MAX_DYNAMIC_USERS} users can be protected through a dynamic rule; ${members.length} match.`, target: rule.id });
    members = members.slice(0, MAX_DYNAMIC_USERS);
  }
  const source = dynamic ? DYNAMIC_RULE : MANUAL;
  const units = new Map((await unitsForMailboxes(db, rule.tenant_id, members)).map((u) => [u.mailbox_id, u]));
  const attach: string[] = [];
  for (const userId of members) {
    const u = units.get(userId);
    if (u?.policy_id && u.policy_id !== policy.id) {
      details.push({ code: 'ProtectionUnitAlreadyExists', message: alreadyProtectedMessage(userId, u.policy_id), target: userId });
    } else if (!u || u.policy_id === null || ((u.protection_sources & source) === 0 && u.status !== 'removeRequested')) {
      attach.push(userId);
    }
  }
  const drop: UnitRow[] = [];
  if (dynamic) {
    const wanted = new Set(members);
    const current = await db
      .selectFrom('protection_units')
      .selectAll()
      .where('tenant_id', '=', rule.tenant_id)
      .where('policy_id', '=', policy.id)
      .where('status', '<>', 'removeRequested')
      .where(sql<number>`(protection_sources & ${DYNAMIC_RULE})`, '<>', 0)
      .execute();
    for (const u of current) if (!wanted.has(u.mailbox_id)) drop.push(u);
  }
  return { policy, attach, drop, details };
}

/** Whether evaluating the rule now would change nothing (so an idle periodic refresh costs no commit). */
export function planIsIdle(rule: RuleRow, plan: RulePlan | undefined): boolean {
  if (!plan || plan.attach.length > 0 || plan.drop.length > 0) return false;
  return rule.status === (plan.details.length ? 'completedWithErrors' : 'completed');
}

/** One evaluation of a due rule; deleteRequested rules take their units away and disappear. */
export async function evaluateRule(trx: Trx, env: Env, rule: RuleRow): Promise<void> {
  const plan = await planRule(trx, rule);
  if (!plan) {
    await trx.deleteFrom('protection_rules').where('tenant_id', '=', rule.tenant_id).where('id', '=', rule.id).execute();
    return;
  }
  if (rule.status === 'deleteRequested') {
    const units = await trx.selectFrom('protection_units').selectAll().where('tenant_id', '=', rule.tenant_id).where('policy_id', '=', plan.policy.id).execute();
    for (const u of units) if ((u.protection_sources & DYNAMIC_RULE) !== 0) await dropSource(trx, env, u, DYNAMIC_RULE, null);
    await moveRule(trx, rule, 'unprotectDone');
    await refreshPolicy(trx, env, plan.policy);
    return;
  }
  const dynamic = rule.is_auto_apply_enabled === 1;
  const details = [...plan.details];
  for (const userId of plan.attach) {
    const r = await attachMailbox(trx, env, plan.policy, userId, dynamic ? DYNAMIC_RULE : MANUAL, rule.created_by);
    if (!r.ok && !r.samePolicy) details.push({ code: r.code, message: r.message, target: userId });
  }
  for (const u of plan.drop) await dropSource(trx, env, u, DYNAMIC_RULE, null);
  const error = details.length ? JSON.stringify(publicError('ProtectionResourcesNotFound', 'Errors while resolving protection resources', details)) : null;
  const next = dynamic ? dueAfter(env.core.config.timing, 'dynamicRuleRefresh', env.now) : null;
  await moveRule(trx, rule, details.length ? 'evaluatedWithErrors' : 'evaluated', { error, due_at: next });
  await refreshPolicy(trx, env, plan.policy);
}
