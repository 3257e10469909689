import type { Store } from '../store/store.js';
import type { OffsetClock } from '../clock.js';

/** Tenants exist from the first request with their `tid`: a new tenant's backup service is `disabled`. */
export class Tenants {
  private known = new Set<string>();
  constructor(private readonly store: Store, private readonly clock: OffsetClock) {}

  async ensure(tenantId: string, displayName = 'Contoso'): Promise<void> {
    if (this.known.has(tenantId)) return;
    const row = await this.store.db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!row) {
      const now = this.clock.now().toISOString();
      await this.store.write((trx) =>
        trx
          .insertInto('tenants')
          .values({
            id: tenantId,
            display_name: displayName,
            created_at: now,
            service_status: 'disabled',
            disable_reason: 'none',
            backup_service_consumer: 'unknown',
            app_owner_tenant_id: null,
            status_modified_at: null,
            status_modified_by: null,
            locked_at: null,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute(),
      );
    }
    this.known.add(tenantId);
  }
}
