/**
 * Embeddings: configuration, the OpenAI provider through the real `openai` SDK against a local
 * server speaking the embeddings wire format (base64 and float), retries with Retry-After, and the
 * concurrency limit. The engine side (cache, model change, failure mid-index, back ends) is in
 * embeddings-engine.test.ts.
 */
import assert from 'node:assert/strict';
import { DEFAULT_HYBRID, parseEmbeddingsConfig } from '../../server/embeddings/config.js';
import { createOpenAIProvider } from '../../server/embeddings/openai.js';
import {
  EmbeddingError,
  Limiter,
  retryAfterMs,
  withRetries,
} from '../../server/embeddings/provider.js';
import { decodeVectorSend, vectorText } from '../../server/embeddings/store.js';
import { embeddingInput } from '../../server/embeddings/embed-version.js';
import {
  FakeEmbeddingsServer,
  fakeConfig,
  fakeEmbedding,
} from '../helpers/fake-openai-embeddings.js';

describe('embeddings configuration', () => {
  it('is off by default, even with an OPENAI_API_KEY set for chat', () => {
    const parsed = parseEmbeddingsConfig({ OPENAI_API_KEY: 'sk-test' });
    assert.ok('config' in parsed);
    assert.equal(parsed.config.provider, 'none');
  });

  it('openai: text-embedding-3-small, the SDK variables, and its price', () => {
    const parsed = parseEmbeddingsConfig({
      TWINMCP_EMBEDDINGS_PROVIDER: 'openai',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    });
    assert.ok('config' in parsed, JSON.stringify(parsed));
    const c = parsed.config;
    assert.equal(c.model, 'text-embedding-3-small');
    assert.equal(c.apiKey, 'sk-test');
    assert.equal(c.baseUrl, 'http://127.0.0.1:9/v1');
    assert.equal(c.pricePerMillion, 0.02);
    assert.equal(c.dimensions, undefined);
    assert.deepEqual(c.hybrid, DEFAULT_HYBRID);
  });

  it('our own variables win over the SDK ones, and fusion settings are read', () => {
    const parsed = parseEmbeddingsConfig({
      TWINMCP_EMBEDDINGS_PROVIDER: 'openai',
      OPENAI_API_KEY: 'sk-sdk',
      TWINMCP_EMBEDDINGS_API_KEY: 'sk-ours',
      TWINMCP_EMBEDDINGS_DIMENSIONS: '512',
      TWINMCP_EMBEDDINGS_BATCH_SIZE: '64',
      TWINMCP_EMBEDDINGS_CONCURRENCY: '3',
      TWINMCP_HYBRID_FUSION: 'convex',
      TWINMCP_HYBRID_LEXICAL_WEIGHT: '0.7',
      TWINMCP_HYBRID_VECTOR_WEIGHT: '0.3',
    });
    assert.ok('config' in parsed, JSON.stringify(parsed));
    assert.equal(parsed.config.apiKey, 'sk-ours');
    assert.equal(parsed.config.dimensions, 512);
    assert.equal(parsed.config.batchSize, 64);
    assert.equal(parsed.config.concurrency, 3);
    assert.equal(parsed.config.hybrid.fusion, 'convex');
    assert.equal(parsed.config.hybrid.lexicalWeight, 0.7);
  });

  it('names the missing or bad variable', () => {
    const noKey = parseEmbeddingsConfig({ TWINMCP_EMBEDDINGS_PROVIDER: 'openai' });
    assert.ok('problems' in noKey);
    assert.match(noKey.problems.join(), /OPENAI_API_KEY: required/);
    const compat = parseEmbeddingsConfig({ TWINMCP_EMBEDDINGS_PROVIDER: 'openai-compatible' });
    assert.ok('problems' in compat);
    assert.match(compat.problems.join(), /TWINMCP_EMBEDDINGS_BASE_URL: required/);
    assert.match(compat.problems.join(), /TWINMCP_EMBEDDINGS_MODEL: required/);
    const bad = parseEmbeddingsConfig({
      TWINMCP_EMBEDDINGS_PROVIDER: 'cohere',
      TWINMCP_EMBEDDINGS_BATCH_SIZE: '0',
      TWINMCP_EMBEDDINGS_DIMENSIONS: 'big',
    });
    assert.ok('problems' in bad);
    const text = bad.problems.join('\n');
    assert.match(text, /TWINMCP_EMBEDDINGS_PROVIDER/);
    assert.match(text, /TWINMCP_EMBEDDINGS_BATCH_SIZE: must be between 1 and 2048/);
    assert.match(text, /TWINMCP_EMBEDDINGS_DIMENSIONS: must be a whole number/);
  });
});

