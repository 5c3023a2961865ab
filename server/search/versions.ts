/** Which stored version a library id (with or without a version part) means. */
import { parseLibraryId } from '../../shared/library-id.js';
import type { Queryable } from '../db/db.js';
import { visibilityParams, visibleSql } from '../accounts/visibility.js';
import { EngineError } from '../engine-types.js';

export interface ServingVersion {
  versionId: number;
  libraryId: string;
  version: string;
  title: string;
  isLatest: boolean;
  avgLength: number;
}

/** `v4`, `4`, `4.x`, `V4.0` compare equal to `v4`; `4` also matches `v4.29.1` by prefix. */
export function normalizeVersion(v: string): string {
  return v
    .trim()
    .toLowerCase()
    .replace(/^v(?=\d)/, '')
    .replace(/(\.x|\.\*)+$/, '');
}

export function versionMatches(requested: string, stored: string): boolean {
  const a = normalizeVersion(requested);
  const b = normalizeVersion(stored);
  return a === b || b.startsWith(`${a}.`);
}

interface VersionRow {
  id: number;
  library_id: string;
  version: string;
  is_latest: boolean;
  avg_length: number;
  title: string;
}

export async function findServingVersion(
  db: Queryable,
  rawId: string,
  /** Account asking (null = anonymous); undefined = a trusted local caller who sees every library. */
  owner?: string | null,
): Promise<ServingVersion> {
  const parsed = parseLibraryId(rawId);
  if (!parsed) {
    throw new EngineError(
      'invalid_library_id',
      `"${rawId}" is not a library id. Ids look like /owner/name or /owner/name/version (e.g. /fastify/fastify or /fastify/fastify/v4); call resolve-library-id to find one.`,
    );
  }
  let rows = await db.query<VersionRow>(
    `SELECT v.id, v.library_id, v.version, v.is_latest, v.avg_length, l.title
       FROM library_versions v JOIN libraries l ON l.id = v.library_id
      WHERE lower(v.library_id) = lower($1) AND v.state = 'ready' AND ${visibleSql('l', 2)}
      ORDER BY v.is_latest DESC, v.indexed_at DESC`,
    [parsed.libraryId, ...visibilityParams(owner)],
  );
  const wanted = parsed.version;
  if (rows.length === 0) {
    const suggestions = await closestLibraries(db, parsed.libraryId, 3, owner);
    throw new EngineError(
      'library_not_found',
      `Library ${parsed.libraryId} is not indexed.` +
        (suggestions.length ? ` Closest: ${suggestions.join(', ')}.` : '') +
        ' Call resolve-library-id to find the right id.',
      suggestions,
    );
  }
  // `latest` (`/npm/zod/latest`) is the version a bare id means, unless one is labelled so.
  const latestAlias =
    wanted !== undefined &&
    normalizeVersion(wanted) === 'latest' &&
    !rows.some((r) => versionMatches(wanted, r.version));
  if (wanted && !latestAlias) {
    const exact = rows.filter((r) => versionMatches(wanted, r.version));
    if (exact.length === 0) {
      const available = rows.map((r) => r.version || '(default)').join(', ');
      throw new EngineError(
        'library_not_found',
        `Version ${wanted} of ${parsed.libraryId} is not indexed. Available versions: ${available}. Use ${parsed.libraryId} for the latest.`,
        rows.map((r) => (r.version ? `${r.library_id}/${r.version}` : r.library_id)),
      );
    }
    rows = exact;
  }
  const row = rows[0]!;
  return {
    versionId: Number(row.id),
    libraryId: row.library_id,
    version: row.version,
    title: row.title,
    isLatest: row.is_latest,
    avgLength: Number(row.avg_length),
  };
}

/** Library ids closest to a name, by trigram similarity over ids, titles and aliases. */
export async function closestLibraries(
  db: Queryable,
  name: string,
  limit = 3,
  owner?: string | null,
): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM libraries WHERE ${visibleSql('', 3)}
      ORDER BY similarity(names, lower($1)) DESC, id LIMIT $2`,
    [name.replace(/^\//, '').replace(/\//g, ' '), limit, ...visibilityParams(owner)],
  );
  return rows.map((r) => r.id);
}

/** `^4.28.0`, `~5.1`, `4.x`, `>=2.13 <3` -> the versions to look for, most specific first. */
export function versionsFromRange(range: string): string[] {
  const m = /(\d+)(?:\.(\d+|x|\*))?/.exec(range);
  if (!m) return [];
  const [, major, minor] = m;
  return minor && /^\d+$/.test(minor) ? [`${major}.${minor}`, major!] : [major!];
}

/**
 * The stored version a workspace uses, when the client sent its dependency versions: a library
 * matches a dependency by one of its names (package names derived from its docs), and the
 * dependency's range picks the version (major.minor first, then major).
 */
export async function workspaceVersion(
  db: Queryable,
  libraryId: string,
  deps: Record<string, string> | undefined,
): Promise<string | undefined> {
  if (!deps || Object.keys(deps).length === 0) return undefined;
  const rows = await db.query<{ aliases: string[]; version: string }>(
    `SELECT l.aliases, v.version FROM libraries l
       JOIN library_versions v ON v.library_id = l.id AND v.state = 'ready' AND v.version <> ''
      WHERE lower(l.id) = lower($1)`,
    [libraryId],
  );
  if (rows.length === 0) return undefined;
  const names = new Set(rows[0]!.aliases.map((a) => a.toLowerCase()));
  const dep = Object.entries(deps).find(([name]) => names.has(name.toLowerCase()));
  if (!dep) return undefined;
  for (const wanted of versionsFromRange(dep[1])) {
    const hit = rows.find((r) => versionMatches(wanted, r.version));
    if (hit) return hit.version;
  }
  return undefined;
}
