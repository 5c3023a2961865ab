/**
 * An in-memory inverted index over one library version, built from the chunks' weighted tsvectors
 * (the database's stemming plus our identifier splitting). Versions are immutable once serving (a
 * re-index makes a new version id), so an index never goes stale; it is only evicted.
 *
 * Why not rank in SQL: on the largest set (react, ~3k chunks) an OR query over common words
 * matches half the version and `ts_rank` over those rows costs 20-35 ms in PGlite, and ts_rank
 * has no IDF. Here BM25F over the same lexemes costs well under 1 ms.
 */
import type { Queryable } from '../db/db.js';
import { pageKind } from './page-kind.js';
import { parseTsvector } from './tsvector.js';

/** Field weights for tsvector classes: A title, B breadcrumb, C code identifiers, D body. */
export interface FieldWeights {
  A: number;
  B: number;
  C: number;
  D: number;
}

/** Chosen with the retrieval eval (npm run eval): a title match is worth eight body matches. */
export const DEFAULT_FIELD_WEIGHTS: FieldWeights = { A: 8, B: 1.5, C: 1.5, D: 1 };

/** Extra factor per share of the question's IDF mass found in the title (eval: +0.02 hit@5). */
const TITLE_BOOST = 1.5;

interface Posting {
  docs: Int32Array;
  /** Weighted term frequency per doc. */
  wtf: Float32Array;
  /** Term frequency in the title (class A) per doc. */
  titleTf: Uint8Array;
  /** Positions of entry i: pos[posStart[i] .. posStart[i + 1]). tsvector positions are <= 16383. */
  posStart: Uint32Array;
  pos: Uint16Array;
}

export interface Scored {
  chunkId: number;
  score: number;
  /** Share of the query's IDF mass this chunk matched, 0..1. */
  coverage: number;
  titleCoverage: number;
  /** The score before its page's share was added: what the chunk itself matched. */
  own?: number;
}

export class LexicalIndex {
  /** chunk id -> position, built on first use by expand(). */
  private docByChunkId: Map<number, number> | undefined;
  private constructor(
    readonly chunkIds: number[],
    private readonly lengths: Float32Array,
    private readonly avgLength: number,
    private readonly postings: Map<string, Posting>,
    /** Number of (lexeme, chunk) entries, for the cache's memory bound. */
    readonly size: number,
    /** Per chunk: its lexemes and weighted term frequencies, for query expansion. */
    private readonly forward: { lexemes: string[]; wtf: Float32Array }[],
    /** Per chunk: its page's kind (server/search/page-kind.ts). */
    private readonly kinds: Uint8Array,
    /** Per chunk: its page id (0 when unknown). */
    private readonly pages: Float64Array,
    /** Per chunk: its o200k token count (-1 when unknown). */
    private readonly tokens: Float64Array,
  ) {}

  get documentCount(): number {
    return this.chunkIds.length;
  }

  static build(
    rows: { id: number; tsv: string; kind?: number; page?: number; tokens?: number }[],
    weights: FieldWeights = DEFAULT_FIELD_WEIGHTS,
  ) {
    const lists = new Map<
      string,
      { docs: number[]; wtf: number[]; title: number[]; posStart: number[]; pos: number[] }
    >();
    const forward: { lexemes: string[]; wtf: Float32Array }[] = [];
    const lengths = new Float32Array(rows.length);
    let size = 0;
    rows.forEach((row, doc) => {
      let length = 0;
      const fLex: string[] = [];
      const fWtf: number[] = [];
      for (const [lexeme, classes, positions] of parseTsvector(row.tsv)) {
        let wtf = 0;
        let title = 0;
        for (const c of classes) {
          wtf += weights[c];
          if (c === 'A') title += 1;
          if (c === 'D') length += 1;
        }
        let list = lists.get(lexeme);
        if (!list) {
          lists.set(lexeme, (list = { docs: [], wtf: [], title: [], posStart: [], pos: [] }));
        }
        list.docs.push(doc);
        list.wtf.push(wtf);
        list.title.push(Math.min(title, 255));
        list.posStart.push(list.pos.length);
        list.pos.push(...positions);
        fLex.push(lexeme);
        fWtf.push(wtf);
        size += 1;
      }
      forward.push({ lexemes: fLex, wtf: Float32Array.from(fWtf) });
      lengths[doc] = Math.max(length, 1);
    });
    const postings = new Map<string, Posting>();
    for (const [lexeme, l] of lists) {
      postings.set(lexeme, {
        docs: Int32Array.from(l.docs),
        wtf: Float32Array.from(l.wtf),
        titleTf: Uint8Array.from(l.title),
        posStart: Uint32Array.from([...l.posStart, l.pos.length]),
        pos: Uint16Array.from(l.pos),
      });
    }
    const avg = rows.length ? lengths.reduce((a, b) => a + b, 0) / rows.length : 1;
    return new LexicalIndex(
      rows.map((r) => Number(r.id)),
      lengths,
      avg,
      postings,
      size,
      forward,
      Uint8Array.from(rows.map((r) => r.kind ?? 0)),
      Float64Array.from(rows.map((r) => Number(r.page ?? 0))),
      Float64Array.from(rows.map((r) => Number(r.tokens ?? -1))),
    );
  }

