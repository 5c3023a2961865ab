/**
 * resolve-library-id: which indexed library a name (or a description, a typo, a package name, a
 * version-qualified name) means. Candidates come from SQL (trigram over names, full text over the
 * library profile); the final order is decided here from several signals.
 */
import type { SearchResult } from '../../shared/api.js';
import type { Queryable } from '../db/db.js';
import { visibilityParams, visibleSql } from '../accounts/visibility.js';
import { nameWords } from '../indexing/metadata.js';
import { versionMatches } from './versions.js';

/** Words that qualify a name without naming anything ("zod docs", "the fastify library"). */
const FILLER = new Set([
  'docs',
  'doc',
  'documentation',
  'the',
  'library',
  'lib',
  'package',
  'api',
  'reference',
]);

export interface ParsedName {
  name: string;
  words: string[];
  version?: string;
}

/** `fastify 4` -> fastify + version 4; `zod@3` and `vite v8.1` too; `2.13` in `pydantic 2.13 docs`. */
export function parseLibraryName(input: string): ParsedName {
  let text = input.trim();
  let version: string | undefined;
  const m = /(?:^|\s|@)v?(\d+(?:\.\d+)*(?:\.x)?)(?=\s|$)/i.exec(text);
  if (m && m.index > 0) {
    version = m[1];
    text = `${text.slice(0, m.index)} ${text.slice(m.index + m[0].length)}`.trim();
  }
  const words = nameWords(text);
  const meaningful = words.filter((w) => !FILLER.has(w));
  return {
    name: text.toLowerCase(),
    words: meaningful.length ? meaningful : words,
    ...(version ? { version } : {}),
  };
}

