/**
 * Incremental re-indexing in SQL: the pages of the serving version with their content hashes, and
 * the copy of unchanged pages (page rows and their chunk rows, lexemes included) into a staging
 * version, so only changed pages are parsed and chunked again. Pages the source no longer has are
 * simply not copied.
 */
import type { Queryable } from '../db/db.js';

/** Pages of a version: path -> content hash. */
export type PageHashes = Map<string, string>;

/**
 * The serving version a re-index can copy from: the ready row with the same label, else the
 * library's latest (a new npm version shares most pages with the previous one).
 */
export async function reusableVersion(
  db: Queryable,
  libraryId: string,
  version: string,
): Promise<{ versionId: number; hashes: PageHashes } | undefined> {
  const [row] = await db.query<{ id: number }>(
    `SELECT id FROM library_versions
      WHERE library_id = $1 AND state = 'ready'
      ORDER BY (version = $2) DESC, is_latest DESC, indexed_at DESC LIMIT 1`,
    [libraryId, version],
  );
  if (!row) return undefined;
  const versionId = Number(row.id);
  const pages = await db.query<{ path: string; content_hash: string }>(
    `SELECT path, content_hash FROM pages WHERE version_id = $1`,
    [versionId],
  );
  return { versionId, hashes: new Map(pages.map((p) => [p.path, p.content_hash])) };
}

export interface CopiedPage {
  path: string;
  title: string;
  chunks: number;
  tokens: number;
}

/**
 * Copies pages (by path; the url comes from the new read) with their chunks from one version to
 * another. Chunks keep their stored lexemes, so nothing is parsed, chunked or counted again; a
 * chunk whose text the target already holds is skipped, as storePages does. Vectors are left to
 * the embeddings area, whose cache keyed by chunk text makes re-embedding copied chunks free.
 */
export async function copyPages(
  tx: Queryable,
  fromVersionId: number,
  toVersionId: number,
  pages: { path: string; url: string | null }[],
): Promise<CopiedPage[]> {
  if (pages.length === 0) return [];
  const copied = await tx.query<{ id: number; old_id: number; path: string; title: string }>(
    `INSERT INTO pages (version_id, path, url, title, content_hash)
     SELECT $2, p.path, x.url, p.title, p.content_hash
       FROM jsonb_to_recordset($3::jsonb) AS x(path text, url text)
       JOIN pages p ON p.version_id = $1 AND p.path = x.path
     ON CONFLICT (version_id, path) DO NOTHING
     RETURNING id, (SELECT o.id FROM pages o WHERE o.version_id = $1 AND o.path = pages.path) AS old_id,
               path, title`,
    [fromVersionId, toVersionId, JSON.stringify(pages)],
  );
  if (copied.length === 0) return [];
  const map = copied.map((c) => ({ new_id: Number(c.id), old_id: Number(c.old_id) }));
  const chunkRows = await tx.query<{ page_id: number; tokens: number }>(
    `INSERT INTO chunks (version_id, page_id, ordinal, title, breadcrumb, anchor, content, code,
                         tokens, content_hash, tsv)
     SELECT $1, m.new_id, c.ordinal, c.title, c.breadcrumb, c.anchor, c.content, c.code, c.tokens,
            c.content_hash, c.tsv
       FROM jsonb_to_recordset($2::jsonb) AS m(new_id bigint, old_id bigint)
       JOIN chunks c ON c.page_id = m.old_id
      ORDER BY m.new_id, c.ordinal
     ON CONFLICT (version_id, content_hash) DO NOTHING
     RETURNING page_id, tokens`,
    [toVersionId, JSON.stringify(map)],
  );
  const byPage = new Map<number, { chunks: number; tokens: number }>();
  for (const r of chunkRows) {
    const s = byPage.get(Number(r.page_id)) ?? { chunks: 0, tokens: 0 };
    s.chunks += 1;
    s.tokens += Number(r.tokens);
    byPage.set(Number(r.page_id), s);
  }
  return copied.map((c) => ({
    path: c.path,
    title: c.title,
    chunks: byPage.get(Number(c.id))?.chunks ?? 0,
    tokens: byPage.get(Number(c.id))?.tokens ?? 0,
  }));
}

/** The stored text of a page's chunks, in order (for a copied page that turns out to be the main one). */
export async function pageText(db: Queryable, versionId: number, path: string): Promise<string> {
  const rows = await db.query<{ content: string }>(
    `SELECT c.content FROM chunks c JOIN pages p ON p.id = c.page_id
      WHERE p.version_id = $1 AND p.path = $2 ORDER BY c.ordinal`,
    [versionId, path],
  );
  return rows.map((r) => r.content).join('\n\n');
}
