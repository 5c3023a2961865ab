/**
 * `twinmcp migrate`: bring the database schema up to date and exit, as a deploy's one-shot step
 * before the API and worker processes start (they can then run `serve --no-migrate`).
 *
 * Safe to start many at once on one PostgreSQL server: the runner (server/db/migrate.ts) applies
 * each migration in its own transaction under `pg_advisory_xact_lock`, and skips one another
 * instance recorded meanwhile. A transaction-scoped lock rather than a session `pg_advisory_lock`,
 * because a session lock is lost or leaked behind a transaction-mode pooler (PgBouncer, Supabase,
 * Neon), which postgres.ts supports.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { migrate, pendingMigrations } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { MIGRATIONS } from '../db/schema.js';
import { acquireLock, generateAdminToken, type Lock } from '../lock.js';
import type { CliIo } from './commands.js';
import type { Log } from './log.js';

export interface MigrateOptions {
  config: Config;
  log: Log;
  io: CliIo;
  /** Opens the database (tests); default openDatabase(config). */
  openDb?: (config: Config) => Promise<Db>;
}

/** Applies pending migrations; resolves to the exit code. */
export async function runMigrate(opts: MigrateOptions): Promise<number> {
  const { config, io } = opts;
  // An embedded store has one owner at a time: migrate it only while no server holds it.
  let lock: Lock | undefined;
  if (!config.databaseUrl) {
    lock = await acquireLock(config.lockFile, {
      pid: process.pid,
      adminToken: generateAdminToken(),
      dataDir: config.dataDir,
      command: 'migrate',
    });
  }
  try {
    const db = await (opts.openDb ?? openDatabase)(config);
    try {
      const { applied } = await migrate(db, MIGRATIONS, opts.log.info);
      const left = await pendingMigrations(db, MIGRATIONS);
      const latest = Math.max(...MIGRATIONS.map((m) => m.version));
      const where = config.databaseUrl ? 'PostgreSQL' : config.dataDir;
      io.out(
        applied.length > 0
          ? `Applied migrations ${applied.join(', ')} to ${where}; schema at version ${latest}.\n`
          : `Schema of ${where} is up to date (version ${latest}).\n`,
      );
      if (left.length > 0) {
        // Only an extension this server offers but this user may not create ends up here.
        io.err(`warning: still pending: ${left.map((m) => m.version).join(', ')}\n`);
        return 1;
      }
      return 0;
    } finally {
      await db.close();
    }
  } finally {
    await lock?.release();
  }
}
