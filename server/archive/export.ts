/** Export: one library (every serving version, or the one named) read into archive records. */
import type crypto from 'node:crypto';
import { parseLibraryId } from '../../shared/library-id.js';
import { VERSION } from '../config.js';
import type { Queryable } from '../db/db.js';
import { EngineError } from '../engine-types.js';
import { versionEmbedding } from '../embeddings/store.js';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  encodeArchive,
  type ArchiveParts,
  type Manifest,
  type VersionInfo,
} from './format.js';

interface LibraryRow {
  id: string;
  title: string;
  description: string;
  aliases: string[];
  source: Record<string, unknown>;
  owner_account: string | null;
  trust_score: number;
}

interface VersionRow {
  id: number;
  version: string;
  is_latest: boolean;
  source: Record<string, unknown>;
  indexed_at: Date | string | null;
  page_count: number;
  snippet_count: number;
  token_count: number;
}

/** The records of a library, ready to sign (`encodeArchive`). */
export interface LibraryExport {
  manifest: Omit<Manifest, 'parts'>;
  parts: ArchiveParts;
}

/**
 * Reads `libraryId` (`/owner/name` = every serving version, `/owner/name/v4` = that one).
 * Throws EngineError(invalid_library_id | library_not_found).
 */
export async function readLibraryExport(
  db: Queryable,
  libraryId: string,
  hasVector: boolean,
): Promise<LibraryExport> {
  const parsed = parseLibraryId(libraryId);
  if (!parsed) {
    throw new EngineError('invalid_library_id', `"${libraryId}" is not a library id (/owner/name)`);
  }
  const [lib] = await db.query<LibraryRow>(
    `SELECT id, title, description, aliases, source, owner_account, trust_score
       FROM libraries WHERE lower(id) = lower($1)`,
    [parsed.libraryId],
  );
  if (!lib) throw new EngineError('library_not_found', `Library ${parsed.libraryId} not found`);
  const versions = await db.query<VersionRow>(
    `SELECT id, version, is_latest, source, indexed_at, page_count, snippet_count, token_count
       FROM library_versions
      WHERE library_id = $1 AND state = 'ready' AND ($2::text IS NULL OR version = $2)
      ORDER BY is_latest, version`,
    [lib.id, parsed.version ?? null],
  );
  if (versions.length === 0) {
    const what = parsed.version ? `version ${parsed.version} of ${lib.id}` : lib.id;
    throw new EngineError('library_not_found', `No indexed ${what} to export`);
  }

  const parts: ArchiveParts = { pages: [], chunks: [], vectors: [] };
  const infos: VersionInfo[] = [];
  for (const v of versions) {
    const label = v.version;
    const pages = await db.query<{
      path: string;
      url: string | null;
      title: string;
      content_hash: string;
      etag: string | null;
      last_modified: string | null;
    }>(
      `SELECT path, url, title, content_hash, etag, last_modified
         FROM pages WHERE version_id = $1 ORDER BY id`,
      [v.id],
    );
    for (const p of pages) {
      parts.pages.push({
        v: label,
        path: p.path,
        url: p.url,
        title: p.title,
        contentHash: p.content_hash,
        etag: p.etag,
        lastModified: p.last_modified,
      });
    }
    // Chunk id order is insertion order, the tie-break of equal scores: import keeps it.
    const chunks = await db.query<{
      path: string;
      ordinal: number;
      title: string;
      breadcrumb: string[];
      anchor: string;
      content: string;
      code: { lang: string; code: string }[];
      tokens: number;
    }>(
      `SELECT p.path, c.ordinal, c.title, c.breadcrumb, c.anchor, c.content, c.code, c.tokens
         FROM chunks c JOIN pages p ON p.id = c.page_id
        WHERE c.version_id = $1 ORDER BY c.id`,
      [v.id],
    );
    for (const c of chunks) {
      parts.chunks.push({
        v: label,
        path: c.path,
        ordinal: Number(c.ordinal),
        title: c.title,
        breadcrumb: c.breadcrumb,
        anchor: c.anchor,
        content: c.content,
        code: c.code,
        tokens: Number(c.tokens),
      });
    }
    const embedding = hasVector ? await embeddingInfo(db, v.id) : null;
    if (embedding) {
      const vectors = await db.query<{ content_hash: string; model: string; embedding: string }>(
        `SELECT c.content_hash, cv.model, cv.embedding::text AS embedding
           FROM chunk_vectors cv JOIN chunks c ON c.id = cv.chunk_id
          WHERE cv.version_id = $1 ORDER BY c.id`,
        [v.id],
      );
      for (const r of vectors) {
        parts.vectors.push({
          v: label,
          contentHash: r.content_hash,
          model: r.model,
          embedding: r.embedding,
        });
      }
    }
    infos.push({
      version: label,
      isLatest: v.is_latest,
      source: v.source,
      indexedAt: v.indexed_at === null ? null : new Date(v.indexed_at).toISOString(),
      pages: Number(v.page_count),
      snippets: Number(v.snippet_count),
      tokens: Number(v.token_count),
      embedding,
    });
  }
  return {
    manifest: {
      format: ARCHIVE_FORMAT,
      formatVersion: ARCHIVE_FORMAT_VERSION,
      twinmcpVersion: VERSION,
      createdAt: new Date().toISOString(),
      library: {
        id: lib.id,
        title: lib.title,
        description: lib.description,
        aliases: lib.aliases,
        source: lib.source,
        ownerAccount: lib.owner_account,
        trustScore: Number(lib.trust_score),
      },
      versions: infos,
    },
    parts,
  };
}

async function embeddingInfo(db: Queryable, versionId: number): Promise<VersionInfo['embedding']> {
  const found = await versionEmbedding(db, versionId);
  if (!found) return null;
  const { versionId: _id, ...info } = found;
  return info;
}

/** Reads and signs a library's archive. */
export async function exportArchive(
  db: Queryable & { hasVector: boolean },
  libraryId: string,
  key: crypto.KeyObject,
): Promise<{ file: Buffer; manifest: LibraryExport['manifest']; parts: ArchiveParts }> {
  const { manifest, parts } = await readLibraryExport(db, libraryId, db.hasVector);
  return { file: encodeArchive(manifest, parts, key), manifest, parts };
}
