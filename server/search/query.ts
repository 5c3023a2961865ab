/**
 * query-docs: the best snippets of one library version for a question, within a token budget.
 * Steps: lexemes of the question (same stemming as indexing) -> BM25F candidates from the
 * version's in-memory index -> rows -> diversity and a relevance floor -> token packing.
 */
import { clampTokens, type ContextResponse, type Snippet } from '../../shared/api.js';
import type { Queryable } from '../db/db.js';
import { EngineError } from '../engine-types.js';
import { formatSnippets, proseDescription } from './format.js';
import type { IndexCache } from './index-cache.js';
import { LexicalIndex, type Scored } from './lexical-index.js';
import { asksAboutChanges } from './page-kind.js';
import { withIdentifierParts } from './text.js';
import { findServingVersion, type ServingVersion } from './versions.js';

export interface QueryOptions {
  /** Candidates fetched from the index before diversity and packing. */
  candidates: number;
  /** Snippets scoring below this share of the best one are left out rather than padding. */
  relevanceFloor: number;
  /**
   * Sections whose own score (before their page's share) is below this share of the best own
   * score are left out, however good their page.
   */
  sectionFloor: number;
  /** Pseudo-relevance feedback: words of the first pass's best chunks, in a second pass. */
  feedback: { docs: number; terms: number; weight: number; mix: number };
  /** Score factor for release notes, changelogs and migration guides when the question is not about changes. */
  historyFactor: number;
}

/**
 * Chosen with the retrieval eval (npm run eval). Sections are grouped by page (groupByPage), so a
 * further section of a chosen page costs no rank and is not penalised (it was, by 0.9 per section,
 * before grouping). The page share (lexical-index.ts) lifts every section of a good page over the
 * relevance floor, so a second floor on a section's own score keeps out those that match little themselves (0.2: mean
 * tokens 3270 -> 3009 at the same phrase-hit@5), which let the relevance floor come down from
 * 0.46 to 0.4: phrase-hit@5 0.873 -> 0.887, answer-in-5k 0.88 -> 0.893, mean tokens 3260.
 * (0.18-0.2 and 0.38-0.43 score alike.)
 */
export const DEFAULT_QUERY_OPTIONS: QueryOptions = {
  candidates: 40,
  relevanceFloor: 0.4,
  sectionFloor: 0.2,
  // Eval: phrase-hit@5 0.713 -> 0.733, MRR 0.551 -> 0.557, hit@1 and answer-in-5k unchanged.
  feedback: { docs: 3, terms: 8, weight: 0.3, mix: 0.6 },
  // Eval: phrase-hit@5 0.733 -> 0.753 (0.3 scores the same, 1 is off).
  historyFactor: 0.5,
};

/**
 * Two passes: the question as asked, then expanded with the rare words its best chunks share;
 * the scores are fused (each pass normalised to its best), so the first pass's order mostly holds
 * and the second adds chunks that use the docs' own words for what the question paraphrased.
 */
