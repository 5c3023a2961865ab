import type { Db } from './db.js';
import { openPglite } from './pglite.js';
import { openPgliteThread } from './pglite-thread.js';
import { openPostgres } from './postgres.js';
import { observeDb } from '../ops/observe.js';

/**
 * Open the configured database: the PostgreSQL server at `databaseUrl` when one is given,
 * otherwise embedded PGlite in `dataDir` (in memory when both are absent).
 *
 * A file-backed PGlite runs on a worker thread unless `pgliteThread` is false: in the same thread
 * its statements stalled the event loop for up to ~0.6 s while a library indexed; the thread
 * costs ~0.2 ms per statement and ~0.3 s per open + close, small even for one-shot commands.
 * In memory it stays in-process by default (tests and scripts).
 */
export async function openDatabase(config: {
  databaseUrl?: string;
  dataDir?: string;
  pgliteThread?: boolean;
}): Promise<Db> {
  // Timed for /metrics (server/ops/observe.ts); with no scraper it costs a clock read.
  if (config.databaseUrl) return observeDb(await openPostgres(config.databaseUrl));
  const thread = config.pgliteThread ?? config.dataDir !== undefined;
  return observeDb(
    thread
      ? await openPgliteThread({ dataDir: config.dataDir })
      : await openPglite({ dataDir: config.dataDir }),
  );
}
