/**
 * Jobs on both back ends, in process: cancel (queued at once; running at the next batch, staging
 * removed, the previous version serving), retries of transient failures with backoff and jitter,
 * permanent failures at once, a lost worker's lease, and a graceful release that a second runner
 * resumes without fetching committed pages again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../shared/api.js';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { backoffDelay } from '../../server/jobs/config.js';
import { isTransient, PermanentJobError, TransientJobError } from '../../server/jobs/errors.js';
import { claimJob, getJobRow, sweepDeadJobs } from '../../server/jobs/queue.js';
import { describeBackends } from '../helpers/backends.js';
import { JobSite, STAGED_PAGES_SQL } from './jobs-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('job errors and backoff (units)', () => {
  it('classifies transient and permanent failures through cause chains', () => {
    const refused = new Error('Cannot fetch x', {
      cause: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
    });
    assert.equal(isTransient(refused), true);
    assert.equal(isTransient(new TransientJobError('503', 503)), true);
    assert.equal(isTransient(Object.assign(new Error('npm'), { code: 'E503' })), true);
    assert.equal(isTransient(Object.assign(new Error('npm'), { code: 'E404' })), false);
    assert.equal(isTransient(Object.assign(new Error('pg'), { code: '57P01' })), true);
    assert.equal(isTransient(Object.assign(new Error('prov'), { retryable: true })), true);
    const given = Object.assign(new Error('provider gave up'), { retryable: false, status: 500 });
    assert.equal(isTransient(given), false, 'an explicit verdict wins over the status');
    assert.equal(isTransient(new PermanentJobError('bad path')), false);
    assert.equal(isTransient(new Error('no documentation pages found in the source')), false);
  });

  it('backs off exponentially with jitter in [0.5, 1.5)', () => {
    assert.equal(
      backoffDelay(1000, 1, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(1000, 1, () => 0.999),
      1499,
    );
    assert.equal(
      backoffDelay(1000, 3, () => 0.5),
      4000,
    );
    const seen = new Set(Array.from({ length: 20 }, () => backoffDelay(1000, 2)));
    assert.ok(seen.size > 1, 'jitter varies the delay');
    for (const d of seen) assert.ok(d >= 1000 && d < 3000, String(d));
  });
});

describeBackends(
  'jobs: cancel, retries, release and resume',
  ({ db }) => {
    let tmp: string;
    const engines: TwinEngine[] = [];
    const sites: JobSite[] = [];
    const savedEnv = { ...process.env };

    before(() => {
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-jobs-'));
      Object.assign(process.env, { TWINMCP_WEB_DELAY_MS: '0', TWINMCP_FETCH_PRIVATE: 'allow' });
    });
    // A failed test must not leave a runner that takes the next test's jobs.
    afterEach(async () => {
      for (const e of engines.splice(0)) await e.close();
    });
    after(async () => {
      for (const s of sites) await s.close();
      process.env = savedEnv;
      rmSync(tmp, { recursive: true, force: true });
    });

    const engine = async (worker: boolean, jobs: Record<string, number> = {}) => {
      const e = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker,
        jobs: { leaseMs: 3000, backoffMs: 300, maxAttempts: 3, ...jobs },
      });
      engines.push(e);
      return e;
    };
    const site = async (opts: ConstructorParameters<typeof JobSite>[0]) => {
      const s = await new JobSite(opts).listen();
      sites.push(s);
      return s;
    };
    const add = (e: TwinEngine, s: JobSite, libraryId: string) =>
      e.addSource({ source: s.start, libraryId, kind: 'web', trustedLocal: true });
    const stop = async (e: TwinEngine) => {
      engines.splice(engines.indexOf(e), 1);
      await e.close();
    };
    const chunkStats = async (libraryId: string) => {
      const [row] = await db().query<{ n: number; distinct_n: number; pages: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT (c.page_id, c.ordinal))::int AS distinct_n,
                count(DISTINCT c.page_id)::int AS pages
           FROM chunks c JOIN library_versions v ON v.id = c.version_id
          WHERE v.library_id = $1 AND v.state = 'ready'`,
        [libraryId],
      );
      return row!;
    };

    it('cancels a queued job at once: it never runs', async () => {
      const s = await site({ pages: 4 });
      const api = await engine(false);
      const job = await add(api, s, '/jobs/queued-cancel');
      const cancelled = await api.cancelJob(job.id);
      assert.equal(cancelled?.state, 'cancelled');
      const worker = await engine(true);
      await sleep(600);
      assert.equal((await worker.getJob(job.id))?.state, 'cancelled');
      assert.equal(s.counts.size, 0, 'the cancelled job fetched nothing');
      await stop(worker);
      await stop(api);
    });

    it('cancels a running job at its next batch: staging removed, the previous version serves', async function () {
      this.timeout(120_000);
      const s = await site({ pages: 40, delayMs: 0 });
      const e = await engine(true);
      const first = await e.waitForJob((await add(e, s, '/jobs/running-cancel')).id);
      assert.equal(first.state, 'succeeded');
      const before = await chunkStats('/jobs/running-cancel');
      s.opts.delayMs = 120;
      s.opts.variant = ' (release 2)';
      const job = await add(e, s, '/jobs/running-cancel');
      await until('a committed batch', async () => {
        const rows = await db().query(STAGED_PAGES_SQL, [job.id]);
        return rows.length >= 16;
      });
      const asked = await e.cancelJob(job.id);
      assert.equal(asked?.state, 'running');
      assert.equal(asked?.cancelRequested, true);
      const done = await until('the end of the job', async () => {
        const j = await e.getJob(job.id);
        return j && j.state !== 'running' ? j : undefined;
      });
      assert.equal(done.state, 'cancelled');
      const staging = await db().query(`SELECT id FROM library_versions WHERE job_id = $1`, [
        job.id,
      ]);
      assert.equal(staging.length, 0, 'the staging version is removed');
      assert.deepEqual(await chunkStats('/jobs/running-cancel'), before);
      const served = await db().query(
        `SELECT 1 FROM chunks c JOIN library_versions v ON v.id = c.version_id
          WHERE v.library_id = '/jobs/running-cancel' AND c.content LIKE '%release 2%'`,
      );
      assert.equal(served.length, 0, 'nothing of the cancelled run serves');
      const answer = await e.query('/jobs/running-cancel', 'configure3 topic3x757', 2000, {
        client: 'rest',
      });
      assert.match(answer.text, /topic3x757/);
      await stop(e);
    });

    it('retries a transient failure (HTTP 503) with backoff, showing attempts and the last error', async function () {
      this.timeout(60_000);
      const s = await site({ pages: 3, failFirst: { '/site/index.html': [503, 2] } });
      const e = await engine(true, { backoffMs: 700 });
      const job = await add(e, s, '/jobs/retry');
      const waiting = await until('a backoff', async () => {
        const j = await e.getJob(job.id);
        return j?.state === 'queued' && j.attempts === 1 ? j : undefined;
      });
      assert.match(waiting.error ?? '', /answered HTTP 503/);
      assert.ok(waiting.nextRunAt, 'the next run time is shown');
      const done: Job = await e.waitForJob(job.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      assert.equal(done.attempts, 3);
      assert.equal(done.maxAttempts, 3);
      assert.equal(s.counts.get('/site/index.html'), 3);
      await stop(e);
    });

    it('fails at once on a permanent error (404) and after the last attempt on a transient one', async function () {
      this.timeout(60_000);
      const s = await site({
        pages: 3,
        failFirst: { '/site/index.html': [404, 99], '/other/index.html': [503, 99] },
      });
      const e = await engine(true, { backoffMs: 50, maxAttempts: 2 });
      const notFound = await e.waitForJob((await add(e, s, '/jobs/perm')).id);
      assert.equal(notFound.state, 'failed');
      assert.equal(notFound.attempts, 1, 'a 404 is not retried');
      const down = await e.waitForJob(
        (
          await e.addSource({
            source: `${s.origin}/other/index.html`,
            libraryId: '/jobs/down',
            kind: 'web',
            trustedLocal: true,
          })
        ).id,
      );
      assert.equal(down.state, 'failed');
      assert.equal(down.attempts, 2);
      assert.match(down.error ?? '', /HTTP 503/);
      const versions = await db().query<{ state: string }>(
        `SELECT state FROM library_versions WHERE job_id = $1`,
        [down.id],
      );
      assert.ok(
        versions.every((v) => v.state === 'failed'),
        JSON.stringify(versions),
      );
      await stop(e);
    });

    it('retries a job whose worker vanished (lease expired), or fails it on its last attempt', async function () {
      this.timeout(60_000);
      const s = await site({ pages: 3 });
      const api = await engine(false, { maxAttempts: 1 });
      const lost = await add(api, s, '/jobs/lost-last');
      const claimed = await claimJob(db(), 'ghost-worker', 100, 1);
      assert.equal(claimed?.id, lost.id);
      await sleep(200);
      await sweepDeadJobs(db());
      const row = await getJobRow(db(), lost.id);
      assert.equal(row?.state, 'failed');
      assert.match(row?.error ?? '', /lease expired/);

      const retried = await add(api, s, '/jobs/lost-retry');
      assert.equal((await claimJob(db(), 'ghost-worker', 100, 3))?.id, retried.id);
      await sleep(200);
      const e = await engine(true);
      const done = await e.waitForJob(retried.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      assert.equal(done.attempts, 2, 'the lost attempt counts');
      await stop(e);
      await stop(api);
    });

    it('releases a running job on stop and resumes it elsewhere without re-fetching committed pages', async function () {
      this.timeout(180_000);
      const s = await site({ pages: 48 });
      const clean = await engine(true);
      const baseline = await clean.waitForJob((await add(clean, s, '/jobs/clean')).id);
      assert.equal(baseline.state, 'succeeded', baseline.error ?? '');
      await stop(clean);
      const expected = await chunkStats('/jobs/clean');

      s.opts.delayMs = 100;
      s.resetCounts();
      const a = await engine(true);
      const job = await add(a, s, '/jobs/resumed');
      await until('two committed batches', async () => {
        const rows = await db().query(STAGED_PAGES_SQL, [job.id]);
        return rows.length >= 32;
      });
      await stop(a);
      const released = await getJobRow(db(), job.id);
      assert.equal(released?.state, 'queued', 'released at once, not after the lease');
      assert.equal(released?.attempts, 0, 'a release is not a failed attempt');
      const committed = (await db().query<{ path: string }>(STAGED_PAGES_SQL, [job.id])).map(
        (r) => r.path,
      );
      assert.ok(committed.length >= 32);
      const fetchedBefore = s.pageRequests();
      s.resetCounts();
      const b = await engine(true);
      const done = await b.waitForJob(job.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      assert.ok((done.progress?.resumed ?? 0) >= 32, JSON.stringify(done.progress));
      for (const path of committed) {
        assert.equal(
          s.counts.get(`/site/${path}`),
          undefined,
          `committed page ${path} fetched again`,
        );
      }
      for (const [path, n] of fetchedBefore) assert.equal(n, 1, `${path} fetched ${n} times`);
      const got = await chunkStats('/jobs/resumed');
      assert.equal(got.n, expected.n, 'same chunks as a clean index');
      assert.equal(got.n, got.distinct_n, 'no duplicate chunk rows');
      assert.equal(got.pages, expected.pages);
      await stop(b);
    });
  },
  { setup: (d) => migrate(d, MIGRATIONS).then(() => undefined) },
);
