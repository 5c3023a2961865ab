/**
 * Benchmark: `npm run bench -- [--quick] [--copies N] [--sets a,b] [--repeat N] [--cold-runs N]
 * [--out FILE] [--no-write] [--no-extension]`.
 *
 * On PGlite in a fresh temporary data directory: cold start (initdb + migrations), index time per
 * corpus set (react first, with event-loop gaps measured while it indexes), query and resolve
 * latency over the query items of ../shared/eval/questions.jsonl, then the same with the corpus
 * indexed N times under N library ids. Appends a Markdown section to docs/BENCHMARKS.md and prints
 * it. A set that fails to index is reported, not fatal; only setup errors exit non-zero.
 */
import { measureWire } from './bench-wire.js';
import { extensionBenchSection } from './bench-extension.js';
import { hybridBenchMode, runHybridBench } from './bench-hybrid.js';
import { render, type CopyRun, type Report } from './bench-report.js';
import { ChunkPool } from '../server/indexing/chunk-pool.js';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Db } from '../server/db/db.js';
import { migrate } from '../server/db/migrate.js';
import { openDatabase } from '../server/db/open.js';
import { MIGRATIONS } from '../server/db/schema.js';
import { createEngine, type TwinEngine } from '../server/engine.js';
import type { IndexSummary } from '../server/indexing/pipeline.js';
import {
  SqlProfile,
  dirSize,
  ms,
  peakRssMb,
  rssNowMb,
  percentile,
  profiledDb,
  sec,
  startLoopMonitor,
} from './bench-lib.js';
import {
  EVAL_DIR,
  REPO_ROOT,
  corpusSets,
  indexCorpusSet,
  requireCorpus,
  type CorpusSet,
  evalLibraries,
  loadQuestions,
  type QueryItem,
  type ResolveItem,
} from './corpus.js';

/** --quick: small sets plus react (the acceptance target) and one HTML set. */
const QUICK_SETS = ['react', 'fastify', 'zod', 'kysely', 'requests'];
const QUERY_TOKENS = 5000;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    copies: { type: 'string' },
    sets: { type: 'string' },
    repeat: { type: 'string', default: '5' },
    'cold-runs': { type: 'string' },
    questions: { type: 'string', default: join(EVAL_DIR, 'questions.jsonl') },
    out: { type: 'string', default: join(REPO_ROOT, 'docs', 'BENCHMARKS.md') },
    'no-write': { type: 'boolean', default: false },
    // Skips the VS Code extension section (scripts/bench-extension.ts: code-server cold starts).
    'no-extension': { type: 'boolean', default: false },
  },
});

class SetupError extends Error {}

const log = (msg: string) => console.error(msg);

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new SetupError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

const errorCode = (err: unknown) =>
  (err as { code?: string }).code ?? (err as Error).message?.slice(0, 60) ?? String(err);

// ---------------------------------------------------------------------------------------------
// Measurements

export interface ColdStart {
  openMs: number;
  migrateMs: number;
}

async function coldStart(dir: string): Promise<{ db: Db; timing: ColdStart }> {
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  // As the product opens it (server/db/open.ts): PGlite on its own thread.
  const db = await openDatabase({ dataDir: dir });
  const t1 = performance.now();
  await migrate(db, MIGRATIONS);
  const t2 = performance.now();
  return { db, timing: { openMs: t1 - t0, migrateMs: t2 - t1 } };
}

export interface SetResult {
  set: CorpusSet;
  ms: number;
  sqlMs: number;
  statements: number;
  summary?: IndexSummary;
  error?: string;
}

let pool: ChunkPool | undefined;
/** One pool of chunking workers for the whole run, as the engine keeps one. */
function chunkPool(): ChunkPool | undefined {
  return (pool ??= ChunkPool.create());
}

async function indexSet(
  db: Db,
  profile: SqlProfile,
  set: CorpusSet,
  suffix = '',
): Promise<SetResult> {
  const before = profile.snapshot();
  const t0 = performance.now();
  let summary: IndexSummary | undefined;
  let error: string | undefined;
  try {
    summary = await indexCorpusSet(db, set, suffix, chunkPool());
  } catch (err) {
    error = (err as Error).message;
  }
  const elapsed = performance.now() - t0;
  return {
    set,
    ms: elapsed,
    sqlMs: profile.totalMs - before.totalMs,
    statements: profile.count - before.count,
    ...(summary ? { summary } : {}),
    ...(error ? { error } : {}),
  };
}

