import type { Store } from '../store/store.js';
import type { OffsetClock } from '../clock.js';
import type { TenantTable } from '../store/schema.js';
import type { Selectable } from 'kysely';
import { canonicalTenantId } from '../identity/tokens.js';
import { errors } from '../errors.js';

export type TenantRow = Selectable<TenantTable>;

/**
 * Tenants exist once the emulator administrator, the default tenant of a server, or `--demo` made
 * them (`create`); a token of any other tenant is refused (OrganizationFromTenantGuidNotFound). A new
 * tenant's backup service is `disabled`. Every request reads its tenant, so rows are cached; whoever
 * changes a tenant row calls `invalidate` after the write. On PostgreSQL other nodes may change the
 * row, so the cache holds for a second only.
 */
export class Tenants {
  private cache = new Map<string, { row: TenantRow; at: number }>();
  /** Bumped by `invalidate`, so a read that raced with a change is not cached. */
  private generation = 0;
  private readonly ttlMs: number;

  constructor(private readonly store: Store, private readonly clock: OffsetClock) {
    this.ttlMs = store.dialect === 'sqlite' ? Number.POSITIVE_INFINITY : 1000;
  }

  /** Creates the tenant unless it exists; true when this call created it. */
  async create(tenantId: string, displayName = 'Contoso'): Promise<boolean> {
    const id = canonicalTenantId(tenantId);
    if (!id) throw new Error(`invalid tenant id: ${tenantId}`);
    const now = this.clock.now().toISOString();
    const inserted = await this.store.write((trx) =>
      trx
        .insertInto('tenants')
        .values({
          id,
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
        .executeTakeFirst(),
    );
    this.invalidate(id);
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Whether the tenant exists (cached once seen). */
  async exists(tenantId: string): Promise<boolean> {
    return (await this.find(tenantId)) !== undefined;
  }

  /** The tenant's row; a tenant that does not exist is refused as Graph refuses its tokens. */
  async get(tenantId: string): Promise<TenantRow> {
    const row = await this.find(tenantId);
    if (!row) throw tenantNotFound(tenantId);
    return row;
  }

  /** Every tenant, oldest first. */
  list(): Promise<TenantRow[]> {
    return this.store.db.selectFrom('tenants').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  private async find(tenantId: string): Promise<TenantRow | undefined> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.row;
    const generation = this.generation;
    const row = await this.read(tenantId);
    if (row && generation === this.generation) this.cache.set(tenantId, { row, at: Date.now() });
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

/** Graph's answer to a token whose tenant does not exist. */
export function tenantNotFound(tenantId: string) {
  return errors.tenantNotFound(`The tenant for tenant guid '${tenantId}' does not exist.`);
}
