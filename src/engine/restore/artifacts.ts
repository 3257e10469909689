/**
 * Artifact status changes, only along the restore sessions' artifact transition table, each followed
 * (in the same transaction) by the one derivation of the session's status and counts.
 */
import type { Updateable } from 'kysely';
import type { Trx } from '../../store/store.js';
import type { RestoreArtifactTable } from '../../store/schema.js';
import { canMoveArtifact, type ArtifactStatus } from '../../backup/restoreSessions/states.js';
import type { RestoreEnv } from '../ports.js';

export interface ArtifactKey {
  tenantId: string;
  id: string;
  sessionId: string;
}

export async function moveArtifact(
  env: RestoreEnv,
  trx: Trx,
  a: ArtifactKey,
  to: ArtifactStatus,
  fields: Omit<Updateable<RestoreArtifactTable>, 'status'> = {},
): Promise<void> {
  const row = await trx.selectFrom('restore_artifacts').select('status').where('tenant_id', '=', a.tenantId).where('id', '=', a.id).executeTakeFirst();
  if (!row) throw new Error(`artifact ${a.id} does not exist`);
  if (!canMoveArtifact(row.status, to)) throw new Error(`artifact ${a.id} cannot move from ${row.status} to ${to}`);
  await trx.updateTable('restore_artifacts').set({ ...fields, status: to }).where('tenant_id', '=', a.tenantId).where('id', '=', a.id).execute();
  await env.sessions.refreshSession(trx, a.tenantId, a.sessionId);
}

/** The artifact's status as this transaction sees it. */
export async function artifactStatus(trx: Trx, a: ArtifactKey): Promise<string | undefined> {
  const row = await trx.selectFrom('restore_artifacts').select('status').where('tenant_id', '=', a.tenantId).where('id', '=', a.id).executeTakeFirst();
  return row?.status;
}
