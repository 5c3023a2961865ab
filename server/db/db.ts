/**
 * The one storage interface. Both back ends (PGlite in-process, a PostgreSQL server through
 * `postgres`) speak the same SQL dialect with `$1`-style parameters.
 */
export interface Queryable {
  /** Run one statement with parameters and return its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Run a script of several statements without parameters. */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly dialect: 'pglite' | 'postgres';
  /** True when the `vector` extension is installed and the vector table exists. */
  hasVector: boolean;
  /** Connections the pool may open (postgres.js `max`); absent = one (PGlite), for /metrics. */
  readonly poolSize?: number;
  /** Run `fn` in one transaction; it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
