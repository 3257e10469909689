/**
 * One unit of control-plane work: a durable write with the clock read once, the protection changes
 * it makes (emitted in the same transaction, contract of core.events.protectionChanged) and the
 * tenants whose service status it changed (their cached rows are dropped after the commit).
 */
import crypto from 'node:crypto';
import type { Core, ProtectionChange } from '../../core.js';
import type { Trx } from '../../store/store.js';

export interface Env {
  core: Core;
  /** ISO time of this piece of work (the injected clock). */
  now: string;
  changes: ProtectionChange[];
  tenantsChanged: Set<string>;
}

export function protectionWrite<T>(core: Core, fn: (trx: Trx, env: Env) => Promise<T>): Promise<T> {
  const tenantsChanged = new Set<string>();
  return core.store
    .write(async (trx) => {
      const env: Env = { core, now: core.clock.now().toISOString(), changes: [], tenantsChanged };
      const result = await fn(trx, env);
      await core.events.protectionChanged.emit(trx, env.changes);
      return result;
    })
    .finally(() => {
      for (const t of tenantsChanged) invalidateTenant(core, t);
    });
}

/** Drops a cached tenant row, where the tenant registry caches them. */
export function invalidateTenant(core: Core, tenantId: string): void {
  core.tenants.invalidate(tenantId);
}

export const newId = (): string => crypto.randomUUID();
