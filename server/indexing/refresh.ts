/**
 * Refresh: re-index libraries from the sources their versions were indexed from
 * (`library_versions.source`), as `refresh` jobs on the one jobs queue. The pipeline then copies
 * unchanged pages from the serving version (refresh-store.ts), and the serving version answers
 * until the new one is promoted.
 */
import type { Db, Queryable } from '../db/db.js';
import type { AddSourceRequest } from '../engine-types.js';
import { enqueueJob, type JobRow } from '../jobs/queue.js';
import { isLocalSource, planSource } from './source-spec.js';

/** One version to re-index, as the add request that would index it again. */
export interface RefreshTarget {
  libraryId: string;
  version: string;
  request: AddSourceRequest;
}

export interface RefreshSkip {
  libraryId: string;
  version: string;
  reason: string;
}

export interface RefreshPlan {
  targets: RefreshTarget[];
  skipped: RefreshSkip[];
}

interface VersionSourceRow {
  library_id: string;
  version: string;
  is_latest: boolean;
  source: Record<string, unknown>;
  title: string;
  owner_account: string | null;
}

const EXACT_VERSION = /@v?\d+\.\d+\.\d+(?:[-+][\w.-]+)?$/;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The add request that indexes a stored version again, or why there is none. Local folders and
 * file:// URLs were accepted from a trusted caller when added, so their refresh is trusted too.
 */
export function refreshRequest(
  row: Pick<
    VersionSourceRow,
    'library_id' | 'version' | 'is_latest' | 'source' | 'title' | 'owner_account'
  >,
): AddSourceRequest | string {
  const info = row.source;
  const base = {
    libraryId: row.library_id,
    name: row.title,
    owner: row.owner_account,
  };
  if (info.kind === 'npm') {
    const spec = str(info.spec);
    if (!spec) return 'no npm spec stored with this version';
    // An exact version's tarball never changes; a range or tag may lead to a newer version.
    if (EXACT_VERSION.test(spec)) return `${spec} names an exact version, which never changes`;
    // Versions labelled by the resolved version get the next resolved one; a user's label stays.
    const userLabel = row.version !== '' && row.version !== str(info.version);
    return {
      ...base,
      source: spec,
      ...(userLabel ? { version: row.version, latest: row.is_latest } : {}),
      trustedLocal: isLocalSource(spec),
    };
  }
  const source =
    info.kind === 'local' ? str(info.path) : (str(info.spec) ?? str(info.url) ?? str(info.path));
  if (!source) return 'no stored source to refresh from';
  const ref = str(info.ref);
  return {
    ...base,
    source,
    ...(row.version !== '' ? { version: row.version } : {}),
    ...(ref ? { ref } : {}),
    latest: row.is_latest,
    trustedLocal: isLocalSource(source),
  };
}

/**
 * What a refresh of `libraryId` (every library when undefined) would re-index: each ready version
 * with a stored source, once per source, unless a job for that library and version is already
 * queued or running. `owner` narrows it to that account's libraries (undefined: all).
 */
export async function planRefresh(
  db: Queryable,
  libraryId: string | undefined,
  owner?: string | null,
): Promise<RefreshPlan> {
  const rows = await db.query<VersionSourceRow>(
    `SELECT v.library_id, v.version, v.is_latest, v.source, l.title, l.owner_account
       FROM library_versions v JOIN libraries l ON l.id = v.library_id
      WHERE v.state = 'ready' AND ($1::text IS NULL OR lower(v.library_id) = lower($1::text))
        AND ($2::boolean OR l.owner_account = $3::text)
      ORDER BY v.library_id, v.is_latest DESC, v.indexed_at DESC`,
    [libraryId ?? null, owner === undefined, owner ?? null],
  );
  const active = await db.query<{ library_id: string; version: string | null }>(
    `SELECT library_id, version FROM jobs
      WHERE state IN ('queued', 'running') AND kind IN ('index', 'refresh') AND library_id IS NOT NULL`,
  );
  const busy = new Set(active.map((j) => j.library_id.toLowerCase()));
  const plan: RefreshPlan = { targets: [], skipped: [] };
  const seen = new Set<string>();
  for (const row of rows) {
    const skip = (reason: string) =>
      plan.skipped.push({ libraryId: row.library_id, version: row.version, reason });
    if (busy.has(row.library_id.toLowerCase())) {
      skip('an indexing job for this library is already queued or running');
      continue;
    }
    const request = refreshRequest(row);
    if (typeof request === 'string') {
      skip(request);
      continue;
    }
    // Versions of one npm range (3.23.8 then 3.24.0 from `npm:zod@^3`) need one refresh.
    const key = `${row.library_id}\0${request.source}\0${request.ref ?? ''}\0${request.version ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    plan.targets.push({ libraryId: row.library_id, version: row.version, request });
  }
  return plan;
}

/**
 * Queues one `refresh` job per target; a target whose source no longer plans (a deleted folder)
 * becomes a skip with the reason.
 */
export async function enqueueRefresh(
  db: Db,
  plan: RefreshPlan,
): Promise<{ jobs: JobRow[]; skipped: RefreshSkip[] }> {
  const jobs: JobRow[] = [];
  const skipped = [...plan.skipped];
  for (const target of plan.targets) {
    let planned;
    try {
      planned = planSource(target.request);
    } catch (err) {
      skipped.push({
        libraryId: target.libraryId,
        version: target.version,
        reason: (err as Error).message,
      });
      continue;
    }
    jobs.push(
      await enqueueJob(db, {
        kind: 'refresh',
        payload: { ...target.request, plan: planned, refresh: true },
        owner: target.request.owner ?? null,
        libraryId: planned.libraryId,
        version: planned.version || null,
      }),
    );
  }
  return { jobs, skipped };
}

/**
 * Git tags listed in a repository's config (`previousVersions`) become versions of the library:
 * after the default branch is indexed, one `index` job per listed tag not yet ready or queued,
 * labelled by the tag and never taking `latest`. Returns the jobs queued.
 */
export async function enqueueTagVersions(
  db: Db,
  request: AddSourceRequest & { libraryId: string },
  tags: string[],
): Promise<JobRow[]> {
  if (tags.length === 0) return [];
  const existing = await db.query<{ version: string }>(
    `SELECT version FROM library_versions WHERE library_id = $1 AND state IN ('ready', 'indexing')
     UNION SELECT version FROM jobs
      WHERE library_id = $1 AND state IN ('queued', 'running') AND version IS NOT NULL`,
    [request.libraryId],
  );
  const have = new Set(existing.map((r) => r.version));
  const jobs: JobRow[] = [];
  // 20 tags at most per run: a config listing hundreds should not queue hundreds of clones at once.
  for (const tag of [...new Set(tags)].filter((t) => !have.has(t)).slice(0, 20)) {
    const req: AddSourceRequest = { ...request, ref: tag, version: tag, latest: false };
    let planned;
    try {
      planned = planSource(req);
    } catch {
      continue;
    }
    jobs.push(
      await enqueueJob(db, {
        kind: 'index',
        payload: { ...req, plan: planned },
        owner: req.owner ?? null,
        libraryId: planned.libraryId,
        version: tag,
      }),
    );
  }
  return jobs;
}
