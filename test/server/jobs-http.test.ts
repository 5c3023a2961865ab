/**
 * Job routes and CLI: `DELETE /api/v1/jobs/:id` and `GET /api/v1/jobs` with auth on (the owner
 * or an admin cancels; others see a 404 or a 403), with auth off, and `twinmcp jobs list` /
 * `twinmcp jobs cancel` / `worker` / `serve --no-worker` parsing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey, type CreatedApiKey } from '../../server/accounts/keys.js';
import { parseArgs } from '../../server/cli/args.js';
import { main } from '../../server/cli/main.js';
import { loadConfig } from '../../server/config.js';
import { migrate } from '../../server/db/migrate.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { buildApp } from '../../server/http/app.js';
import { describeBackends } from '../helpers/backends.js';
import { authEnv, bearer, writeDocs } from './accounts-helpers.js';

const ADMIN_TOKEN = 'local-admin-token-for-jobs-tests';

describe('jobs CLI parsing', () => {
  const quiet = { out: () => {}, err: () => {} };
  it('parses worker, jobs list/cancel and serve --no-worker --concurrency', () => {
    assert.deepEqual(parseArgs(['worker', '--concurrency', '3'], quiet), {
      command: { name: 'worker', concurrency: 3 },
    });
    assert.deepEqual(parseArgs(['serve', '--no-worker', '-c', '2'], quiet), {
      command: { name: 'serve', worker: false, concurrency: 2 },
    });
    assert.deepEqual(parseArgs(['serve'], quiet), { command: { name: 'serve' } });
    assert.deepEqual(parseArgs(['jobs', 'list', '--state', 'queued,running'], quiet), {
      command: { name: 'jobs-list', json: false, states: ['queued', 'running'] },
    });
    assert.deepEqual(parseArgs(['jobs', 'cancel', 'abc'], quiet), {
      command: { name: 'jobs-cancel', id: 'abc' },
    });
  });
  it('refuses a bad concurrency or state with a usage error', () => {
    let err = '';
    const io = { out: () => {}, err: (t: string) => (err += t) };
    assert.deepEqual(parseArgs(['worker', '--concurrency', '0'], io), { exitCode: 2 });
    assert.match(err, /from 1 to 64/);
    assert.deepEqual(parseArgs(['jobs', 'list', '--state', 'done'], io), { exitCode: 2 });
    assert.match(err, /Unknown state "done"/);
  });
});

describeBackends(
  'job routes and CLI',
  ({ db }) => {
    let tmp: string;
    let engine: TwinEngine;
    let app: FastifyInstance;
    let openApp: FastifyInstance;
    let keyA: CreatedApiKey;
    let keyB: CreatedApiKey;
    let adminKey: CreatedApiKey;
    let accountA: string;

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-jobs-http-'));
      writeDocs(join(tmp, 'docs'), 'Numbatkit', 'batching');
      // No runner: every job stays queued until the test cancels it.
      engine = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker: false,
      });
      const a = await createAccount(db(), { email: 'jobs-a@example.com' });
      const b = await createAccount(db(), { email: 'jobs-b@example.com' });
      const ops = await createAccount(db(), { email: 'jobs-ops@example.com', isAdmin: true });
      accountA = a.id;
      keyA = await createApiKey(db(), a.id, { name: 'a' });
      keyB = await createApiKey(db(), b.id, { name: 'b' });
      adminKey = await createApiKey(db(), ops.id, { name: 'ops', admin: true });
      app = await buildApp({
        engine,
        config: loadConfig(authEnv(tmp)),
        adminToken: ADMIN_TOKEN,
      });
      openApp = await buildApp({
        engine,
        config: loadConfig({ TWINMCP_DATA_DIR: join(tmp, 'data'), TWINMCP_LOG_LEVEL: 'silent' }),
        adminToken: ADMIN_TOKEN,
      });
    });
    after(async () => {
      await app?.close();
      await openApp?.close();
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    const queue = async (owner: string | null, name: string) =>
      (
        await engine.addSource({
          source: join(tmp, 'docs'),
          libraryId: `/jobs-http/${name}`,
          trustedLocal: true,
          owner,
        })
      ).id;
    const cancel = (target: FastifyInstance, id: string, headers: Record<string, string> = {}) =>
      target.inject({ method: 'DELETE', url: `/api/v1/jobs/${id}`, headers });

    it('the owner cancels its queued job at once; another account sees a 404', async () => {
      const id = await queue(accountA, 'own');
      const other = await cancel(app, id, bearer(keyB.key));
      assert.equal(other.statusCode, 404, other.body);
      assert.equal(other.json().error, 'job_not_found');
      const anonymous = await cancel(app, id);
      assert.equal(anonymous.statusCode, 404);
      const res = await cancel(app, id, bearer(keyA.key));
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().job.state, 'cancelled');
      assert.equal((await engine.getJob(id))?.state, 'cancelled');
      const again = await cancel(app, id, bearer(keyA.key));
      assert.equal(again.statusCode, 200, 'cancelling twice is harmless');
    });

    it('an admin key cancels anyone’s job; a public job needs an admin', async () => {
      const privateJob = await queue(accountA, 'by-admin');
      const res = await cancel(app, privateJob, bearer(adminKey.key));
      assert.equal(res.statusCode, 200, res.body);
      const publicJob = await queue(null, 'public');
      const byB = await cancel(app, publicJob, bearer(keyB.key));
      assert.equal(byB.statusCode, 403, byB.body);
      assert.equal(byB.json().error, 'forbidden');
      const anonymous = await cancel(app, publicJob);
      assert.equal(anonymous.statusCode, 401);
      const local = await cancel(app, publicJob, { authorization: `Bearer ${ADMIN_TOKEN}` });
      assert.equal(local.statusCode, 200, local.body);
    });

    it('a finished job cannot be cancelled (409); an unknown id is a 404', async () => {
      const id = await queue(accountA, 'done');
      await db().query(`UPDATE jobs SET state = 'succeeded' WHERE id = $1`, [id]);
      const res = await cancel(app, id, bearer(keyA.key));
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().error, 'conflict');
      const missing = await cancel(app, '00000000-0000-0000-0000-000000000000', bearer(keyA.key));
      assert.equal(missing.statusCode, 404);
    });

    it('lists the caller’s jobs (every job for an admin), filtered by state', async () => {
      const mine = await queue(accountA, 'listed');
      await queue(null, 'listed-public');
      const a = await app.inject({ url: '/api/v1/jobs?state=queued', headers: bearer(keyA.key) });
      assert.equal(a.statusCode, 200, a.body);
      const ids = (a.json().jobs as { id: string; state: string }[]).map((j) => j.id);
      assert.ok(ids.includes(mine));
      const rows = await db().query<{ owner_account: string | null }>(
        `SELECT owner_account FROM jobs WHERE id = ANY($1::text[])`,
        [ids],
      );
      assert.ok(
        rows.every((r) => r.owner_account === accountA),
        'only A’s jobs',
      );
      const admin = await app.inject({ url: '/api/v1/jobs', headers: bearer(adminKey.key) });
      assert.ok(admin.json().jobs.length > ids.length);
      assert.equal((await app.inject({ url: '/api/v1/jobs' })).statusCode, 401);
      const bad = await app.inject({ url: '/api/v1/jobs?state=done', headers: bearer(keyA.key) });
      assert.equal(bad.statusCode, 400);
      const job = a.json().jobs[0];
      assert.equal(typeof job.attempts, 'number');
      assert.equal(job.maxAttempts, 3);
    });

    it('auth off: anyone on this machine cancels', async () => {
      const id = await queue(null, 'open');
      const res = await cancel(openApp, id);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().job.state, 'cancelled');
    });

    it('`twinmcp jobs list` and `twinmcp jobs cancel` run against the store', async () => {
      const id = await queue(null, 'cli');
      const run = async (argv: string[]) => {
        let out = '';
        let err = '';
        const code = await main(argv, {
          env: { TWINMCP_DATA_DIR: join(tmp, `cli-${Date.now()}`), TWINMCP_LOG_LEVEL: 'silent' },
          stdout: { write: (t: string) => (out += t) },
          stderr: { write: (t: string) => (err += t) },
          createEngine: (opts) => createEngine({ ...opts, db: db() }),
        });
        return { code, out, err };
      };
      const listed = await run(['jobs', 'list', '--state', 'queued']);
      assert.equal(listed.code, 0, listed.err);
      assert.match(listed.out, new RegExp(`${id}\\s+queued\\s+index\\s+/jobs-http/cli`));
      const cancelled = await run(['jobs', 'cancel', id]);
      assert.equal(cancelled.code, 0, cancelled.err);
      assert.match(cancelled.out, new RegExp(`Cancelled job ${id}`));
      const missing = await run(['jobs', 'cancel', '00000000-0000-0000-0000-000000000000']);
      assert.equal(missing.code, 3, 'not found exits 3');
      assert.match(missing.err, /not found/);
    });

    it('`twinmcp worker` on the embedded store holds it, runs jobs, and stops with exit 0', async function () {
      this.timeout(60_000);
      const env = { TWINMCP_DATA_DIR: join(tmp, 'worker-data'), TWINMCP_LOG_LEVEL: 'silent' };
      const stop = new AbortController();
      let out = '';
      const id = await queue(null, 'by-worker');
      const running = main(['worker'], {
        env,
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: () => {} },
        createEngine: (opts) => createEngine({ ...opts, db: db() }),
        stopSignal: stop.signal,
      });
      const done = await engine.waitForJob(id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      assert.match(out, /TwinMCP worker running/);
      let err = '';
      const second = await main(['worker'], {
        env,
        stdout: { write: () => {} },
        stderr: { write: (t: string) => (err += t) },
        createEngine: (opts) => createEngine({ ...opts, db: db() }),
      });
      assert.equal(second, 2, 'a second owner of the embedded store is refused');
      assert.match(err, /in use by process/);
      stop.abort();
      assert.equal(await running, 0);
    });
  },
  { setup: (d) => migrate(d, MIGRATIONS).then(() => undefined) },
);
