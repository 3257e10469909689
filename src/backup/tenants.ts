import type { Store } from '../store/store.js';
import type { OffsetClock } from '../clock.js';
import type { TenantTable } from '../store/schema.js';
import type { Selectable } from 'kysely';

export type TenantRow = Selectable<TenantTable>;

/**
 * Tenants exist from the first request with their `tid`: a new tenant's backup service is `disabled`.
 * Every request reads its tenant, so rows are cached; whoever changes a tenant row calls `invalidate`
 * after the write. On PostgreSQL other nodes may change the row, so the cache holds for a second only.
 */
export class Tenants {
  private cache = new Map<string, { row: TenantRow; at: number }>();
  /** Bumped by `invalidate`, so a read that raced with a change is not cached. */
  private generation = 0;
  private readonly ttlMs: number;

  constructor(private readonly store: Store, private readonly clock: OffsetClock) {
    this.ttlMs = store.dialect === 'sqlite' ? Number.POSITIVE_INFINITY : 1000;
  }

  async ensure(tenantId: string, displayName = 'Contoso'): Promise<void> {
    await this.get(tenantId, displayName);
  }

  /** The tenant's row, created on first sight. */
  async get(tenantId: string, displayName = 'Contoso'): Promise<TenantRow> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.row;
    const generation = this.generation;
    let row = await this.read(tenantId);
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
      row = (await this.read(tenantId))!;
    }
    if (generation === this.generation) this.cache.set(tenantId, { row, at: Date.now() });
    return row;
  }

  /** The cached row, if it is current; no I/O. */
  peek(tenantId: string): TenantRow | undefined {
    const hit = this.cache.get(tenantId);
    return hit !== undefined && Date.now() - hit.at < this.ttlMs ? hit.row : undefined;
  }

  isCached(tenantId: string): boolean {
    const hit = this.cache.get(tenantId);
    return hit !== undefined && Date.now() - hit.at < this.ttlMs;
  }

  /** Forget the cached row after changing it. */
  invalidate(tenantId: string): void {
    this.generation++;
    this.cache.delete(tenantId);
  }

  private read(tenantId: string): Promise<TenantRow | undefined> {
    return this.store.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
  }
}
