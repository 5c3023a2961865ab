/**
 * Storage of libraries, versions, pages and chunks. Indexing writes a staging version and swaps it
 * in atomically when complete, so the previous version serves until then.
 */
import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../db/db.js';
import { codeIdentifiers, withIdentifierParts } from '../search/text.js';
import type { Chunk } from './types.js';

export interface LibraryRecord {
  id: string;
  title: string;
  description: string;
  aliases: string[];
  source: Record<string, unknown>;
  ownerAccount: string | null;
  trustScore: number;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Creates the library or refreshes its metadata (title, description, aliases, source). */
export async function upsertLibrary(db: Queryable, lib: LibraryRecord): Promise<void> {
  await db.query(
    `INSERT INTO libraries (id, owner_account, title, description, aliases, names, source, trust_score)
     VALUES ($1, $2, $3, $4, $5::text[], lower($1 || ' ' || $3 || ' ' || array_to_string($5::text[], ' ')),
             $6::jsonb, $7)
     ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title,
       description = CASE WHEN EXCLUDED.description = '' THEN libraries.description ELSE EXCLUDED.description END,
       aliases = ARRAY(SELECT DISTINCT a FROM unnest(libraries.aliases || EXCLUDED.aliases) AS a ORDER BY a),
       names = lower(libraries.id || ' ' || EXCLUDED.title || ' ' ||
               array_to_string(libraries.aliases || EXCLUDED.aliases, ' ')),
       source = EXCLUDED.source, trust_score = EXCLUDED.trust_score, updated_at = now()`,
    [
      lib.id,
      lib.ownerAccount,
      lib.title,
      lib.description,
      lib.aliases,
      JSON.stringify(lib.source),
      lib.trustScore,
    ],
  );
}

export async function createStagingVersion(
  db: Queryable,
  libraryId: string,
  version: string,
  source: Record<string, unknown>,
  jobId: string | null,
): Promise<number> {
  const rows = await db.query<{ id: number }>(
    `INSERT INTO library_versions (library_id, version, state, source, job_id)
     VALUES ($1, $2, 'indexing', $3::jsonb, $4) RETURNING id`,
    [libraryId, version, JSON.stringify(source), jobId],
  );
  return Number(rows[0]!.id);
}

export interface PageToStore {
  path: string;
  url: string | null;
  title: string;
  contentHash: string;
  chunks: Chunk[];
  /** HTTP validators (website pages), for conditional re-fetches. */
  etag?: string | null;
  lastModified?: string | null;
  /** In-scope links found on the page (websites): the crawl checkpoint of a resumed job. */
  links?: string[];
}

const INLINE_CODE = /`([^`\n]+)`/g;

function chunkRow(pageId: number, chunk: Chunk) {
  const prose = chunk.text.replace(/```[\s\S]*?```/g, ' ');
  const inline = [...prose.matchAll(INLINE_CODE)].map((m) => m[1]!);
  return {
    page_id: pageId,
    ordinal: chunk.ordinal,
    title: chunk.title,
    breadcrumb: chunk.breadcrumb,
    anchor: chunk.anchor,
    content: chunk.text,
    code: chunk.code,
    tokens: chunk.tokens,
    content_hash: sha256(chunk.text),
    t_title: withIdentifierParts(chunk.title),
    t_crumb: withIdentifierParts(chunk.breadcrumb.slice(0, -1).join(' ')),
    t_code: codeIdentifiers(
      chunk.code.map((c) => c.code),
      inline,
    ),
    t_body: withIdentifierParts(chunk.text),
  };
}

/**
 * Stores a batch of pages with their chunks in one round trip per table. Chunks whose text already
 * exists in this version are stored once (the first one wins).
 */
export async function storePages(
  tx: Queryable,
  versionId: number,
  pages: PageToStore[],
): Promise<number> {
  if (pages.length === 0) return 0;
  const pageRows = await tx.query<{ id: number; path: string }>(
    `INSERT INTO pages (version_id, path, url, title, content_hash, etag, last_modified, links)
     SELECT $1, x.path, x.url, x.title, x.content_hash, x.etag, x.last_modified, x.links
       FROM jsonb_to_recordset($2::jsonb) AS x(path text, url text, title text, content_hash text,
                                               etag text, last_modified text, links jsonb)
     ON CONFLICT (version_id, path) DO UPDATE SET url = EXCLUDED.url, title = EXCLUDED.title,
       content_hash = EXCLUDED.content_hash, etag = EXCLUDED.etag,
       last_modified = EXCLUDED.last_modified, links = EXCLUDED.links
     RETURNING id, path`,
    [
      versionId,
      JSON.stringify(
        pages.map((p) => ({
          path: p.path,
          url: p.url,
          title: p.title,
          content_hash: p.contentHash,
          etag: p.etag ?? null,
          last_modified: p.lastModified ?? null,
          links: p.links ?? null,
        })),
      ),
    ],
  );
  const idByPath = new Map(pageRows.map((r) => [r.path, Number(r.id)]));
  const rows = pages.flatMap((p) => p.chunks.map((c) => chunkRow(idByPath.get(p.path)!, c)));
  if (rows.length === 0) return 0;
  const inserted = await tx.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO chunks (version_id, page_id, ordinal, title, breadcrumb, anchor, content, code,
                           tokens, content_hash, tsv)
       SELECT $1, x.page_id, x.ordinal, x.title, x.breadcrumb, x.anchor, x.content, x.code, x.tokens,
              x.content_hash,
              setweight(to_tsvector('twinmcp_docs', x.t_title), 'A') ||
              setweight(to_tsvector('twinmcp_docs', x.t_crumb), 'B') ||
              setweight(to_tsvector('twinmcp_docs', x.t_code), 'C') ||
              setweight(to_tsvector('twinmcp_docs', x.t_body), 'D')
         FROM jsonb_to_recordset($2::jsonb) AS x(page_id bigint, ordinal integer, title text,
              breadcrumb text[], anchor text, content text, code jsonb, tokens integer,
              content_hash text, t_title text, t_crumb text, t_code text, t_body text)
       ON CONFLICT (version_id, content_hash) DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [versionId, JSON.stringify(rows)],
  );
  return Number(inserted[0]?.n ?? 0);
}

export interface VersionStats {
  pages: number;
  snippets: number;
  tokens: number;
}

/**
 * Makes a complete staging version the serving one, in one transaction: the version it replaces
 * (same library and version label) is removed, `is_latest` moves when asked, and the library's
 * resolve profile is rebuilt.
 */
export async function promoteVersion(
  db: Db,
  versionId: number,
  opts: { latest: boolean; pageTitles: string[]; library: LibraryRecord },
): Promise<VersionStats> {
  return db.transaction(async (tx) => {
    await upsertLibrary(tx, opts.library);
    const [v] = await tx.query<{ library_id: string; version: string }>(
      `SELECT library_id, version FROM library_versions WHERE id = $1 FOR UPDATE`,
      [versionId],
    );
    if (!v) throw new Error(`library version ${versionId} vanished while indexing`);
    const [stats] = await tx.query<{
      pages: number;
      snippets: number;
      tokens: number;
      avg: number;
    }>(
      `SELECT (SELECT count(*)::int FROM pages WHERE version_id = $1) AS pages,
              count(*)::int AS snippets, coalesce(sum(tokens), 0)::int AS tokens,
              coalesce(avg(length(tsv)), 0)::float8 AS avg
         FROM chunks WHERE version_id = $1`,
      [versionId],
    );
    const previous = await tx.query<{ id: number; is_latest: boolean }>(
      `SELECT id, is_latest FROM library_versions
        WHERE library_id = $1 AND version = $2 AND state = 'ready' AND id <> $3`,
      [v.library_id, v.version, versionId],
    );
    if (previous.length > 0) {
      await tx.query(`DELETE FROM library_versions WHERE id = ANY($1::bigint[])`, [
        previous.map((p) => p.id),
      ]);
    }
    const others = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM library_versions WHERE library_id = $1 AND state = 'ready' AND is_latest`,
      [v.library_id],
    );
    const latest = opts.latest || previous.some((p) => p.is_latest) || Number(others[0]?.n) === 0;
    if (latest) {
      await tx.query(`UPDATE library_versions SET is_latest = false WHERE library_id = $1`, [
        v.library_id,
      ]);
    }
    await tx.query(
      `UPDATE library_versions SET state = 'ready', is_latest = $2, indexed_at = now(), error = NULL,
              page_count = $3, snippet_count = $4, token_count = $5, avg_length = $6
        WHERE id = $1`,
      [versionId, latest, stats!.pages, stats!.snippets, stats!.tokens, stats!.avg],
    );
    await refreshLibraryProfile(tx, v.library_id, opts.pageTitles);
    return { pages: stats!.pages, snippets: stats!.snippets, tokens: stats!.tokens };
  });
}

/** Marks a staging version failed and drops what it had written; the serving version is untouched. */
export async function failVersion(db: Queryable, versionId: number, error: string): Promise<void> {
  await db.query(`DELETE FROM pages WHERE version_id = $1`, [versionId]);
  await db.query(`UPDATE library_versions SET state = 'failed', error = $2 WHERE id = $1`, [
    versionId,
    error.slice(0, 2000),
  ]);
}

/**
 * The text resolve matches descriptions against: title and aliases (A), description (B), the
 * titles of the library's pages (C, capped so huge sites do not drown the rest).
 */
async function refreshLibraryProfile(tx: Queryable, libraryId: string, pageTitles: string[]) {
  const titles = [...new Set(pageTitles)].slice(0, 400).join(' \n ');
  await tx.query(
    `UPDATE libraries SET updated_at = now(), profile_tsv =
        setweight(to_tsvector('english', title || ' ' || array_to_string(aliases, ' ')), 'A') ||
        setweight(to_tsvector('english', description), 'B') ||
        setweight(to_tsvector('english', $2), 'C')
      WHERE id = $1`,
    [libraryId, titles],
  );
}
