/**
 * What a re-crawl knows from the version it replaces: each stored page's URL and HTTP validators
 * (ETag, Last-Modified), and the validators and flags that follow a reused page.
 */
import type { Queryable } from '../../db/db.js';
import { copyPageFlags } from '../screen-store.js';

/** A stored page of the serving version, as a conditional request needs it. */
export interface PreviousPage {
  /** The library version the page is stored in. */
  versionId: number;
  path: string;
  url: string | null;
  etag: string | null;
  lastModified: string | null;
}

/** Pages of the serving version of `libraryId` / `version` (empty when none), by path. */
export async function loadPreviousPages(
  db: Queryable,
  libraryId: string,
  version: string,
): Promise<Map<string, PreviousPage>> {
  const rows = await db.query<{
    version_id: number;
    path: string;
    url: string | null;
    etag: string | null;
    last_modified: string | null;
  }>(
    `SELECT p.version_id, p.path, p.url, p.etag, p.last_modified
       FROM pages p JOIN library_versions v ON v.id = p.version_id
      WHERE v.library_id = $1 AND v.version = $2 AND v.state = 'ready'`,
    [libraryId, version],
  );
  return new Map(
    rows.map((r) => [
      r.path,
      {
        versionId: Number(r.version_id),
        path: r.path,
        url: r.url,
        etag: r.etag,
        lastModified: r.last_modified,
      },
    ]),
  );
}

/**
 * Carries the HTTP validators and screening flags of reused pages (copied by the pipeline from
 * `fromVersionId`) into the staging version, in the caller's transaction. Without the validators
 * the next re-crawl could not ask "changed since?" and would fetch every page in full.
 */
export async function copyPageMeta(
  tx: Queryable,
  fromVersionId: number,
  toVersionId: number,
  paths: string[],
): Promise<void> {
  if (paths.length === 0) return;
  await tx.query(
    `UPDATE pages np SET etag = op.etag, last_modified = op.last_modified
       FROM pages op
      WHERE np.version_id = $2 AND op.version_id = $1 AND op.path = np.path
        AND np.path = ANY($3::text[]) AND np.etag IS NULL AND np.last_modified IS NULL`,
    [fromVersionId, toVersionId, paths],
  );
  await copyPageFlags(tx, fromVersionId, toVersionId, paths);
}
