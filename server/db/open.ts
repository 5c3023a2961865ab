import type { Db } from './db.js';
import { openPglite } from './pglite.js';
import { openPgliteThread } from './pglite-thread.js';
import { openPostgres } from './postgres.js';

/**
 * Open the configured database: the PostgreSQL server at `databaseUrl` when one is given,
 * otherwise embedded PGlite in `dataDir` (in memory when both are absent).
 *
 * A file-backed PGlite runs on a worker thread unless `pgliteThread` is false: in the same thread
 * its statements stalled the event loop for up to ~0.6 s while a library indexed; the thread
 * costs ~0.2 ms per statement and ~0.3 s per open + close, small even for one-shot commands.
 * In memory it stays in-process by default (tests and scripts).
 */
export function openDatabase(config: {
  databaseUrl?: string;
  dataDir?: string;
  pgliteThread?: boolean;
}): Promise<Db> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl);
  const thread = config.pgliteThread ?? config.dataDir !== undefined;
  return thread
    ? openPgliteThread({ dataDir: config.dataDir })
    : openPglite({ dataDir: config.dataDir });
}
