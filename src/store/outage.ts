/**
 * PostgreSQL going away (a restart, a failover, the network): every failure to reach it surfaces as a
 * `DatabaseUnavailable`, which the HTTP layer answers 503 with Retry-After, and on which periodic work
 * (the scheduler, the job worker) backs off instead of logging each attempt. Nothing is retried
 * here: a request fails at once, and the pool connects anew on the next request once the server is
 * back. SQLite has no such outage and never passes through this module.
 */
import pg from 'pg';
import { PostgresDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';

/** What a client is told to wait before trying again (seconds). */
export const RETRY_AFTER_SECONDS = 5;

export class DatabaseUnavailable extends Error {
  override readonly name = 'DatabaseUnavailable';
  constructor(readonly reason: unknown) {
    super(`the database is unavailable: ${(reason as Error)?.message ?? String(reason)}`);
  }
}

/** Socket errors of a connection that could not be made or was lost. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** SQLSTATEs of a server that is going down, restarting or not yet accepting work (class 08 is the connection's own). */
const SERVER_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** What `pg` and `pg-pool` throw, as plain Errors, for a lost or unobtainable connection. */
const LOST = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed and is not queryable)/;

/** Is this a failure to reach the database rather than an answer from it? */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof DatabaseUnavailable) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SERVER_STATES.has(code) || code.startsWith('08'))) return true;
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure);
  return LOST.test(error.message);
}

/**
 * Whether the database is away: logs once when a connection is lost or cannot be made, and once when
 * a new connection is made after that, so an outage costs two lines however many requests and ticks
 * meet it. (A query answered on an older connection says nothing: while the server goes down, one
 * connection may still answer after another was cut.)
 */
export class Availability {
  private downSince: number | undefined;

  constructor(private readonly log: (message: string) => void) {}

  /** The error to throw for `error`: a `DatabaseUnavailable` when the database could not be reached. */
  failed(error: unknown): unknown {
    if (error instanceof DatabaseUnavailable) return error;
    if (!isConnectionFailure(error)) return error;
    if (this.downSince === undefined) {
      this.downSince = Date.now();
      this.log(`PostgreSQL is unavailable (${(error as Error).message}): requests answer 503 and scheduled work waits until it is back`);
    }
    return new DatabaseUnavailable(error);
  }

  connected(): void {
    if (this.downSince === undefined) return;
    const seconds = ((Date.now() - this.downSince) / 1000).toFixed(1);
    this.downSince = undefined;
    this.log(`PostgreSQL is back after ${seconds} s`);
  }
}

/**
 * The PostgreSQL pool and Kysely dialect: a connection lost while idle or in use is dropped, never
 * left to end the process, and every failure to connect or to run a query on a lost connection
 * becomes a `DatabaseUnavailable`.
 */
export function postgresDialect(databaseUrl: string, availability: Availability): PostgresDialect {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    // A server that does not answer at all (a host gone from the network) fails a request in 10 s
    // instead of holding it forever; a stopped server refuses at once.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  // Unheard, an 'error' event would end the process. An idle connection the server ends (a restart,
  // an administrator) is removed by the pool, which then emits 'error', and replaced on next use: no
  // request failed, so nothing is logged. A connection in use emits 'error' on its client as well as
  // failing the query in flight, and that failure is what reports an outage.
  const quiet = () => {};
  pool.on('error', quiet);
  pool.on('connect', (client) => {
    availability.connected();
    client.on('error', quiet);
  });
  class GuardedDialect extends PostgresDialect {
    override createDriver(): Driver {
      return guardedDriver(super.createDriver(), availability);
    }
  }
  return new GuardedDialect({ pool });
}

/**
 * The PostgreSQL driver with its failures to connect and to query translated. Every statement of a
 * transaction (begin, savepoints, commit) runs through the connection's `executeQuery`, so guarding
 * it and `acquireConnection` guards them all; the connection objects stay the driver's own, which it
 * marks and releases by private keys.
 */
function guardedDriver(inner: Driver, availability: Availability): Driver {
  const guarded = new WeakSet<DatabaseConnection>();
  const failed = (error: unknown): never => {
    throw availability.failed(error);
  };
  const driver: Driver = {
    init: () => inner.init(),
    async acquireConnection() {
      const connection = await inner.acquireConnection().catch(failed);
      if (!guarded.has(connection)) {
        const execute = connection.executeQuery.bind(connection);
        connection.executeQuery = <R>(query: CompiledQuery): Promise<QueryResult<R>> => execute<R>(query).catch(failed);
        guarded.add(connection);
      }
      return connection;
    },
    beginTransaction: (connection, settings) => inner.beginTransaction(connection, settings),
    commitTransaction: (connection) => inner.commitTransaction(connection),
    rollbackTransaction: (connection) => inner.rollbackTransaction(connection),
    releaseConnection: (connection) => inner.releaseConnection(connection),
    destroy: () => inner.destroy(),
  };
  if (inner.savepoint) driver.savepoint = inner.savepoint.bind(inner);
  if (inner.rollbackToSavepoint) driver.rollbackToSavepoint = inner.rollbackToSavepoint.bind(inner);
  if (inner.releaseSavepoint) driver.releaseSavepoint = inner.releaseSavepoint.bind(inner);
  return driver;
}

/**
 * Backing off periodic work while the database is unavailable: after a failure the next turn waits
 * 0.5 s, then twice as long each failure again, up to RETRY_AFTER_SECONDS; a success ends it.
 */
export class Backoff {
  private delay = 0;
  private until = 0;

  /** Is this turn to be skipped? */
  waiting(): boolean {
    return this.delay !== 0 && Date.now() < this.until;
  }

  failed(): void {
    this.delay = this.delay === 0 ? 500 : Math.min(this.delay * 2, RETRY_AFTER_SECONDS * 1000);
    this.until = Date.now() + this.delay;
  }

  succeeded(): void {
    this.delay = 0;
  }
}