function compact(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** How well the typed name matches one alias, 0..1. */
export function aliasMatch(q: ParsedName, alias: string): number {
  const qc = compact(q.words.join(''));
  const ac = compact(alias);
  if (!qc || !ac) return 0;
  if (qc === ac) return 1;
  const aw = nameWords(alias).filter((w) => !FILLER.has(w));
  const qw = q.words;
  const inAlias = qw.filter((w) => aw.includes(w)).length;
  let score = 0;
  if (inAlias > 0) {
    // Coverage of what was typed matters most; a one-word alias inside a long description
    // ("... for TypeScript") is weak evidence, so alias coverage only counts in proportion.
    const qCov = inAlias / qw.length;
    const aCov = inAlias / aw.length;
    score = qCov * (0.6 + 0.3 * aCov);
  }
  if (qc.length >= 4 && ac.length >= 4) {
    const dist = editDistance(qc, ac);
    if (dist === 1) score = Math.max(score, 0.85);
    else if (dist === 2 && Math.min(qc.length, ac.length) >= 6) score = Math.max(score, 0.75);
  }
  for (const w of qw) {
    if (w.length < 5) continue;
    for (const a of aw) {
      if (a.length >= 5 && editDistance(w, a) === 1)
        score = Math.max(score, (0.8 * 1) / Math.max(qw.length, aw.length));
    }
  }
  return score;
}

interface CandidateRow {
  id: string;
  title: string;
  description: string;
  aliases: string[];
  trust_score: number;
  owner_account: string | null;
  profile: number;
}

interface VersionRow {
  library_id: string;
  version: string;
  is_latest: boolean;
  state: string;
  error: string | null;
  snippet_count: number;
  token_count: number;
  indexed_at: Date | string | null;
}

export async function resolveLibrary(
  db: Queryable,
  libraryName: string,
  limit = 5,
  /** Account asking (null = anonymous); undefined = a trusted local caller who sees every library. */
  owner?: string | null,
): Promise<SearchResult[]> {
  const parsed = parseLibraryName(libraryName);
  const words = parsed.words.join(' ');
  // Bounded candidates without thresholds: the closest names by trigram similarity (typos such
  // as "kysley" fall below pg_trgm's default thresholds) plus the best full-text profile matches.
  const candidates = await db.query<CandidateRow>(
    `WITH q AS (
       SELECT lower($1) AS name,
              (SELECT CASE WHEN count(*) = 0 THEN NULL
                      ELSE string_agg(quote_literal(lexeme), ' | ')::tsquery END
                 FROM unnest(to_tsvector('english', $2))) AS tsq),
     by_name AS (
       SELECT l.id FROM libraries l, q
        WHERE ${visibleSql('l', 3)}
        ORDER BY greatest(similarity(l.names, q.name), word_similarity(q.name, l.names)) DESC
        LIMIT 40),
     by_profile AS (
       SELECT l.id FROM libraries l, q
        WHERE q.tsq IS NOT NULL AND l.profile_tsv @@ q.tsq AND ${visibleSql('l', 3)}
        ORDER BY ts_rank('{0.2, 0.4, 0.8, 1.0}', l.profile_tsv, q.tsq, 32) DESC
        LIMIT 40)
     SELECT l.id, l.title, l.description, l.aliases, l.trust_score, l.owner_account,
            coalesce(ts_rank('{0.2, 0.4, 0.8, 1.0}', l.profile_tsv, q.tsq, 32), 0)::float8 AS profile
       FROM libraries l, q
      WHERE l.id IN (SELECT id FROM by_name UNION SELECT id FROM by_profile)`,
    [words || parsed.name, parsed.name, ...visibilityParams(owner)],
  );
  if (candidates.length === 0) return [];
  const versions = await db.query<VersionRow>(
    `SELECT library_id, version, is_latest, state, error, snippet_count, token_count, indexed_at
       FROM library_versions WHERE library_id = ANY($1::text[]) AND state IN ('ready', 'indexing', 'failed')
      ORDER BY is_latest DESC, indexed_at DESC NULLS LAST`,
    [candidates.map((c) => c.id)],
  );
  const byLib = new Map<string, VersionRow[]>();
  for (const v of versions) byLib.set(v.library_id, [...(byLib.get(v.library_id) ?? []), v]);
  const maxProfile = Math.max(...candidates.map((c) => Number(c.profile)), 1e-9);
  const maxSnippets = Math.max(
    1,
    ...candidates.map((c) =>
      (byLib.get(c.id) ?? []).reduce((n, v) => n + Number(v.snippet_count), 0),
    ),
  );

  const results: SearchResult[] = [];
  for (const c of candidates) {
    const vs = byLib.get(c.id) ?? [];
    const ready = vs.filter((v) => v.state === 'ready');
    const name = Math.max(
      0,
      ...[c.title, c.id.split('/')[2] ?? '', ...c.aliases].map((a) => aliasMatch(parsed, a)),
    );
    const profile = Number(c.profile) / maxProfile;
    const snippets = ready.reduce((n, v) => n + Number(v.snippet_count), 0);
    // Established libraries (more documentation, several versions) win ties between equal names.
    const prior =
      Math.log1p(snippets) / Math.log1p(maxSnippets) + Math.min(ready.length - 1, 3) * 0.1;
    // The description only fills what the name leaves open: "fastify-plugin" must not overtake
    // "fastify" for the query "fastify" because its README talks about Fastify more.
    let score = name + 0.45 * profile * (1 - Math.min(name, 1)) + 0.06 * prior;
    const matched = parsed.version
      ? ready.find((v) => v.version && versionMatches(parsed.version!, v.version))
      : undefined;
    if (matched) score += 0.05;
    const latest = ready.find((v) => v.is_latest) ?? ready[0];
    const shown = matched ?? latest;
    const state = ready.length
      ? 'ready'
      : vs.some((v) => v.state === 'indexing')
        ? 'indexing'
        : 'failed';
    const indexedAt = shown?.indexed_at ?? null;
    results.push({
      id: matched ? `${c.id}/${matched.version}` : c.id,
      title: c.title,
      description: c.description,
      totalSnippets: Number(shown?.snippet_count ?? 0),
      totalTokens: Number(shown?.token_count ?? 0),
      trustScore: Number(c.trust_score),
      versions: ready.map((v) => v.version).filter(Boolean),
      lastUpdateDate: indexedAt ? new Date(indexedAt).toISOString() : null,
      state,
      ...(state === 'failed' ? { error: vs.find((v) => v.error)?.error ?? 'indexing failed' } : {}),
      ...(matched ? { matchedVersion: matched.version } : {}),
      score: Math.round(score * 1000) / 1000,
    });
  }
  results.sort((a, b) => b.score - a.score);
  const best = results[0]?.score ?? 0;
  return results.filter((r) => r.score >= best * 0.3).slice(0, limit);
}
