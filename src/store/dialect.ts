/** Column types and small SQL differences between the two supported databases. */
export type DialectName = 'sqlite' | 'postgres';

export interface ColumnTypes {
  /** Auto-incrementing 64-bit primary key column definition. */
  serial: string;
  blob: string;
  bigint: string;
}

export function columnTypes(dialect: DialectName): ColumnTypes {
  return dialect === 'sqlite'
    ? { serial: 'integer primary key autoincrement', blob: 'blob', bigint: 'integer' }
    : { serial: 'bigserial primary key', blob: 'bytea', bigint: 'bigint' };
}
