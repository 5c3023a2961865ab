/**
 * `twinmcp serve`: take the lock, open the engine, listen, publish the port in the lock, and on
 * SIGINT/SIGTERM undo it all in reverse order.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Engine } from '../engine-types.js';
import { startRetention } from '../accounts/privacy.js';
import { buildApp } from '../http/app.js';
import { isLoopbackHost } from '../http/localhost-safety.js';
import { RefreshScheduler } from '../indexing/refresh-scheduler.js';
import { acquireLock, generateAdminToken, type Lock } from '../lock.js';
import type { EngineFactory } from './backend.js';
import { serverUrl } from './backend.js';
import type { CliIo } from './commands.js';
import type { Log } from './log.js';
import { shutdownGuard } from '../ops/shutdown.js';

export interface ServeOptions {
  config: Config;
  log: Log;
  io: CliIo;
  createEngine: EngineFactory;
  /** Ends the server when aborted; defaults to SIGINT/SIGTERM. */
  stopSignal?: AbortSignal;
  /**
   * `twinmcp mcp` as the owner: stdout is the MCP channel, so nothing else may write there (the
   * request log is off and messages go to stderr), and `whileServing` runs alongside the server;
   * its end stops the server.
   */
  whileServing?: (engine: Engine) => Promise<void>;
  /** False: run no indexing jobs in this process (`serve --no-worker`; workers run them). */
  worker?: boolean;
  /** Indexing jobs run at once (`--concurrency`). */
  concurrency?: number;
  /** False: apply no migrations at start (`serve --no-migrate`; `twinmcp migrate` does). */
  migrate?: boolean;
}

/** Runs until stopped; resolves to the exit code. */
export async function serve(opts: ServeOptions): Promise<number> {
  const { config, log, io } = opts;
  const lock = await acquireLock(config.lockFile, {
    pid: process.pid,
    adminToken: generateAdminToken(),
    dataDir: config.dataDir,
    command: opts.whileServing ? 'mcp' : 'serve',
    host: config.host,
  });
  // Backstop for exits that skip the graceful path (an uncaught error, process.exit elsewhere).
  const onExit = () => lock.releaseSync();
  process.on('exit', onExit);
  let engine: Engine | undefined;
  let app: FastifyInstance | undefined;
  let scheduler: RefreshScheduler | undefined;
  let retention: { stop(): Promise<void> } | undefined;
  try {
    engine = await opts.createEngine({
      config,
      log: log.info,
      ...(opts.worker === false ? { worker: false } : {}),
      ...(opts.migrate === false ? { migrate: false } : {}),
      ...(opts.concurrency !== undefined ? { jobs: { concurrency: opts.concurrency } } : {}),
    });
    scheduler = startScheduler(engine, config, log);
    // Usage events past TWINMCP_USAGE_RETENTION_DAYS: purged now, then daily.
    retention = startRetention(engine.db, config.privacy?.usageRetentionDays ?? 0, log.info);
    app = await buildApp({
      engine,
      config,
      adminToken: lock.info.adminToken,
      boundHost: config.host,
      logger: config.logLevel !== 'silent' && !opts.whileServing,
    });
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (err) {
      // An agent's stdio server must start even when the usual port is taken: any free port
      // works, since the lock file tells the CLI and later clients where it is.
      if (!opts.whileServing || (err as { code?: string }).code !== 'EADDRINUSE') throw err;
      await app.listen({ port: 0, host: config.host });
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    await lock.update({ port });

    const say = opts.whileServing ? io.err : io.out;
    say(`TwinMCP listening on ${serverUrl(config.host, port)} (data: ${config.dataDir})\n`);
    if (!isLoopbackHost(config.host) && config.allowedHosts.length === 0) {
      io.err(
        'warning: bound off loopback without TWINMCP_ALLOWED_HOSTS; any Host header is accepted\n',
      );
    }

    if (opts.whileServing) {
      await Promise.race([
        opts.whileServing(engine),
        waitForStop(opts.stopSignal, () => lock.releaseSync()),
      ]);
    } else {
      await waitForStop(opts.stopSignal, () => lock.releaseSync());
    }
    io.err('Shutting down...\n');
    return 0;
  } finally {
    // In-flight requests finish (app.close), running jobs go back to the queue (engine.close);
    // past TWINMCP_SHUTDOWN_TIMEOUT_MS the process exits anyway. Not under a test's stopSignal.
    const timeoutMs = config.ops?.shutdownTimeoutMs ?? 25_000;
    const guard = opts.stopSignal
      ? undefined
      : shutdownGuard(timeoutMs, () => {
          io.err(`Shutdown took longer than ${timeoutMs} ms: exiting now.\n`);
          lock.releaseSync();
          process.exit(1);
        });
    // Reverse order of start-up; also runs when listen() failed (e.g. the port is taken).
    await scheduler?.stop();
    await retention?.stop();
    await shutdown(app, engine, lock, log);
    guard?.done();
    process.off('exit', onExit);
  }
}

/** The refresh scheduler (TWINMCP_REFRESH_HOURS; 0 = off), queuing jobs this engine runs. */
function startScheduler(engine: Engine, config: Config, log: Log): RefreshScheduler | undefined {
  const hours = config.refreshHours ?? 0;
  const refresh = engine.refresh?.bind(engine);
  if (hours <= 0 || !refresh) return undefined;
  const scheduler = new RefreshScheduler({
    db: engine.db,
    refresh: async (libraryId) => (await refresh(libraryId)).jobs.length,
    policy: { baseMs: hours * 3_600_000 },
    log: log.info,
  });
  scheduler.start();
  return scheduler;
}

async function shutdown(
  app: FastifyInstance | undefined,
  engine: Engine | undefined,
  lock: Lock,
  log: Log,
): Promise<void> {
  const steps: [string, (() => Promise<unknown>) | undefined][] = [
    ['the HTTP server', app && (() => app.close())],
    ['the engine', engine && (() => engine.close())],
  ];
  for (const [what, close] of steps) {
    try {
      await close?.();
    } catch (err) {
      log.error(`closing ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  await lock.release();
}

/** Resolves on the abort signal, or on SIGINT/SIGTERM; a second signal calls forceExit and exits 130. */
export function waitForStop(signal: AbortSignal | undefined, forceExit: () => void): Promise<void> {
  if (signal) {
    return signal.aborted
      ? Promise.resolve()
      : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A second signal while a slow close (or job release) hangs exits at once.
      const force = () => {
        forceExit();
        process.exit(130);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
