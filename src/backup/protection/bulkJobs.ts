/**
 * Mailbox protection units bulk addition jobs (spec §7.6, §8.5): SMTP addresses and directory object
 * ids resolved against the directory when the job runs; what does not resolve is reported in the
 * job's error (EmailNotFound, target = the address), the rest is added to the policy as manual units.
 */
import type { Trx } from '../../store/store.js';
import type { Executor } from './directory.js';
import { errors, publicError, type ErrorDetail } from '../../errors.js';
import { BULK_JOB, transition } from './machines.js';
import { dueAfter } from './timing.js';
import { newId, type Env } from './env.js';
import { usersByAddresses, usersByIds } from './directory.js';
import { MANUAL, attachMailbox } from './units.js';
import { policyById, refreshPolicy } from './policies.js';
import type { BulkJobRow } from './wire.js';

export const MAX_BULK_JOB_RESOURCES = 50_000;

export async function bulkJobById(db: Executor, tenantId: string, id: string, policyId?: string): Promise<BulkJobRow> {
  let q = db.selectFrom('protection_bulk_jobs').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
  if (policyId) q = q.where('policy_id', '=', policyId);
  const row = await q.executeTakeFirst();
  if (!row) throw errors.itemNotFound(`The bulk addition job '${id}' was not found.`);
  return row;
}

export async function createBulkJob(
  trx: Trx,
  env: Env,
  tenantId: string,
  policyId: string,
  input: { displayName: string | null; mailboxes: string[]; directoryObjectIds: string[] },
  by: string,
): Promise<BulkJobRow> {
  await policyById(trx, tenantId, policyId);
  const job: BulkJobRow = {
    tenant_id: tenantId,
    id: newId(),
    policy_id: policyId,
    kind: 'mailbox',
    display_name: input.displayName,
    mailboxes: JSON.stringify(input.mailboxes),
    directory_object_ids: JSON.stringify(input.directoryObjectIds),
    status: 'active',
    error: null,
    created_by: by,
    created_at: env.now,
    last_modified_by: by,
    last_modified_at: env.now,
    due_at: dueAfter(env.core.config.timing, 'bulkJob', env.now),
  };
  await trx.insertInto('protection_bulk_jobs').values(job).execute();
  return job;
}

/** Resolves and adds everything a due job names, then completes it. */
export async function runBulkJob(trx: Trx, env: Env, job: BulkJobRow): Promise<void> {
  const policy = await trx.selectFrom('protection_policies').selectAll().where('tenant_id', '=', job.tenant_id).where('id', '=', job.policy_id).executeTakeFirst();
  if (!policy) return;
  const mailboxes = JSON.parse(job.mailboxes) as string[];
  const ids = JSON.parse(job.directory_object_ids) as string[];
  const byAddress = await usersByAddresses(trx, job.tenant_id, mailboxes);
  const byId = await usersByIds(trx, job.tenant_id, ids);
  const details: ErrorDetail[] = [];
  const userIds = new Map<string, string>();
  for (const address of mailboxes) {
    const user = byAddress.get(address.toLowerCase());
    if (user) userIds.set(user.id, address);
    else details.push({ code: 'EmailNotFound', message: `Email address '${address}' not found in directory`, target: address });
  }
  for (const id of ids) {
    if (byId.has(id)) userIds.set(id, id);
    else details.push({ code: 'DirectoryObjectNotFound', message: `Directory object '${id}' not found in directory`, target: id });
  }
  for (const [userId, target] of userIds) {
    const r = await attachMailbox(trx, env, policy, userId, MANUAL, job.created_by);
    if (!r.ok && !r.samePolicy) details.push({ code: r.code, message: r.message, target });
  }
  const event = details.length ? 'resolvedWithErrors' : 'resolved';
  const next = transition(BULK_JOB, job.status, event);
  if (!next || next === 'deleted') throw new Error(`bulk job ${job.id}: ${event} not allowed in ${job.status}`);
  await trx
    .updateTable('protection_bulk_jobs')
    .set({
      status: next,
      due_at: null,
      error: details.length ? JSON.stringify(publicError('ProtectionResourcesNotFound', 'Errors while resolving protection resources', details)) : null,
    })
    .where('tenant_id', '=', job.tenant_id)
    .where('id', '=', job.id)
    .execute();
  await refreshPolicy(trx, env, policy);
}
