/**
 * What other areas ask the protection area, at `core.services.protection`. Every method takes an
 * optional executor so it can be called inside a write transaction (pass the `trx`).
 */
import type { Core } from '../../core.js';
import type { Executor } from './directory.js';
import { usersByIds } from './directory.js';
import { serviceStatusOf } from './serviceStatus.js';
import { unitWire, type UnitRow, type Wire } from './wire.js';

export interface UnitSummary {
  id: string;
  mailboxId: string;
  directoryObjectId: string;
  /** Null when the unit was removed from its policy. */
  policyId: string | null;
  /** protectionUnitStatus member */
  status: string;
  /** Whether the mailbox is being captured (from `protectedSince` on). */
  protected: boolean;
  protectedSince: string | null;
}

export interface ProtectionService {
  /**
   * The unit as Graph shows it (`@odata.type` #microsoft.graph.mailboxProtectionUnit), or undefined
   * for unknown ids and other tenants' units. displayName / email only when `delegated`.
   */
  getUnit(tenantId: string, unitId: string, o?: { delegated?: boolean; version?: 'v1.0' | 'beta'; db?: Executor }): Promise<Wire | undefined>;
  /** The unit summary by id, or undefined. */
  findUnit(tenantId: string, unitId: string, db?: Executor): Promise<UnitSummary | undefined>;
  /** The units of a mailbox (at most one: a mailbox keeps its unit across policies). */
  unitsForMailbox(tenantId: string, mailboxId: string, db?: Executor): Promise<UnitSummary[]>;
  /** Units whose mailbox is being captured now, of one tenant or of all. */
  protectedUnits(tenantId?: string, db?: Executor): Promise<Array<UnitSummary & { tenantId: string }>>;
  /** The tenant's backupServiceStatus member: disabled, enabled, protectionChangeLocked, restoreLocked. */
  serviceStatus(tenantId: string, db?: Executor): Promise<string>;
}

function summary(r: UnitRow): UnitSummary & { tenantId: string } {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    mailboxId: r.mailbox_id,
    directoryObjectId: r.directory_object_id,
    policyId: r.policy_id,
    status: r.status,
    protected: r.protected_since !== null,
    protectedSince: r.protected_since,
  };
}

export function protectionService(core: Core): ProtectionService {
  const reader = (db?: Executor) => db ?? core.store.db;
  return {
    async getUnit(tenantId, unitId, o = {}) {
      const db = reader(o.db);
      const row = await db.selectFrom('protection_units').selectAll().where('tenant_id', '=', tenantId).where('id', '=', unitId).executeTakeFirst();
      if (!row) return undefined;
      const user = o.delegated ? (await usersByIds(db, tenantId, [row.mailbox_id])).get(row.mailbox_id) : undefined;
      return unitWire(row, { version: o.version ?? 'v1.0', delegated: o.delegated === true, user });
    },
    async findUnit(tenantId, unitId, db) {
      const row = await reader(db).selectFrom('protection_units').selectAll().where('tenant_id', '=', tenantId).where('id', '=', unitId).executeTakeFirst();
      return row ? summary(row) : undefined;
    },
    async unitsForMailbox(tenantId, mailboxId, db) {
      const rows = await reader(db).selectFrom('protection_units').selectAll().where('tenant_id', '=', tenantId).where('mailbox_id', '=', mailboxId).execute();
      return rows.map(summary);
    },
    async protectedUnits(tenantId, db) {
      let q = reader(db).selectFrom('protection_units').selectAll().where('protected_since', 'is not', null);
      if (tenantId) q = q.where('tenant_id', '=', tenantId);
      return (await q.orderBy('tenant_id').orderBy('id').execute()).map(summary);
    },
    async serviceStatus(tenantId, db) {
      // Outside a transaction the tenant registry's cached row is current (changes invalidate it).
      return db ? serviceStatusOf(reader(db), tenantId) : (await core.tenants.get(tenantId)).service_status;
    },
  };
}
