/**
 * What `serve --no-migrate` needs from a schema it did not migrate itself: whether the vector
 * migration is in place (the runner sets `db.hasVector` only while migrating). Readiness reports
 * whatever is still pending (ready.ts).
 */
import type { Db } from '../db/db.js';
import type { Migration } from '../db/migrate.js';

/** Sets `db.hasVector` from the recorded migrations; a missing table means nothing applied. */
export async function adoptSchema(db: Db, migrations: readonly Migration[]): Promise<void> {
  const vector = migrations.filter((m) => m.requiresExtension === 'vector').map((m) => m.version);
  if (vector.length === 0) return;
  // Two statements: PostgreSQL resolves table names when it parses, before any CASE could skip one.
  const [table] = await db.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  if (!table?.exists) {
    db.hasVector = false;
    return;
  }
  const [row] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM schema_migrations WHERE version = ANY($1::int[])',
    [vector],
  );
  db.hasVector = (row?.n ?? 0) === vector.length;
}
