/**
 * Hybrid retrieval: the lexical candidates of query.ts fused with the nearest chunk vectors of
 * the same library version, reordered by maximal marginal relevance, then handed back to
 * query.ts for its same-page diversity, relevance floor and token packing. Without vectors of the
 * configured model for the version, or without the question's embedding (provider down or slow),
 * the lexical candidates pass through untouched.
 */
import type { HybridConfig } from '../embeddings/config.js';
import type { EmbeddingService } from '../embeddings/service.js';
import { dot, VectorIndex, type VectorHit } from '../embeddings/vector-index.js';
import type { Scored } from './lexical-index.js';
import type { ServingVersion } from './versions.js';

/** query.ts's fusion hook: more candidates fused into the lexical ones, best first. */
export type CandidateFusion = (version: ServingVersion, lexical: Scored[]) => Promise<Scored[]>;

/** What one query did, for usage events and the bench. */
export interface HybridTrace {
  mode: 'lexical' | 'hybrid';
  /** Why it stayed lexical. */
  reason?: 'no-vectors' | 'provider-unavailable';
  embedMs?: number;
  vectorMs?: number;
}

/** Candidates ordered by MMR; the rest keep their fused order. */
const MMR_PICKS = 20;

function candidate(chunkId: number, score: number): Scored {
  return { chunkId, score, coverage: 0, titleCoverage: 0 };
}

/**
 * Reciprocal rank fusion (Cormack et al. 2009): sum of weight / (k + rank) over the lists a chunk
 * is in, divided by the best possible sum so scores fall in 0..1. A chunk first in only one of two
 * equally weighted lists scores 0.5; 40th in one list ~0.3.
 */
