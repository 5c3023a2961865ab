/**
 * Hybrid mode of the benchmark: embeds the indexed versions, compares ways of finding a version's
 * nearest vectors (in-memory exact scan, SQL exact scan, HNSW), and times query-docs lexical and
 * hybrid side by side. bench.ts calls it when TWINMCP_BENCH_EMBEDDINGS=fake (the local fake
 * OpenAI server: offline latency and token counts, no quality) or when an embedding provider is
 * configured (TWINMCP_EMBEDDINGS_PROVIDER; then file@5 of both modes is reported, with the model
 * named). Also runs alone on a small store:
 * `tsx scripts/bench-hybrid.ts [--sets fastify,zod] [--repeat 3]`.
 *
 * The fake server lives in test/helpers: this dev script borrows it, as the tests do, so that
 * offline numbers go through the real SDK and wire format.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Db } from '../server/db/db.js';
import { migrate } from '../server/db/migrate.js';
import { openPglite } from '../server/db/pglite.js';
import { MIGRATIONS } from '../server/db/schema.js';
import {
  DEFAULT_HYBRID,
  parseEmbeddingsConfig,
  type EmbeddingsConfig,
} from '../server/embeddings/config.js';
import { embedVersion } from '../server/embeddings/embed-version.js';
import { createOpenAIProvider } from '../server/embeddings/openai.js';
import { normalize, type EmbeddingProvider } from '../server/embeddings/provider.js';
import { createEngine, type TwinEngine } from '../server/engine.js';
import { FakeEmbeddingsServer } from '../test/helpers/fake-openai-embeddings.js';
import { int, ms, percentile, sec, table } from './bench-lib.js';
import { compareStrategies, K } from './bench-hybrid-vectors.js';
import {
  corpusSets,
  evalLibraries,
  EVAL_DIR,
  indexCorpusSet,
  loadQuestions,
  type QueryItem,
} from './corpus.js';

export interface HybridTarget {
  slug: string;
  /** Library id (with version) as queries name it. */
  id: string;
  versionId: number;
  item: QueryItem;
}

export interface HybridBenchInput {
  db: Db;
  storeDir: string;
  targets: HybridTarget[];
  repeat: number;
  log: (msg: string) => void;
}

/** `fake`, a configured provider, or undefined (hybrid mode off). */
export function hybridBenchMode(
  env: NodeJS.ProcessEnv = process.env,
): { kind: 'fake' } | { kind: 'provider'; config: EmbeddingsConfig } | undefined {
  if (env.TWINMCP_BENCH_EMBEDDINGS === 'fake') return { kind: 'fake' };
  const parsed = parseEmbeddingsConfig(env);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed.config.provider === 'none'
    ? undefined
    : { kind: 'provider', config: parsed.config };
}

const QUERY_TOKENS = 5000;

async function timeQuery(engine: TwinEngine, t: HybridTarget): Promise<[number, string[]]> {
  const t0 = performance.now();
  try {
    const out = await engine.query(t.id, t.item.query, QUERY_TOKENS, { client: 'bench' });
    const paths = [...out.json.codeSnippets, ...out.json.infoSnippets]
      .sort((a, b) => b.score - a.score)
      .map((s) => s.path);
    return [performance.now() - t0, paths];
  } catch {
    return [performance.now() - t0, []];
  }
}

