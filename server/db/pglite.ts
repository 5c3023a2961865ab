import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Db, Queryable } from './db.js';

export interface PgliteOptions {
  /** Data directory; undefined = in memory (lost on close). */
  dataDir?: string;
  /**
   * A `pgliteTemplate()` tarball to start an in-memory database from. Tests use it: loading one
   * takes ~1.5 s where a fresh initdb takes ~3.5 s.
   */
  loadDataDir?: Blob;
}

// One string with newlines: PGlite writes it verbatim as postgresql.conf (an array is joined with
// spaces). 256 MB of buffers holds a 100k-chunk index; without the WAL cap, WAL grew to ~600 MB
// while loading 100k rows (shared/notes/storage.md).
const POSTGRESQL_CONF = ['shared_buffers = 256MB', 'max_wal_size = 64MB'].join('\n') + '\n';

// Row shapes shared with postgres.ts: int8 -> number (ids and counts stay far below 2^53; PGlite
// alone would switch to BigInt above it), numeric -> string (exact), date/timestamp/timestamptz ->
// Date, json/jsonb -> parsed value, arrays -> JS arrays, unknown types (vector) -> text.
const PARSERS = { [types.INT8]: (value: string) => Number(value) };

/** A PGlite with this project's extensions, settings and row parsers (also used by pglite-worker.ts). */
export function createPglite(opts: PgliteOptions): Promise<PGlite> {
  return PGlite.create({
    dataDir: opts.dataDir,
    loadDataDir: opts.loadDataDir,
    extensions: { vector, pg_trgm, btree_gin },
    postgresqlconf: POSTGRESQL_CONF,
    parsers: PARSERS,
  });
}

function queryable(target: PGlite | Transaction): Queryable {
  return {
    async query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []) {
      const result = await target.query<T>(sql, [...params]);
      return result.rows;
    },
    async exec(sql: string) {
      await target.exec(sql);
    },
  };
}

/**
 * Open the embedded PostgreSQL (PGlite, PostgreSQL 18 in WASM) with `vector`, `pg_trgm` and
 * `btree_gin` available to `CREATE EXTENSION`. A new data directory takes 3–7 s, a reopen ~1 s.
 * Each statement runs on the calling thread and blocks the event loop while it runs.
 * The caller must hold a lock on `dataDir`: PGlite does not stop a second process from opening it.
 */
export async function openPglite(opts: PgliteOptions = {}): Promise<Db> {
  const pg = await createPglite(opts);
  return {
    dialect: 'pglite',
    hasVector: false,
    ...queryable(pg),
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pg.transaction(async (tx) => {
        // Like postgres.js: once a statement failed, the transaction fails with that error even
        // if fn caught it. (PGlite alone would COMMIT the aborted transaction, which PostgreSQL
        // turns into a silent ROLLBACK, and resolve.)
        let failure: { error: unknown } | undefined;
        const remember = <R>(p: Promise<R>) =>
          p.catch((error: unknown) => {
            failure ??= { error };
            throw error;
          });
        const inner = queryable(tx);
        const result = await fn({
          query: (sql, params) => remember(inner.query(sql, params)),
          exec: (sql) => remember(inner.exec(sql)),
        });
        if (failure) throw failure.error;
        return result;
      });
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}

/** A dump of a freshly initialized in-memory database, for `openPglite({ loadDataDir })`. */
export async function pgliteTemplate(): Promise<Blob> {
  const pg = await createPglite({});
  try {
    // 'none': the 40 MB tarball is loaded in-process, gzip would only cost time (~0.3 s).
    return await pg.dumpDataDir('none');
  } finally {
    await pg.close();
  }
}
