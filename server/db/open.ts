import type { Db } from './db.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

/**
 * Open the configured database: the PostgreSQL server at `databaseUrl` when one is given,
 * otherwise embedded PGlite in `dataDir` (in memory when both are absent).
 */
export function openDatabase(config: { databaseUrl?: string; dataDir?: string }): Promise<Db> {
  return config.databaseUrl
    ? openPostgres(config.databaseUrl)
    : openPglite({ dataDir: config.dataDir });
}
