/**
 * The control plane's scheduled work, run on every scheduler tick with the injected clock: service
 * apps reaching their effective time, locks expiring, units, policies, rules and bulk jobs whose
 * transition is due. Each step first reads whether anything is due, so an idle tick commits nothing.
 */
import type { Core } from '../../core.js';
import { protectionWrite } from './env.js';
import { settleDueServiceApps } from './serviceApps.js';
import { expireLocks } from './serviceStatus.js';
import { settleDueUnits } from './units.js';
import { refreshPolicies } from './policies.js';
import { evaluateRule, planIsIdle, planRule } from './rules.js';
import { runBulkJob } from './bulkJobs.js';
import { RESTORE_LOCK_AFTER_MS } from './timing.js';
import type { RuleRow } from './wire.js';

const BATCH = 1000;

export async function protectionTick(core: Core, now: Date): Promise<void> {
  const at = now.toISOString();
  const db = core.store.db;
  const lockLimit = new Date(now.getTime() - RESTORE_LOCK_AFTER_MS).toISOString();
  const [apps, locks, units, policies] = await Promise.all([
    db.selectFrom('service_apps').select('id').where('pending_status', 'is not', null).where('effective_at', '<=', at).limit(1).executeTakeFirst(),
    db.selectFrom('tenants').select('id').where('service_status', '=', 'protectionChangeLocked').where('locked_at', '<=', lockLimit).limit(1).executeTakeFirst(),
    db.selectFrom('protection_units').select('id').where('due_at', '<=', at).limit(1).executeTakeFirst(),
    db.selectFrom('protection_policies').select('id').where('due_at', '<=', at).limit(1).executeTakeFirst(),
  ]);
  if (apps || locks) {
    await protectionWrite(core, async (trx, env) => {
      await settleDueServiceApps(trx, env);
      await expireLocks(trx, env);
    });
  }
  if (units || policies) {
    let more = true;
    while (more) {
      more = await protectionWrite(core, async (trx, env) => {
        const settled = await settleDueUnits(trx, env, BATCH);
        await refreshPolicies(trx, env, settled.policies);
        return settled.count === BATCH;
      });
    }
  }
  await runDueRules(core, at);
  await runDueBulkJobs(core, at);
}

/** Rules and jobs add and remove units, which a locked or disabled service refuses: they wait. */
async function runDueRules(core: Core, at: string): Promise<void> {
  const due = await core.store.db
    .selectFrom('protection_rules as r')
    .innerJoin('tenants as t', 't.id', 'r.tenant_id')
    .selectAll('r')
    .where('r.due_at', '<=', at)
    .where('t.service_status', '=', 'enabled')
    .orderBy('r.due_at')
    .execute();
  const work: RuleRow[] = [];
  for (const rule of due) {
    if (core.config.timing === 'instant' && planIsIdle(rule, await planRule(core.store.db, rule))) continue;
    work.push(rule);
  }
  if (work.length === 0) return;
  await protectionWrite(core, async (trx, env) => {
    for (const rule of work) {
      const current = await trx.selectFrom('protection_rules').selectAll().where('tenant_id', '=', rule.tenant_id).where('id', '=', rule.id).executeTakeFirst();
      if (current && current.due_at !== null && current.due_at <= env.now) await evaluateRule(trx, env, current);
    }
  });
}

async function runDueBulkJobs(core: Core, at: string): Promise<void> {
  const due = await core.store.db
    .selectFrom('protection_bulk_jobs as j')
    .innerJoin('tenants as t', 't.id', 'j.tenant_id')
    .select(['j.tenant_id', 'j.id'])
    .where('j.due_at', '<=', at)
    .where('j.status', '=', 'active')
    .where('t.service_status', '=', 'enabled')
    .orderBy('j.due_at')
    .execute();
  for (const { tenant_id, id } of due) {
    await protectionWrite(core, async (trx, env) => {
      const job = await trx.selectFrom('protection_bulk_jobs').selectAll().where('tenant_id', '=', tenant_id).where('id', '=', id).executeTakeFirst();
      if (job && job.status === 'active') await runBulkJob(trx, env, job);
    });
  }
}
