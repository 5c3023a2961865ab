/**
 * Refresh on both back ends: re-indexing from the stored source copies unchanged pages in SQL and
 * re-chunks only the changed one, drops deleted pages, and the new text answers right after; the
 * serving version answers while a refresh runs; `twinmcp refresh` and `POST /api/v1/libs/refresh`;
 * staleness by popularity and the scheduler.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { devNull, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../shared/api.js';
import { parseArgs } from '../../server/cli/args.js';
import { localBackend } from '../../server/cli/backend.js';
import { runCommand } from '../../server/cli/commands.js';
import { loadConfig } from '../../server/config.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { EngineError, type CallContext } from '../../server/engine-types.js';
import { buildApp } from '../../server/http/app.js';
import { indexLibrary } from '../../server/indexing/pipeline.js';
import { refreshRequest } from '../../server/indexing/refresh.js';
import {
  maxAgeMs,
  RefreshScheduler,
  staleLibraries,
} from '../../server/indexing/refresh-scheduler.js';
import { localFolderSource } from '../../server/indexing/sources/local.js';
import type { SourceEvent } from '../../server/indexing/types.js';
import { describeBackends } from '../helpers/backends.js';

const CLI: CallContext = { client: 'cli' };

/** git with no user or system configuration, as the git source runs it. */
function git(cwd: string, ...args: string[]): string {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return execFileSync(
    'git',
    [
      '-c',
      'user.name=Test',
      '-c',
      'user.email=test@example.com',
      '-c',
      'commit.gpgsign=false',
      ...args,
    ],
    {
      cwd,
      env: { ...env, GIT_CONFIG_GLOBAL: devNull, GIT_CONFIG_NOSYSTEM: '1' },
      encoding: 'utf8',
    },
  ).trim();
}
const ID = '/local/refresh-docs';
const HOUR = 3_600_000;

