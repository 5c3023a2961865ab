/**
 * Embeddings through the engine on both back ends: indexing embeds the staging version before it
 * is promoted, re-indexing unchanged text is free (cache), a model change re-embeds and never
 * mixes, and a provider failing mid-index fails the attempt (the job runner retries) while the
 * previous version keeps serving. On the PostgreSQL server here (no pgvector) all of it runs
 * lexical-only and says so.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../shared/api.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import type { EmbeddingsConfig } from '../../server/embeddings/config.js';
import { getJobRow } from '../../server/jobs/queue.js';
import { describeBackends } from '../helpers/backends.js';
import { FakeEmbeddingsServer, fakeConfig } from '../helpers/fake-openai-embeddings.js';

const LIB = '/test/aviary';

/** 36 small pages (one chunk each: small sections fold into their page), batches of 8. */
function writeLibrary(dir: string, variant = ''): void {
  const birds = ['heron', 'egret', 'ibis', 'stork', 'crane', 'plover'];
  const topics = ['nesting', 'migration', 'feeding', 'molting', 'roosting', 'courtship'];
  for (const bird of birds) {
    for (const topic of topics) {
      const path = join(dir, bird, `${topic}.md`);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(
        path,
        `# The ${bird} ${topic} guide\n\nHow the ${bird} handles ${topic} through the year.${variant}\n\n` +
          `## Configure ${bird} ${topic}\n\nSet \`${bird}.${topic}Window\` to bound the ${topic} season of the ${bird}.\n\n` +
          `## Troubleshoot ${bird} ${topic}\n\nWhen the ${bird} skips ${topic}, check the ${topic} log for the ${bird}.\n`,
      );
    }
  }
}

async function waitJob(engine: TwinEngine, id: string, ms = 90_000): Promise<Job> {
  const timer = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`job ${id} still running after ${ms} ms`)), ms).unref(),
  );
  return Promise.race([engine.waitForJob(id), timer]);
}

