/**
 * `twinmcp worker` as real processes (the built CLI) on one PostgreSQL server started by the test
 * helpers, indexing a loopback site that counts requests per path: a worker killed with SIGKILL
 * mid-job loses its lease and a second worker resumes the job from the staging version without
 * fetching committed pages again; SIGTERM releases a running job at once and exits 0; two workers
 * share six queued jobs, each run exactly once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../shared/api.js';
import type { Db } from '../../server/db/db.js';
import { migrate } from '../../server/db/migrate.js';
import { openPostgres } from '../../server/db/postgres.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { getJobRow } from '../../server/jobs/queue.js';
import { CLI, ensureBuilt } from '../helpers/built-cli.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { sharedPostgresServer, type PgServer } from '../helpers/pg-server.js';
import { JobSite, STAGED_PAGES_SQL } from './jobs-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Worker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

describe('twinmcp worker processes on one PostgreSQL server', function () {
  this.timeout(300_000);
  let server: PgServer;
  let url: string;
  let db: Db;
  let api: TwinEngine;
  let tmp: string;
  const workers: Worker[] = [];
  const sites: JobSite[] = [];

  before(async function () {
    this.timeout(300_000);
    ensureBuilt();
    server = await sharedPostgresServer();
    url = await server.createDatabase();
    db = await openPostgres(url);
    await migrate(db, MIGRATIONS);
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-workers-'));
    // The API side: queues jobs, runs none (as `serve --no-worker` does).
    api = await createEngine({ config: { dataDir: join(tmp, 'api') }, db, worker: false });
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
  });

  after(async () => {
    await api?.close();
    for (const s of sites) await s.close();
    await db?.close();
    await server?.dropDatabase(url);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const startWorker = async (name: string, extra: string[] = []): Promise<Worker> => {
    const child = spawn(process.execPath, [CLI, 'worker', ...extra], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: tmp,
        DATABASE_URL: url,
        TWINMCP_DATA_DIR: join(tmp, name),
        TWINMCP_LOG_LEVEL: 'info',
        // A killed worker's job is claimed again 2 s later instead of 30 s.
        TWINMCP_JOB_LEASE_MS: '2000',
        TWINMCP_JOB_BACKOFF_MS: '100',
        TWINMCP_WEB_DELAY_MS: '0',
        TWINMCP_FETCH_PRIVATE: 'allow',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    const w = { child, output: () => out, exited };
    workers.push(w);
    await until(`worker ${name} to start:\n${out}`, async () => {
      if (child.exitCode !== null) assert.fail(`worker ${name} exited early:\n${out}`);
      return /TwinMCP worker running/.test(out);
    });
    return w;
  };
  const site = async (opts: ConstructorParameters<typeof JobSite>[0]) => {
    const s = await new JobSite(opts).listen();
    sites.push(s);
    return s;
  };
  const add = (s: JobSite, libraryId: string) =>
    api.addSource({ source: s.start, libraryId, kind: 'web', trustedLocal: true });
  const staged = async (jobId: string) =>
    (await db.query<{ path: string }>(STAGED_PAGES_SQL, [jobId])).map((r) => r.path);
  const chunkStats = async (libraryId: string) => {
    const [row] = await db.query<{ n: number; distinct_n: number; pages: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT (c.page_id, c.ordinal))::int AS distinct_n,
              count(DISTINCT c.page_id)::int AS pages
         FROM chunks c JOIN library_versions v ON v.id = c.version_id
        WHERE v.library_id = $1 AND v.state = 'ready'`,
      [libraryId],
    );
    return row!;
  };

  it('resumes a job after kill -9: committed pages are not fetched again, no chunk lost or duplicated', async () => {
    const s = await site({ pages: 48 });
    const first = await startWorker('w1');
    const clean = await api.waitForJob((await add(s, '/w/clean')).id);
    assert.equal(clean.state, 'succeeded', `${clean.error}\n${first.output()}`);
    const expected = await chunkStats('/w/clean');
    assert.ok(expected.pages >= 48, JSON.stringify(expected));

    s.opts.delayMs = 150;
    s.resetCounts();
    const job = await add(s, '/w/killed');
    await until('a committed batch', async () => (await staged(job.id)).length >= 16);
    first.child.kill('SIGKILL');
    await first.exited;
    const committed = await staged(job.id);
    const fetchedBefore = s.pageRequests();
    assert.equal((await getJobRow(db, job.id))?.state, 'running', 'the dead worker holds it');
    s.resetCounts();

    const second = await startWorker('w2');
    const done = await api.waitForJob(job.id);
    assert.equal(done.state, 'succeeded', `${done.error}\n${second.output()}`);
    assert.equal(done.attempts, 2, 'the killed attempt counts');
    assert.ok((done.progress?.resumed ?? 0) >= committed.length, JSON.stringify(done.progress));
    for (const path of committed) {
      assert.equal(s.counts.get(`/site/${path}`), undefined, `committed ${path} fetched again`);
    }
    for (const [path, n] of fetchedBefore) assert.equal(n, 1, `${path} fetched ${n} times`);
    const got = await chunkStats('/w/killed');
    assert.equal(got.n, expected.n, 'same chunk count as a clean index');
    assert.equal(got.n, got.distinct_n, 'no duplicate chunk rows');
    assert.equal(got.pages, expected.pages);
  });

  it('on SIGTERM releases its running job at once (with its checkpoint) and exits 0', async () => {
    const s = await site({ pages: 48, delayMs: 150 });
    const w = await startWorker('w3');
    const job = await add(s, '/w/released');
    await until('a committed batch', async () => (await staged(job.id)).length >= 16);
    const stoppedAt = Date.now();
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0, w.output());
    const row = await getJobRow(db, job.id);
    assert.equal(row?.state, 'queued', 'back in the queue without waiting for the lease');
    assert.equal(row?.attempts, 0);
    assert.ok(Date.now() - stoppedAt < 15_000);
    const committed = await staged(job.id);
    assert.ok(committed.length >= 16);
    s.resetCounts();
    await startWorker('w4');
    const done = await api.waitForJob(job.id);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    for (const path of committed) {
      assert.equal(s.counts.get(`/site/${path}`), undefined, `committed ${path} fetched again`);
    }
  });

  it('two workers share six queued jobs: each runs exactly once and all succeed', async () => {
    const six = await Promise.all(
      Array.from({ length: 6 }, () => site({ pages: 6, delayMs: 300 })),
    );
    // Both polling before the jobs arrive, so that both race for every claim.
    const a = await startWorker('w5');
    const b = await startWorker('w6', ['--concurrency', '2']);
    const jobs: Job[] = [];
    for (const [i, s] of six.entries()) jobs.push(await add(s, `/w/shared-${i}`));
    for (const j of jobs) {
      const done = await api.waitForJob(j.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      assert.equal(done.attempts, 1);
    }
    for (const s of six) assert.equal(s.counts.get('/site/index.html'), 1, 'crawled once');
    const ran = (out: string) => jobs.filter((j) => out.includes(`job ${j.id} (index) succeeded`));
    const byA = ran(a.output());
    const byB = ran(b.output());
    assert.equal(byA.length + byB.length, 6, `${a.output()}\n${b.output()}`);
    assert.ok(byA.length > 0 && byB.length > 0, 'both workers took jobs');
  });
});
