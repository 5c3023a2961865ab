/**
 * Which libraries a question is about, and their best snippets: explicit ids first, then library
 * names written in the question, then the workspace's dependencies when nothing else named one.
 */
import type { Snippet } from '../../shared/api.js';
import type { Ask } from '../../shared/chat.js';
import { parseLibraryId } from '../../shared/library-id.js';
import type { Queryable } from '../db/db.js';
import { EngineError, type CallContext, type Engine } from '../engine-types.js';
import { ChatFailure } from './failure.js';
import type { Candidate } from './prompt.js';

/** Libraries searched for one question: beyond ~4 each one's share of the budget gets too thin. */
export const MAX_LIBRARIES = 4;
/** Names tried from one question (each costs a resolve). */
const MAX_NAME_CANDIDATES = 6;
/** The engine searches with at most this much of the question (query-docs takes 500 characters). */
const MAX_QUERY_CHARS = 500;

// Words that start questions or glue them; never worth a resolve on their own.
const STOP = new Set(
  (
    'a an and are as at be but by can do does did for from get got has have how i if in into is ' +
    'it its me my of on or should so than that the their then there these this to use using was ' +
    'we what when where which while who why will with without would you your about after before ' +
    'between does doing done make set add run write need want way ok please explain show tell ' +
    'example examples code docs documentation library libraries version versions'
  ).split(' '),
);

export interface Retrieved {
  /** Library ids searched, versioned when a version was chosen. */
  libraries: string[];
  /** Snippets in rank order, interleaved across libraries, not yet numbered. */
  candidates: Candidate[];
}

// The engine's visibility rule: public libraries, the caller's own, or all of them for a trusted
// caller (owner undefined). Parameters $2 and $3.
const VISIBLE = '($2::boolean OR l.owner_account IS NULL OR l.owner_account = $3::text)';
const visibility = (owner: string | null | undefined): [boolean, string | null] => [
  owner === undefined,
  owner ?? null,
];