describeBackends('Embeddings in the engine', ({ db, name }) => {
  let fake: FakeEmbeddingsServer;
  let tmp: string;
  let docs: string;
  let engine: TwinEngine | undefined;

  const open = async (config: EmbeddingsConfig) => {
    await engine?.close();
    engine = await createEngine({
      config: { dataDir: join(tmp, 'data'), embeddings: config },
      db: db(),
      worker: true,
    });
    return engine;
  };
  const index = async (e: TwinEngine) => {
    const job = await e.addSource({ source: docs, libraryId: LIB, trustedLocal: true });
    return waitJob(e, job.id);
  };
  const servingVersion = async () => {
    const rows = await db().query<{ id: number }>(
      `SELECT id FROM library_versions WHERE library_id = $1 AND state = 'ready'`,
      [LIB],
    );
    assert.equal(rows.length, 1);
    return Number(rows[0]!.id);
  };
  const embedded = async (versionId: number) =>
    (
      await db().query<{
        model: string;
        dimensions: number;
        vectors: number;
        cached: number;
        tokens: number;
      }>(
        `SELECT model, dimensions, vectors, cached, tokens FROM version_embeddings WHERE version_id = $1`,
        [versionId],
      )
    )[0];

  before(async () => {
    fake = await FakeEmbeddingsServer.start();
    tmp = mkdtempSync(join(tmpdir(), 'twinmcp-embed-'));
    docs = join(tmp, 'docs');
    writeLibrary(docs);
  });
  after(async () => {
    await engine?.close();
    await fake.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  if (name === 'postgres') {
    it('without pgvector: indexes lexical-only, pays nothing, and says so', async () => {
      const e = await open(fakeConfig(fake.url));
      assert.equal(db().hasVector, false);
      const job = await index(e);
      assert.equal(job.state, 'succeeded', job.error ?? '');
      assert.equal(fake.inputs, 0, 'no embedding was requested');
      const lib = (await e.listLibraries()).find((l) => l.id === LIB)!;
      assert.equal(lib.search, 'lexical');
      assert.deepEqual(await e.embeddingsHealth(), {
        state: 'unsupported',
        search: 'lexical',
        model: 'fake-embed',
      });
      const answer = await e.query(LIB, 'heron nesting window', undefined, { client: 'cli' });
      assert.match(answer.text, /heron/);
    });
    return;
  }

  it('embeds every chunk before promotion and records model, dimension and cost', async () => {
    const e = await open(fakeConfig(fake.url));
    assert.equal(db().hasVector, true);
    const job = await index(e);
    assert.equal(job.state, 'succeeded', job.error ?? '');
    const versionId = await servingVersion();
    const [{ n }] = (await db().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM chunks WHERE version_id = $1`,
      [versionId],
    )) as [{ n: number }];
    assert.ok(n >= 30, `chunks: ${n}`);
    const rec = await embedded(versionId);
    assert.deepEqual(
      { ...rec, tokens: undefined },
      { model: 'fake-embed', dimensions: 64, vectors: n, cached: 0, tokens: undefined },
    );
    assert.ok(Number(rec!.tokens) > 0);
    assert.equal(fake.inputsByModel.get('fake-embed'), n, 'each chunk sent once');
    assert.ok(
      fake.log.every((l) => l.inputs <= 8),
      'batches of at most 8',
    );
    const vectors = await db().query<{ model: string; dims: number }>(
      `SELECT model, vector_dims(embedding) AS dims FROM chunk_vectors WHERE version_id = $1`,
      [versionId],
    );
    assert.equal(vectors.length, n);
    assert.ok(vectors.every((v) => v.model === 'fake-embed' && Number(v.dims) === 64));
    const lib = (await e.listLibraries()).find((l) => l.id === LIB)!;
    assert.equal(lib.search, 'hybrid');
    assert.equal(lib.embeddingModel, 'fake-embed');
    await e.usage.flush();
    const usage = await db().query<{ tokens: number; meta: { costUsd: number; purpose: string } }>(
      `SELECT tokens, meta FROM usage_events WHERE kind = 'embed' AND library_id = $1`,
      [LIB],
    );
    assert.equal(usage.length, 1);
    assert.equal(usage[0]!.meta.purpose, 'index');
    assert.equal(Number(usage[0]!.tokens), Number(rec!.tokens));
    assert.ok(usage[0]!.meta.costUsd > 0);
  });

  it('re-indexing unchanged text costs nothing: every vector comes from the cache', async () => {
    const e = await open(fakeConfig(fake.url));
    const paid = fake.inputs;
    const job = await index(e);
    assert.equal(job.state, 'succeeded', job.error ?? '');
    assert.equal(fake.inputs, paid, 'no input sent again');
    const rec = await embedded(await servingVersion());
    assert.equal(rec!.cached, rec!.vectors);
    assert.equal(Number(rec!.tokens), 0);
  });

  it('a model change answers lexically until re-indexed, then re-embeds with the new model only', async () => {
    const e = await open(fakeConfig(fake.url, { model: 'fake-embed-2' }));
    const before = await servingVersion();
    let lib = (await e.listLibraries()).find((l) => l.id === LIB)!;
    assert.equal(lib.search, 'lexical', 'vectors of another model are not used');
    const answer = await e.query(LIB, 'heron nesting window', undefined, { client: 'cli' });
    assert.match(answer.text, /heron/);
    assert.equal(fake.inputsByModel.get('fake-embed-2') ?? 0, 0, 'no question embedded for it');

    const job = await index(e);
    assert.equal(job.state, 'succeeded', job.error ?? '');
    const after = await servingVersion();
    assert.notEqual(after, before);
    const rec = await embedded(after);
    assert.equal(rec!.model, 'fake-embed-2');
    assert.equal(rec!.cached, 0);
    assert.equal(fake.inputsByModel.get('fake-embed-2'), rec!.vectors);
    const models = await db().query<{ model: string }>(
      `SELECT DISTINCT model FROM chunk_vectors WHERE version_id = $1`,
      [after],
    );
    assert.deepEqual(
      models.map((m) => m.model),
      ['fake-embed-2'],
    );
    lib = (await e.listLibraries()).find((l) => l.id === LIB)!;
    assert.equal(lib.search, 'hybrid');
    assert.equal(lib.embeddingModel, 'fake-embed-2');
  });

  it('a provider failing mid-index fails the attempt; the job retries; nothing half-embedded serves', async function () {
    this.timeout(120_000);
    const e = await open(fakeConfig(fake.url, { model: 'fake-embed-2', maxRetries: 1 }));
    const serving = await servingVersion();
    writeLibrary(docs, ' Revised for the new season.');
    const paidBefore = fake.inputsByModel.get('fake-embed-2')!;
    fake.dieAfter(8, { status: 500 });
    const queued = await e.addSource({ source: docs, libraryId: LIB, trustedLocal: true });

    // The first attempt fails and goes back to the queue (the runner's backoff is 2 s).
    let row = await getJobRow(db(), queued.id);
    for (let i = 0; i < 600 && !(row?.attempts === 1 && row.state === 'queued'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      row = await getJobRow(db(), queued.id);
    }
    assert.equal(row?.state, 'queued', `job after one failed attempt: ${JSON.stringify(row)}`);
    assert.match(row!.error ?? '', /embedding request failed.*500/);
    assert.equal(await servingVersion(), serving, 'the previous version still serves');
    // The attempt's staging version stays, unserved, as the checkpoint the retry resumes
    // (server/jobs/checkpoint.ts); no version of it is served or half-embedded in `ready`.
    const staging = await db().query<{ id: number }>(
      `SELECT id FROM library_versions WHERE library_id = $1 AND state = 'indexing' AND job_id = $2`,
      [LIB, queued.id],
    );
    assert.equal(staging.length, 1);
    const halfDone = await db().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM version_embeddings WHERE version_id = $1`,
      [staging[0]!.id],
    );
    assert.equal(Number(halfDone[0]!.n), 0, 'the kept staging version is not recorded as embedded');
    const answer = await e.query(LIB, 'heron nesting window', undefined, { client: 'cli' });
    assert.doesNotMatch(answer.text, /Revised for the new season/);

    fake.recover();
    const job = await waitJob(e, queued.id);
    assert.equal(job.state, 'succeeded', job.error ?? '');
    const after = await servingVersion();
    const rec = await embedded(after);
    assert.equal(rec!.model, 'fake-embed-2');
    // What the failed attempt paid for was cached: the retry sent only the rest.
    const texts = fake.texts.filter((t) => t.includes('Revised for the new season'));
    assert.equal(new Set(texts).size, texts.length, 'no text paid for twice');
    assert.equal(fake.inputsByModel.get('fake-embed-2')! - paidBefore, texts.length);
    assert.ok(rec!.cached >= 8, `cached from the failed attempt: ${rec!.cached}`);
    const fresh = await e.query(LIB, 'heron nesting window', undefined, { client: 'cli' });
    assert.match(fresh.text, /Revised for the new season/);
  });
});
