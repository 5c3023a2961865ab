/**
 * What CLI commands need from TwinMCP, whether the engine runs in this process or in a
 * `twinmcp serve` that owns the data directory.
 */
import type {
  AddSourceBody,
  ContextResponse,
  Job,
  LibrarySummary,
  RefreshResponse,
  SearchResult,
} from '../../shared/api.js';
import type { Config } from '../config.js';
import type { JobsConfig } from '../jobs/config.js';
import { EngineError, type Engine } from '../engine-types.js';
import {
  acquireLock,
  generateAdminToken,
  LockHeldError,
  readLock,
  type LockInfo,
} from '../lock.js';
import { createRemoteBackend } from './client.js';
import type { Log } from './log.js';

export type QueryResult = { type: 'txt'; text: string } | { type: 'json'; json: ContextResponse };

export interface Backend {
  /** `local` opened the engine here; `remote` talks to a running server. */
  readonly kind: 'local' | 'remote';
  resolve(libraryName: string, query: string | undefined): Promise<SearchResult[]>;
  query(
    libraryId: string,
    query: string,
    tokens: number | undefined,
    type: 'txt' | 'json',
  ): Promise<QueryResult>;
  list(): Promise<LibrarySummary[]>;
  add(body: AddSourceBody): Promise<Job>;
  waitForJob(id: string, onProgress: (job: Job) => void): Promise<Job>;
  /** Throws EngineError(library_not_found) when there was nothing to remove. */
  remove(libraryId: string): Promise<void>;
  /** Queues refresh jobs for one library, or every library when undefined. */
  refresh(libraryId: string | undefined): Promise<RefreshResponse>;
  /** Jobs newest first (server/cli/jobs.ts); optional for test fakes. */
  listJobs?(states?: Job['state'][]): Promise<Job[]>;
  /** Throws EngineError(job_not_found) when there is no such job. */
  cancelJob?(id: string): Promise<Job>;
  close(): Promise<void>;
}

/** Creates the engine (the shape of `createEngine` in server/engine.ts); tests pass a fake. */
export type EngineFactory = (opts: {
  config: Config;
  log: (message: string) => void;
  /** Run indexing jobs in this process (default true); `serve --no-worker` and `jobs` say no. */
  worker?: boolean;
  /** Apply pending migrations at open (default true); `serve --no-migrate` says no. */
  migrate?: boolean;
  /** Job runner settings over the TWINMCP_JOB_* variables (server/jobs/config.ts). */
  jobs?: Partial<JobsConfig>;
}) => Promise<Engine>;

export interface OpenOptions {
  config: Config;
  log: Log;
  createEngine: EngineFactory;
  /** The command name, recorded in the lock so that others can say who holds it. */
  command: string;
  /** How long to wait for a starting server to write its port; 15 s covers a cold PGlite start. */
  startupWaitMs?: number;
  /** Run jobs in the engine opened here (default true). */
  worker?: boolean;
}

/**
 * Uses the running server when one owns the data directory, else opens the engine here while
 * holding the lock, so that a `twinmcp serve` started meanwhile cannot open the same store.
 */
export async function openBackend(opts: OpenOptions): Promise<Backend> {
  const owner = await waitForServer(opts.config.lockFile, opts.startupWaitMs ?? 15_000);
  if (owner) {
    if (owner.port === undefined) throw new LockHeldError(opts.config.lockFile, owner);
    opts.log.debug(`using the server of process ${owner.pid} on port ${owner.port}`);
    return createRemoteBackend(
      serverUrl(owner.host, owner.port),
      owner.adminToken,
      opts.command === 'mcp' ? { client: 'mcp' } : {},
    );
  }
  const lock = await acquireLock(opts.config.lockFile, {
    pid: process.pid,
    adminToken: generateAdminToken(),
    dataDir: opts.config.dataDir,
    command: opts.command,
  });
  try {
    // Engine chatter (migrations, job steps) is debug output for a one-shot command.
    const engine = await opts.createEngine({
      config: opts.config,
      log: opts.log.debug,
      ...(opts.worker === false ? { worker: false } : {}),
    });
    return localBackend(engine, () => lock.release());
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** The live owner; a `serve` still starting (no port yet) is given time to listen. */
async function waitForServer(lockFile: string, waitMs: number): Promise<LockInfo | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const owner = await readLock(lockFile);
    const starting = owner && owner.port === undefined && (owner.command ?? 'serve') === 'serve';
    if (!starting || Date.now() >= deadline) return owner;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Base URL for a server bound to `host`; wildcard binds are reached through loopback. */
export function serverUrl(host: string | undefined, port: number): string {
  const h = !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
}

/** Wraps an engine in this process; the CLI is trusted with local paths. */
export function localBackend(engine: Engine, onClose: () => Promise<void>): Backend {
  const ctx = { client: 'cli' as const };
  return {
    kind: 'local',
    resolve: (libraryName, query) => engine.resolve(libraryName, query, ctx),
    async query(libraryId, query, tokens, type) {
      const outcome = await engine.query(libraryId, query, tokens, ctx);
      return type === 'json' ? { type, json: outcome.json } : { type, text: outcome.text };
    },
    list: () => engine.listLibraries(),
    add: (body) => engine.addSource({ ...body, trustedLocal: true }),
    waitForJob: (id, onProgress) => engine.waitForJob(id, onProgress),
    async refresh(libraryId) {
      if (!engine.refresh) throw new EngineError('internal_error', 'This engine cannot refresh.');
      return engine.refresh(libraryId);
    },
    async listJobs(states) {
      if (!engine.listJobs) throw new EngineError('internal_error', 'This engine lists no jobs.');
      return engine.listJobs(undefined, states);
    },
    async cancelJob(id) {
      const job = await engine.cancelJob?.(id);
      if (!job) throw new EngineError('job_not_found', `Job ${id} not found`);
      if (job.state === 'succeeded' || job.state === 'failed') {
        throw new EngineError('conflict', `Job ${id} has already ${job.state}.`);
      }
      return job;
    },
    async remove(libraryId) {
      if (!(await engine.removeLibrary(libraryId))) {
        throw new EngineError('library_not_found', `Library ${libraryId} not found`);
      }
    },
    async close() {
      try {
        await engine.close();
      } finally {
        await onClose();
      }
    },
  };
}