export interface QueryTarget {
  item: QueryItem;
  slug: string;
  id: string;
  versionId: number;
}

export interface Latencies {
  /** First query per library in this engine (index not cached yet). */
  first: Map<string, number>;
  /** Per library: the library's first item, timed `repeat` times after dropping its cached index. */
  cold: Map<string, number[]>;
  /** Per library: every item, `repeat` passes after one warm-up pass. */
  warm: Map<string, number[]>;
  /** The same samples by pass (all libraries), to report the median of per-pass percentiles. */
  warmPasses: number[][];
  coldPasses: number[][];
  resolvePasses: number[][];
  errors: Map<string, number>;
}

async function runWorkload(
  engine: TwinEngine,
  queries: QueryTarget[],
  resolves: ResolveItem[],
  repeat: number,
): Promise<Latencies> {
  const out: Latencies = {
    first: new Map(),
    cold: new Map(),
    warm: new Map(),
    warmPasses: [],
    coldPasses: [],
    resolvePasses: [],
    errors: new Map(),
  };
  const countError = (err: unknown) => {
    const code = errorCode(err);
    out.errors.set(code, (out.errors.get(code) ?? 0) + 1);
  };
  const timeQuery = async (q: QueryTarget, countErrors: boolean) => {
    const t0 = performance.now();
    try {
      await engine.query(q.id, q.item.query, QUERY_TOKENS, { client: 'bench' });
    } catch (err) {
      // no_snippets_found is an answer like any other: its latency counts, and it is tallied.
      if (countErrors) countError(err);
    }
    return performance.now() - t0;
  };
  const timeResolve = async (item: ResolveItem) => {
    const t0 = performance.now();
    try {
      await engine.resolve(item.query, undefined, { client: 'bench' });
    } catch (err) {
      countError(err);
    }
    return performance.now() - t0;
  };

  // Warm-up pass: the first query of each library loads its index.
  for (const q of queries) {
    const t = await timeQuery(q, false);
    if (!out.first.has(q.slug)) out.first.set(q.slug, t);
  }
  for (const item of resolves) await timeResolve(item);

  for (let pass = 0; pass < repeat; pass++) {
    const warm: number[] = [];
    for (const q of queries) {
      const t = await timeQuery(q, pass === 0);
      warm.push(t);
      const list = out.warm.get(q.slug) ?? [];
      list.push(t);
      out.warm.set(q.slug, list);
    }
    const res: number[] = [];
    for (const item of resolves) res.push(await timeResolve(item));
    out.warmPasses.push(warm);
    out.resolvePasses.push(res);
  }

  // Cold again, repeatably: drop the library's cached index, then its first item.
  const firstItem = new Map<string, QueryTarget>();
  for (const q of queries) if (!firstItem.has(q.slug)) firstItem.set(q.slug, q);
  for (let i = 0; i < repeat; i++) {
    const pass: number[] = [];
    for (const q of firstItem.values()) {
      engine.cache.drop(q.versionId);
      const t = await timeQuery(q, false);
      pass.push(t);
      out.cold.set(q.slug, [...(out.cold.get(q.slug) ?? []), t]);
    }
    out.coldPasses.push(pass);
  }
  await engine.usage.flush();
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = performance.now();
  const startedAt = new Date();
  try {
    requireCorpus();
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 1;
  }
  const copies = positiveInt('copies', args.copies, args.quick ? 2 : 10);
  const repeat = positiveInt('repeat', args.repeat, 5);
  const coldRuns = positiveInt('cold-runs', args['cold-runs'], args.quick ? 2 : 3);

  const all = corpusSets();
  let wanted: string[] | undefined = args.sets
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!wanted && args.quick) wanted = QUICK_SETS;
  if (wanted) {
    const unknown = wanted.filter((w) => !all.some((s) => s.slug === w));
    if (unknown.length) {
      throw new SetupError(
        `unknown set(s) ${unknown.join(', ')}; known: ${all.map((s) => s.slug).join(', ')}`,
      );
    }
  }
  const chosen = all.filter((s) => !wanted || wanted.includes(s.slug));
  // react first (its time is the acceptance target), then manifest order.
  const sets = [
    ...chosen.filter((s) => s.slug === 'react'),
    ...chosen.filter((s) => s.slug !== 'react'),
  ];

  const items = loadQuestions(args.questions!);
  const libs = evalLibraries();

  const root = mkdtempSync(join(os.tmpdir(), 'twinmcp-bench-'));
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  let db: Db | undefined;
  try {
    // 1. Cold start, repeated; the last store is kept for indexing.
    const cold: ColdStart[] = [];
    for (let i = 0; i < coldRuns; i++) {
      const dir = join(root, `store-${i}`);
      const opened = await coldStart(dir);
      cold.push(opened.timing);
      log(
        `cold start ${i + 1}/${coldRuns}: open ${ms(opened.timing.openMs, 0)} ms, migrate ${ms(opened.timing.migrateMs, 0)} ms`,
      );
      if (i < coldRuns - 1) {
        await opened.db.close();
        rmSync(dir, { recursive: true, force: true });
      } else db = opened.db;
    }
    const storeDir = join(root, `store-${coldRuns - 1}`);
    const rssAfterColdMb = peakRssMb();

    // 2. Index every set once, react first, event loop watched while react (or the first set) runs.
    // The chunking workers start with the store and are warmed, as a running server's are
    // (server/engine.ts), so react's time is indexing, not the workers' start-up.
    await chunkPool()?.warm();
    const profile = new SqlProfile();
    const timed = profiledDb(db!, profile);
    const indexed: SetResult[] = [];
    let loop: Report['loop'];
    for (const set of sets) {
      const watch = set === sets[0];
      const monitor = watch ? startLoopMonitor(10) : undefined;
      const res = await indexSet(timed, profile, set);
      if (monitor) loop = { slug: set.slug, gaps: monitor.stop() };
      indexed.push(res);
      log(
        res.error
          ? `index ${set.slug}: FAILED after ${sec(res.ms)} s: ${res.error}`
          : `index ${set.slug}: ${sec(res.ms)} s (SQL ${sec(res.sqlMs)} s), ${res.summary!.pages} pages, ${res.summary!.chunks} chunks`,
      );
    }
    const rssAfterIndexMb = peakRssMb();
    const rssNowAfterIndexMb = rssNowMb();
    const storeAfterIndexBytes = dirSize(storeDir);
    const [sizes] = await db!.query<{ n: number; p50: number; p95: number; max: number }>(
      `SELECT count(*)::int AS n,
              coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY tokens), 0)::int AS p50,
              coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY tokens), 0)::int AS p95,
              coalesce(max(tokens), 0)::int AS max
         FROM chunks`,
    );
    const chunkTokens = {
      n: Number(sizes?.n ?? 0),
      p50: Number(sizes?.p50 ?? 0),
      p95: Number(sizes?.p95 ?? 0),
      max: Number(sizes?.max ?? 0),
    };
    const sqlByKind = [...profile.byKind].sort((a, b) => b[1].ms - a[1].ms);

    // 3. Query workload against the indexed sets.
    const versionBySlug = new Map(
      indexed.filter((x) => x.summary).map((x) => [x.set.slug, x.summary!.versionId]),
    );
    const queries: QueryTarget[] = [];
    for (const item of items) {
      if (item.type !== 'query' || !versionBySlug.has(item.library)) continue;
      const lib = libs[item.library];
      if (!lib) throw new SetupError(`${item.id}: unknown library ${item.library}`);
      const id = lib.version ? `${lib.libraryId}/${lib.version}` : lib.libraryId;
      queries.push({ item, slug: item.library, id, versionId: versionBySlug.get(item.library)! });
    }
    const resolves = items.filter((i): i is ResolveItem => i.type === 'resolve');

    let engine = await createEngine({ config: { dataDir: storeDir }, db: db!, worker: false });
    log(
      `queries: ${queries.length} items × (1 + ${repeat}), resolves: ${resolves.length} × (1 + ${repeat})`,
    );
    const latency1 = await runWorkload(engine, queries, resolves, repeat);
    const wire = await measureWire(
      engine,
      queries.map((q) => ({ id: q.id, query: q.item.query })),
      2,
      QUERY_TOKENS,
    );
    await engine.close();
    log(`query-docs over MCP HTTP: p50 ${ms(percentile(wire.mcp, 50))} ms`);
    log(`1 copy: warm p50 ${ms(percentile(latency1.warmPasses.flat(), 50))} ms`);

    // 3b. Hybrid mode (TWINMCP_BENCH_EMBEDDINGS=fake, or a configured embedding provider).
    const hybridMode = hybridBenchMode();
    const hybridSection = hybridMode
      ? await runHybridBench({ db: db!, storeDir, targets: queries, repeat, log }, hybridMode)
      : undefined;

    // 4. More copies under other ids, then the same workload.
    const copyRuns: CopyRun[] = [];
    let latencyN: Latencies | undefined;
    let storeAfterCopiesBytes: number | undefined;
    if (copies > 1) {
      const ok = indexed.filter((x) => x.summary).map((x) => x.set);
      for (let k = 2; k <= copies; k++) {
        const copyProfile = new SqlProfile();
        const copyDb = profiledDb(db!, copyProfile);
        const t0 = performance.now();
        const failed: string[] = [];
        for (const set of ok) {
          const res = await indexSet(copyDb, copyProfile, set, `-copy${k}`);
          if (res.error) {
            failed.push(set.slug);
            log(`copy ${k} ${set.slug}: FAILED: ${res.error}`);
          }
        }
        copyRuns.push({ copy: k, ms: performance.now() - t0, sqlMs: copyProfile.totalMs, failed });
        log(`copy ${k}/${copies}: ${sec(performance.now() - t0)} s`);
      }
      storeAfterCopiesBytes = dirSize(storeDir);
      engine = await createEngine({ config: { dataDir: storeDir }, db: db!, worker: false });
      latencyN = await runWorkload(engine, queries, resolves, repeat);
      await engine.close();
      log(
        `${copies} copies: warm p50 ${ms(percentile([...latencyN.warm.values()].flat(), 50))} ms`,
      );
    }

    // 5. The VS Code extension in a real extension host (activation, first and warm hover).
    const extensionSection = args['no-extension'] ? undefined : await extensionBenchSection(log);

    const argv = process.argv.slice(2);
    const report: Report = {
      startedAt,
      command: argv.length ? `npm run bench -- ${argv.join(' ')}` : 'npm run bench',
      sets,
      copies,
      repeat,
      cold,
      indexed,
      sqlByKind,
      ...(loop ? { loop } : {}),
      rssAfterColdMb,
      rssAfterIndexMb,
      rssNowAfterIndexMb,
      storeAfterIndexBytes,
      chunkTokens,
      latency1,
      wire,
      copyRuns,
      ...(latencyN ? { latencyN } : {}),
      ...(storeAfterCopiesBytes !== undefined ? { storeAfterCopiesBytes } : {}),
      rssEndMb: peakRssMb(),
      queryCount: queries.length,
      resolveCount: resolves.length,
      totalMs: performance.now() - started,
    };
    const text =
      render(report) +
      (hybridSection ? `\n${hybridSection}` : '') +
      (extensionSection ? `\n${extensionSection}` : '');
    console.log(text);
    if (!args['no-write']) {
      const out = resolve(args.out!);
      mkdirSync(dirname(out), { recursive: true });
      if (!existsSync(out)) {
        writeFileSync(
          out,
          '# Benchmarks\n\nOne section per `npm run bench` run (scripts/bench.ts), newest last. ' +
            'PGlite in a fresh temporary data directory; corpus from ../shared/corpus, query workload from ' +
            '../shared/eval/questions.jsonl.\n\n',
        );
      }
      appendFileSync(out, `${text}\n`);
      log(`appended to ${out}`);
    }
    return 0;
  } finally {
    await db?.close().catch(() => {});
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(
      `bench failed: ${err instanceof SetupError ? err.message : ((err as Error).stack ?? String(err))}`,
    );
    process.exit(1);
  },
);