describe('embedding helpers', () => {
  it('reads Retry-After in seconds, as a date, and retry-after-ms', () => {
    const h = (m: Record<string, string>) => (name: string) => m[name];
    assert.equal(retryAfterMs(h({ 'retry-after': '2' })), 2000);
    assert.equal(retryAfterMs(h({ 'retry-after-ms': '150', 'retry-after': '9' })), 150);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now), 3000);
    assert.equal(retryAfterMs(h({})), undefined);
  });

  it('withRetries stops at once on a failure that retrying cannot fix', async () => {
    let calls = 0;
    await assert.rejects(
      withRetries(
        () => {
          calls++;
          return Promise.reject(new Error('401 bad key'));
        },
        () => ({ retryable: false, status: 401 }),
        { maxRetries: 5, baseMs: 1 },
      ),
      (err: unknown) =>
        err instanceof EmbeddingError && !err.retryable && err.status === 401 && calls === 1,
    );
  });

  it('the limiter never runs more than its limit at once', async () => {
    const limiter = new Limiter(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 1 + (i % 4)));
          active--;
        }),
      ),
    );
    assert.equal(peak, 3);
  });

  it('vector text: scaled integers for unit vectors; the send format decodes', () => {
    const v = Float32Array.from([0.6, -0.8]);
    assert.equal(vectorText(v, true), '[600000,-800000]');
    assert.match(vectorText(v, false), /^\[0\.6\d*,-0\.8\d*\]$/);
    // int16 dim 2, int16 0, then big-endian float4s.
    const buf = Buffer.alloc(12);
    buf.writeInt16BE(2, 0);
    buf.writeFloatBE(0.25, 4);
    buf.writeFloatBE(-1.5, 8);
    const out = new Float32Array(3);
    assert.equal(decodeVectorSend(buf.toString('base64'), out, 1), 2);
    assert.deepEqual(Array.from(out), [0, 0.25, -1.5]);
  });

  it('the embedded text is the heading path, then the chunk', () => {
    const input = embeddingInput({
      title: 'Hooks',
      breadcrumb: ['Reference', 'Hooks'],
      content: '## Hooks\n\nonRequest runs first.',
      tokens: 10,
    });
    assert.equal(input, 'Reference > Hooks\n\n## Hooks\n\nonRequest runs first.');
  });
});

describe('OpenAI provider through the SDK against the fake server', () => {
  let fake: FakeEmbeddingsServer;
  before(async () => {
    fake = await FakeEmbeddingsServer.start({ apiKey: 'sk-fake' });
  });
  after(() => fake.close());
  afterEach(() => fake.recover());

  it('openai: the SDK asks for base64, decodes it, and sends dimensions', async () => {
    const provider = createOpenAIProvider(
      fakeConfig(fake.url, {
        provider: 'openai',
        model: 'text-embedding-3-small',
        apiKey: 'sk-fake',
      }),
    );
    const texts = ['route hooks run before the handler', 'schemas validate the body'];
    const batch = await provider.embed(texts);
    const last = fake.log.at(-1)!;
    assert.equal(last.encodingFormat, 'base64');
    assert.equal(last.dimensions, 64);
    assert.equal(last.inputs, 2);
    assert.equal(batch.vectors.length, 2);
    assert.deepEqual(
      Array.from(batch.vectors[1]!),
      Array.from(fakeEmbedding(texts[1]!, 'text-embedding-3-small', 64)),
    );
    assert.ok(batch.tokens > 0);
    assert.equal(batch.retries, 0);
  });

  it('openai-compatible: plain floats, native dimension when none is configured', async () => {
    const provider = createOpenAIProvider(
      fakeConfig(fake.url, { apiKey: 'sk-fake', dimensions: undefined }),
    );
    const batch = await provider.embed(['hello world']);
    const last = fake.log.at(-1)!;
    assert.equal(last.encodingFormat, 'float');
    assert.equal(last.dimensions, undefined);
    assert.equal(batch.vectors[0]!.length, 1536);
  });

  it('retries a 429 after the Retry-After it was given, and a 500 with backoff', async () => {
    const provider = createOpenAIProvider(fakeConfig(fake.url, { apiKey: 'sk-fake' }));
    fake.failNext(1, { status: 429, retryAfterMs: '250' });
    fake.failNext(1, { status: 503 });
    const started = performance.now();
    const batch = await provider.embed(['one', 'two']);
    const elapsed = performance.now() - started;
    assert.equal(batch.retries, 2);
    assert.ok(elapsed >= 240, `waited ${elapsed.toFixed(0)} ms; Retry-After said 250`);
    assert.deepEqual(
      fake.log.slice(-3).map((l) => l.status),
      [429, 503, 200],
    );
  });

  it('gives up after maxRetries with a retryable EmbeddingError', async () => {
    const provider = createOpenAIProvider(fakeConfig(fake.url, { apiKey: 'sk-fake' }));
    const before = fake.log.length;
    fake.failNext(10, { status: 500 });
    await assert.rejects(provider.embed(['x']), (err: unknown) => {
      assert.ok(err instanceof EmbeddingError);
      assert.equal(err.retryable, true);
      assert.equal(err.status, 500);
      assert.match(err.message, /after 3 attempts/);
      return true;
    });
    assert.equal(fake.log.length - before, 3);
  });

  it('a dropped connection is retried; a bad key is not', async () => {
    const ok = createOpenAIProvider(fakeConfig(fake.url, { apiKey: 'sk-fake' }));
    fake.failNext(1, 'disconnect');
    assert.equal((await ok.embed(['x'])).retries, 1);
    const badKey = createOpenAIProvider(fakeConfig(fake.url, { apiKey: 'sk-wrong' }));
    const before = fake.log.length;
    await assert.rejects(
      badKey.embed(['x']),
      (err: unknown) => err instanceof EmbeddingError && !err.retryable && err.status === 401,
    );
    assert.equal(fake.log.length - before, 1, 'no retry of a 401');
  });
});