  /**
   * A chunk's page id and token count, known from loading, so query-docs can pack an answer
   * before fetching any text and then fetch only the ~5-15 chunks it keeps (not all 40-80
   * candidates). Undefined for a chunk this index does not hold or loaded without counts.
   */
  chunkInfo(chunkId: number): { page: number; tokens: number } | undefined {
    const byId = (this.docByChunkId ??= new Map(this.chunkIds.map((id, i) => [id, i])));
    const d = byId.get(chunkId);
    if (d === undefined || this.tokens[d]! < 0) return undefined;
    return { page: this.pages[d]!, tokens: this.tokens[d]! };
  }

  /**
   * Pseudo-relevance feedback: the rare words the best first-pass chunks share, added to the
   * question at a fraction of its weight, to bridge wording gaps without a model.
   */
  expand(
    query: Map<string, number>,
    top: Scored[],
    docs = 3,
    terms = 8,
    weight = 0.3,
  ): Map<string, number> {
    const n = this.chunkIds.length;
    const byId = (this.docByChunkId ??= new Map(this.chunkIds.map((id, i) => [id, i])));
    const gain = new Map<string, number>();
    for (const s of top.slice(0, docs)) {
      const d = byId.get(s.chunkId);
      if (d === undefined) continue;
      const f = this.forward[d]!;
      for (let i = 0; i < f.lexemes.length; i++) {
        const lexeme = f.lexemes[i]!;
        if (query.has(lexeme) || lexeme.length < 3) continue;
        const df = this.postings.get(lexeme)?.docs.length ?? 0;
        if (df < 2) continue;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        gain.set(lexeme, (gain.get(lexeme) ?? 0) + (f.wtf[i]! / this.lengths[d]!) * idf);
      }
    }
    const picked = [...gain].sort((a, b) => b[1] - a[1]).slice(0, terms);
    const out = new Map(query);
    const max = picked[0]?.[1] ?? 1;
    for (const [lexeme, g] of picked) out.set(lexeme, weight * (g / max));
    return out;
  }

  static async load(
    db: Queryable,
    versionId: number,
    weights?: FieldWeights,
  ): Promise<LexicalIndex> {
    const rows = await db.query<{
      id: number;
      tsv: string;
      path: string;
      title: string;
      page_id: number;
      tokens: number;
    }>(
      `SELECT c.id, c.tsv::text AS tsv, p.path, p.title, c.page_id, c.tokens
         FROM chunks c JOIN pages p ON p.id = c.page_id
        WHERE c.version_id = $1 ORDER BY c.id`,
      [versionId],
    );
    return LexicalIndex.build(
      rows.map((r) => ({
        id: r.id,
        tsv: r.tsv,
        kind: pageKind(r.path, r.title),
        page: Number(r.page_id),
        tokens: Number(r.tokens),
      })),
      weights,
    );
  }

  documentFrequency(lexeme: string): number {
    return this.postings.get(lexeme)?.docs.length ?? 0;
  }

