/**
 * Import: a verified archive written the way indexing writes a library: every version into a
 * staging row first, promoted only once all of them are complete, so an import over an existing
 * library leaves it serving unchanged until then (and unchanged for good if anything fails).
 */
import type { Db, Queryable } from '../db/db.js';
import {
  createStagingVersion,
  promoteVersion,
  storePages,
  upsertLibrary,
  type LibraryRecord,
  type PageToStore,
} from '../indexing/store.js';
import type { Chunk } from '../indexing/types.js';
import { decodeArchive, type ArchiveParts, type ChunkRecord, type Manifest } from './format.js';

// Rows per transaction: like the pipeline's 16-page batches (~200 chunks), short enough that
// PGlite keeps answering queries between them.
const PAGE_BATCH = 500;
const CHUNK_BATCH = 200;
const VECTOR_BATCH = 200;

export interface ImportSummary {
  libraryId: string;
  versions: string[];
  pages: number;
  snippets: number;
  vectors: number;
  /** Why vectors in the archive were not stored (e.g. this store has no vector extension). */
  vectorsSkipped?: string;
  signer: string;
}

/** Verifies `file` (see decodeArchive) and imports it; throws ArchiveError before any write. */
export async function importArchive(
  db: Db,
  file: Buffer,
  trusted: ReadonlySet<string>,
): Promise<ImportSummary> {
  const { manifest, parts, signer } = decodeArchive(file, trusted);
  return { ...(await importLibrary(db, manifest, parts)), signer };
}

/** Writes verified archive records into `db` through staging versions and promotion. */
export async function importLibrary(
  db: Db,
  manifest: Manifest,
  parts: ArchiveParts,
): Promise<Omit<ImportSummary, 'signer'>> {
  const lib = manifest.library;
  const library: LibraryRecord = {
    id: lib.id,
    title: lib.title,
    description: lib.description,
    aliases: lib.aliases,
    source: lib.source,
    ownerAccount: lib.ownerAccount,
    trustScore: lib.trustScore,
  };
  const withVectors = parts.vectors.length > 0 && db.hasVector;
  // Staging rows need the library row; an existing one keeps its metadata until promotion.
  const created = await db
    .query(`SELECT 1 FROM libraries WHERE id = $1`, [lib.id])
    .then((rows) => rows.length === 0);
  if (created) await upsertLibrary(db, library);
  const staged: { versionId: number; label: string }[] = [];
  let vectors = 0;
  try {
    for (const info of manifest.versions) {
      const versionId = await createStagingVersion(db, lib.id, info.version, info.source, null);
      staged.push({ versionId, label: info.version });
      await stageVersion(db, versionId, info.version, parts);
      if (withVectors && info.embedding) {
        vectors += await stageVectors(db, versionId, info.version, parts, info.embedding);
      }
    }
  } catch (err) {
    // Leave the store as it was: no failed version rows, no library that did not exist.
    await db
      .query(`DELETE FROM library_versions WHERE id = ANY($1::bigint[])`, [
        staged.map((s) => s.versionId),
      ])
      .catch(() => {});
    if (created) await db.query(`DELETE FROM libraries WHERE id = $1`, [lib.id]).catch(() => {});
    throw err;
  }
  // Export lists the latest version last; promoting it last leaves it the latest.
  let snippets = 0;
  for (const [i, info] of manifest.versions.entries()) {
    const versionId = staged[i]!.versionId;
    const pageTitles = parts.pages.filter((p) => p.v === info.version).map((p) => p.title);
    const stats = await promoteVersion(db, versionId, {
      latest: info.isLatest,
      pageTitles,
      library,
    });
    snippets += stats.snippets;
    // The docs are as fresh as when they were indexed, not as when they were copied.
    if (info.indexedAt) {
      await db.query(`UPDATE library_versions SET indexed_at = $2 WHERE id = $1`, [
        versionId,
        info.indexedAt,
      ]);
    }
  }
  return {
    libraryId: lib.id,
    versions: manifest.versions.map((v) => v.version),
    pages: parts.pages.length,
    snippets,
    vectors,
    ...(parts.vectors.length > 0 && !db.hasVector
      ? { vectorsSkipped: 'this database has no vector extension (lexical search only)' }
      : {}),
  };
}

