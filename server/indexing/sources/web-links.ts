/**
 * URLs of a website crawl: normalisation, the crawl scope, page paths, and the links, canonical
 * URL and robots meta of an HTML page (read with a tolerant scanner: a second full HTML parse per
 * page would double the main thread's parse cost, which the chunk workers exist to avoid).
 */
import type { PageFormat } from '../types.js';

/** `prefix`: under the start URL's folder (default). `host`: anywhere on the start URL's host. */
export type WebScopeMode = 'prefix' | 'host';

// Never documentation pages: fetching them only wastes the page budget.
const ASSET_EXTENSIONS =
  /\.(?:css|js|mjs|map|json|xml|png|jpe?g|gif|svg|webp|avif|ico|bmp|woff2?|ttf|otf|eot|pdf|zip|gz|tgz|tar|bz2|xz|7z|exe|dmg|whl|egg|mp[34]|webm|ogg|wav|avi|mov|inv|rss|atom)$/i;

/** Parses `href` against `base` to an http(s) URL without fragment, or undefined. */
export function normalizeUrl(href: string, base?: string | URL): URL | undefined {
  let url: URL;
  try {
    url = base === undefined ? new URL(href.trim()) : new URL(href.trim(), base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  url.hash = '';
  return url;
}

/** The set of URLs a crawl may visit, and the page path of each. */
export class WebScope {
  readonly origin: string;
  /** Path prefix, always ending in `/`. */
  readonly prefix: string;

  constructor(start: URL, mode: WebScopeMode) {
    this.origin = start.origin;
    const path = start.pathname;
    this.prefix = mode === 'host' ? '/' : path.slice(0, path.lastIndexOf('/') + 1) || '/';
  }

  /** URL of the scope's root folder (`https://site/docs/`). */
  get root(): string {
    return this.origin + this.prefix;
  }

  contains(url: URL): boolean {
    return url.origin === this.origin && url.pathname.startsWith(this.prefix);
  }

  /** Worth fetching: in scope and not an asset by its extension. */
  admits(url: URL): boolean {
    return this.contains(url) && !ASSET_EXTENSIONS.test(url.pathname);
  }

  /**
   * The page path: the URL path relative to the scope, decoded; folders (`guide/`) name their
   * index page (`guide/index.html`, or `index.md` for Markdown), and a query string is kept.
   */
  pathOf(url: URL, format: PageFormat): string {
    let rel = url.pathname.slice(this.prefix.length);
    try {
      rel = decodeURIComponent(rel);
    } catch {
      // Malformed escapes stay as they are.
    }
    if (rel === '' || rel.endsWith('/')) rel += format === 'html' ? 'index.html' : 'index.md';
    return url.search ? `${rel}${url.search}` : rel;
  }
}

/** What a crawler needs from an HTML page. */
export interface HtmlLinks {
  links: string[];
  canonical?: string;
  /** `<meta name="robots" content="noindex">`: do not index this page. */
  noindex: boolean;
  /** `<meta name="robots" content="nofollow">`: do not follow its links. */
  nofollow: boolean;
}

const TAG = /<(a|link|base|meta|area)\b([^>]*)>/gi;
const ATTR = /([\w:-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
const COMMENTS_AND_SCRIPTS = /<!--[\s\S]*?-->|<(script|style|template)\b[\s\S]*?<\/\1\s*>/gi;

function attributes(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of raw.matchAll(ATTR)) {
    const name = m[1]!.toLowerCase();
    if (!out.has(name)) out.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)));
}

/** Links (resolved against `<base href>` or the page URL), canonical URL and robots meta. */
export function extractLinks(html: string, pageUrl: string): HtmlLinks {
  const text = html.replace(COMMENTS_AND_SCRIPTS, ' ');
  let base = pageUrl;
  const hrefs: string[] = [];
  let canonical: string | undefined;
  let noindex = false;
  let nofollow = false;
  for (const m of text.matchAll(TAG)) {
    const tag = m[1]!.toLowerCase();
    const attrs = attributes(m[2] ?? '');
    const href = attrs.get('href');
    if (tag === 'base' && href) {
      base = normalizeUrl(href, pageUrl)?.href ?? base;
    } else if (tag === 'meta') {
      if ((attrs.get('name') ?? '').toLowerCase() === 'robots') {
        const content = (attrs.get('content') ?? '').toLowerCase();
        noindex ||= /\b(?:noindex|none)\b/.test(content);
        nofollow ||= /\b(?:nofollow|none)\b/.test(content);
      }
    } else if (tag === 'link') {
      const rel = (attrs.get('rel') ?? '').toLowerCase().split(/\s+/);
      if (rel.includes('canonical') && href) canonical = href;
    } else if (href && !/\bnofollow\b/i.test(attrs.get('rel') ?? '')) {
      hrefs.push(href);
    }
  }
  const links = [
    ...new Set(
      hrefs.map((h) => normalizeUrl(h, base)?.href).filter((h): h is string => h !== undefined),
    ),
  ];
  const canonicalUrl = canonical ? normalizeUrl(canonical, base)?.href : undefined;
  return { links, ...(canonicalUrl ? { canonical: canonicalUrl } : {}), noindex, nofollow };
}

/** Page format from a Content-Type and the URL path; undefined when it is not a page we read. */
export function formatForResponse(contentType: string, pathname: string): PageFormat | undefined {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'html';
  if (type === 'text/markdown' || type === 'text/x-markdown') {
    return /\.mdx$/i.test(pathname) ? 'mdx' : 'markdown';
  }
  if (type === 'text/plain' || type === '') {
    if (/\.(?:md|markdown)$/i.test(pathname)) return 'markdown';
    if (/\.mdx$/i.test(pathname)) return 'mdx';
    if (/\.rst$/i.test(pathname)) return 'rst';
    return type === '' ? undefined : 'text';
  }
  return undefined;
}

/** Markdown links of an llms.txt file (`- [Title](url): notes`), resolved against its URL. */
export function llmsTxtLinks(text: string, fileUrl: string): URL[] {
  const out = new Map<string, URL>();
  for (const m of text.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const url = normalizeUrl(m[1]!, fileUrl);
    if (url) out.set(url.href, url);
  }
  return [...out.values()];
}

/** `<loc>` entries of a sitemap or sitemap index, and which of the two it is. */
export function sitemapLocs(xml: string): { index: boolean; locs: string[] } {
  const index = /<sitemapindex\b/i.test(xml);
  const locs = [...xml.matchAll(/<loc>\s*(?:<!\[CDATA\[)?\s*([^<\]]+?)\s*(?:\]\]>)?\s*<\/loc>/gi)]
    .map((m) => decodeEntities(m[1]!))
    .filter(Boolean);
  return { index, locs };
}
