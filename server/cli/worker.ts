/**
 * `twinmcp worker`: runs indexing jobs only, no HTTP. Several workers (and `serve --no-worker`
 * API processes) share one PostgreSQL database (DATABASE_URL); without it the worker opens the
 * embedded store, which it then holds like `serve` does. On SIGTERM/SIGINT it stops claiming,
 * hands its running jobs back to the queue with their checkpoint, and exits 0.
 */
import type { Config } from '../config.js';
import { acquireLock, generateAdminToken, type Lock } from '../lock.js';
import type { EngineFactory } from './backend.js';
import type { CliIo } from './commands.js';
import type { Log } from './log.js';
import { waitForStop } from './serve.js';

export interface WorkerOptions {
  config: Config;
  log: Log;
  io: CliIo;
  createEngine: EngineFactory;
  concurrency?: number;
  /** Stops the worker when aborted; defaults to SIGINT/SIGTERM. */
  stopSignal?: AbortSignal;
}

/** Runs until stopped; resolves to the exit code. */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const { config, log, io } = opts;
  // The embedded store has one owner process; a PostgreSQL server has as many as it likes.
  let lock: Lock | undefined;
  if (!config.databaseUrl) {
    lock = await acquireLock(config.lockFile, {
      pid: process.pid,
      adminToken: generateAdminToken(),
      dataDir: config.dataDir,
      command: 'worker',
    });
  }
  const onExit = () => lock?.releaseSync();
  process.on('exit', onExit);
  try {
    const engine = await opts.createEngine({
      config,
      log: log.info,
      worker: true,
      ...(opts.concurrency !== undefined ? { jobs: { concurrency: opts.concurrency } } : {}),
    });
    try {
      const where = config.databaseUrl ? 'DATABASE_URL' : config.dataDir;
      io.out(`TwinMCP worker running (pid ${process.pid}, database: ${where})\n`);
      await waitForStop(opts.stopSignal, onExit);
      io.err('Stopping: claimed jobs go back to the queue...\n');
    } finally {
      await engine.close();
    }
    io.err('Worker stopped.\n');
    return 0;
  } finally {
    await lock?.release();
    process.off('exit', onExit);
  }
}
