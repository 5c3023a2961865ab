/**
 * One library version's chunk vectors in memory, searched by exact scan. query-docs is scoped to
 * one version (<= ~3k chunks in the corpus). Measured on PGlite with react (2,726 vectors,
 * 1,536-d, 16 questions, top 40; scripts/bench-hybrid.ts on a loaded 2-core machine): this scan
 * p50 11.8 ms, the same exact scan in SQL (`ORDER BY embedding <=> q`) 48.7 ms, HNSW on a partial
 * index over the version 14.8 ms after an 11 s build, with overlap@10 0.98. On an idle machine
 * the scan takes ~3-5 ms. Exact and fastest, so kept; loading costs ~0.2 ms per vector, once.
 * Versions are immutable once serving, so a loaded index never goes stale; it is only evicted.
 */
import type { Queryable } from '../db/db.js';
import { decodeVectorSend } from './store.js';

export interface VectorHit {
  chunkId: number;
  /** Cosine similarity, -1..1. */
  similarity: number;
}

export class VectorIndex {
  private rowByChunk: Map<number, number> | undefined;

  constructor(
    readonly model: string,
    readonly dimensions: number,
    readonly chunkIds: Int32Array | number[],
    /** Unit vectors, row-major: row i is chunk chunkIds[i]. */
    readonly matrix: Float32Array,
  ) {}

  get bytes(): number {
    return this.matrix.byteLength + this.chunkIds.length * 8;
  }

  get size(): number {
    return this.chunkIds.length;
  }

  /** Loads the vectors `model` made for `versionId`; undefined when it has none of that model. */
  static async load(
    db: Queryable,
    versionId: number,
    model: string,
  ): Promise<VectorIndex | undefined> {
    const meta = await db.query<{ model: string; dimensions: number; vectors: number }>(
      `SELECT model, dimensions, vectors FROM version_embeddings WHERE version_id = $1`,
      [versionId],
    );
    const m = meta[0];
    if (!m || m.model !== model) return undefined;
    const dims = Number(m.dimensions);
    const rows = await db.query<{ chunk_id: number; v: string }>(
      `SELECT chunk_id, encode(vector_send(embedding), 'base64') AS v
         FROM chunk_vectors WHERE version_id = $1 AND model = $2 ORDER BY chunk_id`,
      [versionId, model],
    );
    const matrix = new Float32Array(rows.length * dims);
    const ids = new Array<number>(rows.length);
    rows.forEach((r, i) => {
      ids[i] = Number(r.chunk_id);
      const d = decodeVectorSend(r.v, matrix, i * dims);
      if (d !== dims) throw new Error(`version ${versionId}: a ${d}-d vector among ${dims}-d ones`);
    });
    return new VectorIndex(model, dims, ids, matrix);
  }

  /** The `k` chunks most similar to the unit vector `q`, best first. */
  search(q: Float32Array, k: number): VectorHit[] {
    if (q.length !== this.dimensions) return [];
    const n = this.chunkIds.length;
    const dim = this.dimensions;
    const m = this.matrix;
    // Top-k kept sorted in small arrays: k (~40) is tiny next to n, so insertion beats a sort.
    const topScore = new Float64Array(Math.min(k, n)).fill(-Infinity);
    const topRow = new Int32Array(topScore.length).fill(-1);
    // The question as float64 once, and eight partial sums: measured ~20% faster than four sums
    // over a float32 query on 2,726 x 1,536 (fewer float32->float64 conversions, more ILP).
    const qd = Float64Array.from(q);
    for (let i = 0; i < n; i++) {
      const base = i * dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      let j = 0;
      for (; j + 7 < dim; j += 8) {
        const k = base + j;
        s0 += m[k]! * qd[j]!;
        s1 += m[k + 1]! * qd[j + 1]!;
        s2 += m[k + 2]! * qd[j + 2]!;
        s3 += m[k + 3]! * qd[j + 3]!;
        s4 += m[k + 4]! * qd[j + 4]!;
        s5 += m[k + 5]! * qd[j + 5]!;
        s6 += m[k + 6]! * qd[j + 6]!;
        s7 += m[k + 7]! * qd[j + 7]!;
      }
      for (; j < dim; j++) s0 += m[base + j]! * qd[j]!;
      const s = s0 + s1 + s2 + s3 + (s4 + s5 + s6 + s7);
      const last = topScore.length - 1;
      if (last < 0 || s <= topScore[last]!) continue;
      let p = last;
      while (p > 0 && topScore[p - 1]! < s) {
        topScore[p] = topScore[p - 1]!;
        topRow[p] = topRow[p - 1]!;
        p--;
      }
      topScore[p] = s;
      topRow[p] = i;
    }
    const out: VectorHit[] = [];
    for (let p = 0; p < topRow.length; p++) {
      if (topRow[p]! < 0) break;
      out.push({ chunkId: this.chunkIds[topRow[p]!]!, similarity: topScore[p]! });
    }
    return out;
  }

  /** A chunk's unit vector (a view, not a copy), or undefined when it has none. */
  vectorOf(chunkId: number): Float32Array | undefined {
    this.rowByChunk ??= new Map(Array.from(this.chunkIds, (id, i) => [id, i]));
    const row = this.rowByChunk.get(chunkId);
    if (row === undefined) return undefined;
    return this.matrix.subarray(row * this.dimensions, (row + 1) * this.dimensions);
  }
}

/** Dot product of two unit vectors of one length (their cosine). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Loaded vector indexes by (version, model), least recently used evicted past `maxBytes`.
 * 256 MB holds ~14 versions of 3k chunks at 1,536 dimensions (18 MB each).
 */
export class VectorCache {
  private readonly entries = new Map<string, Promise<VectorIndex | undefined>>();
  private readonly sizes = new Map<string, number>();

  constructor(private readonly maxBytes = 256 * 2 ** 20) {}

  get(
    versionId: number,
    model: string,
    load: () => Promise<VectorIndex | undefined>,
  ): Promise<VectorIndex | undefined> {
    const key = `${versionId}:${model}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const pending = load().then(
      (index) => {
        this.sizes.set(key, index?.bytes ?? 0);
        this.evict();
        return index;
      },
      (err: unknown) => {
        this.entries.delete(key);
        throw err;
      },
    );
    this.entries.set(key, pending);
    return pending;
  }

  /** Forgets every model's vectors of a version. */
  drop(versionId: number): void {
    for (const key of [...this.entries.keys()]) {
      if (key.startsWith(`${versionId}:`)) {
        this.entries.delete(key);
        this.sizes.delete(key);
      }
    }
  }

  private evict(): void {
    let total = [...this.sizes.values()].reduce((a, b) => a + b, 0);
    for (const key of this.entries.keys()) {
      if (total <= this.maxBytes || this.entries.size <= 1) break;
      total -= this.sizes.get(key) ?? 0;
      this.entries.delete(key);
      this.sizes.delete(key);
    }
  }
}
