import type { Store, Trx } from '../../store/store.js';
import type { SessionRow } from './wire.js';

/**
 * Session rows read by id, kept by the server in the embedded SQLite mode, where this process is the
 * only writer. A write that changes or deletes a session row calls `changed` in its transaction, and
 * the row is forgotten as soon as that transaction ends, before the write is acknowledged: a read
 * after the acknowledgement never finds the old row. A read that began before such an end is not
 * kept (the generation moved on meanwhile). With PostgreSQL other nodes write too, so nothing is kept.
 */
export class SessionCache {
  private readonly rows = new Map<string, SessionRow>();
  private generation = 0;
  private readonly enabled: boolean;

  constructor(private readonly store: Store, private readonly max = 10_000) {
    this.enabled = store.dialect === 'sqlite';
  }

  get(tenantId: string, id: string): SessionRow | undefined {
    return this.rows.get(key(tenantId, id));
  }

  /** Call before reading a row from the store; hand the result to `keep`. */
  readStarts(): number {
    return this.generation;
  }

  /** Keeps a row read from the store, unless a session changed since the read started. */
  keep(tenantId: string, id: string, row: SessionRow, readStarted: number): void {
    if (!this.enabled || readStarted !== this.generation) return;
    if (this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value as string);
    this.rows.set(key(tenantId, id), Object.freeze(row));
  }

  /** The session's row is changed or deleted by this write. */
  changed(trx: Trx, tenantId: string, id: string): void {
    if (!this.enabled) return;
    this.store.afterTransaction(trx, () => {
      this.generation++;
      this.rows.delete(key(tenantId, id));
    });
  }
}

const key = (tenantId: string, id: string) => tenantId + '\u0000' + id;
