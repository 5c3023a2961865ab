/**
 * Ways to find one library version's nearest chunk vectors, timed with the same question vectors
 * (scripts/bench-hybrid.ts): the in-memory exact scan the engine keeps, an exact scan in SQL, and
 * HNSW on a partial index over the version (its best case), each with its overlap with exact.
 */
import type { Db } from '../server/db/db.js';
import { vectorText } from '../server/embeddings/store.js';
import { VectorIndex } from '../server/embeddings/vector-index.js';
import { ms, percentile } from './bench-lib.js';

/** Nearest vectors taken per question (the engine's default vector candidates). */
export const K = 40;

function overlap(a: number[], b: number[], k = 10): number {
  const top = new Set(b.slice(0, k));
  return a.slice(0, k).filter((x) => top.has(x)).length / Math.min(k, b.length || 1);
}

/** Exact scan in memory vs in SQL vs HNSW over one version, with the same question vectors. */
export async function compareStrategies(
  db: Db,
  versionId: number,
  model: string,
  questions: Float32Array[],
  repeat: number,
): Promise<string[][]> {
  const t0 = performance.now();
  const index = (await VectorIndex.load(db, versionId, model))!;
  const loadMs = performance.now() - t0;
  const dims = index.dimensions;
  const exact = questions.map((q) => index.search(q, K).map((h) => h.chunkId));
  const memory: number[] = [];
  const sqlExact: number[] = [];
  const sqlOverlap: number[] = [];
  for (let r = 0; r < repeat; r++) {
    for (const q of questions) {
      const t = performance.now();
      index.search(q, K);
      memory.push(performance.now() - t);
    }
  }
  const texts = questions.map((q) => vectorText(q, false));
  for (let r = 0; r < Math.min(repeat, 2); r++) {
    for (const [i, text] of texts.entries()) {
      const t = performance.now();
      const rows = await db.query<{ chunk_id: number }>(
        `SELECT chunk_id FROM chunk_vectors WHERE version_id = $1 AND model = $2
          ORDER BY embedding <=> $3::vector LIMIT ${K}`,
        [versionId, model, text],
      );
      sqlExact.push(performance.now() - t);
      if (r === 0)
        sqlOverlap.push(
          overlap(
            rows.map((x) => Number(x.chunk_id)),
            exact[i]!,
          ),
        );
    }
  }
  // HNSW at its best: a partial index over this version alone (typed dimension for the index).
  const t1 = performance.now();
  await db.exec(
    `CREATE INDEX bench_hnsw ON chunk_vectors USING hnsw ((embedding::vector(${dims})) vector_cosine_ops) WHERE version_id = ${versionId}`,
  );
  const buildMs = performance.now() - t1;
  const hnsw: number[] = [];
  const hnswOverlap: number[] = [];
  const hnswSql = `SELECT chunk_id FROM chunk_vectors WHERE version_id = ${versionId}
      ORDER BY embedding::vector(${dims}) <=> $1::vector(${dims}) LIMIT ${K}`;
  // At a few thousand rows the planner prefers the version_id btree and a sort (or a sequential
  // scan); both are switched off so that the HNSW index is what gets timed.
  await db.exec('SET enable_seqscan = off; SET enable_sort = off');
  const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${hnswSql}`, [texts[0]]);
  const usesIndex = plan.some((p) => p['QUERY PLAN'].includes('bench_hnsw'));
  for (let r = 0; r < Math.min(repeat, 2); r++) {
    for (const [i, text] of texts.entries()) {
      const t = performance.now();
      const rows = await db.query<{ chunk_id: number }>(hnswSql, [text]);
      hnsw.push(performance.now() - t);
      if (r === 0)
        hnswOverlap.push(
          overlap(
            rows.map((x) => Number(x.chunk_id)),
            exact[i]!,
          ),
        );
    }
  }
  await db.exec('RESET enable_seqscan; RESET enable_sort');
  await db.exec('DROP INDEX bench_hnsw');
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
  return [
    [
      'in-memory exact scan (kept)',
      `load ${ms(loadMs, 0)}`,
      ms(percentile(memory, 50)),
      ms(percentile(memory, 95)),
      '1.00',
    ],
    [
      'SQL exact scan (`<=>`)',
      '–',
      ms(percentile(sqlExact, 50)),
      ms(percentile(sqlExact, 95)),
      mean(sqlOverlap).toFixed(2),
    ],
    [
      `HNSW, partial index on this version${usesIndex ? '' : ' (planner did NOT use it)'}`,
      `build ${ms(buildMs, 0)}`,
      ms(percentile(hnsw, 50)),
      ms(percentile(hnsw, 95)),
      mean(hnswOverlap).toFixed(2),
    ],
  ];
}
