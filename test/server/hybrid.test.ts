/**
 * Hybrid retrieval: fusion and MMR arithmetic, the exact vector scan, and the engine end to end
 * against the fake OpenAI embeddings server: semantic recall the lexical path cannot reach, the
 * same top answer where words match, and with the provider down, lexical answers and a `/health`
 * that stays 200 and says `unavailable`. PostgreSQL without pgvector: lexical-only, said so.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { EngineError } from '../../server/engine-types.js';
import { DEFAULT_HYBRID } from '../../server/embeddings/config.js';
import { VectorCache, VectorIndex, dot } from '../../server/embeddings/vector-index.js';
import { buildApp } from '../../server/http/app.js';
import { convexFuse, mmrOrder, rrfFuse } from '../../server/search/hybrid.js';
import type { Scored } from '../../server/search/lexical-index.js';
import { describeBackends } from '../helpers/backends.js';
import { FakeEmbeddingsServer, fakeConfig } from '../helpers/fake-openai-embeddings.js';

const s = (chunkId: number, score: number): Scored => ({
  chunkId,
  score,
  coverage: 1,
  titleCoverage: 0,
});

function unit(values: number[]): Float32Array {
  const n = Math.hypot(...values);
  return Float32Array.from(values.map((v) => v / n));
}

describe('hybrid fusion arithmetic', () => {
  it('RRF: a chunk high in both lists beats one first in only one; scores in 0..1', () => {
    const lexical = [s(1, 9), s(2, 8), s(3, 1)];
    const vector = [
      { chunkId: 4, similarity: 0.9 },
      { chunkId: 2, similarity: 0.8 },
    ];
    const fused = rrfFuse(lexical, vector, DEFAULT_HYBRID);
    assert.deepEqual(
      fused.map((f) => f.chunkId),
      [2, 1, 4, 3],
    );
    // 2: 1/62 + 1/62 over the best possible 2/61.
    assert.ok(Math.abs(fused[0]!.score - 61 / 62) < 1e-9);
    assert.ok(Math.abs(fused[1]!.score - 0.5 * (61 / 61)) < 1e-9);
    assert.equal(fused[2]!.coverage, 0, 'a vector-only candidate has no lexical coverage');
  });

  it('RRF weights move the balance', () => {
    const lexical = [s(1, 9)];
    const vector = [{ chunkId: 2, similarity: 0.9 }];
    const vectorHeavy = rrfFuse(lexical, vector, { ...DEFAULT_HYBRID, vectorWeight: 3 });
    assert.equal(vectorHeavy[0]!.chunkId, 2);
    const lexicalHeavy = rrfFuse(lexical, vector, { ...DEFAULT_HYBRID, lexicalWeight: 3 });
    assert.equal(lexicalHeavy[0]!.chunkId, 1);
  });

  it('convex: normalised scores, and lexical candidates get their own similarity', () => {
    const lexical = [s(1, 10), s(2, 5)];
    const vector = [
      { chunkId: 3, similarity: 0.8 },
      { chunkId: 1, similarity: 0.4 },
    ];
    const sims: Record<number, number> = { 1: 0.4, 2: 0.8, 3: 0.8 };
    const fused = convexFuse(
      lexical,
      vector,
      { ...DEFAULT_HYBRID, fusion: 'convex' },
      (id) => sims[id],
    );
    const byId = new Map(fused.map((f) => [f.chunkId, f.score]));
    assert.equal(byId.get(1), 0.5); // lexical 1, vector 0
    assert.equal(byId.get(2), 0.75); // lexical 0.5, vector 1
    assert.equal(byId.get(3), 0.5); // vector only
    assert.equal(fused[0]!.chunkId, 2);
  });

  it('MMR moves a near-duplicate below a distinct candidate; scores never rise', () => {
    const vectors: Record<number, Float32Array> = {
      1: unit([1, 0, 0]),
      2: unit([1, 0.01, 0]),
      3: unit([0, 1, 0]),
    };
    const ordered = mmrOrder([s(1, 1), s(2, 0.95), s(3, 0.8)], (id) => vectors[id], 0.7, 10);
    assert.deepEqual(
      ordered.map((o) => o.chunkId),
      [1, 3, 2],
    );
    for (let i = 1; i < ordered.length; i++) {
      assert.ok(ordered[i]!.score <= ordered[i - 1]!.score);
    }
    const relevanceOnly = mmrOrder([s(1, 1), s(2, 0.95), s(3, 0.8)], (id) => vectors[id], 1, 10);
    assert.deepEqual(
      relevanceOnly.map((o) => o.chunkId),
      [1, 2, 3],
    );
  });

  it('MMR picks only `limit` candidates; the rest follow by relevance, none dropped', () => {
    const vectors: Record<number, Float32Array> = {
      1: unit([1, 0, 0]),
      2: unit([1, 0.01, 0]),
      3: unit([0, 1, 0]),
      4: unit([0, 0, 1]),
    };
    const ordered = mmrOrder(
      [s(1, 1), s(2, 0.95), s(3, 0.8), s(4, 0.5)],
      (id) => vectors[id],
      0.7,
      2,
    );
    // Picks: 1, then 3 (2 is a near-duplicate of 1); then 2 and 4 by relevance.
    assert.deepEqual(
      ordered.map((o) => o.chunkId),
      [1, 3, 2, 4],
    );
    for (let i = 1; i < ordered.length; i++) {
      assert.ok(ordered[i]!.score <= ordered[i - 1]!.score);
    }
  });

  it('the exact scan returns the true top k, best first', () => {
    const dims = 48;
    const n = 500;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const matrix = new Float32Array(n * dims);
    for (let i = 0; i < n; i++) {
      matrix.set(unit(Array.from({ length: dims }, rand)), i * dims);
    }
    const ids = Array.from({ length: n }, (_, i) => 1000 + i);
    const index = new VectorIndex('m', dims, ids, matrix);
    const q = unit(Array.from({ length: dims }, rand));
    const brute = ids
      .map((id) => ({ id, sim: dot(index.vectorOf(id)!, q) }))
      .sort((a, b) => b.sim - a.sim)
      .slice(0, 10);
    const hits = index.search(q, 10);
    assert.deepEqual(
      hits.map((h) => h.chunkId),
      brute.map((b) => b.id),
    );
    assert.ok(Math.abs(hits[0]!.similarity - brute[0]!.sim) < 1e-6);
    assert.deepEqual(index.search(unit([1, 2]), 10), [], 'another dimension finds nothing');
  });

  it('the vector cache evicts the least recently used past its byte bound', async () => {
    const make = () => new VectorIndex('m', 4, [1, 2], new Float32Array(8));
    const cache = new VectorCache(make().bytes * 2);
    let loads = 0;
    const load = async () => {
      loads++;
      return make();
    };
    await cache.get(1, 'm', load);
    await cache.get(2, 'm', load);
    await cache.get(1, 'm', load); // 1 is now the most recent
    await cache.get(3, 'm', load); // evicts 2
    assert.equal(loads, 3);
    await cache.get(1, 'm', load);
    assert.equal(loads, 3, '1 stayed cached');
    await cache.get(2, 'm', load);
    assert.equal(loads, 4, '2 was evicted');
  });
});

/** Pages about cars, none of them using the words "stop" or "automobile". */
function writeGarage(dir: string): void {
  const pages: Record<string, string> = {
    // Short, so that two shared words give a cosine well above the 0.2 floor (~0.25-0.27).
    'braking.md': '# Braking\n\nPedal to halt a car.\n',
    'painting.md':
      '# Painting\n\nChoose a color for the bodywork and apply two coats of lacquer.\n',
    'tyres.md': '# Tyres\n\nInflate each tyre to the pressure printed inside the door frame.\n',
    'radio.md': '# Radio\n\nTune the radio with the dial; presets hold six stations.\n',
    'seats.md': '# Seats\n\nSlide the seat forward with the lever under the cushion.\n',
  };
  for (const [file, text] of Object.entries(pages)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

const SYNONYMS = { stop: 'halt', automobile: 'car', stopping: 'halt' };
const SEMANTIC = 'how do I stop an automobile';
const LEXICAL = 'inflate the tyre pressure';

describeBackends('Hybrid queries through the engine', ({ db, name }) => {
  let fake: FakeEmbeddingsServer;
  let tmp: string;
  let hybrid: TwinEngine;
  let lexicalOnly: TwinEngine;
  const logs: string[] = [];
  const cli = { client: 'cli' as const };

  before(async function () {
    this.timeout(120_000);
    fake = await FakeEmbeddingsServer.start({ synonyms: SYNONYMS });
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-hybrid-'));
    writeGarage(join(tmp, 'docs'));
    hybrid = await createEngine({
      // 10 s: a question embedding on a loaded 2-core machine can take over a second.
      config: {
        dataDir: join(tmp, 'data'),
        // 256 dimensions: fewer hash collisions between unrelated words than the default 64.
        embeddings: fakeConfig(fake.url, { queryTimeoutMs: 10_000, dimensions: 256 }),
      },
      db: db(),
      log: (msg) => logs.push(msg),
    });
    const job = await hybrid.addSource({
      source: join(tmp, 'docs'),
      libraryId: '/test/garage',
      trustedLocal: true,
    });
    const done = await hybrid.waitForJob(job.id);
    assert.equal(done.state, 'succeeded', done.error ?? '');
    lexicalOnly = await createEngine({
      config: { dataDir: join(tmp, 'data') },
      db: db(),
      worker: false,
    });
  });
  after(async () => {
    await hybrid?.close();
    await lexicalOnly?.close();
    await fake?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  afterEach(() => fake.recover());

  const health = async () => {
    const config = loadConfig({ TWINMCP_DATA_DIR: join(tmp, 'data') });
    const app = await buildApp({
      engine: hybrid,
      config,
      adminToken: 'test-admin-token-0123456789',
    });
    try {
      const res = await app.inject({ url: '/health', headers: { host: '127.0.0.1:7377' } });
      return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
    } finally {
      await app.close();
    }
  };

  it('the pure lexical path finds nothing for a paraphrase', async () => {
    await assert.rejects(
      lexicalOnly.query('/test/garage', SEMANTIC, undefined, cli),
      (err: unknown) => err instanceof EngineError && err.code === 'no_snippets_found',
    );
  });

  if (name === 'postgres') {
    it('without pgvector the configured engine stays lexical and says so', async () => {
      await assert.rejects(
        hybrid.query('/test/garage', SEMANTIC, undefined, cli),
        (err: unknown) => err instanceof EngineError && err.code === 'no_snippets_found',
      );
      const h = await health();
      assert.equal(h.status, 200);
      assert.equal(h.body.vector, false);
      assert.equal(h.body.embeddings, 'unsupported');
      assert.equal(h.body.search, 'lexical');
      assert.equal(fake.inputs, 0);
    });
    return;
  }

  it('hybrid recalls the page by meaning, and records the question embedding', async () => {
    const answer = await hybrid.query('/test/garage', SEMANTIC, undefined, cli);
    assert.match(answer.text, /^### Braking/);
    await hybrid.embeddings!.flush();
    await hybrid.usage.flush();
    const events = await db().query<{ kind: string; meta: Record<string, unknown> }>(
      `SELECT kind, meta FROM usage_events WHERE query = $1 OR (kind = 'embed' AND meta->>'purpose' = 'query')`,
      [SEMANTIC],
    );
    assert.ok(events.some((e) => e.kind === 'embed'));
    const q = events.find((e) => e.kind === 'query' && e.meta.search)!;
    assert.equal((q.meta.search as { mode: string }).mode, 'hybrid');
  });

  it('where words match, hybrid keeps the lexical top answer', async () => {
    const lexical = await lexicalOnly.query('/test/garage', LEXICAL, undefined, cli);
    const fused = await hybrid.query('/test/garage', LEXICAL, undefined, cli);
    assert.match(lexical.text, /^### Tyres/);
    assert.match(fused.text, /^### Tyres/);
  });

  it('a question nothing answers still gets no_snippets_found', async () => {
    await assert.rejects(
      hybrid.query('/test/garage', 'zzqx vorpal frumious', undefined, cli),
      (err: unknown) => err instanceof EngineError && err.code === 'no_snippets_found',
    );
  });

  it('health reports the provider ok and search hybrid', async () => {
    const h = await health();
    assert.equal(h.status, 200);
    assert.equal(h.body.vector, true);
    assert.equal(h.body.embeddings, 'ok');
    assert.equal(h.body.search, 'hybrid');
    assert.equal(h.body.embeddingModel, 'fake-embed');
    const lib = (await hybrid.listLibraries()).find((l) => l.id === '/test/garage')!;
    assert.equal(lib.search, 'hybrid');
  });

  it('provider down: queries answer lexically, /health stays 200 and says unavailable', async () => {
    hybrid.embeddings!.breakerMs = 300;
    fake.down = true;
    const question = 'lacquer coats for the bodywork color';
    const expected = await lexicalOnly.query('/test/garage', question, undefined, cli);
    const answer = await hybrid.query('/test/garage', question, undefined, cli);
    assert.equal(answer.text, expected.text, 'the lexical answer, unchanged');
    await assert.rejects(
      hybrid.query('/test/garage', SEMANTIC + ' today', undefined, cli),
      (err: unknown) => err instanceof EngineError && err.code === 'no_snippets_found',
    );
    const h = await health();
    assert.equal(h.status, 200);
    assert.equal(h.body.embeddings, 'unavailable');
    assert.equal(h.body.search, 'lexical');

    // Back up: after the breaker, queries are hybrid again.
    fake.recover();
    await new Promise((r) => setTimeout(r, 350));
    const back = await hybrid
      .query('/test/garage', SEMANTIC + ' tomorrow', undefined, cli)
      .catch((err: unknown) => assert.fail(`${String(err)}; log: ${logs.slice(-3).join(' | ')}`));
    assert.match(back.text, /^### Braking/);
    assert.equal((await health()).body.embeddings, 'ok');
  });
});
