/**
 * SQL for embeddings: the cache of paid-for vectors, a version's chunk vectors, and the record of
 * which model made them. Vectors travel as text into the database and as base64 of the binary
 * send format out of it: reading and decoding 3k 1,536-d vectors that way took ~0.2 ms each in
 * PGlite, against ~1.1 ms each as text plus parsing (measured here).
 */
import type { Queryable } from '../db/db.js';

/** What a version's vectors are: all of one model and one dimension. */
export interface VersionEmbedding {
  versionId: number;
  provider: string;
  model: string;
  dimensions: number;
  vectors: number;
  cached: number;
  tokens: number;
  costUsd: number;
  requests: number;
  retries: number;
  elapsedMs: number;
}

/** Cache key: owner (null = public), model and the dimension asked for (0 = the model's own). */
export interface CacheScope {
  owner: string | null;
  model: string;
  requestedDimensions: number;
}

// PGlite parses a float like 0.0123456 in ~2.5 µs (musl's strtof on WASM soft-float long double)
// but an integer in ~0.3 µs: a 1,536-d vector costs ~4 ms as floats and ~0.4 ms as integers. So
// unit vectors go in as integers scaled by 1e6 (error <= 5e-7 per component) and l2_normalize()
// restores unit length in SQL. pgvector < 0.7 has no l2_normalize: floats there.
const INT_SCALE = 1e6;
const normalizeAvailable = new WeakMap<Queryable, Promise<boolean>>();

function hasL2Normalize(db: Queryable): Promise<boolean> {
  let known = normalizeAvailable.get(db);
  if (!known) {
    known = db
      .query<{ ok: boolean }>(`SELECT to_regprocedure('l2_normalize(vector)') IS NOT NULL AS ok`)
      .then((rows) => rows[0]?.ok === true);
    normalizeAvailable.set(db, known);
  }
  return known;
}

/** A unit vector as pgvector text: scaled integers when `scaled`, else floats. */
export function vectorText(v: Float32Array, scaled: boolean): string {
  const parts = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) {
    parts[i] = scaled ? String(Math.round(v[i]! * INT_SCALE)) : String(v[i]);
  }
  return `[${parts.join(',')}]`;
}

/** Decodes pgvector's binary send format (int16 dim, int16 unused, dim x float4 big-endian). */
export function decodeVectorSend(base64: string, into: Float32Array, offset: number): number {
  const buf = Buffer.from(base64, 'base64');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const dim = view.getInt16(0, false);
  for (let i = 0; i < dim; i++) into[offset + i] = view.getFloat32(4 + 4 * i, false);
  return dim;
}

/** The subset of `hashes` already cached in `scope`. */
export async function cachedHashes(
  db: Queryable,
  scope: CacheScope,
  hashes: string[],
): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const rows = await db.query<{ content_hash: string }>(
    `SELECT content_hash FROM embedding_cache
      WHERE owner_account IS NOT DISTINCT FROM $1 AND model = $2 AND dimensions = $3
        AND content_hash = ANY($4::text[])`,
    [scope.owner, scope.model, scope.requestedDimensions, hashes],
  );
  return new Set(rows.map((r) => r.content_hash));
}

/** Stores unit vectors in the cache (the first write of a key wins). */
export async function cacheVectors(
  db: Queryable,
  scope: CacheScope,
  entries: { hash: string; vector: Float32Array }[],
): Promise<void> {
  if (entries.length === 0) return;
  const scaled = await hasL2Normalize(db);
  await db.query(
    `INSERT INTO embedding_cache (owner_account, model, dimensions, content_hash, embedding)
     SELECT $1, $2, $3, u.h, ${scaled ? 'l2_normalize(u.x::vector)' : 'u.x::vector'}
       FROM unnest($4::text[], $5::text[]) AS u(h, x)
     ON CONFLICT ON CONSTRAINT embedding_cache_key DO NOTHING`,
    [
      scope.owner,
      scope.model,
      scope.requestedDimensions,
      entries.map((e) => e.hash),
      entries.map((e) => vectorText(e.vector, scaled)),
    ],
  );
}

/**
 * Copies cached vectors to a version's chunks; returns how many rows were written and the
 * distinct dimensions among them (more than one means the provider changed its output).
 */