function withFeedback(
  index: LexicalIndex,
  lexemes: QueryLexemes,
  opts: QueryOptions,
  kindFactors: readonly number[],
): Scored[] {
  const { docs, terms, weight, mix } = opts.feedback;
  const first = index.search(lexemes.weights, opts.candidates * 2, {
    kindFactors,
    pairs: lexemes.pairs,
  });
  if (first.length === 0 || mix <= 0) return first.slice(0, opts.candidates);
  const second = index.search(
    index.expand(lexemes.weights, first, docs, terms, weight),
    opts.candidates * 2,
    { kindFactors, pairs: lexemes.pairs },
  );
  const top1 = first[0]!.score;
  const top2 = second[0]?.score ?? 1;
  const fused = new Map<number, Scored>(first.map((s) => [s.chunkId, s]));
  for (const s of second) {
    const scale = (mix * top1) / top2;
    const prev = fused.get(s.chunkId);
    fused.set(s.chunkId, {
      ...(prev ?? s),
      score: (prev?.score ?? 0) + scale * s.score,
      own: (prev ? (prev.own ?? prev.score) : 0) + scale * (s.own ?? s.score),
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score).slice(0, opts.candidates);
}

export interface QueryResult {
  version: ServingVersion;
  /** In rank order (the JSON response splits them into code and info snippets). */
  snippets: Snippet[];
  response: ContextResponse;
  text: string;
}

interface ChunkRow {
  id: number;
  title: string;
  breadcrumb: string[];
  anchor: string;
  content: string;
  code: { lang: string; code: string }[];
  tokens: number;
  path: string;
  url: string | null;
  page_id: number;
  ordinal: number;
}

// Half a question word: the joined form is a guess (eval: +1 question at 0.5, none at 1).
const JOINED_WEIGHT = 0.5;

export interface QueryLexemes {
  weights: Map<string, number>;
  /** Lexemes within two words of each other in the question, for the proximity term. */
  pairs: [string, string][];
  /**
   * Neighbouring words written together ("roll back" -> "rollback", "time out" -> "timeout"):
   * added to the question when the docs use the joined form.
   */
  joined: string[];
}

const OWN_NAME_WEIGHT = 0.2;

/**
 * Lexemes (as `twinmcp_docs` stems them) of the words that frame a question: interrogatives,
 * auxiliaries, pronouns, articles and the commonest prepositions. They count half: questions use
 * them far more than answers do, and where one is rare in a library ("my", "does") it pulled in
 * FAQ headings. Words that carry meaning in docs ("before", "without", "between", "only", "not")
 * are not among them. Eval: phrase-hit@5 0.853 -> 0.873, answer-in-5k 0.86 -> 0.88, mean tokens
 * 3378 -> 3270 (0.35 and 0.65 score alike; dropping them, 0.1, scores lower).
 */
const QUESTION_WORDS = new Set(
  (
    'what which how whi when where who doe do did is are can i my me we our you your it this that ' +
    'a an the to of in on for with and or from by at as be'
  ).split(' '),
);

/**
 * Lexemes of a question with their weights, through the same `twinmcp_docs` configuration as the
 * chunks. Words of the library's own name ("typescript" in a TypeScript question) occur on most
 * of its pages and say nothing about which one answers, so they count a fifth; question-framing
 * words count half.
 */
export async function queryLexemes(
  db: Queryable,
  text: string,
  libraryName = '',
): Promise<QueryLexemes> {
  const rows = await db.query<{ lexeme: string; positions: number[] | null; own: boolean }>(
    `SELECT q.lexeme, q.positions,
            q.lexeme = ANY(tsvector_to_array(to_tsvector('twinmcp_docs', $2))) AS own
       FROM unnest(to_tsvector('twinmcp_docs', $1)) AS q`,
    [withIdentifierParts(text), libraryName],
  );
  const weights = new Map(
    rows.map((r) => {
      const factor = (r.own ? OWN_NAME_WEIGHT : 1) * (QUESTION_WORDS.has(r.lexeme) ? 0.5 : 1);
      return [r.lexeme, (r.positions?.length ?? 1) * factor] as const;
    }),
  );
  const pairs: [string, string][] = [];
  const joined: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const a = rows[i]!;
      const c = rows[j]!;
      if (a.own || c.own) continue;
      const near = (a.positions ?? []).some((p) =>
        (c.positions ?? []).some((q) => Math.abs(p - q) <= 2),
      );
      if (near) pairs.push([a.lexeme, c.lexeme]);
      for (const p of a.positions ?? []) {
        for (const q of c.positions ?? []) {
          if (q === p + 1) joined.push(a.lexeme + c.lexeme);
          if (p === q + 1) joined.push(c.lexeme + a.lexeme);
        }
      }
    }
  }
  return { weights, pairs, joined };
}

function sourceOf(row: ChunkRow): string {
  const anchor = row.anchor ? `#${row.anchor}` : '';
  return `${row.url ?? row.path}${anchor}`;
}

