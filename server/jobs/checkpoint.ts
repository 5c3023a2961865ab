/**
 * A job's checkpoint is its staging version: every page batch is committed in one transaction,
 * so the pages stored there are done. A later attempt of the same job (after a crash, a transient
 * failure or a graceful release) indexes into that version again and skips those pages; a website
 * crawl follows their stored links instead of fetching them again.
 */
import type { Queryable } from '../db/db.js';

export interface CommittedPage {
  path: string;
  url: string | null;
  title: string;
  /** In-scope links found on the page (websites); null for other sources. */
  links: string[] | null;
  chunks: number;
  tokens: number;
}

export interface Checkpoint {
  versionId: number;
  libraryId: string;
  version: string;
  /** By path. */
  pages: Map<string, CommittedPage>;
}

/** The staging version an earlier attempt of `jobId` left, with its committed pages. */
export async function loadCheckpoint(
  db: Queryable,
  jobId: string,
): Promise<Checkpoint | undefined> {
  const [v] = await db.query<{ id: number; library_id: string; version: string }>(
    `SELECT id, library_id, version FROM library_versions
      WHERE job_id = $1 AND state = 'indexing' ORDER BY id DESC LIMIT 1`,
    [jobId],
  );
  if (!v) return undefined;
  const versionId = Number(v.id);
  const rows = await db.query<{
    path: string;
    url: string | null;
    title: string;
    links: string[] | null;
    chunks: number;
    tokens: number;
  }>(
    `SELECT p.path, p.url, p.title, p.links, count(c.id)::int AS chunks,
            coalesce(sum(c.tokens), 0)::int AS tokens
       FROM pages p LEFT JOIN chunks c ON c.page_id = p.id
      WHERE p.version_id = $1 GROUP BY p.id`,
    [versionId],
  );
  return {
    versionId,
    libraryId: v.library_id,
    version: v.version,
    pages: new Map(rows.map((r) => [r.path, { ...r, chunks: r.chunks, tokens: r.tokens }])),
  };
}

/**
 * Staging versions of a job that has ended: removed when it was cancelled (the previous version
 * keeps serving as if nothing happened), kept as `failed` with the error when it failed (shown
 * by `list`), their pages dropped either way.
 */
export async function settleJobVersions(
  db: Queryable,
  jobId: string,
  outcome: 'failed' | 'cancelled',
  error: string | null,
): Promise<void> {
  if (outcome === 'cancelled') {
    await db.query(`DELETE FROM library_versions WHERE job_id = $1 AND state = 'indexing'`, [
      jobId,
    ]);
    return;
  }
  await db.query(
    `DELETE FROM pages WHERE version_id IN
       (SELECT id FROM library_versions WHERE job_id = $1 AND state = 'indexing')`,
    [jobId],
  );
  await db.query(
    `UPDATE library_versions SET state = 'failed', error = $2 WHERE job_id = $1 AND state = 'indexing'`,
    [jobId, (error ?? 'failed').slice(0, 2000)],
  );
}