export function rrfFuse(lexical: Scored[], vector: VectorHit[], cfg: HybridConfig): Scored[] {
  const best = (cfg.lexicalWeight + cfg.vectorWeight) / (cfg.rrfK + 1);
  const fused = new Map<number, Scored>();
  lexical.forEach((s, i) => {
    fused.set(s.chunkId, { ...s, score: cfg.lexicalWeight / (cfg.rrfK + i + 1) / best });
  });
  vector.forEach((h, i) => {
    const add = cfg.vectorWeight / (cfg.rrfK + i + 1) / best;
    const prev = fused.get(h.chunkId);
    fused.set(h.chunkId, prev ? { ...prev, score: prev.score + add } : candidate(h.chunkId, add));
  });
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

/**
 * Convex combination of normalised scores (Bruch et al. 2023 found it at least as good as RRF once
 * weights are tuned): lexical score / best lexical, and similarity rescaled between the weakest
 * and best vector candidate. Every lexical candidate gets its own similarity (`similarityOf`), not
 * only those in the vector top-k.
 */
export function convexFuse(
  lexical: Scored[],
  vector: VectorHit[],
  cfg: HybridConfig,
  similarityOf: (chunkId: number) => number | undefined,
): Scored[] {
  const lexTop = lexical[0]?.score ?? 0;
  const simTop = vector[0]?.similarity ?? 0;
  const simLow = vector[vector.length - 1]?.similarity ?? 0;
  const span = simTop - simLow || 1;
  const total = cfg.lexicalWeight + cfg.vectorWeight;
  const vecNorm = (sim: number | undefined) =>
    sim === undefined ? 0 : Math.min(1, Math.max(0, (sim - simLow) / span));
  const fused = new Map<number, Scored>();
  for (const s of lexical) {
    const lex = lexTop > 0 ? s.score / lexTop : 0;
    const score =
      (cfg.lexicalWeight * lex + cfg.vectorWeight * vecNorm(similarityOf(s.chunkId))) / total;
    fused.set(s.chunkId, { ...s, score });
  }
  for (const h of vector) {
    if (fused.has(h.chunkId)) continue;
    fused.set(h.chunkId, candidate(h.chunkId, (cfg.vectorWeight * vecNorm(h.similarity)) / total));
  }
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

/**
 * Maximal marginal relevance (Carbonell & Goldstein 1998): repeatedly picks the candidate with the
 * best lambda * relevance - (1 - lambda) * (highest similarity to one already picked). Scores
 * come back as relevance (share of the best), never rising down the list, so query.ts's relevance
 * floor and its stable sort keep this order. After `limit` picks the rest follow in relevance
 * order (capped at the last pick's score), so a large token budget still has candidates.
 */
export function mmrOrder(
  candidates: Scored[],
  vectorOf: (chunkId: number) => Float32Array | undefined,
  lambda: number,
  limit: number,
): Scored[] {
  const top = candidates[0]?.score ?? 0;
  if (top <= 0 || lambda >= 1) return candidates;
  // Lazy greedy (exact): a candidate's similarity to the picks only grows, so its value with a
  // stale similarity bounds its true value from above; it is brought up to date only when that
  // bound could beat the best so far. Scanning in relevance order, most candidates never need a
  // dot product: measured on react (40 candidates, 20 picks, 1,536-d) 2.1 ms -> see BENCHMARKS.
  const pool = candidates
    .map((c) => ({ c, rel: c.score / top, v: vectorOf(c.chunkId), sim: 0, seen: 0 }))
    .sort((a, b) => b.rel - a.rel);
  const picks: Float32Array[] = [];
  const out: Scored[] = [];
  let ceiling = Infinity;
  while (pool.length > 0 && out.length < limit) {
    let bestAt = 0;
    let bestValue = -Infinity;
    for (let i = 0; i < pool.length; i++) {
      const p = pool[i]!;
      if (lambda * p.rel - (1 - lambda) * p.sim <= bestValue) continue;
      if (p.v) {
        for (; p.seen < picks.length; p.seen++) p.sim = Math.max(p.sim, dot(p.v, picks[p.seen]!));
      }
      const value = lambda * p.rel - (1 - lambda) * p.sim;
      if (value > bestValue) {
        bestValue = value;
        bestAt = i;
      }
    }
    const [picked] = pool.splice(bestAt, 1);
    ceiling = Math.min(ceiling, picked!.rel);
    out.push({ ...picked!.c, score: ceiling });
    if (picked!.v) picks.push(picked!.v);
  }
  for (const p of pool.sort((a, b) => b.rel - a.rel)) {
    ceiling = Math.min(ceiling, p.rel);
    out.push({ ...p.c, score: ceiling });
  }
  return out;
}

/**
 * The fusion hook for one question: loads the version's vectors of the configured model (cached),
 * embeds the question (cached, breaker, timeout), fuses and diversifies. `trace` is filled in.
 */
export function hybridFusion(
  service: EmbeddingService,
  question: string,
  ctx: { owner: string | null; client: string },
  trace: HybridTrace = { mode: 'lexical' },
): CandidateFusion {
  const cfg = service.config.hybrid;
  return async (version, lexical) => {
    const index = await service.vectors.get(version.versionId, service.model, () =>
      VectorIndex.load(service.db, version.versionId, service.model),
    );
    if (!index || index.size === 0) {
      trace.reason = 'no-vectors';
      return lexical;
    }
    const t0 = performance.now();
    const q = await service.embedQuestion(question, { ...ctx, libraryId: version.libraryId });
    trace.embedMs = performance.now() - t0;
    if (!q || q.length !== index.dimensions) {
      trace.reason = 'provider-unavailable';
      return lexical;
    }
    const t1 = performance.now();
    const hits = index
      .search(q, cfg.vectorCandidates)
      .filter((h) => h.similarity >= cfg.minSimilarity);
    const fused =
      cfg.fusion === 'convex'
        ? convexFuse(lexical, hits, cfg, (id) => {
            const v = index.vectorOf(id);
            return v ? dot(v, q) : undefined;
          })
        : rrfFuse(lexical, hits, cfg);
    // MMR over the fused top 40, picking the first 20 by it: each pick compares with every one
    // left (20 x ~30 x 1,536 multiply-adds, ~1 ms), and a 5k-token answer holds ~15 snippets.
    const limit = Math.max(lexical.length, cfg.vectorCandidates);
    const ordered = mmrOrder(
      fused.slice(0, limit),
      (id) => index.vectorOf(id),
      cfg.mmrLambda,
      MMR_PICKS,
    );
    trace.mode = 'hybrid';
    trace.vectorMs = performance.now() - t1;
    return ordered;
  };
}
