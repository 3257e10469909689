import type { Store, Trx } from '../../store/store.js';
import type { SessionRow } from './wire.js';
import { BoundedMap } from '../../boundedMap.js';

/**
 * Session rows read by id, kept by the server in the embedded SQLite mode, where this process is the
 * only writer. A write that changes or deletes a session row calls `changed` in its transaction, and
 * the row is forgotten as soon as that transaction ends, before the write is acknowledged: a read
 * after the acknowledgement never finds the old row. A read that began before such an end is not
 * kept (the generation moved on meanwhile). With PostgreSQL other nodes write too, so nothing is kept.
 *
 * A row is kept on its second read: sessions are polled, while a walk over many sessions, each read
 * once, would only churn the cache (each kept row outlives young-generation GCs and is later dropped).
 * Bounded by a BoundedMap (two generations).
 */
export class SessionCache {
  private readonly rows: BoundedMap<string, SessionRow>;
  /** Keys read once since the last time this filled up. */
  private readOnce = new Set<string>();
  private generation = 0;
  private readonly enabled: boolean;

  constructor(private readonly store: Store, private readonly max = 10_000) {
    this.enabled = store.dialect === 'sqlite';
    this.rows = new BoundedMap(max);
  }

  /** The key of a session in the cache; made once per read, as hashing it is a good part of a lookup. */
  key(tenantId: string, id: string): string {
    return tenantId + '\u0000' + id;
  }

  get(k: string): SessionRow | undefined {
    return this.rows.get(k);
  }

  /** Call before reading a row from the store; hand the result to `keep`. */
  readStarts(): number {
    return this.generation;
  }

  /** Keeps a row read from the store the second time, unless a session changed since the read started. */
  keep(k: string, row: SessionRow, readStarted: number): void {
    if (!this.enabled || readStarted !== this.generation) return;
    if (!this.readOnce.delete(k)) {
      if (this.readOnce.size >= this.max) this.readOnce.clear();
      this.readOnce.add(k);
      return;
    }
    this.rows.set(k, Object.freeze(row));
  }

  /** The session's row is changed or deleted by this write. */
  changed(trx: Trx, tenantId: string, id: string): void {
    if (!this.enabled) return;
    const k = this.key(tenantId, id);
    this.store.afterTransaction(trx, () => {
      this.generation++;
      this.rows.delete(k);
    });
  }
}
