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
import { copyPages, pageText, reusableVersion } from './refresh-store.js';
import { screenChunks } from './screen.js';
import { storePageFlags, type FlaggedPage } from './screen-store.js';
import { copyPageMeta } from './sources/web-previous.js';
import type { Chunk, SourceEvent, SourcePage } from './types.js';
import type { Checkpoint } from '../jobs/checkpoint.js';

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
  /**
   * Incremental (refresh): pages whose text hash equals the serving version's are copied with
   * their chunks in SQL instead of being parsed again (server/indexing/refresh-store.ts).
   */
  reuse?: boolean;
  /**
   * Runs once every page is stored and before promotion (embeddings, server/embeddings/): the
   * staging version is complete but not served, so a throw here fails it with nothing half-done
   * serving. `phase` reports progress under another phase name.
   */
  beforePromote?: (versionId: number, phase: (name: string) => void) => Promise<void>;
  /**
   * A staging version an earlier attempt of this job left (server/jobs/checkpoint.ts): indexed
   * into again, its committed pages skipped (a resumed crawl does not even fetch them).
   */
  resume?: Checkpoint;
  /** True for failures the job will retry or resume from: the staging version is then kept. */
  keepStagingOnError?: (err: unknown) => boolean;
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
  const resume =
    req.resume?.libraryId === req.libraryId && req.resume.version === req.version
      ? req.resume
      : undefined;
  const versionId =
    resume?.versionId ??
    (await createStagingVersion(db, req.libraryId, req.version, req.sourceInfo, req.jobId));

  const pageTitles: string[] = [];
  const codeSample: string[] = [];
  let codeChars = 0;
  let mainPage: { rank: number; text: string; copiedPath?: string } | undefined;
  const committed = resume?.pages ?? new Map<string, { title: string }>();
  for (const [path, c] of resume?.pages ?? []) {
    pageTitles.push(c.title);
    const rank = mainPageRank(path);
    if (!mainPage || rank < mainPage.rank) mainPage = { rank, text: '', copiedPath: path };
    progress.pages += 1;
    progress.chunks += c.chunks;
    progress.tokens += c.tokens;
  }
  if (resume) progress.resumed = resume.pages.size;
  const previous = req.reuse ? await reusableVersion(db, req.libraryId, req.version) : undefined;
  if (previous) progress.reused = 0;
  let copies: { path: string; url: string | null }[] = [];
  const flushCopies = async () => {
    const pages = copies;
    copies = [];
    if (!previous || pages.length === 0) return;
    await settleStore();
    const copied = await db.transaction(async (tx) => {
      const done = await copyPages(tx, previous.versionId, versionId, pages);
      // Validators and screening flags travel with a reused page (sources/web-previous.ts).
      await copyPageMeta(
        tx,
        previous.versionId,
        versionId,
        done.map((c) => c.path),
      );
      return done;
    });
    for (const c of copied) {
      pageTitles.push(c.title);
      const rank = mainPageRank(c.path);
      if (!mainPage || rank < mainPage.rank) mainPage = { rank, text: '', copiedPath: c.path };
      progress.pages += 1;
      progress.reused = (progress.reused ?? 0) + 1;
      progress.chunks += c.chunks;
      progress.tokens += c.tokens;
    }
    report();
  };
  let batch: PageToStore[] = [];
  let flagged: FlaggedPage[] = [];
  // The batch being stored while the next one is chunked (one transaction at a time: the
  // database serialises them anyway, and two batches bound the chunks held in memory).
  let storing: Promise<void> | undefined;
  // Waits for the batch in flight; rethrows its failure, which fails the job.
  const settleStore = async () => {
    const pending = storing;
    storing = undefined;
    await pending;
  };
  const flush = async () => {
    const pages = batch;
    const flags = flagged;
    batch = [];
    flagged = [];
    await settleStore();
    if (pages.length) {
      storing = db.transaction(async (tx) => {
        await storePages(tx, versionId, pages);
        await storePageFlags(tx, versionId, flags);
      });
      // Observed by the next settleStore; until then a failure must not count as unhandled.
      storing.catch(() => {});
    }
    report();
  };

  const chunkOpts = req.maxTokens ? { maxTokens: req.maxTokens } : undefined;
  const accept = async (page: SourcePage, unscreened: Chunk[]) => {
    // Text addressed to the model is neutralized before storage, for every source (screen.ts).
    const { chunks, flags } = screenChunks(unscreened);
    if (flags.length > 0) flagged.push({ path: page.path, url: page.url ?? null, flags });
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
      etag: page.etag ?? null,
      lastModified: page.lastModified ?? null,
      ...(page.links ? { links: page.links } : {}),
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
      // Stored by an earlier attempt of this job (a resume): already done.
      if (
        event.kind !== 'skip' &&
        committed.has(event.kind === 'page' ? event.page.path : event.path)
      )
        continue;
      if (event.kind === 'skip') {
        progress.skipped.push({ path: event.path, reason: event.reason });
        continue;
      }
      if (event.kind === 'unchanged') {
        // HTTP 304 from a website re-crawl: copied like a page whose hash matches.
        if (previous?.versionId === event.versionId && previous.hashes.has(event.path)) {
          copies.push({ path: event.path, url: event.url ?? null });
          if (copies.length >= BATCH_PAGES * 4) await flushCopies();
        } else {
          progress.skipped.push({
            path: event.path,
            reason: 'unchanged (HTTP 304) but the stored version it refers to is gone',
          });
        }
        continue;
      }
      if (previous?.hashes.get(event.page.path) === sha256(event.page.text)) {
        copies.push({ path: event.page.path, url: event.page.url ?? null });
        if (copies.length >= BATCH_PAGES * 4) await flushCopies();
        continue;
      }
      inflight.push(chunked(event.page));
      if (inflight.length >= CHUNK_WINDOW) await accept(...(await inflight.shift()!));
    }
    while (inflight.length) await accept(...(await inflight.shift()!));
    await flush();
    await settleStore();
    await flushCopies();
    if (mainPage?.copiedPath) mainPage.text = await pageText(db, versionId, mainPage.copiedPath);
    if (progress.pages === 0) throw new Error('no documentation pages found in the source');
    if (req.signal?.aborted) throw new Error('cancelled');
    await req.beforePromote?.(versionId, (name) => {
      progress.phase = name;
      report();
    });
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
    // No batch may still be writing into the version being failed.
    await storing?.catch(() => {});
    // Kept for the next attempt to resume from; the runner settles it when the job ends.
    if (req.keepStagingOnError?.(err)) throw err;
    await failVersion(db, versionId, err instanceof Error ? err.message : String(err)).catch(
      () => {},
    );
    throw err;
  }
}
