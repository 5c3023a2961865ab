import type { Db } from '../../server/db/db.js';
import { openPglite, pgliteTemplate } from '../../server/db/pglite.js';
import { openPgliteThread } from '../../server/db/pglite-thread.js';
import { openPostgres } from '../../server/db/postgres.js';
import { sharedPostgresServer } from './pg-server.js';

export type BackendName = 'pglite' | 'postgres';

export interface BackendContext {
  /** The suite's database; valid from its `before` hooks on. */
  db: () => Db;
  name: BackendName;
}

export interface BackendOptions {
  /** Runs once after the database opens, e.g. the schema migration. */
  setup?: (db: Db) => Promise<void>;
}

const ALL: readonly BackendName[] = ['pglite', 'postgres'];

/**
 * The back ends to test: both, unless `TWINMCP_TEST_BACKENDS` (comma-separated) narrows them;
 * under `CI=true` always both, so CI never skips PostgreSQL.
 */
export function selectedBackends(): BackendName[] {
  const raw = process.env.TWINMCP_TEST_BACKENDS?.trim();
  if (process.env.CI === 'true' || !raw) return [...ALL];
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !ALL.includes(n as BackendName));
  if (unknown.length > 0) {
    throw new Error(`TWINMCP_TEST_BACKENDS: unknown ${unknown.join(', ')} (use ${ALL.join(', ')})`);
  }
  return ALL.filter((n) => names.includes(n));
}

let template: Promise<Blob> | undefined;

/**
 * A fresh in-memory PGlite, loaded from a per-run template: ~1.5 s instead of ~3.5 s. With
 * `TWINMCP_TEST_PGLITE=thread` it runs on a worker thread (server/db/pglite-thread.ts), as a
 * file-backed store does in `serve`.
 */
export async function openTestPglite(): Promise<Db> {
  template ??= pgliteTemplate();
  const opts = { loadDataDir: await template };
  return process.env.TWINMCP_TEST_PGLITE === 'thread' ? openPgliteThread(opts) : openPglite(opts);
}

/** A fresh database on the shared test server; closing the Db drops the database. */
export async function openTestPostgres(): Promise<Db> {
  const server = await sharedPostgresServer();
  const url = await server.createDatabase();
  const db = await openPostgres(url);
  const close = db.close.bind(db);
  db.close = async () => {
    await close();
    await server.dropDatabase(url);
  };
  return db;
}

/**
 * Register `body` once per back end as `title [pglite]` and `title [postgres]`, each on its own
 * fresh database, opened in `before` and closed in `after`.
 */
export function describeBackends(
  title: string,
  body: (ctx: BackendContext) => void,
  opts: BackendOptions = {},
): void {
  for (const name of selectedBackends()) {
    describe(`${title} [${name}]`, function () {
      let db: Db | undefined;
      before(async function () {
        // First use: PGlite template ~3.5 s + load ~1.5 s; PostgreSQL initdb + start ~1.1 s.
        this.timeout(120_000);
        db = name === 'pglite' ? await openTestPglite() : await openTestPostgres();
        await opts.setup?.(db);
      });
      after(async () => {
        await db?.close();
        db = undefined;
      });
      body({
        name,
        db: () => {
          if (!db)
            throw new Error(`${title} [${name}]: database used before its before() hook ran`);
          return db;
        },
      });
    });
  }
}
