/**
 * One part of a transaction that may fail on its own: run in a savepoint, so that on failure its
 * changes are undone and the transaction goes on (on PostgreSQL a failed statement otherwise aborts
 * the whole transaction). The restore uses it to set a bad item aside instead of losing its batch.
 */
import { sql } from 'kysely';
import type { Trx } from '../../store/store.js';

export type Attempt<T> = { value: T } | { error: unknown };

export async function attempt<T>(trx: Trx, name: string, fn: () => Promise<T>): Promise<Attempt<T>> {
  await sql.raw(`savepoint ${name}`).execute(trx);
  try {
    const value = await fn();
    await sql.raw(`release savepoint ${name}`).execute(trx);
    return { value };
  } catch (error) {
    await sql.raw(`rollback to savepoint ${name}`).execute(trx);
    await sql.raw(`release savepoint ${name}`).execute(trx);
    return { error };
  }
}
