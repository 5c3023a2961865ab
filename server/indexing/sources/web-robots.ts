/** robots.txt rules and sitemap seeds of a website crawl. */
import robotsParserModule from 'robots-parser';
import { sitemapLocs, type WebScope, normalizeUrl } from './web-links.js';

interface Robot {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}
// The package is CommonJS (`module.exports = function`) with typings written for a default
// export; under NodeNext the import is that function itself at run time.
const robotsParser = robotsParserModule as unknown as (url: string, text: string) => Robot;

/** The user-agent token robots.txt rules are matched against. */
export const ROBOTS_AGENT = 'TwinMCP';

/** robots.txt as the crawler uses it. */
export interface RobotsRules {
  allowed(url: string): boolean;
  /** Crawl-delay for our agent in ms, if the site sets one. */
  delayMs?: number;
  sitemaps: string[];
}

/** What a discovery step needs: a text GET answering with status and body. */
export type TextGet = (url: string) => Promise<{ status: number; text: string } | undefined>;

const ALLOW_ALL: RobotsRules = { allowed: () => true, sitemaps: [] };

/**
 * Reads `/robots.txt`. Missing (4xx) or unreachable: everything allowed, as crawlers commonly do.
 * A 5xx means the site cannot say, so nothing is allowed (Google's rule) and the crawl stops.
 */
export async function loadRobots(origin: string, get: TextGet): Promise<RobotsRules> {
  const url = `${origin}/robots.txt`;
  const res = await get(url);
  if (!res || (res.status >= 400 && res.status < 500)) return ALLOW_ALL;
  if (res.status >= 500) return { allowed: () => false, sitemaps: [] };
  if (res.status !== 200) return ALLOW_ALL;
  const robots = robotsParser(url, res.text);
  const delay = robots.getCrawlDelay(ROBOTS_AGENT);
  return {
    allowed: (u) => robots.isAllowed(u, ROBOTS_AGENT) !== false,
    // Capped at 10 s: a larger Crawl-delay would make a 2,000-page site take over 5 hours.
    ...(delay !== undefined && delay > 0 ? { delayMs: Math.min(delay * 1000, 10_000) } : {}),
    sitemaps: robots.getSitemaps(),
  };
}

// A sitemap index of a documentation site lists a handful of files; 20 bounds a hostile one.
const MAX_SITEMAP_FILES = 20;

/**
 * In-scope page URLs from the sitemaps robots.txt names plus `/sitemap.xml` at the site and scope
 * roots, following sitemap indexes on the same host.
 */
export async function sitemapSeeds(
  scope: WebScope,
  robots: RobotsRules,
  get: TextGet,
): Promise<URL[]> {
  const pending = [
    ...robots.sitemaps,
    `${scope.origin}/sitemap.xml`,
    `${scope.root}sitemap.xml`,
  ].filter((u, i, all) => all.indexOf(u) === i);
  const fetched = new Set<string>();
  const seeds = new Map<string, URL>();
  while (pending.length > 0 && fetched.size < MAX_SITEMAP_FILES) {
    const next = normalizeUrl(pending.shift()!);
    if (!next || next.origin !== scope.origin || fetched.has(next.href)) continue;
    // Gzipped sitemaps would need their own decoder; the plain one is nearly always there too.
    if (next.pathname.endsWith('.gz')) continue;
    fetched.add(next.href);
    const res = await get(next.href);
    if (!res || res.status !== 200) continue;
    const { index, locs } = sitemapLocs(res.text);
    for (const loc of locs) {
      if (index) {
        pending.push(loc);
        continue;
      }
      const url = normalizeUrl(loc);
      if (url && scope.admits(url) && robots.allowed(url.href)) seeds.set(url.href, url);
    }
  }
  return [...seeds.values()];
}