/** Runs the hybrid measurements and returns a Markdown section for docs/BENCHMARKS.md. */
export async function runHybridBench(
  input: HybridBenchInput,
  mode: NonNullable<ReturnType<typeof hybridBenchMode>>,
): Promise<string> {
  const { db, log } = input;
  const fake = mode.kind === 'fake' ? await FakeEmbeddingsServer.start() : undefined;
  // The fake answers like text-embedding-3-small (1,536-d) and costs are at its price.
  const config: EmbeddingsConfig =
    mode.kind === 'fake'
      ? {
          provider: 'openai',
          model: 'text-embedding-3-small',
          baseUrl: fake!.url,
          apiKey: 'bench',
          batchSize: 128,
          concurrency: 4,
          maxRetries: 2,
          retryBaseMs: 100,
          timeoutMs: 60_000,
          queryTimeoutMs: 5000,
          pricePerMillion: 0.02,
          hybrid: DEFAULT_HYBRID,
        }
      : mode.config;
  const provider: EmbeddingProvider = createOpenAIProvider(config);
  const label =
    mode.kind === 'fake'
      ? 'fake OpenAI server (hashed bag of words, 1,536-d, loopback); cost at text-embedding-3-small prices'
      : `${config.provider} ${config.model}${config.dimensions ? ` (${config.dimensions}-d)` : ''}`;
  const p: string[] = [];
  try {
    // 1. Embed every version once.
    const versions = [...new Map(input.targets.map((t) => [t.versionId, t])).values()];
    const embedRows: (string | number)[][] = [];
    let totalTokens = 0;
    let totalCost = 0;
    let totalMs = 0;
    for (const v of versions) {
      const t0 = performance.now();
      const rec = await embedVersion(db, provider, {
        versionId: v.versionId,
        libraryId: v.id,
        owner: null,
        batchSize: config.batchSize,
        concurrency: config.concurrency,
        ...(config.pricePerMillion !== undefined
          ? { pricePerMillion: config.pricePerMillion }
          : {}),
      });
      const elapsed = performance.now() - t0;
      totalTokens += rec.tokens;
      totalCost += rec.costUsd;
      totalMs += elapsed;
      embedRows.push([
        v.slug,
        int(rec.vectors),
        int(rec.tokens),
        rec.costUsd.toFixed(4),
        sec(elapsed),
      ]);
      log(`embed ${v.slug}: ${rec.vectors} vectors, ${rec.tokens} tokens in ${sec(elapsed)} s`);
    }
    embedRows.push(['**total**', '', int(totalTokens), totalCost.toFixed(4), sec(totalMs)]);
    let big = versions[0]!;
    let bigN = -1;
    for (const v of versions) {
      const rows = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM chunk_vectors WHERE version_id = $1',
        [v.versionId],
      );
      if (Number(rows[0]!.n) > bigN) [big, bigN] = [v, Number(rows[0]!.n)];
    }
    const t0 = performance.now();
    const again = await embedVersion(db, provider, {
      versionId: big.versionId,
      libraryId: big.id,
      owner: null,
      batchSize: config.batchSize,
      concurrency: config.concurrency,
    });
    const cacheMs = performance.now() - t0;

    // 2. The question embedding, uncached (reported apart from query latency).
    const embedCall: number[] = [];
    const questionVectors = new Map<string, Float32Array>();
    for (const t of input.targets) {
      const s = performance.now();
      const b = await provider.embed([t.item.query], { maxRetries: 1, retryBaseMs: 20 });
      embedCall.push(performance.now() - s);
      questionVectors.set(t.item.query, normalize(b.vectors[0]!));
    }

    // 3. Ways to find the nearest vectors, on the largest version.
    const bigQuestions = input.targets
      .filter((t) => t.versionId === big.versionId)
      .map((t) => questionVectors.get(t.item.query)!);
    log(`vector strategies on ${big.slug} (${bigN} vectors)`);
    const strategies = await compareStrategies(
      db,
      big.versionId,
      provider.model,
      bigQuestions,
      input.repeat,
    );

    // 4. query-docs lexical and hybrid side by side; the question embedding is cached after the
    // warm-up pass, so hybrid timings exclude it.
    const lexical = await createEngine({ config: { dataDir: input.storeDir }, db, worker: false });
    const hybrid = await createEngine({
      config: { dataDir: input.storeDir, embeddings: config },
      db,
      worker: false,
    });
    const lex: number[] = [];
    const hyb: number[] = [];
    const perSet = new Map<string, { lex: number[]; hyb: number[] }>();
    const quality = { lex: 0, hyb: 0 };
    for (const t of input.targets) {
      const [, lp] = await timeQuery(lexical, t);
      const [, hp] = await timeQuery(hybrid, t);
      quality.lex += lp.slice(0, 5).includes(t.item.expect.file) ? 1 : 0;
      quality.hyb += hp.slice(0, 5).includes(t.item.expect.file) ? 1 : 0;
    }
    const paidBefore = fake?.inputs;
    for (let r = 0; r < input.repeat; r++) {
      for (const t of input.targets) {
        const [l] = await timeQuery(lexical, t);
        const [h] = await timeQuery(hybrid, t);
        lex.push(l);
        hyb.push(h);
        const s = perSet.get(t.slug) ?? { lex: [], hyb: [] };
        s.lex.push(l);
        s.hyb.push(h);
        perSet.set(t.slug, s);
      }
    }
    if (fake && fake.inputs !== paidBefore) {
      log('warning: questions were embedded during the timed passes');
    }
    await lexical.close();
    await hybrid.close();

    const hybP50 = percentile(hyb, 50);
    p.push('### Hybrid retrieval (lexical and hybrid side by side)');
    p.push('');
    p.push(
      `Embeddings: ${label}. Hybrid = lexical candidates + the version's 40 nearest vectors, RRF, MMR, same packing.`,
    );
    p.push('');
    p.push('Embedding the indexed versions (before promotion, as indexing does):');
    p.push('');
    p.push(table(['set', 'vectors', 'tokens', 'cost USD', 'time s'], embedRows));
    p.push('');
    p.push(
      `Re-embedding ${big.slug} with unchanged text: ${again.cached} of ${again.vectors} vectors from the cache, ` +
        `${again.tokens} tokens, ${sec(cacheMs)} s.`,
    );
    p.push('');
    p.push(
      `Nearest vectors in ${big.slug} (${int(bigN)} vectors, ${bigQuestions.length} questions, top ${K}):`,
    );
    p.push('');
    p.push(
      table(['strategy', 'setup ms', 'p50 ms', 'p95 ms', 'overlap@10 with exact'], strategies),
    );
    p.push('');
    p.push(
      `Query latency at corpus size (${input.targets.length} items × ${input.repeat} passes after a warm-up):`,
    );
    p.push('');
    p.push(
      table(
        ['', 'p50 ms', 'p95 ms', 'max ms'],
        [
          ['lexical', ms(percentile(lex, 50)), ms(percentile(lex, 95)), ms(Math.max(...lex))],
          [
            'hybrid (question embedding excluded)',
            ms(hybP50),
            ms(percentile(hyb, 95)),
            ms(Math.max(...hyb)),
          ],
          [
            'question embedding call alone',
            ms(percentile(embedCall, 50)),
            ms(percentile(embedCall, 95)),
            ms(Math.max(...embedCall)),
          ],
        ],
      ),
    );
    p.push('');
    p.push(
      table(
        ['set', 'lexical p50 ms', 'hybrid p50 ms'],
        [...perSet].map(([slug, s]) => [
          slug,
          ms(percentile(s.lex, 50)),
          ms(percentile(s.hyb, 50)),
        ]),
      ),
    );
    p.push('');
    p.push(
      `**Hybrid p50: ${ms(hybP50)} ms** (target ≤ 15 ms: ${hybP50 <= 15 ? 'met' : 'NOT met'}).`,
    );
    p.push(
      mode.kind === 'fake'
        ? 'Quality: not reported (fake embeddings carry no meaning; see npm run eval with a real provider).'
        : `Quality with ${label}: file@5 lexical ${(quality.lex / input.targets.length).toFixed(3)}, hybrid ${(quality.hyb / input.targets.length).toFixed(3)} (${input.targets.length} items).`,
    );
    p.push('');
    return p.join('\n');
  } finally {
    await fake?.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sets: { type: 'string', default: 'fastify' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const wanted = values.sets!.split(',');
  const sets = corpusSets().filter((s) => wanted.includes(s.slug));
  const dir = mkdtempSync(join(os.tmpdir(), 'twinmcp-bench-hybrid-'));
  const db = await openPglite({ dataDir: join(dir, 'store') });
  try {
    await migrate(db, MIGRATIONS);
    const libs = evalLibraries();
    const items = loadQuestions(join(EVAL_DIR, 'questions.jsonl'));
    const targets: HybridTarget[] = [];
    for (const set of sets) {
      const summary = await indexCorpusSet(db, set);
      const lib = libs[set.slug]!;
      const id = lib.version ? `${lib.libraryId}/${lib.version}` : lib.libraryId;
      for (const item of items) {
        if (item.type === 'query' && item.library === set.slug) {
          targets.push({ slug: set.slug, id, versionId: summary.versionId, item });
        }
      }
    }
    const mode = hybridBenchMode() ?? { kind: 'fake' as const };
    const text = await runHybridBench(
      {
        db,
        storeDir: join(dir, 'store'),
        targets,
        repeat: Number(values.repeat),
        log: console.error,
      },
      mode,
    );
    console.log(text);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`bench-hybrid failed: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
