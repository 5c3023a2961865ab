/**
 * REST wire contract (`/api/v1/...`), shared by the server, the CLI client and the extension.
 * Shapes follow the Context7 REST API where one exists (see docs/ARCHITECTURE.md).
 */
import { z } from 'zod';

export const MIN_TOKENS = 1000;
export const DEFAULT_TOKENS = 5000;
export const MAX_TOKENS = 50000;

/** Token budgets below the minimum are raised, above the maximum lowered; never refused. */
export function clampTokens(tokens: number | undefined): number {
  if (tokens === undefined || !Number.isFinite(tokens)) return DEFAULT_TOKENS;
  return Math.min(MAX_TOKENS, Math.max(MIN_TOKENS, Math.floor(tokens)));
}

export const LibraryState = z.enum(['indexing', 'ready', 'failed']);
export type LibraryState = z.infer<typeof LibraryState>;

export const LibrarySummary = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  totalSnippets: z.number(),
  totalTokens: z.number(),
  trustScore: z.number(),
  versions: z.array(z.string()),
  lastUpdateDate: z.string().nullable(),
  state: LibraryState,
  error: z.string().optional(),
  source: z.string().optional(),
  /** `hybrid`: queries fuse vector candidates into the lexical ones; `lexical`: BM25F only. */
  search: z.enum(['lexical', 'hybrid']).optional(),
  /** The embedding model of the shown version's vectors, when `search` is hybrid. */
  embeddingModel: z.string().optional(),
});
export type LibrarySummary = z.infer<typeof LibrarySummary>;

export const SearchQuery = z.object({
  libraryName: z.string().trim().min(1).max(500),
  query: z.string().max(500).optional(),
});
export type SearchQuery = z.infer<typeof SearchQuery>;

export const SearchResult = LibrarySummary.extend({
  /** Version the match pointed at (e.g. "fastify 4" -> "v4"), when one did. */
  matchedVersion: z.string().optional(),
  score: z.number(),
});
export type SearchResult = z.infer<typeof SearchResult>;
export const SearchResponse = z.object({ results: z.array(SearchResult) });
export type SearchResponse = z.infer<typeof SearchResponse>;

export const ContextQuery = z.object({
  libraryId: z.string().min(1).max(300),
  query: z.string().trim().min(1).max(500),
  tokens: z.coerce.number().int().optional(),
  type: z.enum(['txt', 'json']).default('txt'),
});
export type ContextQuery = z.infer<typeof ContextQuery>;

export const Snippet = z.object({
  title: z.string(),
  breadcrumb: z.array(z.string()),
  source: z.string(),
  path: z.string(),
  /** Markdown text: prose and code fences. */
  content: z.string(),
  /** First sentences of prose, for code snippets. */
  description: z.string(),
  code: z.array(z.object({ lang: z.string(), code: z.string() })),
  tokens: z.number(),
  score: z.number(),
  /**
   * When the snippet holds several sections of its page (the best first, the others in page
   * order, each under a `####` heading in `content`): each section's title and source. `title`
   * and `source` name the best.
   */
  sections: z.array(z.object({ title: z.string(), source: z.string() })).optional(),
});
export type Snippet = z.infer<typeof Snippet>;

export const ContextResponse = z.object({
  libraryId: z.string(),
  version: z.string().nullable(),
  codeSnippets: z.array(Snippet),
  infoSnippets: z.array(Snippet),
  totalTokens: z.number(),
});
export type ContextResponse = z.infer<typeof ContextResponse>;

export const AddSourceBody = z.object({
  /** Local path, `file://` URL, or `https://` git URL. */
  source: z.string().min(1).max(2000),
  name: z.string().max(200).optional(),
  /** Library id to index under (`/owner/name`); derived from the source when absent. */
  libraryId: z.string().max(300).optional(),
  version: z.string().max(100).optional(),
  /** Make this version the one a bare library id means (default: unversioned sources, or the first version). */
  latest: z.boolean().optional(),
  ref: z.string().max(200).optional(),
  /** How to read an http(s) URL: a git repository or a website to crawl; guessed when absent. */
  kind: z.enum(['git', 'web']).optional(),
  /** With auth on, libraries are private to the caller's account; an admin key may ask for public. */
  public: z.boolean().optional(),
});
export type AddSourceBody = z.infer<typeof AddSourceBody>;