export async function queryDocs(
  db: Queryable,
  cache: IndexCache,
  libraryId: string,
  question: string,
  tokens: number | undefined,
  opts: QueryOptions = DEFAULT_QUERY_OPTIONS,
  /** Hybrid retrieval (server/search/hybrid.ts): other candidates fused in; absent = lexical. */
  fuse?: (version: ServingVersion, lexical: Scored[]) => Promise<Scored[]>,
): Promise<QueryResult> {
  const version = await findServingVersion(db, libraryId);
  const budget = clampTokens(tokens);
  const index = await cache.get(version.versionId, () => LexicalIndex.load(db, version.versionId));
  const ownName = `${version.title} ${version.libraryId.split('/').join(' ')}`;
  const lexemes = await queryLexemes(db, question, withIdentifierParts(ownName));
  for (const word of lexemes.joined) {
    if (!lexemes.weights.has(word) && index.documentFrequency(word) > 0) {
      lexemes.weights.set(word, JOINED_WEIGHT);
    }
  }
  const kindFactors = [1, asksAboutChanges(question) ? 1 : opts.historyFactor];
  const lexical = withFeedback(index, lexemes, opts, kindFactors);
  const scored = fuse ? await fuse(version, lexical) : lexical;
  if (scored.length === 0) {
    throw new EngineError(
      'no_snippets_found',
      `No documentation in ${version.libraryId}${version.version ? `/${version.version}` : ''} matches "${question}". Try other words for the same concept, or another library.`,
    );
  }
  // Pack on what the index knows (page, tokens), then fetch the text of the kept chunks only.
  const meta = new Map<number, { page: number; tokens: number }>();
  const unknown: number[] = [];
  for (const s of scored) {
    const info = index.chunkInfo(s.chunkId);
    if (info) meta.set(s.chunkId, info);
    else unknown.push(s.chunkId);
  }
  if (unknown.length > 0) {
    const extra = await db.query<{ id: number; page_id: number; tokens: number }>(
      `SELECT id, page_id, tokens FROM chunks WHERE id = ANY($1::bigint[])`,
      [unknown],
    );
    for (const r of extra)
      meta.set(Number(r.id), { page: Number(r.page_id), tokens: Number(r.tokens) });
  }

  // In score order (stable: MMR's order holds among equal scores). A page's further sections are
  // not penalised: they join its snippet (groupByPage) rather than take another rank.
  const pool = scored.filter((s) => meta.has(s.chunkId)).sort((a, b) => b.score - a.score);
  const picked: { chunkId: number; score: number }[] = [];
  const top = pool[0]?.score ?? 0;
  const topOwn = pool.reduce((m, p) => Math.max(m, p.own ?? p.score), 0);
  let used = 0;
  for (const next of pool) {
    if (next.score < top * opts.relevanceFloor && picked.length > 0) break;
    // The page's share lifts every section of a good page; one that matches little itself stays out.
    if ((next.own ?? next.score) < topOwn * opts.sectionFloor && picked.length > 0) continue;
    const cost = meta.get(next.chunkId)!.tokens + 30;
    // The first one is kept even when it alone exceeds the budget.
    if (used + cost > budget && picked.length > 0) continue;
    picked.push({ chunkId: next.chunkId, score: next.score });
    used += cost;
  }
  const rows = await db.query<ChunkRow>(
    `SELECT c.id, c.title, c.breadcrumb, c.anchor, c.content, c.code, c.tokens, c.page_id,
            c.ordinal, p.path, p.url
       FROM chunks c JOIN pages p ON p.id = c.page_id
      WHERE c.id = ANY($1::bigint[])`,
    [picked.map((s) => s.chunkId)],
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const chosen = picked.flatMap(({ chunkId, score }) => {
    const row = byId.get(chunkId);
    return row ? [{ row, score }] : [];
  });

  const snippets = groupByPage(chosen)
    .map(pageSnippet)
    .sort((a, b) => b.score - a.score);
  const response: ContextResponse = {
    libraryId: version.libraryId,
    version: version.version || null,
    codeSnippets: snippets.filter((s) => s.code.length > 0),
    infoSnippets: snippets.filter((s) => s.code.length === 0),
    totalTokens: snippets.reduce((n, s) => n + s.tokens, 0),
  };
  return { version, snippets, response, text: formatSnippets(snippets) };
}

type Chosen = { row: ChunkRow; score: number };

/**
 * The chosen sections of each page, pages in the order of their best section. A page answers
 * with one snippet: its best section, then the others in page order, so an agent gets the page's
 * relevant parts together instead of fragments between other pages (eval: phrase-hit@5 0.773 -> 0.853,
 * hit@1 0.453 -> 0.58, MRR 0.58 -> 0.70).
 */
function groupByPage(chosen: Chosen[]): Chosen[][] {
  const pages = new Map<number, Chosen[]>();
  for (const c of chosen) {
    const page = Number(c.row.page_id);
    const group = pages.get(page);
    if (group) group.push(c);
    else pages.set(page, [c]);
  }
  return [...pages.values()];
}

/**
 * A page's score: its best section's, plus a quarter of its second best (a page that answers in
 * two places ranks above one with a single equal section; more sections add nothing, so a long
 * reference page does not win by its length). Eval: hit@1 0.58 -> 0.633, MRR 0.70 -> 0.73 when
 * added; 0.1 and 0.5 score a little lower.
 */
const SECOND_SECTION_WEIGHT = 0.25;

function pageScore(group: Chosen[]): number {
  return group[0]!.score + SECOND_SECTION_WEIGHT * (group[1]?.score ?? 0);
}

function pageSnippet(group: Chosen[]): Snippet {
  const best = group[0]!;
  const base = {
    title: best.row.title,
    breadcrumb: best.row.breadcrumb,
    source: sourceOf(best.row),
    path: best.row.path,
    score: Math.round(pageScore(group) * 1000) / 1000,
  };
  if (group.length === 1) {
    return {
      ...base,
      content: best.row.content,
      description: proseDescription(best.row.content),
      code: best.row.code,
      tokens: Number(best.row.tokens),
    };
  }
  // The best section first (the snippet's title names it), then the others in page order.
  const rest = group.slice(1).sort((a, b) => Number(a.row.ordinal) - Number(b.row.ordinal));
  const inOrder = [best, ...rest];
  return {
    ...base,
    content: inOrder.map(({ row }) => `#### ${row.title}\n\n${row.content.trim()}`).join('\n\n'),
    description: proseDescription(best.row.content),
    code: inOrder.flatMap(({ row }) => row.code),
    // Each heading line costs a few tokens more; the packing allowed 30 per section.
    tokens: inOrder.reduce((n, { row }) => n + Number(row.tokens) + 4, 0),
    sections: inOrder.map(({ row }) => ({ title: row.title, source: sourceOf(row) })),
  };
}
