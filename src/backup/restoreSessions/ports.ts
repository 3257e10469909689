/**
 * What restore sessions use of the other areas, handed to them by app.ts: the vault (restore points,
 * searches), mail (the directory), protection (the tenant's service status) and the engine's job
 * queue (one restore job per artifact of an activated session).
 */
import type { Trx } from '../../store/store.js';
import type { VaultService } from '../../vault/service.js';
import type { MailService } from '../../mail/service.js';
import type { NewJob } from '../../engine/jobs.js';

export type { RestorePoint } from '../../vault/service.js';

export interface RestoreJobs {
  /** Queues jobs in the caller's transaction. */
  enqueue(trx: Trx, jobs: NewJob[]): Promise<void>;
  /** Starts on queued jobs now rather than at the next poll; never fails. */
  wake(): void;
}

export interface SessionsUses {
  vault: VaultService;
  mail: MailService;
  protection: { serviceStatus(tenantId: string): Promise<string | undefined> };
  jobs: RestoreJobs;
}
