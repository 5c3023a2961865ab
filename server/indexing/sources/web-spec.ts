/**
 * Which URLs are websites, the library id a website gets, and opening one as a source.
 *
 * The rule (an explicit `kind` always wins): `http://` URLs are websites; `https://` URLs are git
 * repositories when the path ends in `.git` or names `owner/repo` on a known git host (GitHub,
 * GitLab, Bitbucket, Codeberg), and websites otherwise.
 */
import type { Queryable } from '../../db/db.js';
import type { FetchGuard } from '../../net/guard.js';
import type { SourceEvent } from '../types.js';
import { webSource, type WebSourceOptions } from './web.js';
import { loadPreviousPages } from './web-previous.js';

/** How a source URL is read when the caller says so (`twinmcp add --kind web`). */
export type UrlSourceKind = 'git' | 'web';

const GIT_HOSTS = new Set([
  'github.com',
  'www.github.com',
  'gitlab.com',
  'bitbucket.org',
  'codeberg.org',
]);

/** True when `raw` should be crawled as a website (see the module comment for the rule). */
export function isWebUrl(raw: string, kind?: UrlSourceKind): boolean {
  if (!/^https?:\/\//i.test(raw)) return false;
  if (kind) return kind === 'web';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol === 'http:') return true;
  if (/\.git\/?$/i.test(url.pathname)) return false;
  const segments = url.pathname.split('/').filter(Boolean);
  return !(GIT_HOSTS.has(url.hostname.toLowerCase()) && segments.length === 2);
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'docs'
  );
}

// Path segments that say where docs live rather than what they are about.
const GENERIC_SEGMENT =
  /^(?:docs?|documentation|latest|stable|current|master|main|en|en-us|v?\d+(?:\.\d+)*(?:\.x)?|index\.html?)$/i;

/**
 * `/owner/name` for a website: owner from the host without `www.`, `docs.` and the top-level
 * domain (`docs.pydantic.dev` -> `pydantic`), name from the last telling path segment, else the
 * owner (`https://docs.pydantic.dev/latest/` -> `/pydantic/pydantic`).
 */
export function webLibraryId(raw: string): string {
  const url = new URL(raw);
  const labels = url.hostname.toLowerCase().split('.');
  const isIp = /^[\d.]+$/.test(url.hostname) || url.hostname.includes(':');
  const core = isIp ? [] : labels.slice(0, -1).filter((l) => !/^(?:www|docs?|api|dev)$/.test(l));
  const owner = slug(core.at(-1) ?? url.hostname);
  const telling = url.pathname
    .split('/')
    .filter((s) => s !== '' && !GENERIC_SEGMENT.test(s))
    .at(-1);
  return `/${owner}/${telling ? slug(telling.replace(/\.html?$/i, '')) : owner}`;
}

/** Validated start URL of a website source; throws Error with the reason. */
export function parseWebUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`Invalid URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Website sources must be http:// or https:// URLs: ${raw}`);
  }
  if (url.username || url.password) throw new Error('Website URLs with credentials are refused');
  url.hash = '';
  return url.href;
}

const CRAWL_ENV = {
  TWINMCP_WEB_MAX_PAGES: 'maxPages',
  TWINMCP_WEB_MAX_DEPTH: 'maxDepth',
  TWINMCP_WEB_CONCURRENCY: 'concurrency',
  TWINMCP_WEB_DELAY_MS: 'delayMs',
  TWINMCP_WEB_TIMEOUT_MS: 'timeoutMs',
  TWINMCP_WEB_MAX_PAGE_BYTES: 'maxPageBytes',
} as const;

type CrawlLimits = Partial<Record<(typeof CRAWL_ENV)[keyof typeof CRAWL_ENV], number>>;

/**
 * Crawl limits from `TWINMCP_WEB_MAX_PAGES`, `_MAX_DEPTH`, `_CONCURRENCY`, `_DELAY_MS`,
 * `_TIMEOUT_MS`, `_MAX_PAGE_BYTES` (whole numbers); unset ones keep the crawler's defaults.
 * Throws naming the variable when a value is not a whole number.
 */
export function crawlLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): CrawlLimits {
  const out: CrawlLimits = {};
  for (const [name, field] of Object.entries(CRAWL_ENV)) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number (got "${raw}")`);
    out[field] = Number(raw);
  }
  return out;
}

export interface OpenWebOptions {
  guard: FetchGuard;
  /** Reads the serving version's pages for conditional requests; without it every page is fetched. */
  db?: Queryable;
  libraryId: string;
  version: string;
  crawl?: Omit<WebSourceOptions, 'guard' | 'previous'>;
  /** Pages a resumed job already stored (server/jobs/checkpoint.ts): not fetched again. */
  committed?: WebSourceOptions['committed'];
}

/** A website's pages, with the stored pages of its serving version loaded for a conditional re-crawl. */
export async function openWeb(
  location: string,
  opts: OpenWebOptions,
): Promise<{ events: AsyncIterable<SourceEvent>; conditional: boolean; title: string }> {
  const previous = opts.db
    ? await loadPreviousPages(opts.db, opts.libraryId, opts.version)
    : new Map();
  const url = new URL(location);
  return {
    events: webSource(location, {
      ...crawlLimitsFromEnv(),
      ...opts.crawl,
      guard: opts.guard,
      ...(previous.size > 0 ? { previous } : {}),
      ...(opts.committed ? { committed: opts.committed } : {}),
    }),
    conditional: previous.size > 0,
    title: url.hostname.replace(/^(?:www|docs)\./, ''),
  };
}