export async function copyToChunks(
  db: Queryable,
  versionId: number,
  scope: CacheScope,
  chunks: { chunkId: number; hash: string }[],
): Promise<{ written: number; dimensions: number[] }> {
  if (chunks.length === 0) return { written: 0, dimensions: [] };
  const rows = await db.query<{ n: number; dims: number[] | null }>(
    `WITH ins AS (
       INSERT INTO chunk_vectors (chunk_id, version_id, model, embedding)
       SELECT u.id, $1, $3, e.embedding
         FROM unnest($5::bigint[], $6::text[]) AS u(id, h)
         JOIN embedding_cache e ON e.owner_account IS NOT DISTINCT FROM $2 AND e.model = $3
                               AND e.dimensions = $4 AND e.content_hash = u.h
       ON CONFLICT (chunk_id) DO UPDATE SET version_id = EXCLUDED.version_id,
              model = EXCLUDED.model, embedding = EXCLUDED.embedding
       RETURNING vector_dims(embedding) AS d)
     SELECT count(*)::int AS n, array_agg(DISTINCT d) AS dims FROM ins`,
    [
      versionId,
      scope.owner,
      scope.model,
      scope.requestedDimensions,
      chunks.map((c) => c.chunkId),
      chunks.map((c) => c.hash),
    ],
  );
  return { written: Number(rows[0]?.n ?? 0), dimensions: (rows[0]?.dims ?? []).map(Number) };
}

/** Records (or replaces) the model that made a version's vectors and what it cost. */
export async function recordVersionEmbedding(db: Queryable, e: VersionEmbedding): Promise<void> {
  await db.query(
    `INSERT INTO version_embeddings (version_id, provider, model, dimensions, vectors, cached,
                                     tokens, cost_usd, requests, retries, elapsed_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (version_id) DO UPDATE SET provider = EXCLUDED.provider, model = EXCLUDED.model,
       dimensions = EXCLUDED.dimensions, vectors = EXCLUDED.vectors, cached = EXCLUDED.cached,
       tokens = EXCLUDED.tokens, cost_usd = EXCLUDED.cost_usd, requests = EXCLUDED.requests,
       retries = EXCLUDED.retries, elapsed_ms = EXCLUDED.elapsed_ms, embedded_at = now()`,
    [
      e.versionId,
      e.provider,
      e.model,
      e.dimensions,
      e.vectors,
      e.cached,
      e.tokens,
      e.costUsd,
      e.requests,
      e.retries,
      Math.round(e.elapsedMs),
    ],
  );
}

/** The embedding record of a version, if it has vectors. */
export async function versionEmbedding(
  db: Queryable,
  versionId: number,
): Promise<VersionEmbedding | undefined> {
  const rows = await db.query<{
    version_id: number;
    provider: string;
    model: string;
    dimensions: number;
    vectors: number;
    cached: number;
    tokens: number;
    cost_usd: number;
    requests: number;
    retries: number;
    elapsed_ms: number;
  }>(`SELECT * FROM version_embeddings WHERE version_id = $1`, [versionId]);
  const r = rows[0];
  if (!r) return undefined;
  return {
    versionId: Number(r.version_id),
    provider: r.provider,
    model: r.model,
    dimensions: Number(r.dimensions),
    vectors: Number(r.vectors),
    cached: Number(r.cached),
    tokens: Number(r.tokens),
    costUsd: Number(r.cost_usd),
    requests: Number(r.requests),
    retries: Number(r.retries),
    elapsedMs: Number(r.elapsed_ms),
  };
}

/** Model of each serving version's vectors, keyed `library_id\u0000version`. */
export async function servingModels(db: Queryable): Promise<Map<string, string>> {
  const rows = await db.query<{ library_id: string; version: string; model: string }>(
    `SELECT v.library_id, v.version, e.model
       FROM library_versions v JOIN version_embeddings e ON e.version_id = v.id
      WHERE v.state = 'ready'`,
  );
  return new Map(rows.map((r) => [`${r.library_id}\u0000${r.version}`, r.model]));
}

/** One usage event of kind 'embed' (indexing or a question), off the caller's error path. */
export async function recordEmbedUsage(
  db: Queryable,
  e: {
    owner: string | null;
    client: string;
    libraryId: string | null;
    tokens: number;
    latencyMs: number;
    meta: Record<string, unknown>;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO usage_events (owner_account, client, kind, library_id, latency_ms, tokens,
                               result_count, zero_result, meta)
     VALUES ($1, $2, 'embed', $3, $4, $5, 0, false, $6::jsonb)`,
    [e.owner, e.client, e.libraryId, e.latencyMs, e.tokens, JSON.stringify(e.meta)],
  );
}
