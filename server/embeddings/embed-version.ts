/**
 * Embeds every chunk of one (staging) library version: texts already in the cache cost nothing;
 * the rest go to the provider in batches, a few requests at a time, and each answered batch is
 * cached at once, so a failure later in the run keeps what was paid for. The version's vectors
 * and its model record are written only when every chunk has a vector.
 */
import type { Db } from '../db/db.js';
import { sha256 } from '../indexing/store.js';
import { truncateToTokens } from '../indexing/tokens.js';
import {
  cachedHashes,
  cacheVectors,
  copyToChunks,
  recordEmbedUsage,
  recordVersionEmbedding,
  type CacheScope,
  type VersionEmbedding,
} from './store.js';
import { Limiter, normalize, type EmbeddingProvider } from './provider.js';

export interface EmbedVersionOptions {
  versionId: number;
  libraryId: string | null;
  owner: string | null;
  batchSize: number;
  concurrency: number;
  pricePerMillion?: number;
  signal?: AbortSignal;
  /** Called after each answered batch and each stored slice. */
  onProgress?: (done: number, total: number) => void;
}

/** OpenAI's embedding models take 8,191 cl100k tokens per input; o200k counts run close, so 7k. */
const MAX_INPUT_TOKENS = 7000;
/** Per request: OpenAI allows 300k tokens; 100k keeps one request to a few seconds. */
const MAX_BATCH_TOKENS = 100_000;
/** Chunk vectors copied per statement: ~0.5 s of PGlite work, so queries get the thread between. */
const COPY_SLICE = 256;

interface ChunkText {
  id: number;
  title: string;
  breadcrumb: string[];
  content: string;
  tokens: number;
}

/** What is sent for a chunk: its heading path, then its text (headings carry the topic). */
export function embeddingInput(chunk: {
  title: string;
  breadcrumb: string[];
  content: string;
  tokens: number;
}): string {
  const path = chunk.breadcrumb.length ? chunk.breadcrumb.join(' > ') : chunk.title;
  const text = `${path}\n\n${chunk.content}`;
  return chunk.tokens + 64 > MAX_INPUT_TOKENS ? truncateToTokens(text, MAX_INPUT_TOKENS) : text;
}

function batches(items: { hash: string; input: string }[], size: number) {
  const out: { hash: string; input: string }[][] = [];
  let current: { hash: string; input: string }[] = [];
  let tokens = 0;
  for (const item of items) {
    // ~4 characters per token is close enough for a request bound.
    const estimate = Math.ceil(item.input.length / 4);
    if (current.length >= size || (current.length > 0 && tokens + estimate > MAX_BATCH_TOKENS)) {
      out.push(current);
      current = [];
      tokens = 0;
    }
    current.push(item);
    tokens += estimate;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * Embeds the chunks of `versionId` with `provider` and records the version's model. Throws
 * EmbeddingError when the provider fails (after its retries); the caller fails the version.
 */
export async function embedVersion(
  db: Db,
  provider: EmbeddingProvider,
  opts: EmbedVersionOptions,
): Promise<VersionEmbedding> {
  const started = performance.now();
  const scope: CacheScope = {
    owner: opts.owner,
    model: provider.model,
    requestedDimensions: provider.dimensions ?? 0,
  };
  const chunks = await db.query<ChunkText>(
    `SELECT id, title, breadcrumb, content, tokens FROM chunks WHERE version_id = $1 ORDER BY id`,
    [opts.versionId],
  );
  const keyed = chunks.map((c) => {
    const input = embeddingInput({ ...c, tokens: Number(c.tokens) });
    return { chunkId: Number(c.id), hash: sha256(input), input };
  });
  const cached = await cachedHashes(
    db,
    scope,
    keyed.map((k) => k.hash),
  );
  const missing = new Map<string, string>();
  for (const k of keyed) if (!cached.has(k.hash)) missing.set(k.hash, k.input);

  const total = keyed.length;
  const fromCache = keyed.filter((k) => cached.has(k.hash)).length;
  let done = fromCache;
  opts.onProgress?.(done, total);
  let tokens = 0;
  let requests = 0;
  let retries = 0;
  let dimension: number | undefined;
  const limiter = new Limiter(opts.concurrency);
  // After one batch failed for good, queued batches are not sent: the attempt fails anyway.
  let stop = false;
  const work = batches(
    [...missing].map(([hash, input]) => ({ hash, input })),
    opts.batchSize,
  );
  const outcomes = await Promise.allSettled(
    work.map((batch) =>
      limiter.run(async () => {
        if (opts.signal?.aborted) throw new Error('cancelled');
        if (stop) return;
        const result = await provider
          .embed(
            batch.map((b) => b.input),
            opts.signal ? { signal: opts.signal } : {},
          )
          .catch((err: unknown) => {
            stop = true;
            throw err;
          });
        requests += 1;
        retries += result.retries;
        tokens += result.tokens;
        for (const v of result.vectors) {
          dimension ??= v.length;
          if (v.length !== dimension) {
            throw new Error(
              `${provider.name} ${provider.model} returned vectors of ${dimension} and ${v.length} dimensions`,
            );
          }
        }
        await cacheVectors(
          db,
          scope,
          batch.map((b, i) => ({ hash: b.hash, vector: normalize(result.vectors[i]!) })),
        );
        done += batch.length;
        opts.onProgress?.(done, total);
      }),
    ),
  );
  const cost = (tokens / 1e6) * (opts.pricePerMillion ?? 0);
  const usage = (ok: boolean, error?: string) =>
    recordEmbedUsage(db, {
      owner: opts.owner,
      client: 'index',
      libraryId: opts.libraryId,
      tokens,
      latencyMs: performance.now() - started,
      meta: {
        purpose: 'index',
        versionId: opts.versionId,
        provider: provider.name,
        model: provider.model,
        inputs: total,
        cached: fromCache,
        requests,
        retries,
        costUsd: cost,
        ok,
        ...(error ? { error } : {}),
      },
    });
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    // What was paid for is recorded (and cached) even though this attempt fails.
    const message = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
    await usage(false, message).catch(() => {});
    throw failed.reason;
  }

  let written = 0;
  const dims = new Set<number>();
  for (let i = 0; i < keyed.length; i += COPY_SLICE) {
    if (opts.signal?.aborted) throw new Error('cancelled');
    const slice = keyed.slice(i, i + COPY_SLICE);
    const r = await copyToChunks(db, opts.versionId, scope, slice);
    written += r.written;
    for (const d of r.dimensions) dims.add(d);
  }
  if (written !== keyed.length || dims.size > 1) {
    throw new Error(
      `embedding ${opts.libraryId ?? `version ${opts.versionId}`}: ${written} of ${keyed.length} chunk vectors written` +
        (dims.size > 1 ? `, with mixed dimensions ${[...dims].join(', ')}` : ''),
    );
  }
  const record: VersionEmbedding = {
    versionId: opts.versionId,
    provider: provider.name,
    model: provider.model,
    dimensions: [...dims][0] ?? dimension ?? 0,
    vectors: written,
    cached: fromCache,
    tokens,
    costUsd: cost,
    requests,
    retries,
    elapsedMs: performance.now() - started,
  };
  await recordVersionEmbedding(db, record);
  await usage(true);
  return record;
}