export const JobState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobState>;

export const JobProgress = z.object({
  phase: z.string(),
  pages: z.number(),
  chunks: z.number(),
  tokens: z.number(),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  elapsedMs: z.number(),
  /** Refresh: pages copied unchanged from the serving version (not parsed or chunked again). */
  reused: z.number().optional(),
  /** A resumed attempt: pages an earlier attempt had committed (not fetched or parsed again). */
  resumed: z.number().optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const Job = z.object({
  id: z.string(),
  kind: z.string(),
  state: JobState,
  libraryId: z.string().nullable(),
  version: z.string().nullable(),
  progress: JobProgress.nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Attempts started so far (a retry or a crashed worker's job counts one more). */
  attempts: z.number().optional(),
  maxAttempts: z.number().optional(),
  /** When a job waiting out a retry backoff runs next; null otherwise. */
  nextRunAt: z.string().nullable().optional(),
  /** Cancel asked while it runs: its worker stops at the next page batch. */
  cancelRequested: z.boolean().optional(),
});
export type Job = z.infer<typeof Job>;

/** `GET /api/v1/jobs`: the caller's jobs (every job for an admin or the local CLI), newest first. */
export const JobList = z.object({ jobs: z.array(Job) });
export type JobList = z.infer<typeof JobList>;

/** `POST /api/v1/libs/refresh`: re-index one library (or every one) from its stored sources. */
export const RefreshBody = z.object({ libraryId: z.string().min(1).max(300).optional() });
export type RefreshBody = z.infer<typeof RefreshBody>;
export const RefreshResponse = z.object({
  jobs: z.array(Job),
  /** Versions not refreshed, and why (no stored source, a job already queued...). */
  skipped: z.array(z.object({ libraryId: z.string(), version: z.string(), reason: z.string() })),
});
export type RefreshResponse = z.infer<typeof RefreshResponse>;

export const ErrorCode = z.enum([
  'invalid_library_id',
  'validation_error',
  'invalid_api_key',
  'forbidden',
  'library_not_found',
  'no_snippets_found',
  'job_not_found',
  'not_found',
  'conflict',
  'library_too_large',
  'unprocessable',
  'unsupported_media_type',
  'rate_limit_exceeded',
  'internal_error',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({ error: ErrorCode, message: z.string() });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const HealthResponse = z.object({
  status: z.literal('ok'),
  version: z.string(),
  database: z.enum(['pglite', 'postgres']),
  vector: z.boolean(),
  /** `off` (none configured), `unsupported` (no vector extension), `unavailable` or `ok`. */
  embeddings: z.string(),
  /** What queries on embedded libraries do right now: `hybrid`, or `lexical` (the fallback). */
  search: z.enum(['lexical', 'hybrid']).optional(),
  embeddingModel: z.string().optional(),
  /** Libraries indexed; null while the database does not answer (liveness stays 200: see /ready). */
  libraries: z.number().nullable(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/** `GET /ready`: 200 with ready true, or 503 with the reason (database down, migrations pending). */
export const ReadyResponse = z.object({ ready: z.boolean(), reason: z.string().optional() });
export type ReadyResponse = z.infer<typeof ReadyResponse>;

/** A page whose text the injection screening neutralized (server/indexing/screen.ts). */
export const PageFlag = z.object({
  version: z.string(),
  path: z.string(),
  url: z.string().nullable(),
  /** ignore-instructions, role-override, addresses-model, tool-call, exfiltration, prompt-markers, hidden-html, invisible-characters */
  kinds: z.array(z.string()),
  /** Short excerpts of removed sentences, for operators. */
  excerpts: z.array(z.object({ kind: z.string(), excerpt: z.string() })),
  flaggedAt: z.string(),
});
export type PageFlag = z.infer<typeof PageFlag>;

export const PageFlagsResponse = z.object({ libraryId: z.string(), pages: z.array(PageFlag) });
export type PageFlagsResponse = z.infer<typeof PageFlagsResponse>;
