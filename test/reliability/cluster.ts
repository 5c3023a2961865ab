/**
 * The deployment under test, all on loopback: one PostgreSQL server, two API processes
 * (`twinmcp serve --no-worker`) behind haproxy, and two job workers (`twinmcp worker`), every
 * process in its own group and all of them stopped by `stop()` or, failing that, at exit.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { Job } from '../../shared/api.js';
import { readLock } from '../../server/lock.js';
import { CLI, ensureBuilt } from '../helpers/built-cli.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { startHaproxy, type Haproxy } from './haproxy.js';
import { startRestartablePostgres, type RestartablePostgres } from './postgres.js';
import { freePort, spawnManaged, waitForOutput, waitUntil, type Managed } from './processes.js';

/** What the built CLI offers; the harness uses the multi-process commands when they exist. */
export interface Capabilities {
  /** `twinmcp worker` (jobs only); otherwise a `serve` process on its own port runs jobs. */
  worker: boolean;
  /** `serve --no-worker`; otherwise the API processes run jobs too. */
  noWorker: boolean;
  /** `twinmcp migrate`; otherwise the first `serve` migrates. */
  migrate: boolean;
  /** `serve --no-migrate`, used after `twinmcp migrate` ran. */
  noMigrate: boolean;
  /** `GET /ready`; otherwise haproxy checks `/health`. */
  ready: boolean;
}

export interface ApiProcess {
  proc: Managed;
  name: string;
  port: number;
  base: string;
  adminToken: string;
}

export interface Cluster {
  dir: string;
  pg: RestartablePostgres;
  apis: ApiProcess[];
  workers: Managed[];
  haproxy: Haproxy;
  capabilities: Capabilities;
  /** The test's own connection to the database, for checking jobs and rows. */
  sql: postgres.Sql;
  /** Queues `POST /api/v1/libs` on an API process (with its admin token: local paths need it). */
  addSource(api: ApiProcess, body: Record<string, unknown>): Promise<Job>;
  /** Waits until every job has finished (read from the database); returns their rows. */
  waitForJobs(ids: string[], timeoutMs: number): Promise<JobState[]>;
  stop(): Promise<void>;
}

export interface JobState {
  id: string;
  state: string;
  attempts: number;
  error: string | null;
  library_id: string | null;
}

export interface ClusterOptions {
  /** Libraries indexed before the run: a folder and the id and name to give it. */
  libraries: { path: string; libraryId: string; name: string }[];
}

function detectCapabilities(): Omit<Capabilities, 'ready'> {
  const help = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args, '--help'], { encoding: 'utf8' }).stdout ?? '';
  const top = help([]);
  const serve = help(['serve']);
  return {
    worker: /^\s+worker\b/m.test(top),
    migrate: /^\s+migrate\b/m.test(top),
    noWorker: /--no-worker/.test(serve),
    noMigrate: /--no-migrate/.test(serve),
  };
}

/** An environment with nothing of the caller's TwinMCP settings (or keys) in it. */
function baseEnv(dir: string, databaseUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    DATABASE_URL: databaseUrl,
    TWINMCP_LOG_LEVEL: 'warn',
    TWINMCP_REFRESH_HOURS: '0',
    // 10 s instead of 30 s: a killed worker's job is claimed again sooner, so the kill scenario's
    // wait is short; heartbeats (a third of it) still keep it on a busy machine.
    TWINMCP_JOB_LEASE_MS: '10000',
  };
}

