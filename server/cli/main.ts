/**
 * The `twinmcp` command line. `main` parses, picks where the engine runs (a live server that
 * owns the data directory, or this process), runs one command and maps failures to exit codes:
 * 0 ok, 1 error, 2 usage or data directory in use, 3 not found, 4 archive refused (archive.ts).
 */
import { ConfigError, loadConfig, type Config } from '../config.js';
import { EngineError } from '../engine-types.js';
import { LockHeldError, readLock } from '../lock.js';
import { runStdio } from '../mcp/stdio.js';
import { createRemoteBackend } from './client.js';
import { AccountsCliError, isAccountsCommand, runAccountsCommand } from './accounts.js';
import { isArchiveCommand, runArchiveCommand } from './archive.js';
import { EXIT_USAGE, parseArgs, type CliCommand } from './args.js';
import { openBackend, type EngineFactory } from './backend.js';
import { runCommand, type CliIo } from './commands.js';
import { createLog } from './log.js';
import { isJobsCommand, runJobsCommand } from './jobs.js';
import { serve } from './serve.js';
import { applyConfigFile, withFileOrigin } from '../ops/config-file.js';
import { runWorker } from './worker.js';

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliDeps {
  env: NodeJS.ProcessEnv;
  stdout: OutputStream;
  stderr: OutputStream;
  cwd: string;
  createEngine: EngineFactory;
  /** Stops `serve` when aborted (tests); by default SIGINT/SIGTERM do. */
  stopSignal?: AbortSignal;
}

const EXIT_ERROR = 1;
const EXIT_NOT_FOUND = 3;

/** Runs the CLI with user arguments (without `node` and the script); resolves to the exit code. */
export async function main(argv: readonly string[], deps: Partial<CliDeps> = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const io: CliIo = {
    out: (text) => void stdout.write(text),
    err: (text) => void stderr.write(text),
    stdoutIsTTY: stdout.isTTY === true,
    ...(stdout === process.stdout ? { stdoutStream: process.stdout } : {}),
    cwd: deps.cwd ?? process.cwd(),
  };

  const parsed = parseArgs(argv, { out: io.out, err: io.err });
  if ('exitCode' in parsed) return parsed.exitCode;

  try {
    const config = withFlags(loadWithFile(env, parsed.configFile), parsed.command);
    const log = createLog(config.logLevel, io.err);
    const createEngine = deps.createEngine ?? defaultEngineFactory;
    if (parsed.command.name === 'serve') {
      const { worker, concurrency, migrate } = parsed.command;
      return await serve({
        config,
        log,
        io,
        createEngine,
        ...(deps.stopSignal ? { stopSignal: deps.stopSignal } : {}),
        ...(worker === false ? { worker } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(migrate === false ? { migrate } : {}),
      });
    }
    if (parsed.command.name === 'migrate') {
      // Loaded on use, like the engine: it opens the database.
      const { runMigrate } = await import('./migrate.js');
      return await runMigrate({ config, log, io });
    }
    if (parsed.command.name === 'worker') {
      const { concurrency } = parsed.command;
      return await runWorker({
        config,
        log,
        io,
        createEngine,
        ...(deps.stopSignal ? { stopSignal: deps.stopSignal } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
      });
    }
    if (isJobsCommand(parsed.command)) {
      const jobsCommand = parsed.command;
      // Listing or cancelling runs no jobs here: a worker or the server does.
      const backend = await openBackend({
        config,
        log,
        createEngine,
        command: 'jobs',
        worker: false,
      });
      try {
        return await runJobsCommand(jobsCommand, backend, io);
      } finally {
        await backend.close();
      }
    }
    if (parsed.command.name === 'mcp' && parsed.command.remote) {
      // The key comes from the environment: a command-line argument is visible to every user.
      const backend = createRemoteBackend(parsed.command.remote, env.TWINMCP_API_KEY?.trim(), {
        client: 'mcp',
      });
      return await runCommand(parsed.command, backend, io);
    }
    if (parsed.command.name === 'mcp' && !(await readLock(config.lockFile))) {
      // No server owns the data directory: become it, so the CLI and later agents connect here.
      return await serve({
        config,
        log,
        io,
        createEngine,
        whileServing: (engine) => runStdio(engine, { client: 'mcp' }),
        ...(deps.stopSignal ? { stopSignal: deps.stopSignal } : {}),
      });
    }
    if (isAccountsCommand(parsed.command))
      return await runAccountsCommand(parsed.command, config, io);
    if (isArchiveCommand(parsed.command))
      return await runArchiveCommand(parsed.command, config, io);
    const backend = await openBackend({ config, log, createEngine, command: parsed.command.name });
    try {
      return await runCommand(parsed.command, backend, io);
    } finally {
      await backend.close();
    }
  } catch (err) {
    io.err(`${describeError(err, env.TWINMCP_DEBUG)}\n`);
    return exitCodeFor(err);
  }
}

/** Exit code for a failure (see the module comment). */
export function exitCodeFor(err: unknown): number {
  if (err instanceof LockHeldError || err instanceof ConfigError || err instanceof AccountsCliError)
    return EXIT_USAGE;
  if (err instanceof EngineError) {
    switch (err.code) {
      case 'library_not_found':
      case 'no_snippets_found':
      case 'job_not_found':
      case 'not_found':
        return EXIT_NOT_FOUND;
      case 'invalid_library_id':
      case 'validation_error':
        return EXIT_USAGE;
      default:
        return EXIT_ERROR;
    }
  }
  return EXIT_ERROR;
}

function describeError(err: unknown, debug: string | undefined): string {
  if (!(err instanceof Error)) return `error: ${String(err)}`;
  if (debug && debug !== '0') return `error: ${err.stack ?? err.message}`;
  // The engine's not-found messages already name the closest libraries.
  return `error: ${err.message}`;
}

/** The configuration, with `--config` or TWINMCP_CONFIG applied under the environment. */
function loadWithFile(env: NodeJS.ProcessEnv, flag: string | undefined): Config {
  const file = flag ?? (env.TWINMCP_CONFIG?.trim() || undefined);
  if (!file) return loadConfig(env);
  const applied = applyConfigFile(file, env);
  try {
    return loadConfig(env);
  } catch (err) {
    throw err instanceof ConfigError ? withFileOrigin(err, applied) : err;
  }
}

function withFlags(config: Config, command: CliCommand): Config {
  if (command.name !== 'serve') return config;
  return {
    ...config,
    ...(command.port !== undefined ? { port: command.port } : {}),
    ...(command.host !== undefined ? { host: command.host } : {}),
  };
}

// Loaded on first use, so that parsing, help and talking to a running server never load the
// engine and its database.
const defaultEngineFactory: EngineFactory = async (opts) => {
  const { createEngine } = await import('../engine.js');
  return createEngine(opts);
};
