/**
 * The engine end to end on both back ends: indexing the Fastify corpus through the in-process job
 * runner, query and resolve as the interfaces call them, re-indexing, hostile input, usage events,
 * local path safety, removal, and job claiming by two workers on one database.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorCode, Job } from '../../shared/api.js';
import type { Db } from '../../server/db/db.js';
import { migrate } from '../../server/db/migrate.js';
import { openPostgres } from '../../server/db/postgres.js';
import { MIGRATIONS } from '../../server/db/schema.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { EngineError, type CallContext } from '../../server/engine-types.js';
import { claimJob, enqueueJob, type JobRow } from '../../server/jobs/queue.js';
import { JobRunner } from '../../server/jobs/runner.js';
import { SNIPPET_SEPARATOR } from '../../server/search/format.js';
import { describeBackends } from '../helpers/backends.js';
import { requireCorpus } from '../helpers/corpus.js';
import { sharedPostgresServer } from '../helpers/pg-server.js';

const CLI: CallContext = { client: 'cli' };
const HOOKS_QUESTION = 'run code before the route handler';
/** Indexing the 42 Fastify pages takes ~3-7 s; a job still running after this is stuck. */
const JOB_DEADLINE_MS = 90_000;

/** waitForJob with a deadline whose error shows where the job stood, instead of a bare timeout. */
async function waitJob(engine: TwinEngine, id: string, ms = JOB_DEADLINE_MS): Promise<Job> {
  let last: Job | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`job ${id} had not ended after ${ms} ms; last seen: ${JSON.stringify(last)}`),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([engine.waitForJob(id, (job) => (last = job)), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `promise` rejects with an EngineError of `code` (and a message matching `message`). */
async function rejectsWithCode(
  promise: Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
): Promise<EngineError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof EngineError, `expected an EngineError, got ${String(caught)}`);
  assert.equal(caught.code, code, `error code (message: ${caught.message})`);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** The `Source:` of each snippet in a Context7 text answer, in rank order. */
function sourcesInOrder(text: string): string[] {
  return text.split(SNIPPET_SEPARATOR).map((block) => {
    const m = /^### .+\n\nSource: (\S+)\n/.exec(block);
    assert.ok(m, `snippet block not in the Context7 layout:\n${block.slice(0, 300)}`);
    return m[1]!;
  });
}

function write(dir: string, rel: string, content: string | Buffer): void {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

/** A small library: two pages with distinctive words. */
function smallLibrary(dir: string): void {
  write(
    dir,
    'guide.md',
    '# Pelican guide\n\nThe pelican cache keeps recent answers in memory.\n\n' +
      '## Configure the pelican cache\n\nSet `pelican.maxEntries` to bound the pelican cache.\n\n' +
      '```js\nconst cache = pelican({ maxEntries: 100 });\n```\n',
  );
  write(dir, 'api/reference.md', '# Reference\n\n## flamingo()\n\nReturns a flamingo handle.\n');
}

/**
 * 45 pages of one heading and one ~2,700-token code block each (kept whole: under 4x the chunk
 * size), all matching "zebrafish option" equally: 40 candidates would come to ~108k tokens, so
 * only the token budget limits the answer.
 */
function budgetLibrary(dir: string): void {
  for (let n = 0; n < 45; n++) {
    const id = String(n).padStart(2, '0');
    const lines = Array.from(
      { length: 180 },
      (_, i) => `const zeta${id}_${i} = compute(${i}, 'opt${id}');`,
    );
    write(
      dir,
      `page-${id}.md`,
      `# Zebrafish option ${id}\n\n\`\`\`js\n// zebrafish option ${id}\n${lines.join('\n')}\n\`\`\`\n`,
    );
  }
}

/** Files a docs folder may contain by accident or malice; `outside` receives the symlink target. */
function hostileLibrary(dir: string, outside: string): void {
  write(dir, 'binary.md', Buffer.concat([Buffer.from('# Binary\n\n'), Buffer.alloc(64, 0)]));
  write(dir, 'huge.md', `# Huge\n\n${'A line of huge filler text.\n'.repeat(115_000)}`); // ~3.1 MB
  // "# Café" in Latin-1, then bytes that never occur in UTF-8.
  write(dir, 'latin1.md', Buffer.from([0x23, 0x20, 0x43, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe]));
  write(outside, 'secret.md', '# Secret\n\nThe marmoset password is hunter2.\n');
  symlinkSync(join(outside, 'secret.md'), join(dir, 'outside.md'));
  write(
    dir,
    'fence.md',
    '# Quokka setup\n\nThe quokka option enables caching.\n\n```js\nconst quokka = true;\n\n' +
      '## Not a heading inside the open fence\n\nstill code\n',
  );
  write(
    dir,
    'broken.mdx',
    "import { Foo } from './foo'\n\n# Narwhal component\n\n<Foo>\n\nThe narwhal prop sets the size.\n\n" +
      '## Usage\n\nPass narwhal={3} to <Bar to get a bigger one.\n',
  );
  write(
    dir,
    'junk.html',
    '<html><head><title>Axolotl</title><script>document.write("axolotl script")</script></head>' +
      '<body><div><div><p>Intro <b><i>nested <span>junk</b></i></span><table><tr><td>cell<div>' +
      '</table><h2>Axolotl regeneration</h2><p>The axolotl regenerates limbs.<<<>>></p>' +
      '<div><div><div><ul><li>one<li>two</ul></div></body></html><p>after the end',
  );
}

describeBackends(
  'Engine',
  ({ db, name }) => {
    // A nested suite, so that its `after` (closing the engine) runs before the outer one closes
    // the database.
    describe('with the Fastify corpus indexed', function () {
      let engine: TwinEngine;
      let tmp: string;
      let fastifyDir: string;
      let fastifyJob: Job;

      before(async function () {
        this.timeout(JOB_DEADLINE_MS + 30_000);
        fastifyDir = requireCorpus(this, 'md/fastify');
        tmp = mkdtempSync(join(tmpdir(), 'twinmcp-engine-'));
        engine = await createEngine({
          config: { dataDir: join(tmp, 'data') },
          db: db(),
          worker: true,
        });
        const queued = await engine.addSource({
          source: fastifyDir,
          libraryId: '/fastify/fastify',
          version: 'v5',
          trustedLocal: true,
        });
        assert.equal(queued.state, 'queued');
        fastifyJob = await waitJob(engine, queued.id);
      });

      after(async () => {
        await engine?.close();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      });

      describe('indexing and querying the Fastify corpus', () => {
        it('indexes all 42 pages with nothing skipped', () => {
          assert.equal(fastifyJob.state, 'succeeded', `job error: ${fastifyJob.error}`);
          assert.equal(fastifyJob.error, null);
          assert.equal(fastifyJob.libraryId, '/fastify/fastify');
          assert.equal(fastifyJob.version, 'v5');
          const p = fastifyJob.progress;
          assert.ok(p, 'a finished job reports its progress');
          assert.equal(p.phase, 'done');
          assert.equal(p.pages, 42);
          assert.deepEqual(p.skipped, [], 'no page of the corpus may be skipped');
          assert.ok(p.chunks >= 42, `chunks: ${p.chunks}`);
          assert.ok(p.tokens > 50_000, `tokens: ${p.tokens}`);
        });

        it('lists the library as ready with its counts and version', async () => {
          const lib = (await engine.listLibraries()).find((l) => l.id === '/fastify/fastify');
          assert.ok(lib, 'listed');
          assert.equal(lib.state, 'ready');
          assert.deepEqual(lib.versions, ['v5']);
          // Chunks with the same text in one version are stored once, so the library can count
          // a few snippets fewer than the job's chunks.
          const p = fastifyJob.progress!;
          assert.ok(lib.totalSnippets > 0.95 * p.chunks && lib.totalSnippets <= p.chunks);
          assert.ok(lib.totalTokens > 0.95 * p.tokens && lib.totalTokens <= p.tokens);
          assert.ok(lib.lastUpdateDate && !Number.isNaN(Date.parse(lib.lastUpdateDate)));
          assert.equal(lib.source, fastifyDir);
          assert.equal(lib.error, undefined);
        });

        it('answers in the Context7 text layout, with the Hooks page among the snippets', async () => {
          const { text, json } = await engine.query(
            '/fastify/fastify',
            HOOKS_QUESTION,
            undefined,
            CLI,
          );
          assert.match(text, /^### \S/);
          const sources = sourcesInOrder(text);
          assert.ok(sources.length >= 1);
          const snippets = [...json.codeSnippets, ...json.infoSnippets];
          assert.equal(
            snippets.length,
            sources.length,
            'the text and the JSON hold the same snippets',
          );
          assert.ok(
            snippets.some((s) => s.path === 'Reference/Hooks.md'),
            `no snippet from Reference/Hooks.md: ${snippets.map((s) => s.path).join(', ')}`,
          );
          assert.match(text, /onRequest|preHandler/);
          assert.equal(json.libraryId, '/fastify/fastify');
          assert.equal(json.version, 'v5');
          assert.equal(
            json.totalTokens,
            snippets.reduce((n, s) => n + s.tokens, 0),
          );
          for (const s of snippets) {
            assert.ok(s.source.startsWith(s.path), `source ${s.source} names its page ${s.path}`);
            assert.ok(s.content.trim().length > 0);
          }
        });

        // The acceptance: the answer includes the Hooks page. Lexically this question is
        // hard ("before" is an English stop word and "preHandler" shares only "handler"), so
        // Hooks.md comes within the first five snippets rather than first (see the eval in
        // docs/BENCHMARKS.md for the ranking quality overall).
        it('returns Reference/Hooks.md among the first five snippets', async () => {
          const { text } = await engine.query('/fastify/fastify', HOOKS_QUESTION, undefined, CLI);
          const pages = sourcesInOrder(text).map((s) => s.replace(/#.*$/, ''));
          assert.ok(
            pages.slice(0, 5).includes('Reference/Hooks.md'),
            `snippets in rank order: ${pages.join(', ')}`,
          );
        });

        it('raises a token budget below 1000 to the 1000 minimum', async () => {
          const low = await engine.query('/fastify/fastify', HOOKS_QUESTION, 100, CLI);
          const min = await engine.query('/fastify/fastify', HOOKS_QUESTION, 1000, CLI);
          assert.ok(low.json.totalTokens > 0);
          assert.ok(low.json.totalTokens <= 1100, `tokens: ${low.json.totalTokens}`);
          // 100 tokens would hold only the first snippet; the 1000 budget holds more.
          assert.ok(
            sourcesInOrder(low.text).length > 1,
            'more than the one snippet 100 tokens hold',
          );
          assert.deepEqual(low.json, min.json);
        });

        it('clamps a huge token budget to the 50000 maximum', async function () {
          this.timeout(60_000);
          const dir = join(tmp, 'budget');
          budgetLibrary(dir);
          const job = await waitJob(
            engine,
            (await engine.addSource({ source: dir, libraryId: '/t/budget', trustedLocal: true }))
              .id,
          );
          assert.equal(job.state, 'succeeded', `job error: ${job.error}`);
          const huge = await engine.query('/t/budget', 'zebrafish option', 999_999, CLI);
          const max = await engine.query('/t/budget', 'zebrafish option', 50_000, CLI);
          // Unclamped, all 40 candidates (~108k tokens) would fit the budget.
          assert.ok(huge.json.totalTokens <= 50_000, `tokens: ${huge.json.totalTokens}`);
          assert.ok(huge.json.totalTokens > 40_000, `tokens: ${huge.json.totalTokens}`);
          assert.deepEqual(huge.json, max.json);
          assert.equal(await engine.removeLibrary('/t/budget'), true);
        });

        it('accepts the version as /fastify/fastify/v5 and /fastify/fastify@v5', async () => {
          const bare = await engine.query('/fastify/fastify', HOOKS_QUESTION, undefined, CLI);
          for (const id of ['/fastify/fastify/v5', '/fastify/fastify@v5']) {
            const versioned = await engine.query(id, HOOKS_QUESTION, undefined, CLI);
            assert.equal(versioned.json.version, 'v5', id);
            assert.equal(versioned.text, bare.text, id);
          }
        });

        it('refuses a version that is not indexed, naming the available ones', async () => {
          const err = await rejectsWithCode(
            engine.query('/fastify/fastify/v9', HOOKS_QUESTION, undefined, CLI),
            'library_not_found',
            /v9/,
          );
          assert.match(err.message, /Available versions: v5\b/);
          assert.deepEqual(err.suggestions, ['/fastify/fastify/v5']);
          assert.equal(err.status, 404);
        });

        it('refuses a malformed library id', async () => {
          const err = await rejectsWithCode(
            engine.query('bad-id', HOOKS_QUESTION, undefined, CLI),
            'invalid_library_id',
            /bad-id/,
          );
          assert.equal(err.status, 400);
        });

        it('answers an unknown library with library_not_found and suggestions', async () => {
          const err = await rejectsWithCode(
            engine.query('/nope/nope', HOOKS_QUESTION, undefined, CLI),
            'library_not_found',
            /\/nope\/nope/,
          );
          assert.ok(
            err.suggestions.includes('/fastify/fastify'),
            `suggestions: ${err.suggestions}`,
          );
        });

        it('answers a question matching nothing with no_snippets_found', async () => {
          await rejectsWithCode(
            engine.query('/fastify/fastify', 'zzqqxx vvkkjj', undefined, CLI),
            'no_snippets_found',
            /zzqqxx vvkkjj/,
          );
        });
      });

      describe('resolve', () => {
        it('finds /fastify/fastify by name', async () => {
          const results = await engine.resolve('fastify', undefined, CLI);
          assert.equal(results[0]?.id, '/fastify/fastify');
          assert.equal(results[0]?.state, 'ready');
          assert.deepEqual(results[0]?.versions, ['v5']);
        });

        it('finds /fastify/fastify despite a typo', async () => {
          const results = await engine.resolve('fastfy', undefined, CLI);
          assert.equal(
            results[0]?.id,
            '/fastify/fastify',
            JSON.stringify(results.map((r) => r.id)),
          );
        });

        it('refuses an empty name', async () => {
          await rejectsWithCode(engine.resolve('  ', undefined, CLI), 'validation_error');
        });
      });

      describe('re-indexing', () => {
        const question = 'configure the pelican cache';
        let before: string;

        it('indexes a small folder as /t/lib and serves it', async () => {
          const dir = join(tmp, 'lib-v1');
          smallLibrary(dir);
          const job = await waitJob(
            engine,
            (await engine.addSource({ source: dir, libraryId: '/t/lib', trustedLocal: true })).id,
          );
          assert.equal(job.state, 'succeeded', `job error: ${job.error}`);
          assert.equal(job.progress?.pages, 2);
          before = (await engine.query('/t/lib', question, undefined, CLI)).text;
          assert.match(before, /^Source: guide\.md#/m);
          assert.match(before, /pelican\.maxEntries/);
        });

        it('fails a re-index that yields no pages and keeps serving the previous version', async () => {
          assert.ok(before, 'needs the previous test');
          const dir = join(tmp, 'lib-empty');
          write(dir, 'logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0xff, 0x00]));
          const job = await waitJob(
            engine,
            (await engine.addSource({ source: dir, libraryId: '/t/lib', trustedLocal: true })).id,
          );
          assert.equal(job.state, 'failed');
          assert.match(job.error ?? '', /no documentation pages/i);
          const after = await engine.query('/t/lib', question, undefined, CLI);
          assert.equal(after.text, before);
          const lib = (await engine.listLibraries()).find((l) => l.id === '/t/lib');
          assert.equal(lib?.state, 'ready');
          assert.ok(lib.totalSnippets > 0);
        });
      });

      describe('hostile and malformed input', () => {
        let job: Job;
        let outside: string;

        before(async function () {
          this.timeout(JOB_DEADLINE_MS);
          const dir = join(tmp, 'hostile');
          outside = join(tmp, 'outside');
          mkdirSync(dir, { recursive: true });
          hostileLibrary(dir, outside);
          job = await waitJob(
            engine,
            (await engine.addSource({ source: dir, libraryId: '/t/bad', trustedLocal: true })).id,
          );
        });

        it('succeeds and names the unreadable files with their reasons', () => {
          assert.equal(job.state, 'succeeded', `job error: ${job.error}`);
          const skipped = [...(job.progress?.skipped ?? [])].sort((a, b) =>
            a.path.localeCompare(b.path),
          );
          assert.deepEqual(
            skipped.map((s) => s.path),
            ['binary.md', 'huge.md', 'latin1.md', 'outside.md'],
            JSON.stringify(skipped),
          );
          const reason = (path: string) => skipped.find((s) => s.path === path)?.reason ?? '';
          assert.match(reason('binary.md'), /binary/i);
          assert.match(reason('huge.md'), /too large/i);
          assert.match(reason('latin1.md'), /UTF-8/);
          assert.match(reason('outside.md'), /outside/i);
          assert.equal(job.progress?.pages, 3);
        });

        it('indexes the malformed pages: unclosed fence, broken MDX, junk HTML', async () => {
          for (const [word, path] of [
            ['quokka option', 'fence.md'],
            ['narwhal prop', 'broken.mdx'],
            ['axolotl regenerates', 'junk.html'],
          ] as const) {
            const { json } = await engine.query('/t/bad', word, undefined, CLI);
            const paths = [...json.codeSnippets, ...json.infoSnippets].map((s) => s.path);
            assert.ok(paths.includes(path), `"${word}" -> ${paths.join(', ')}`);
          }
        });

        it('never indexes the target of a symlink leaving the folder', async () => {
          await rejectsWithCode(
            engine.query('/t/bad', 'marmoset password', undefined, CLI),
            'no_snippets_found',
          );
        });
      });

      describe('usage events', () => {
        interface UsageRow {
          client: string;
          kind: string;
          library_id: string | null;
          query: string | null;
          latency_ms: number;
          tokens: number;
          result_count: number;
          zero_result: boolean;
        }
        const rowsFor = async (marker: string) => {
          await engine.usage.flush();
          return db().query<UsageRow>(
            `SELECT client, kind, library_id, query, latency_ms, tokens, result_count, zero_result
               FROM usage_events WHERE query LIKE $1 ORDER BY id`,
            [`%${marker}%`],
          );
        };

        it('records a query and a resolve with client, latency and result counts', async () => {
          const ctx: CallContext = { client: 'eval' };
          const outcome = await engine.query(
            '/fastify/fastify',
            'usageprobe hooks lifecycle',
            undefined,
            ctx,
          );
          const found = await engine.resolve('fastify', 'usageprobe', ctx);
          const rows = await rowsFor('usageprobe');
          assert.equal(rows.length, 2, JSON.stringify(rows));
          const [q, r] = rows as [UsageRow, UsageRow];
          assert.equal(q.client, 'eval');
          assert.equal(q.kind, 'query');
          assert.equal(q.library_id, '/fastify/fastify');
          assert.ok(Number(q.latency_ms) > 0);
          assert.equal(
            q.result_count,
            outcome.json.codeSnippets.length + outcome.json.infoSnippets.length,
          );
          assert.ok(q.result_count > 0);
          assert.equal(q.tokens, outcome.json.totalTokens);
          assert.equal(q.zero_result, false);
          assert.equal(r.client, 'eval');
          assert.equal(r.kind, 'resolve');
          assert.equal(r.library_id, '/fastify/fastify');
          assert.ok(Number(r.latency_ms) > 0);
          assert.equal(r.result_count, found.length);
          assert.equal(r.zero_result, false);
        });

        it('marks a query without results as zero_result', async () => {
          await rejectsWithCode(
            engine.query('/fastify/fastify', 'zzqqxx vvkkjj zeroprobe', undefined, CLI),
            'no_snippets_found',
          );
          const rows = await rowsFor('zeroprobe');
          assert.equal(rows.length, 1, JSON.stringify(rows));
          assert.equal(rows[0]!.kind, 'query');
          assert.equal(rows[0]!.client, 'cli');
          assert.equal(rows[0]!.result_count, 0);
          assert.equal(rows[0]!.zero_result, true);
        });
      });

      describe('local path safety', () => {
        const jobCount = async () =>
          Number((await db().query<{ n: number }>('SELECT count(*)::int AS n FROM jobs'))[0]!.n);

        it('refuses local paths and file:// URLs from untrusted callers', async () => {
          const jobs = await jobCount();
          for (const source of ['/etc', 'file:///etc']) {
            const err = await rejectsWithCode(
              engine.addSource({ source, trustedLocal: false }),
              'forbidden',
            );
            assert.equal(err.status, 403, source);
          }
          assert.equal(await jobCount(), jobs, 'no job was queued');
        });

        it('refuses git remote-helper sources (ext::) even from trusted callers', async () => {
          const jobs = await jobCount();
          await rejectsWithCode(
            engine.addSource({ source: 'ext::sh -c x', trustedLocal: true }),
            'validation_error',
          );
          // Untrusted, it is refused before it is even parsed.
          const err = await rejectsWithCode(
            engine.addSource({ source: 'ext::sh -c x', trustedLocal: false }),
            'forbidden',
          );
          assert.equal(err.status, 403);
          assert.equal(await jobCount(), jobs, 'no job was queued');
        });
      });

      describe('removeLibrary', () => {
        it('removes /t/lib once, then reports it absent', async () => {
          assert.equal(await engine.removeLibrary('/t/lib'), true);
          assert.equal(
            (await engine.listLibraries()).some((l) => l.id === '/t/lib'),
            false,
          );
          await rejectsWithCode(
            engine.query('/t/lib', 'pelican cache', undefined, CLI),
            'library_not_found',
          );
          const rows = await db().query<{ n: number }>(
            `SELECT count(*)::int AS n FROM library_versions WHERE library_id = '/t/lib'`,
          );
          assert.equal(rows[0]!.n, 0);
          assert.equal(await engine.removeLibrary('/t/lib'), false);
          // The other libraries are untouched.
          assert.ok((await engine.listLibraries()).some((l) => l.id === '/fastify/fastify'));
        });
      });

      it(`ran on ${name}`, () => assert.equal(db().dialect, name));
    });
  },
  {
    setup: async (db) => {
      await migrate(db, MIGRATIONS);
    },
  },
);

describeBackends(
  'Job claiming by two workers',
  ({ db, name }) => {
    let second: Db | undefined;

    /**
     * On PostgreSQL a second handle (its own connection pool) to the same database, as a second
     * process would have; PGlite has one handle per process, so both workers share it.
     */
    before(async () => {
      if (name !== 'postgres') return;
      const [{ database }] = (await db().query<{ database: string }>(
        'SELECT current_database() AS database',
      )) as [{ database: string }];
      const url = new URL((await sharedPostgresServer()).url);
      url.pathname = `/${database}`;
      second = await openPostgres(url.toString());
    });

    const handles = (): [Db, Db] => [db(), second ?? db()];

    const enqueue = async (kind: string, n: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const row = await enqueueJob(db(), {
          kind,
          payload: { i },
          owner: null,
          libraryId: null,
          version: null,
        });
        ids.push(row.id);
      }
      return ids;
    };

    describe('claims', () => {
      after(async () => {
        await second?.close();
        second = undefined;
      });

      it('never hands one job to two concurrent claimJob calls', async () => {
        const ids = await enqueue('claim-race', 6);
        const [a, b] = handles();
        const claims = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            claimJob(i % 2 ? a : b, `worker-${i % 2 ? 'a' : 'b'}-${i}`, 30_000),
          ),
        );
        const claimed = claims.filter((c): c is JobRow => c !== undefined).map((c) => c.id);
        assert.equal(new Set(claimed).size, claimed.length, `a job was claimed twice: ${claimed}`);
        assert.deepEqual([...claimed].sort(), [...ids].sort());
        const rows = await db().query<{ attempts: number; state: string }>(
          `SELECT attempts, state FROM jobs WHERE kind = 'claim-race'`,
        );
        assert.ok(rows.every((r) => r.attempts === 1 && r.state === 'running'));
      });

      it('runs each job exactly once with two JobRunners', async function () {
        this.timeout(60_000);
        const ids = await enqueue('count', 24);
        const runs = new Map<string, string[]>();
        const [a, b] = handles();
        const runners = [a, b].map((handle, i) => {
          const label = `runner-${i}`;
          return new JobRunner(
            handle,
            {
              count: async (job) => {
                runs.set(job.id, [...(runs.get(job.id) ?? []), label]);
                await new Promise((r) => setTimeout(r, 25));
                return undefined;
              },
            },
            { pollMs: 20 },
          );
        });
        runners.forEach((r) => r.start());
        try {
          const deadline = Date.now() + 45_000;
          for (;;) {
            const [row] = await db().query<{ n: number }>(
              `SELECT count(*)::int AS n FROM jobs WHERE kind = 'count' AND state = 'succeeded'`,
            );
            if (row!.n === ids.length) break;
            assert.ok(Date.now() < deadline, `only ${row!.n} of ${ids.length} jobs succeeded`);
            await new Promise((r) => setTimeout(r, 50));
          }
        } finally {
          await Promise.all(runners.map((r) => r.stop()));
        }
        for (const id of ids)
          assert.equal(runs.get(id)?.length, 1, `job ${id} ran ${runs.get(id)}`);
        assert.equal(runs.size, ids.length);
        const byRunner = [...runs.values()].flat();
        assert.ok(
          byRunner.includes('runner-0') && byRunner.includes('runner-1'),
          `both workers took jobs: ${byRunner.join(' ')}`,
        );
        const rows = await db().query<{ attempts: number }>(
          `SELECT attempts FROM jobs WHERE kind = 'count'`,
        );
        assert.ok(rows.every((r) => r.attempts === 1));
      });
    });
  },
  {
    setup: async (db) => {
      await migrate(db, MIGRATIONS);
    },
  },
);
