import type { Db, Queryable } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Only where the named extension can be created: otherwise skipped, and retried next start. */
  requiresExtension?: 'vector';
}

// Any constant shared by every TwinMCP instance: ASCII "twin". pg_advisory_xact_lock makes
// instances that start together apply each migration once, in turn.
const MIGRATION_LOCK = 0x7477696e;

// Why CREATE EXTENSION can fail where the rest works: 0A000 "extension is not available" (PG 15+),
// 58P01 "could not open extension control file" (older servers), 42501 not allowed to create it.
const EXTENSION_MISSING = new Set(['0A000', '58P01']);
const PERMISSION_DENIED = '42501';

const BOOTSTRAP = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    int PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function lexicalOnlyMessage(extension: string, err: unknown): string {
  const detail = err instanceof Error ? ` (${err.message})` : '';
  if (sqlState(err) === PERMISSION_DENIED) {
    return `${extension} extension could not be created by this database user${detail}: running lexical-only (ask an administrator to run CREATE EXTENSION ${extension} to enable embeddings)`;
  }
  return `${extension} extension not available on this PostgreSQL server${detail}: running lexical-only (install pgvector to enable embeddings)`;
}

// CREATE EXTENSION in a transaction of its own (under the lock: two instances creating it at once
// collide on pg_extension's unique index). Its own transaction, not a savepoint: postgres.js
// fails a whole transaction once any statement in it failed, even if the error was caught.
// Resolves to the error when the extension cannot be created, undefined when it exists.
async function tryCreateExtension(db: Db, extension: string): Promise<unknown> {
  try {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.exec(`CREATE EXTENSION IF NOT EXISTS ${extension}`);
    });
    return undefined;
  } catch (err) {
    const code = sqlState(err);
    if (code !== undefined && (EXTENSION_MISSING.has(code) || code === PERMISSION_DENIED)) {
      return err;
    }
    throw err;
  }
}

async function appliedVersions(db: Queryable): Promise<Set<number>> {
  const [{ exists } = { exists: false }] = await db.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  if (!exists) return new Set();
  const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.map((r) => r.version));
}

/**
 * Apply the migrations not yet recorded in `schema_migrations`, in version order, each in its own
 * transaction under an advisory lock. A migration that requires an extension the server lacks is
 * skipped with one log line (lexical-only mode) and retried at the next start. Sets
 * `db.hasVector` when the vector migration is (or already was) applied.
 */
export async function migrate(
  db: Db,
  migrations: readonly Migration[],
  log: (msg: string) => void = () => {},
): Promise<{ applied: number[] }> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.exec(BOOTSTRAP);
  });

  const applied: number[] = [];
  const unavailable = new Set<string>();
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (const migration of ordered) {
    const extension = migration.requiresExtension;
    if (extension && unavailable.has(extension)) continue;

    if (extension) {
      const failure = await tryCreateExtension(db, extension);
      if (failure !== undefined) {
        unavailable.add(extension);
        log(lexicalOnlyMessage(extension, failure));
        continue;
      }
    }
    const appliedNow = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [
        migration.version,
      ]);
      if (done.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (appliedNow) {
      applied.push(migration.version);
      log(`migration ${migration.version} applied: ${migration.name}`);
    }
    if (extension === 'vector') db.hasVector = true;
  }
  if (unavailable.has('vector')) db.hasVector = false;
  return { applied };
}

/**
 * Migrations not yet applied, for readiness checks. Leaves out those whose extension this server
 * does not offer at all: they are optional, and would otherwise keep an instance unready forever.
 */
export async function pendingMigrations(
  db: Queryable,
  migrations: readonly Migration[],
): Promise<Migration[]> {
  const done = await appliedVersions(db);
  const pending = migrations.filter((m) => !done.has(m.version));
  const extensions = [...new Set(pending.flatMap((m) => m.requiresExtension ?? []))];
  if (extensions.length === 0) return pending;
  const rows = await db.query<{ name: string }>(
    'SELECT name FROM pg_available_extensions WHERE name = ANY($1::text[])',
    [extensions],
  );
  const available = new Set(rows.map((r) => r.name));
  return pending.filter((m) => !m.requiresExtension || available.has(m.requiresExtension));
}