/** Starts everything; on a failure part way, stops what was started and rethrows. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  ensureBuilt();
  const found = detectCapabilities();
  const dir = mkdtempSync(join(tmpdir(), 'twinmcp-reliability-'));
  const started: { stop(): Promise<void> }[] = [];
  let sql: postgres.Sql | undefined;
  const stopAll = async () => {
    for (const item of started.reverse()) await item.stop().catch(() => {});
    await sql?.end({ timeout: 2 }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pg = await startRestartablePostgres();
    started.push({ stop: () => pg.dispose() });
    sql = postgres(pg.url, { max: 2, onnotice: () => {}, connect_timeout: 3 });
    const env = baseEnv(dir, pg.url);
    const cli = (name: string, args: string[]) => {
      const home = join(dir, name);
      mkdirSync(home, { recursive: true });
      const proc = spawnManaged(name, process.execPath, [CLI, ...args], {
        env: { ...env, TWINMCP_DATA_DIR: join(home, 'data') },
        cwd: REPO_ROOT,
      });
      started.push(proc);
      return { proc, lockFile: join(home, 'data.lock') };
    };

    if (found.migrate) {
      const { proc } = cli('migrate', ['migrate']);
      await proc.exited;
      if (proc.child.exitCode !== 0) throw new Error(`twinmcp migrate failed:\n${proc.output()}`);
    }
    // See haproxy.ts: the API processes listen on the balancer's port on their own addresses.
    const lbPort = await freePort();
    const startApi = async (name: string, host: string): Promise<ApiProcess> => {
      const { proc, lockFile } = cli(name, [
        ...['serve', '--host', host, '--port', String(lbPort)],
        ...(found.noWorker ? ['--no-worker'] : []),
        ...(found.migrate && found.noMigrate ? ['--no-migrate'] : []),
      ]);
      const m = await waitForOutput(proc, /TwinMCP listening on (http:\/\/127\.0\.0\.\d+:(\d+))/);
      const lock = await readLock(lockFile);
      if (!lock?.adminToken) throw new Error(`${name}: no admin token in ${lockFile}`);
      return { proc, name, base: m[1]!, port: Number(m[2]), adminToken: lock.adminToken };
    };
    // The first API process migrates when there is no `migrate` command; the rest start together.
    const first = await startApi('api-a', '127.0.0.2');
    const apis = [first, await startApi('api-b', '127.0.0.3')];
    const workers: Managed[] = [];
    for (const name of ['worker-1', 'worker-2']) {
      if (found.worker) {
        const { proc } = cli(name, ['worker']);
        await waitForOutput(proc, /TwinMCP worker running/);
        workers.push(proc);
      } else {
        const { proc } = cli(name, ['serve', '--port', '0']);
        await waitForOutput(proc, /TwinMCP listening on/);
        workers.push(proc);
      }
    }
    const probe = await fetch(`${first.base}/ready`);
    const capabilities: Capabilities = { ...found, ready: probe.status !== 404 };
    const haproxy = await startHaproxy(
      dir,
      lbPort,
      apis.map((a) => ({ name: a.name, host: a.base.replace(/^http:\/\/|:\d+$/g, '') })),
      capabilities.ready ? '/ready' : '/health',
    );
    started.push(haproxy);

    const addSource = async (api: ApiProcess, body: Record<string, unknown>): Promise<Job> => {
      const res = await fetch(`${api.base}/api/v1/libs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== 202) throw new Error(`POST /api/v1/libs: ${res.status} ${text}`);
      return (JSON.parse(text) as { job: Job }).job;
    };
    // Read from the database, not an API process: the test kills API processes and PostgreSQL.
    const waitForJobs = async (ids: string[], timeoutMs: number): Promise<JobState[]> => {
      const final = new Set(['succeeded', 'failed', 'cancelled']);
      let jobs: JobState[] = [];
      await waitUntil(
        `jobs ${ids.join(', ')} finish`,
        async () => {
          try {
            jobs = await sql!<JobState[]>`
              SELECT id, state, attempts, error, library_id FROM jobs WHERE id = ANY(${ids})`;
          } catch {
            return false;
          }
          return jobs.length === ids.length && jobs.every((j) => final.has(j.state));
        },
        timeoutMs,
        250,
      );
      return jobs;
    };

    const cluster: Cluster = {
      dir,
      pg,
      apis,
      workers,
      haproxy,
      capabilities,
      sql,
      addSource,
      waitForJobs,
      stop: stopAll,
    };
    const jobs = await Promise.all(
      opts.libraries.map((lib) =>
        addSource(first, { source: lib.path, libraryId: lib.libraryId, name: lib.name }),
      ),
    );
    const done = await waitForJobs(
      jobs.map((j) => j.id),
      180_000,
    );
    for (const job of done) {
      if (job.state !== 'succeeded') throw new Error(`indexing ${job.library_id}: ${job.error}`);
    }
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
