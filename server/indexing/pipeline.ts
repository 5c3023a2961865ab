/**
 * One pipeline from a source to a serving library version: pages -> chunks -> stored in batches
 * into a staging version -> promoted atomically. Parsing and chunking are pure; storage is store.ts.
 */
import type { JobProgress } from '../../shared/api.js';
import type { Db } from '../db/db.js';
import { chunkPage } from './chunk.js';
import type { ChunkPool } from './chunk-pool.js';
import { deriveAliases, describe, mainPageRank } from './metadata.js';
import {
  createStagingVersion,
  failVersion,
  promoteVersion,
  sha256,
  storePages,
  upsertLibrary,
  type LibraryRecord,
  type PageToStore,
} from './store.js';
import type { Chunk, SourceEvent, SourcePage } from './types.js';

export interface IndexRequest {
  libraryId: string;
  /** '' for an unversioned library. */
  version: string;
  title: string;
  /** Make this version the one a bare id means. */
  latest: boolean;
  source: AsyncIterable<SourceEvent>;
  /** Recorded with the version (kind, location, ref...). */
  sourceInfo: Record<string, unknown>;
  description?: string;
  packageNames?: string[];
  ownerAccount: string | null;
  trustScore?: number;
  jobId: string | null;
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
  maxTokens?: number;
  /** Chunk on these worker threads; in-line when absent. */
  pool?: ChunkPool;
}

export interface IndexSummary extends JobProgress {
  versionId: number;
  snippets: number;
}

/** Pages per transaction: large enough to amortise round trips, small enough to keep PGlite responsive. */
const BATCH_PAGES = 16;
/** Pages being chunked ahead of the one being stored, so every worker has work. */
const CHUNK_WINDOW = 8;
/** Code kept for alias derivation (install commands); the first 2 MB of code says enough. */
const CODE_SAMPLE_CHARS = 2_000_000;

export async function indexLibrary(db: Db, req: IndexRequest): Promise<IndexSummary> {
  const started = Date.now();
  const progress: JobProgress = {
    phase: 'indexing',
    pages: 0,
    chunks: 0,
    tokens: 0,
    skipped: [],
    elapsedMs: 0,
  };
  const report = () => req.onProgress?.({ ...progress, elapsedMs: Date.now() - started });
  const baseLibrary: LibraryRecord = {
    id: req.libraryId,
    title: req.title,
    description: req.description ?? '',
    aliases: deriveAliases({
      libraryId: req.libraryId,
      title: req.title,
      packageNames: req.packageNames,
      codeBlocks: [],
    }),
    source: req.sourceInfo,
    ownerAccount: req.ownerAccount,
    trustScore: req.trustScore ?? 5,
  };
  await upsertLibrary(db, baseLibrary);
  const versionId = await createStagingVersion(
    db,
    req.libraryId,
    req.version,
    req.sourceInfo,
    req.jobId,
  );

  const pageTitles: string[] = [];
  const codeSample: string[] = [];
  let codeChars = 0;
  let mainPage: { rank: number; text: string } | undefined;
  let batch: PageToStore[] = [];
  const flush = async () => {
    const pages = batch;
    batch = [];
    if (pages.length) await db.transaction((tx) => storePages(tx, versionId, pages));
    report();
  };

  const chunkOpts = req.maxTokens ? { maxTokens: req.maxTokens } : undefined;
  const accept = async (page: SourcePage, chunks: Chunk[]) => {
    if (chunks.length === 0) {
      progress.skipped.push({ path: page.path, reason: 'no text to index' });
      return;
    }
    const title = chunks[0]!.pageTitle;
    pageTitles.push(title);
    for (const c of chunks) {
      for (const block of c.code) {
        if (codeChars > CODE_SAMPLE_CHARS) break;
        codeSample.push(block.code);
        codeChars += block.code.length;
      }
    }
    const rank = mainPageRank(page.path);
    if (!mainPage || rank < mainPage.rank) {
      mainPage = { rank, text: chunks.map((c) => c.text).join('\n\n') };
    }
    batch.push({
      path: page.path,
      url: page.url ?? null,
      title,
      contentHash: sha256(page.text),
      chunks,
    });
    progress.pages += 1;
    progress.chunks += chunks.length;
    progress.tokens += chunks.reduce((n, c) => n + c.tokens, 0);
    if (batch.length >= BATCH_PAGES) await flush();
  };
  const inflight: Promise<[SourcePage, Chunk[]]>[] = [];
  const chunked = (page: SourcePage): Promise<[SourcePage, Chunk[]]> =>
    (req.pool ? req.pool.chunk(page, chunkOpts) : Promise.resolve(chunkPage(page, chunkOpts))).then(
      (chunks) => [page, chunks],
    );

  try {
    for await (const event of req.source) {
      if (req.signal?.aborted) throw new Error('cancelled');
      if (event.kind === 'skip') {
        progress.skipped.push({ path: event.path, reason: event.reason });
        continue;
      }
      inflight.push(chunked(event.page));
      if (inflight.length >= CHUNK_WINDOW) await accept(...(await inflight.shift()!));
    }
    while (inflight.length) await accept(...(await inflight.shift()!));
    await flush();
    if (progress.pages === 0) throw new Error('no documentation pages found in the source');
    progress.phase = 'finalizing';
    report();
    const library: LibraryRecord = {
      ...baseLibrary,
      description: req.description || (mainPage ? describe(mainPage.text) : ''),
      aliases: deriveAliases({
        libraryId: req.libraryId,
        title: req.title,
        packageNames: req.packageNames,
        codeBlocks: codeSample,
      }),
    };
    const stats = await promoteVersion(db, versionId, { latest: req.latest, pageTitles, library });
    progress.phase = 'done';
    progress.elapsedMs = Date.now() - started;
    report();
    return { ...progress, versionId, snippets: stats.snippets };
  } catch (err) {
    await failVersion(db, versionId, err instanceof Error ? err.message : String(err)).catch(
      () => {},
    );
    throw err;
  }
}