/** Normalizes a name for whole-word matching against `libraries.names`: `Next.js` -> `next js`. */
export function nameKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** Words and adjacent pairs of the question that could name a library, most specific first. */
export function nameCandidates(question: string): string[] {
  const words = question
    .split(/\s+/)
    .map((w) => w.replace(/^[`'"([{<]+|[`'")\]}>.,!?:;]+$/g, ''))
    .filter((w) => w.length > 0);
  const useful = (w: string) => {
    const key = nameKey(w);
    return key.length >= 2 && !STOP.has(key) && !/^\d+$/.test(key);
  };
  // "fastify 4", "zod v3": the version travels with the name, so resolve picks that version.
  const versioned = (i: number) => {
    const next = words[i + 1];
    return next !== undefined && VERSION_WORD.test(next) ? `${words[i]} ${next}` : words[i]!;
  };
  const out = new Set<string>();
  for (let i = 0; i + 1 < words.length; i++) {
    if (useful(words[i]!) && useful(words[i + 1]!)) out.add(`${words[i]} ${versioned(i + 1)}`);
  }
  words.forEach((w, i) => useful(w) && out.add(versioned(i)));
  return [...out];
}

const VERSION_WORD = /^v?\d+(\.\d+)*(\.x)?$/i;

/** The name part of a candidate, for matching against library names. */
function nameOnly(candidate: string): string {
  const parts = candidate.split(' ');
  return VERSION_WORD.test(parts.at(-1)!) && parts.length > 1
    ? parts.slice(0, -1).join(' ')
    : candidate;
}

/**
 * The candidates that occur as whole words in some visible library's names (one SQL statement),
 * so that only those cost a resolve.
 */
async function namesInLibraries(
  db: Queryable,
  candidates: string[],
  owner: string | null | undefined,
): Promise<string[]> {
  if (candidates.length === 0) return [];
  const keys = candidates.map((c) => nameKey(nameOnly(c)));
  const rows = await db.query<{ key: string }>(
    `SELECT k.key FROM unnest($1::text[]) AS k(key)
      WHERE EXISTS (SELECT 1 FROM libraries l
                     WHERE ${VISIBLE}
                       AND ' ' || trim(regexp_replace(l.names, '[^a-z0-9]+', ' ', 'g')) || ' '
                           LIKE '% ' || k.key || ' %')`,
    [keys, ...visibility(owner)],
  );
  const hit = new Set(rows.map((r) => r.key));
  return candidates.filter((c) => hit.has(nameKey(nameOnly(c)))).slice(0, MAX_NAME_CANDIDATES);
}

/**
 * Libraries named in the question: a candidate counts only when resolve finds a library whose
 * name it is (score >= 1 means an exact alias or title match, typos score 0.85 at most).
 */
async function librariesNamed(engine: Engine, question: string, ctx: CallContext) {
  const names = await namesInLibraries(engine.db, nameCandidates(question), ctx.owner);
  const ids: string[] = [];
  for (const name of names) {
    const top = (await engine.resolve(name, question, ctx))[0];
    if (top && top.score >= 1 && top.state === 'ready') ids.push(top.id);
  }
  return ids;
}

/** Indexed libraries among the workspace's dependencies, best profile match to the question first. */
async function librariesInWorkspace(
  db: Queryable,
  deps: Record<string, string>,
  question: string,
  owner: string | null | undefined,
): Promise<string[]> {
  const names = Object.keys(deps).map((n) => n.toLowerCase());
  if (names.length === 0) return [];
  const rows = await db.query<{ id: string }>(
    `WITH q AS (SELECT (SELECT CASE WHEN count(*) = 0 THEN NULL
                               ELSE string_agg(quote_literal(lexeme), ' | ')::tsquery END
                          FROM unnest(to_tsvector('english', $4))) AS tsq)
     SELECT l.id FROM libraries l, q
      WHERE ${VISIBLE}
        AND EXISTS (SELECT 1 FROM unnest(l.aliases) a WHERE lower(a) = ANY($1::text[]))
        AND EXISTS (SELECT 1 FROM library_versions v WHERE v.library_id = l.id AND v.state = 'ready')
      ORDER BY coalesce(ts_rank(l.profile_tsv, q.tsq), 0) DESC, l.id
      LIMIT ${MAX_LIBRARIES}`,
    [names, ...visibility(owner), question.slice(0, MAX_QUERY_CHARS)],
  );
  return rows.map((r) => r.id);
}

function baseId(id: string): string {
  return parseLibraryId(id)?.libraryId.toLowerCase() ?? id.toLowerCase();
}

/** Picks the libraries and queries each; throws ChatFailure for an explicit id that is unknown. */
export async function retrieve(
  engine: Engine,
  ask: Pick<Ask, 'text' | 'libraries' | 'workspaceDeps'>,
  ctx: CallContext,
  budget: number,
): Promise<Retrieved> {
  const explicit = ask.libraries ?? [];
  for (const id of explicit) {
    if (!parseLibraryId(id)) {
      throw new ChatFailure(
        'library_not_found',
        `"${id}" is not a library id (expected /owner/name or /owner/name/version).`,
      );
    }
  }
  let chosen = [...explicit, ...(await librariesNamed(engine, ask.text, ctx))];
  if (chosen.length === 0 && ask.workspaceDeps) {
    chosen = await librariesInWorkspace(engine.db, ask.workspaceDeps, ask.text, ctx.owner ?? null);
  }
  const seen = new Set<string>();
  chosen = chosen.filter((id) => !seen.has(baseId(id)) && seen.add(baseId(id)));
  chosen = chosen.slice(0, MAX_LIBRARIES);

  const question = ask.text.slice(0, MAX_QUERY_CHARS);
  const perLibrary = Math.floor(budget / Math.max(1, chosen.length));
  const libraries: string[] = [];
  const lists: Candidate[][] = [];
  for (const id of chosen) {
    try {
      const { json } = await engine.query(id, question, perLibrary, ctx);
      const libraryId = json.version ? `${json.libraryId}/${json.version}` : json.libraryId;
      libraries.push(libraryId);
      const ranked = [...json.codeSnippets, ...json.infoSnippets].sort((a, b) => b.score - a.score);
      lists.push(ranked.map((s) => toCandidate(s, libraryId)));
    } catch (err) {
      if (!(err instanceof EngineError)) throw err;
      if (err.code === 'no_snippets_found') {
        libraries.push(id);
        continue;
      }
      if (explicit.includes(id)) throw new ChatFailure('library_not_found', err.message);
    }
  }
  return { libraries, candidates: interleave(lists) };
}

function toCandidate(s: Snippet, libraryId: string): Candidate {
  return {
    libraryId,
    title: s.title,
    breadcrumb: s.breadcrumb,
    source: s.source,
    path: s.path,
    content: s.content,
    tokens: s.tokens,
  };
}

/** First of each list, then second of each, ...: every library gets its best snippet in. */
function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) {
    for (const l of lists) if (i < l.length) out.push(l[i]!);
  }
  return out;
}
