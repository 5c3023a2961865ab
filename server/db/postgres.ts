import postgres from 'postgres';
import type { Db, Queryable } from './db.js';

export interface PostgresOptions {
  /** Pool size; default 10 (postgres.js default; PostgreSQL's default max_connections is 100). */
  max?: number;
  /** Where server notices go (e.g. "extension already exists, skipping"); default: dropped. */
  onNotice?: (message: string) => void;
}

// Row shapes shared with pglite.ts: int8 -> number (ids and counts stay far below 2^53), numeric
// -> string (postgres.js default, exact), date/timestamp/timestamptz -> Date, json/jsonb ->
// parsed value, arrays -> JS arrays, unknown types (vector) -> text.
const INT8 = 20;
const int8AsNumber: postgres.PostgresType<number | bigint> = {
  to: INT8,
  from: [INT8],
  serialize: (value: number | bigint) => String(value),
  parse: (raw: string) => Number(raw),
};

// json/jsonb parameters: a string is taken as JSON text already (as PGlite takes it), an object
// is serialized. postgres.js's default would encode a string a second time, storing a JSON string.
const JSON_OIDS = [114, 3802];
const jsonText: postgres.PostgresType<unknown> = {
  to: 114,
  from: JSON_OIDS,
  serialize: (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value)),
  parse: (raw: string) => JSON.parse(raw) as unknown,
};

type Sql = postgres.Sql | postgres.TransactionSql;
// postgres.js types parameters by its own value union; ours are `unknown` by interface.
type Params = Parameters<postgres.Sql['unsafe']>[1];

function queryable(sql: Sql): Queryable {
  return {
    async query<T = Record<string, unknown>>(text: string, params: readonly unknown[] = []) {
      // unsafe() with prepare off (its default): no per-connection statement cache to grow with
      // ad hoc SQL, and it works behind PgBouncer in transaction mode (Supabase, Neon poolers).
      const rows = await sql.unsafe(text, params as Params);
      // A plain array, so rows compare equal to PGlite's (postgres.js returns an Array subclass).
      return Array.from(rows) as T[];
    },
    async exec(script: string) {
      // No parameters: postgres.js uses the simple protocol, which runs several statements.
      await sql.unsafe(script);
    },
  };
}

/**
 * Connect to a PostgreSQL server (15 or newer) through a postgres.js pool. Resolves once one
 * connection works, so a bad URL or a server that is down fails here rather than on first use.
 */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Db> {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: (notice) => opts.onNotice?.(String(notice.message)),
    types: { int8AsNumber, json: jsonText },
    connection: { application_name: 'twinmcp' },
  });
  try {
    await sql.unsafe('SELECT 1');
  } catch (err) {
    await sql.end({ timeout: 1 });
    throw err;
  }
  return {
    dialect: 'postgres',
    hasVector: false,
    poolSize: opts.max ?? 10,
    ...queryable(sql),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return (await sql.begin((tx) => fn(queryable(tx)))) as T;
    },
    async close() {
      // 5 s for in-flight queries to finish before connections are cut.
      await sql.end({ timeout: 5 });
    },
  };
}