async function stageVersion(
  db: Db,
  versionId: number,
  label: string,
  parts: ArchiveParts,
): Promise<void> {
  const pages = new Map<string, PageToStore>();
  for (const p of parts.pages) {
    if (p.v !== label) continue;
    pages.set(p.path, {
      path: p.path,
      url: p.url,
      title: p.title,
      contentHash: p.contentHash,
      etag: p.etag,
      lastModified: p.lastModified,
      chunks: [],
    });
  }
  // Pages first, in their original order (page ids order the resolve profile's titles).
  const all = [...pages.values()];
  for (let i = 0; i < all.length; i += PAGE_BATCH) {
    const batch = all.slice(i, i + PAGE_BATCH);
    await db.transaction((tx) => storePages(tx, versionId, batch));
  }
  // Then chunks in their original order; one page may appear once per statement only.
  let batch: PageToStore[] = [];
  let inBatch = new Set<string>();
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const pending = batch;
    batch = [];
    inBatch = new Set();
    count = 0;
    await db.transaction((tx) => storePages(tx, versionId, pending));
  };
  for (const c of parts.chunks) {
    if (c.v !== label) continue;
    const page = pages.get(c.path);
    if (!page) throw new Error(`archive chunk of ${c.path} has no page record`);
    const last = batch[batch.length - 1];
    if (last?.path !== c.path) {
      if (inBatch.has(c.path) || count >= CHUNK_BATCH) await flush();
      batch.push({ ...page, chunks: [] });
      inBatch.add(c.path);
    }
    batch[batch.length - 1]!.chunks.push(toChunk(c, page.title));
    count++;
  }
  await flush();
}

function toChunk(c: ChunkRecord, pageTitle: string): Chunk {
  return {
    path: c.path,
    pageTitle,
    title: c.title,
    breadcrumb: c.breadcrumb,
    anchor: c.anchor,
    text: c.content,
    code: c.code,
    tokens: c.tokens,
    ordinal: c.ordinal,
  };
}

async function stageVectors(
  db: Db,
  versionId: number,
  label: string,
  parts: ArchiveParts,
  embedding: NonNullable<Manifest['versions'][number]['embedding']>,
): Promise<number> {
  const rows = parts.vectors.filter((r) => r.v === label);
  let stored = 0;
  for (let i = 0; i < rows.length; i += VECTOR_BATCH) {
    const batch = rows.slice(i, i + VECTOR_BATCH);
    stored += await db.transaction((tx) => insertVectors(tx, versionId, batch));
  }
  await db.query(
    `INSERT INTO version_embeddings (version_id, provider, model, dimensions, vectors, cached,
                                     tokens, cost_usd, requests, retries, elapsed_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      versionId,
      embedding.provider,
      embedding.model,
      embedding.dimensions,
      stored,
      embedding.cached,
      embedding.tokens,
      embedding.costUsd,
      embedding.requests,
      embedding.retries,
      embedding.elapsedMs,
    ],
  );
  return stored;
}

async function insertVectors(
  tx: Queryable,
  versionId: number,
  rows: ArchiveParts['vectors'],
): Promise<number> {
  const [r] = await tx.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO chunk_vectors (chunk_id, version_id, model, embedding)
       SELECT c.id, $1, u.model, u.e::vector
         FROM unnest($2::text[], $3::text[], $4::text[]) AS u(h, model, e)
         JOIN chunks c ON c.version_id = $1 AND c.content_hash = u.h
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [
      versionId,
      rows.map((v) => v.contentHash),
      rows.map((v) => v.model),
      rows.map((v) => v.embedding),
    ],
  );
  return Number(r?.n ?? 0);
}