  /**
   * BM25F over the query lexemes (each with its count in the query), then a coverage factor so a
   * chunk matching most of the question's rare words beats one repeating a single word, and a
   * proximity term: question words that stand together ("window focus", "join table") count
   * extra where they also stand together in the chunk.
   */
  search(query: Map<string, number>, limit: number, opts: SearchOptions = {}): Scored[] {
    const { kindFactors = [], pairs = [], proximity = PROXIMITY_WEIGHT } = opts;
    const k1 = 1.2;
    const b = 0.5;
    const n = this.chunkIds.length;
    const scores = new Float64Array(n);
    const covered = new Float64Array(n);
    const titleCovered = new Float64Array(n);
    const termWeight = new Map<string, number>();
    let idfTotal = 0;
    for (const [lexeme, qtf] of query) {
      const p = this.postings.get(lexeme);
      if (!p) continue;
      const df = p.docs.length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      const weight = idf * Math.min(qtf, 2);
      termWeight.set(lexeme, weight);
      idfTotal += weight;
      for (let i = 0; i < p.docs.length; i++) {
        const d = p.docs[i]!;
        const tf = p.wtf[i]!;
        scores[d] =
          scores[d]! +
          (weight * (tf * (k1 + 1))) /
            (tf + k1 * (1 - b + (b * this.lengths[d]!) / this.avgLength));
        covered[d] = covered[d]! + weight;
        if (p.titleTf[i]! > 0) titleCovered[d] = titleCovered[d]! + weight;
      }
    }
    if (idfTotal === 0) return [];
    const factor = (d: number) =>
      (0.5 + covered[d]! / idfTotal) *
      (1 + TITLE_BOOST * (titleCovered[d]! / idfTotal)) *
      (kindFactors[this.kinds[d]!] ?? 1);
    const docs: number[] = [];
    for (let d = 0; d < n; d++) if (scores[d]! > 0) docs.push(d);
    if (pairs.length > 0 && proximity > 0) {
      // Proximity only reorders the best first-pass candidates: cheap, and it cannot lift a
      // chunk that matches little of the question.
      docs.sort((x, y) => scores[y]! * factor(y) - scores[x]! * factor(x));
      for (const d of docs.slice(0, PROXIMITY_CANDIDATES)) {
        let acc = 0;
        for (const [a, c] of pairs) {
          const wa = termWeight.get(a);
          const wc = termWeight.get(c);
          if (wa === undefined || wc === undefined) continue;
          const dist = this.minDistance(a, c, d);
          if (dist <= PROXIMITY_WINDOW) acc += Math.min(wa, wc) / (dist * dist);
        }
        scores[d] = scores[d]! + proximity * acc;
      }
    }
    const final = new Float64Array(n);
    for (const d of docs) final[d] = scores[d]! * factor(d);
    const own = Float64Array.from(final);
    if (PAGE_WEIGHT > 0) {
      // A section of a page that answers much of the question is likelier to answer than the same
      // words on an unrelated page: each chunk gains a share of its page's best chunk score.
      const pageBest = new Map<number, number>();
      for (const d of docs) {
        const page = this.pages[d]!;
        if (page === 0) continue;
        pageBest.set(page, Math.max(pageBest.get(page) ?? 0, final[d]!));
      }
      for (const d of docs) {
        final[d] = final[d]! + PAGE_WEIGHT * (pageBest.get(this.pages[d]!) ?? 0);
      }
    }
    const out: Scored[] = docs.map((d) => ({
      chunkId: this.chunkIds[d]!,
      score: final[d]!,
      own: own[d]!,
      coverage: covered[d]! / idfTotal,
      titleCoverage: titleCovered[d]! / idfTotal,
    }));
    out.sort((x, y) => y.score - x.score);
    return out.slice(0, limit);
  }

  /** Smallest distance between positions of two lexemes in one chunk (Infinity when apart). */
  private minDistance(a: string, c: string, d: number): number {
    const pa = this.postings.get(a);
    const pc = this.postings.get(c);
    if (!pa || !pc) return Infinity;
    const i = bisect(pa.docs, d);
    const j = bisect(pc.docs, d);
    if (i < 0 || j < 0) return Infinity;
    let x = pa.posStart[i]!;
    const xEnd = pa.posStart[i + 1]!;
    let y = pc.posStart[j]!;
    const yEnd = pc.posStart[j + 1]!;
    let best = Infinity;
    while (x < xEnd && y < yEnd) {
      const px = pa.pos[x]!;
      const py = pc.pos[y]!;
      const dist = Math.abs(px - py);
      if (dist < best && dist > 0) best = dist;
      if (px < py) x++;
      else y++;
    }
    return best;
  }
}

export interface SearchOptions {
  /** Score factor per page kind (index = kind); absent kinds count 1. */
  kindFactors?: readonly number[];
  /** Lexeme pairs that stand together in the question. */
  pairs?: readonly (readonly [string, string])[];
  /** Weight of the proximity term (0 turns it off). */
  proximity?: number;
}

// Chosen with the retrieval eval (npm run eval, 150 questions). Proximity: phrase-hit@5
// 0.753 -> 0.78. Page share: answer-in-5k 0.84 -> 0.853 (with the relevance floor raised to 0.35
// to keep the mean answer under 3.5k tokens); 0.7 scores 0.86 but lets a long page's many
// sections crowd out the Hooks page for "run code before the route handler" (6th instead of 2nd).
// Windows of 2-5 words and weights 0.5-1 score alike.
const PROXIMITY_WEIGHT = 0.7;
const PROXIMITY_WINDOW = 3;
const PROXIMITY_CANDIDATES = 200;
const PAGE_WEIGHT = 0.6;

function bisect(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