async function waitJob(engine: TwinEngine, id: string): Promise<Job> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`job ${id} still running after 60 s`)), 60_000);
  });
  try {
    return await Promise.race([engine.waitForJob(id), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (err) {
    return err instanceof EngineError ? err.code : String(err);
  }
}

describe('refresh policy', () => {
  it('staleness shrinks with use: a week unused, 42 h at 7 uses, never under 6 h', () => {
    const policy = { baseMs: 168 * HOUR };
    assert.equal(maxAgeMs(0, policy), 168 * HOUR);
    assert.equal(maxAgeMs(1, policy), 84 * HOUR);
    assert.equal(maxAgeMs(7, policy), 42 * HOUR);
    assert.ok(Math.abs(maxAgeMs(100, policy) / HOUR - 21.9) < 0.1);
    assert.equal(maxAgeMs(1e9, policy), 6 * HOUR);
  });

  it('rebuilds the add request from what a version stored', () => {
    const row = { library_id: '/npm/zod', title: 'zod', owner_account: null, is_latest: true };
    assert.equal(
      refreshRequest({
        ...row,
        version: '3.23.8',
        source: { kind: 'npm', spec: 'npm:zod@3.23.8', version: '3.23.8' },
      }),
      'npm:zod@3.23.8 names an exact version, which never changes',
    );
    assert.deepEqual(
      refreshRequest({
        ...row,
        version: '3.23.8',
        source: { kind: 'npm', spec: 'npm:zod@^3', version: '3.23.8' },
      }),
      {
        libraryId: '/npm/zod',
        name: 'zod',
        owner: null,
        source: 'npm:zod@^3',
        trustedLocal: false,
      },
    );
    assert.deepEqual(
      refreshRequest({
        ...row,
        library_id: '/o/r',
        version: 'v4',
        source: { kind: 'git', url: 'https://github.com/o/r.git', commit: 'abc', ref: 'v4.x' },
      }),
      {
        libraryId: '/o/r',
        name: 'zod',
        owner: null,
        source: 'https://github.com/o/r.git',
        version: 'v4',
        ref: 'v4.x',
        latest: true,
        trustedLocal: false,
      },
    );
    assert.equal(
      refreshRequest({ ...row, version: '', source: {} }),
      'no stored source to refresh from',
    );
  });

  it('parses `twinmcp refresh [libraryId]`', () => {
    const out = { out: () => {}, err: () => {} };
    assert.deepEqual(parseArgs(['refresh'], out), { command: { name: 'refresh' } });
    assert.deepEqual(parseArgs(['refresh', '/npm/zod'], out), {
      command: { name: 'refresh', libraryId: '/npm/zod' },
    });
    assert.deepEqual(parseArgs(['refresh', 'zod'], out), { exitCode: 2 });
  });
});

describeBackends('refresh', ({ db }) => {
  describe('a local folder indexed, then changed', function () {
    let engine: TwinEngine;
    let tmp: string;
    let docs: string;

    const write = (name: string, text: string) => writeFileSync(join(docs, name), text);

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-refresh-'));
      docs = join(tmp, 'refresh-docs');
      mkdirSync(docs);
      write('alpha.md', '# Alpha\n\nAlpha pages explain the harbour configuration in detail.\n');
      write('beta.md', '# Beta\n\nBeta pages describe the lighthouse schedule.\n');
      write('gamma.md', '# Gamma\n\nGamma pages cover the zeppelin hangar.\n');
      engine = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker: true,
      });
      const job = await waitJob(
        engine,
        (await engine.addSource({ source: docs, trustedLocal: true })).id,
      );
      assert.equal(job.state, 'succeeded', job.error ?? '');
      assert.equal(job.libraryId, ID);
    });

    after(async () => {
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('re-chunks only the changed page, removes the deleted one, and answers with the new text', async () => {
      write('beta.md', '# Beta\n\nBeta pages describe the quokka feeding schedule.\n');
      unlinkSync(join(docs, 'gamma.md'));
      const { jobs, skipped } = await engine.refresh(ID, CLI);
      assert.deepEqual(skipped, []);
      assert.equal(jobs.length, 1);
      assert.equal(jobs[0]!.kind, 'refresh');
      const done = await waitJob(engine, jobs[0]!.id);
      assert.equal(done.state, 'succeeded', done.error ?? '');
      assert.equal(done.progress!.pages, 2);
      assert.equal(done.progress!.reused, 1, 'alpha.md was copied, not parsed');

      const quokka = await engine.query(ID, 'quokka feeding', undefined, CLI);
      assert.match(quokka.text, /quokka feeding schedule/);
      assert.doesNotMatch(quokka.text, /lighthouse/);
      const paths = await engine.db.query<{ path: string }>(
        `SELECT p.path FROM pages p JOIN library_versions v ON v.id = p.version_id
          WHERE v.library_id = $1 AND v.state = 'ready' ORDER BY p.path`,
        [ID],
      );
      assert.deepEqual(
        paths.map((p) => p.path),
        ['alpha.md', 'beta.md'],
      );
      const zeppelin = await engine
        .query(ID, 'zeppelin hangar', undefined, CLI)
        .catch((e: unknown) => e);
      if (!(zeppelin instanceof EngineError)) {
        assert.doesNotMatch((zeppelin as { text: string }).text, /zeppelin/);
      }
      // The copied page still answers, from its copied chunk rows and lexemes.
      assert.match(
        (await engine.query(ID, 'harbour configuration', undefined, CLI)).text,
        /harbour/,
      );
    });

    it('keeps serving the old version until the refreshed one is complete', async () => {
      write('alpha.md', '# Alpha\n\nAlpha pages now explain the marina moorings.\n');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let reached!: () => void;
      const midway = new Promise<void>((r) => (reached = r));
      async function* paused(): AsyncGenerator<SourceEvent> {
        let n = 0;
        for await (const e of localFolderSource(docs)) {
          yield e;
          if (++n === 1) {
            reached();
            await gate;
          }
        }
      }
      const running = indexLibrary(engine.db, {
        libraryId: ID,
        version: '',
        title: 'Refresh Docs',
        latest: true,
        source: paused(),
        sourceInfo: { kind: 'local', path: docs },
        ownerAccount: null,
        jobId: null,
        reuse: true,
      });
      await midway;
      const during = await engine.query(ID, 'harbour configuration', undefined, CLI);
      assert.match(during.text, /harbour configuration/, 'the old version answers mid-refresh');
      release();
      const summary = await running;
      assert.equal(summary.reused, 1, 'beta.md unchanged since the last refresh');
      assert.match(
        (await engine.query(ID, 'marina moorings', undefined, CLI)).text,
        /marina moorings/,
      );
    });

    it('`twinmcp refresh` queues, follows and reports the jobs', async () => {
      write('beta.md', '# Beta\n\nBeta pages describe the wombat burrows.\n');
      const out: string[] = [];
      const io = {
        out: (t: string) => void out.push(t),
        err: (t: string) => void out.push(t),
        stdoutIsTTY: false,
        cwd: tmp,
      };
      const code = await runCommand(
        { name: 'refresh', libraryId: ID },
        localBackend(engine, async () => {}),
        io,
      );
      assert.equal(code, 0, out.join(''));
      assert.match(out.join(''), /Indexed \/local\/refresh-docs: 2 pages/);
      assert.match(out.join(''), /1 unchanged pages reused, 1 re-chunked/);
      assert.match((await engine.query(ID, 'wombat burrows', undefined, CLI)).text, /wombat/);
    });

    it('refreshes every library without an id; refuses unknown and malformed ids', async () => {
      const all = await engine.refresh(undefined, CLI);
      assert.deepEqual(
        all.jobs.map((j) => j.libraryId),
        [ID],
      );
      // A second request while the first is queued or running adds nothing.
      const again = await engine.refresh(ID, CLI);
      assert.equal(again.jobs.length, 0);
      assert.match(again.skipped[0]?.reason ?? '', /already queued or running/);
      assert.equal((await waitJob(engine, all.jobs[0]!.id)).state, 'succeeded');
      assert.equal(await codeOf(engine.refresh('/nobody/here', CLI)), 'library_not_found');
      assert.equal(await codeOf(engine.refresh('not-an-id', CLI)), 'invalid_library_id');
      // Another account's key sees no library of the public owner.
      assert.equal(
        await codeOf(engine.refresh(ID, { client: 'rest', owner: 'acct_x' })),
        'library_not_found',
      );
    });

    it('POST /api/v1/libs/refresh needs the admin token and queues jobs', async () => {
      const app = await buildApp({
        engine,
        config: loadConfig({ TWINMCP_DATA_DIR: join(tmp, 'http-data') }),
        adminToken: 'secret-token',
      });
      try {
        const json = { 'content-type': 'application/json' };
        const denied = await app.inject({
          method: 'POST',
          url: '/api/v1/libs/refresh',
          headers: json,
          payload: {},
        });
        assert.equal(denied.statusCode, 403);
        assert.equal(denied.json().error, 'forbidden');
        const auth = { ...json, authorization: 'Bearer secret-token' };
        const bad = await app.inject({
          method: 'POST',
          url: '/api/v1/libs/refresh',
          headers: auth,
          payload: { libraryId: 'x' },
        });
        assert.equal(bad.statusCode, 400);
        assert.equal(bad.json().error, 'invalid_library_id');
        const ok = await app.inject({
          method: 'POST',
          url: '/api/v1/libs/refresh',
          headers: auth,
          payload: { libraryId: ID },
        });
        assert.equal(ok.statusCode, 202, ok.body);
        const { jobs } = ok.json() as { jobs: Job[] };
        assert.equal(jobs.length, 1);
        assert.equal((await waitJob(engine, jobs[0]!.id)).state, 'succeeded');
      } finally {
        await app.close();
      }
    });

    it('git tags listed in previousVersions become versions; latest stays the branch', async function () {
      this.timeout(120_000);
      const repo = join(tmp, 'tagged.git');
      mkdirSync(join(repo, 'docs'), { recursive: true });
      git(repo, 'init', '-q', '-b', 'main');
      writeFileSync(
        join(repo, 'docs', 'index.md'),
        '# Tagged\n\nVersion one covers the ostrich API.\n',
      );
      git(repo, 'add', '.');
      git(repo, 'commit', '-q', '-m', 'one');
      git(repo, 'tag', 'v1.0.0');
      writeFileSync(
        join(repo, 'docs', 'index.md'),
        '# Tagged\n\nVersion two covers the pelican API.\n',
      );
      writeFileSync(
        join(repo, 'twinmcp.json'),
        JSON.stringify({ previousVersions: [{ tag: 'v1.0.0' }] }),
      );
      git(repo, 'add', '.');
      git(repo, 'commit', '-q', '-m', 'two');
      const first = await waitJob(
        engine,
        (await engine.addSource({ source: `file://${repo}`, trustedLocal: true })).id,
      );
      assert.equal(first.state, 'succeeded', first.error ?? '');
      const id = first.libraryId!;
      let tagJob: { id: string } | undefined;
      for (let i = 0; i < 100 && !tagJob; i++) {
        [tagJob] = await engine.db.query<{ id: string }>(
          `SELECT id FROM jobs WHERE library_id = $1 AND version = 'v1.0.0'`,
          [id],
        );
        if (!tagJob) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(tagJob, 'a job for the listed tag was queued');
      assert.equal((await waitJob(engine, tagJob.id)).state, 'succeeded');
      assert.match((await engine.query(`${id}/v1.0.0`, 'ostrich', undefined, CLI)).text, /ostrich/);
      const latest = await engine.query(id, 'which API', undefined, CLI);
      assert.match(latest.text, /pelican/);
      assert.equal(latest.json.version, null);
    });

    it('the scheduler queues libraries past their popularity-scaled age', async () => {
      const [row] = await engine.db.query<{ indexed_at: Date | string }>(
        `SELECT max(indexed_at) AS indexed_at FROM library_versions WHERE library_id = $1 AND state = 'ready'`,
        [ID],
      );
      const indexedAt = new Date(row!.indexed_at).getTime();
      // The queries above were usage too: start the count from nothing.
      await engine.usage.flush();
      await engine.db.query(`DELETE FROM usage_events`);
      const policy = { baseMs: 168 * HOUR };
      const twoDaysLater = new Date(indexedAt + 48 * HOUR);
      assert.deepEqual(await staleLibraries(engine.db, twoDaysLater, policy), [], 'unused: a week');
      for (let i = 0; i < 7; i++) {
        await engine.db.query(
          `INSERT INTO usage_events (at, client, kind, library_id, latency_ms) VALUES ($1, 'mcp', 'query', $2, 1)`,
          [new Date(indexedAt + HOUR).toISOString(), i % 2 ? ID : `${ID}/latest`],
        );
      }
      const stale = await staleLibraries(engine.db, twoDaysLater, policy);
      assert.deepEqual(
        stale.map((s) => [s.libraryId, s.uses7d, s.maxAgeMs]),
        [[ID, 7, 42 * HOUR]],
      );
      const queued: string[] = [];
      const scheduler = new RefreshScheduler({
        db: engine.db,
        policy,
        refresh: async (id) => {
          queued.push(id);
          return 1;
        },
      });
      assert.deepEqual(await scheduler.check(twoDaysLater), [ID]);
      assert.deepEqual(queued, [ID]);
      await scheduler.stop();
    });
  });
});
