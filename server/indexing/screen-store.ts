/** Flagged pages (prompt-injection screening), stored per library version and listed per library. */
import type { Queryable } from '../db/db.js';
import type { FlagKind, ScreenFlag } from './screen.js';

/** SQL of the `page_flags` table; part of migration 7 (server/indexing/sources/schema.ts). */
export const PAGE_FLAGS_SQL = /* sql */ `
-- Pages whose text was neutralized by the injection screening (server/indexing/screen.ts). Rows
-- follow their version (cascade), so a library lists the flags of the versions it serves.
CREATE TABLE page_flags (
  version_id    bigint NOT NULL REFERENCES library_versions(id) ON DELETE CASCADE,
  path          text NOT NULL,
  url           text,
  owner_account text,
  kinds         text[] NOT NULL,
  excerpts      jsonb NOT NULL DEFAULT '[]',
  flagged_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (version_id, path)
);
`;

export interface FlaggedPage {
  path: string;
  url: string | null;
  flags: ScreenFlag[];
}

/** Records the flags of a batch of pages of a staging version (in the batch's transaction). */
export async function storePageFlags(
  tx: Queryable,
  versionId: number,
  pages: FlaggedPage[],
): Promise<void> {
  if (pages.length === 0) return;
  await tx.query(
    `INSERT INTO page_flags (version_id, path, url, owner_account, kinds, excerpts)
     SELECT $1, x.path, x.url,
            (SELECT l.owner_account FROM library_versions v JOIN libraries l ON l.id = v.library_id
              WHERE v.id = $1),
            x.kinds, x.excerpts
       FROM jsonb_to_recordset($2::jsonb) AS x(path text, url text, kinds text[], excerpts jsonb)
     ON CONFLICT (version_id, path) DO UPDATE SET kinds = EXCLUDED.kinds, excerpts = EXCLUDED.excerpts`,
    [
      versionId,
      JSON.stringify(
        pages.map((p) => ({
          path: p.path,
          url: p.url,
          kinds: [...new Set(p.flags.map((f) => f.kind))].sort(),
          excerpts: p.flags.filter((f) => f.excerpt).slice(0, 10),
        })),
      ),
    ],
  );
}

/** Copies the flags of reused pages from the version they were stored in. */
export async function copyPageFlags(
  tx: Queryable,
  fromVersionId: number,
  toVersionId: number,
  paths: string[],
): Promise<void> {
  if (paths.length === 0) return;
  await tx.query(
    `INSERT INTO page_flags (version_id, path, url, owner_account, kinds, excerpts)
     SELECT $2, path, url, owner_account, kinds, excerpts FROM page_flags
      WHERE version_id = $1 AND path = ANY($3::text[])
     ON CONFLICT (version_id, path) DO NOTHING`,
    [fromVersionId, toVersionId, paths],
  );
}

/** One flagged page of a serving library version. */
export interface PageFlagRow {
  version: string;
  path: string;
  url: string | null;
  kinds: FlagKind[];
  excerpts: ScreenFlag[];
  flaggedAt: string;
}

/** Flagged pages of the serving (ready) versions of a library, by version and path. */
export async function listPageFlags(db: Queryable, libraryId: string): Promise<PageFlagRow[]> {
  const rows = await db.query<{
    version: string;
    path: string;
    url: string | null;
    kinds: FlagKind[];
    excerpts: ScreenFlag[];
    flagged_at: string | Date;
  }>(
    `SELECT v.version, f.path, f.url, f.kinds, f.excerpts, f.flagged_at
       FROM page_flags f JOIN library_versions v ON v.id = f.version_id
      WHERE lower(v.library_id) = lower($1) AND v.state = 'ready'
      ORDER BY v.version, f.path`,
    [libraryId],
  );
  return rows.map((r) => ({
    version: r.version,
    path: r.path,
    url: r.url,
    kinds: r.kinds,
    excerpts: r.excerpts,
    flaggedAt: new Date(r.flagged_at).toISOString(),
  }));
}
