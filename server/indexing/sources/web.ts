/**
 * Website source: crawls from a start URL within a scope (path prefix or host), honouring
 * robots.txt, seeding from sitemaps, following links breadth-first with depth and page caps,
 * deduplicating by canonical URL, with per-host concurrency and spacing. Every request goes
 * through the SSRF guard (server/net). A site's `llms-full.txt` or `llms.txt` is preferred when
 * present. With the previous version's validators a re-crawl sends conditional requests and
 * yields `unchanged` for 304s.
 */
import type { Dispatcher } from 'undici';
import { VERSION } from '../../config.js';
import { isTransientStatus, TransientJobError } from '../../jobs/errors.js';
import { BlockedAddressError, type FetchGuard } from '../../net/guard.js';
import { createDispatcher, safeFetch, type FetchResult } from '../../net/fetch.js';
import type { PageFormat, SourceEvent } from '../types.js';
import { HostLimiter } from './web-limiter.js';
import {
  extractLinks,
  formatForResponse,
  llmsTxtLinks,
  normalizeUrl,
  WebScope,
  type WebScopeMode,
} from './web-links.js';
import type { PreviousPage } from './web-previous.js';
import { loadRobots, sitemapSeeds, type RobotsRules, type TextGet } from './web-robots.js';

export interface WebSourceOptions {
  guard: FetchGuard;
  /** Default `prefix`: only URLs under the start URL's folder. */
  scope?: WebScopeMode;
  /** Link hops from the start URL (sitemap and llms.txt entries count as hop 0). Default 10. */
  maxDepth?: number;
  /** Pages fetched at most. Default 2,000. */
  maxPages?: number;
  /** Requests in flight per host. Default 4. */
  concurrency?: number;
  /** Spacing between request starts per host, in ms (robots Crawl-delay raises it). Default 100. */
  delayMs?: number;
  /** Per request. Default 15 s (server/net/fetch.ts). */
  timeoutMs?: number;
  /** Per page body. Default 5 MiB. */
  maxPageBytes?: number;
  /** Stored pages of the version being replaced, by path: conditional requests, re-crawl seeds. */
  previous?: Map<string, PreviousPage>;
  /**
   * Pages a crashed or released attempt of this job already stored (server/jobs/checkpoint.ts):
   * never fetched again; their stored links keep the crawl going.
   */
  committed?: Iterable<{ path: string; url: string | null; links: string[] | null }>;
  /** Prefer `llms-full.txt` / `llms.txt` when the site has them. Default true. */
  llmsTxt?: boolean;
  /** Seed from sitemap.xml. Default true. */
  sitemap?: boolean;
  signal?: AbortSignal;
  /** Environment for proxy settings. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULTS = { maxDepth: 10, maxPages: 2000, concurrency: 4, delayMs: 100 };
const USER_AGENT = `TwinMCP/${VERSION} (documentation indexer; robots token TwinMCP)`;
const ACCEPT = 'text/html, text/markdown, text/plain;q=0.9, application/xhtml+xml;q=0.9';

interface Target {
  url: URL;
  depth: number;
  /** Follow links found on it (HTML crawl: yes; llms.txt entries: no). */
  follow: boolean;
}

interface Visit {
  events: SourceEvent[];
  links: URL[];
  /** The page named another URL canonical: that one is indexed instead, whatever the depth. */
  canonical?: URL;
}

/** Dedupe key: `dir/index.html` and `dir/` are one page. */
function key(url: URL): string {
  return url.href.replace(/\/index\.html?(?=$|\?)/i, '/');
}

function describeError(err: unknown): string {
  if (err instanceof BlockedAddressError) return err.message;
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

class WebCrawl {
  private readonly scope: WebScope;
  private readonly limiter: HostLimiter;
  private readonly dispatcher: Dispatcher;
  private readonly previousByUrl = new Map<string, PreviousPage>();
  private readonly committedByUrl = new Map<string, { path: string; links: string[] }>();
  private robots: RobotsRules = { allowed: () => true, sitemaps: [] };
  private readonly queued = new Set<string>();
  private readonly donePaths = new Set<string>();
  private readonly doneUrls = new Set<string>();
  /** Pages skipped in favour of their canonical URL (to break canonical loops). */
  private readonly deferred = new Set<string>();
  private fetched = 0;
  private limitReported = false;

  constructor(
    private readonly start: URL,
    private readonly opts: WebSourceOptions,
  ) {
    this.scope = new WebScope(start, opts.scope ?? 'prefix');
    this.limiter = new HostLimiter(
      opts.concurrency ?? DEFAULTS.concurrency,
      opts.delayMs ?? DEFAULTS.delayMs,
    );
    this.dispatcher = createDispatcher(opts.guard, opts.env);
    for (const p of opts.previous?.values() ?? []) {
      const u = p.url ? normalizeUrl(p.url) : undefined;
      if (u) this.previousByUrl.set(key(u), p);
    }
    for (const c of opts.committed ?? []) {
      const u = c.url ? normalizeUrl(c.url) : undefined;
      if (u) this.committedByUrl.set(key(u), { path: c.path, links: c.links ?? [] });
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private fetch(url: string, headers: Record<string, string> = {}): Promise<FetchResult> {
    return this.limiter.run(new URL(url).host, () =>
      safeFetch(url, {
        guard: this.opts.guard,
        dispatcher: this.dispatcher,
        headers: { 'user-agent': USER_AGENT, accept: ACCEPT, ...headers },
        ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
        ...(this.opts.maxPageBytes !== undefined ? { maxBytes: this.opts.maxPageBytes } : {}),
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      }),
    );
  }

  /** Discovery GETs (robots, sitemaps, llms files): failures mean "not there". */
  private readonly getText: TextGet = async (url) => {
    try {
      const res = await this.fetch(url);
      return { status: res.status, text: res.body.toString('utf8') };
    } catch (err) {
      if (err instanceof BlockedAddressError && url.startsWith(this.scope.origin)) throw err;
      return undefined;
    }
  };

  async *run(): AsyncGenerator<SourceEvent> {
    // The start URL's own host is checked first so a refused site fails the job with the reason.
    await this.opts.guard.check(this.start);
    this.robots = await loadRobots(this.scope.origin, this.getText);
    if (this.robots.delayMs !== undefined) this.limiter.raiseDelay(this.robots.delayMs);
    if (!this.robots.allowed(this.start.href)) {
      throw new Error(`robots.txt of ${this.scope.origin} disallows ${this.start.href}`);
    }
    if (this.opts.llmsTxt !== false) {
      const llms = yield* this.tryLlmsTxt();
      if (llms) return;
    }
    const seeds: Target[] = [{ url: this.start, depth: 0, follow: true }];
    if (this.opts.sitemap !== false) {
      for (const url of await sitemapSeeds(this.scope, this.robots, this.getText)) {
        seeds.push({ url, depth: 0, follow: true });
      }
    }
    // Pages of the last crawl: a 304 carries no links, so they are visited from here instead.
    for (const p of this.previousByUrl.values()) {
      const url = p.url ? normalizeUrl(p.url) : undefined;
      if (url && this.scope.admits(url)) seeds.push({ url, depth: 1, follow: true });
    }
    yield* this.crawl(seeds);
  }

  /** `llms-full.txt` (one page) or `llms.txt` (its in-scope links); true when either served. */
  private async *tryLlmsTxt(): AsyncGenerator<SourceEvent, boolean> {
    const roots = [...new Set([this.scope.root, `${this.scope.origin}/`])];
    for (const root of roots) {
      const url = `${root}llms-full.txt`;
      if (!this.robots.allowed(url)) continue;
      const res = await this.getText(url);
      if (res?.status === 200 && res.text.trim().length > 0 && !/^\s*</.test(res.text)) {
        this.fetched++;
        yield {
          kind: 'page',
          page: { path: 'llms-full.txt', url, format: 'markdown', text: res.text },
        };
        return true;
      }
    }
    for (const root of roots) {
      const url = `${root}llms.txt`;
      if (!this.robots.allowed(url)) continue;
      const res = await this.getText(url);
      if (res?.status !== 200 || /^\s*</.test(res.text)) continue;
      const links = llmsTxtLinks(res.text, url).filter((u) => this.scope.admits(u));
      // An llms.txt whose links all leave the scope (another host, another version) says
      // nothing about this scope: crawl the HTML instead.
      if (links.length === 0) continue;
      const before = this.donePaths.size;
      yield* this.crawl(links.map((u) => ({ url: u, depth: 0, follow: false })));
      // Links that all failed (404s) fall back to the HTML crawl too.
      if (this.donePaths.size > before) return true;
    }
    return false;
  }

  private async *crawl(seeds: Target[]): AsyncGenerator<SourceEvent> {
    const maxPages = this.opts.maxPages ?? DEFAULTS.maxPages;
    const maxDepth = this.opts.maxDepth ?? DEFAULTS.maxDepth;
    const queue: Target[] = [];
    const enqueue = (t: Target) => {
      const k = key(t.url);
      if (this.queued.has(k) || !this.scope.admits(t.url)) return;
      this.queued.add(k);
      queue.push(t);
    };
    seeds.forEach(enqueue);
    const running = new Map<number, Promise<[number, Target, Visit]>>();
    let next = 0;
    const concurrency = this.opts.concurrency ?? DEFAULTS.concurrency;
    while (queue.length > 0 || running.size > 0) {
      if (this.opts.signal?.aborted) throw new Error('cancelled');
      while (queue.length > 0 && running.size < concurrency && this.fetched < maxPages) {
        const target = queue.shift()!;
        this.fetched++;
        const id = next++;
        running.set(
          id,
          this.visit(target).then((v) => [id, target, v]),
        );
      }
      if (queue.length > 0 && this.fetched >= maxPages && !this.limitReported) {
        this.limitReported = true;
        yield {
          kind: 'skip',
          path: this.scope.pathOf(queue[0]!.url, 'html'),
          reason: `page limit of ${maxPages} reached (maxPages); ${queue.length} more URLs not fetched`,
        };
      }
      if (running.size === 0) break;
      const [id, target, visit] = await Promise.race(running.values());
      running.delete(id);
      yield* visit.events;
      if (visit.canonical) enqueue({ url: visit.canonical, depth: target.depth, follow: true });
      if (target.follow && target.depth < maxDepth) {
        for (const url of visit.links) enqueue({ url, depth: target.depth + 1, follow: true });
      }
    }
  }

  private skip(url: URL, reason: string): Visit {
    return { events: [{ kind: 'skip', path: this.scope.pathOf(url, 'html'), reason }], links: [] };
  }

  private async visit(target: Target): Promise<Visit> {
    const { url } = target;
    if (!this.robots.allowed(url.href)) return this.skip(url, 'disallowed by robots.txt');
    const done = this.committedByUrl.get(key(url));
    if (done) {
      // Stored by an earlier attempt: its links from the checkpoint, no request.
      this.donePaths.add(done.path);
      this.doneUrls.add(key(url));
      const links = done.links.flatMap((l) => normalizeUrl(l) ?? []);
      return { events: [], links: links.filter((l) => this.scope.admits(l)) };
    }
    const previous = this.previousByUrl.get(key(url));
    const conditional: Record<string, string> = {};
    if (previous?.etag) conditional['if-none-match'] = previous.etag;
    if (previous?.lastModified) conditional['if-modified-since'] = previous.lastModified;
    let res: FetchResult;
    try {
      res = await this.fetch(url.href, conditional);
    } catch (err) {
      if (url.href === this.start.href) {
        throw new Error(`Cannot fetch ${url.href}: ${describeError(err)}`, { cause: err });
      }
      return this.skip(url, `fetch failed: ${describeError(err)}`);
    }
    const final = normalizeUrl(res.url) ?? url;
    if (res.status === 304 && previous) {
      this.donePaths.add(previous.path);
      this.doneUrls.add(key(final));
      const event: SourceEvent = {
        kind: 'unchanged',
        path: previous.path,
        url: final.href,
        versionId: previous.versionId,
      };
      return { events: [event], links: [] };
    }
    if (res.status !== 200 && url.href === this.start.href && isTransientStatus(res.status)) {
      // The site is down or overloaded, not wrong: the job is retried later.
      throw new TransientJobError(`${url.href} answered HTTP ${res.status}`, res.status);
    }
    if (res.status !== 200) return this.skip(url, `HTTP ${res.status}`);
    if (!this.scope.contains(final)) {
      return this.skip(url, `redirected out of scope to ${final.href}`);
    }
    if (this.doneUrls.has(key(final))) return { events: [], links: [] };
    this.doneUrls.add(key(final));
    const format = formatForResponse(res.headers['content-type'] ?? '', final.pathname);
    if (!format) {
      return this.skip(url, `unsupported content type ${res.headers['content-type'] ?? '(none)'}`);
    }
    if (res.body.includes(0)) return this.skip(url, 'binary content');
    const text = decode(res.body, res.headers['content-type'] ?? '');
    return this.page(final, format, text, res);
  }

  private page(final: URL, format: PageFormat, text: string, res: FetchResult): Visit {
    let links: URL[] = [];
    if (format === 'html') {
      const found = extractLinks(text, final.href);
      if (!found.nofollow) {
        links = found.links.map((l) => new URL(l)).filter((l) => this.scope.admits(l));
      }
      if (found.noindex) return { events: [], links };
      const canonical = found.canonical ? new URL(found.canonical) : undefined;
      // A duplicate (or a redirect stub) names the real page: index that one, from its own
      // URL, so a change to it is seen; unless the canonical points back here (a loop).
      if (
        canonical &&
        this.scope.admits(canonical) &&
        key(canonical) !== key(final) &&
        !this.deferred.has(key(canonical))
      ) {
        this.deferred.add(key(final));
        return { events: [], links, canonical };
      }
    }
    const pageUrl = final;
    const path = this.scope.pathOf(pageUrl, format);
    if (this.donePaths.has(path)) return { events: [], links };
    this.donePaths.add(path);
    const etag = res.headers.etag;
    const lastModified = res.headers['last-modified'];
    const event: SourceEvent = {
      kind: 'page',
      page: {
        path,
        url: pageUrl.href,
        format,
        text,
        ...(etag ? { etag } : {}),
        ...(lastModified ? { lastModified } : {}),
        links: links.map((l) => l.href),
      },
    };
    return { events: [event], links };
  }
}

function decode(body: Buffer, contentType: string): string {
  const charset = /charset\s*=\s*"?([\w-]+)/i.exec(contentType)?.[1]?.toLowerCase() ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}

/**
 * Yields the pages of a website (see the module comment). Throws when the start URL is refused
 * by the SSRF guard, disallowed by robots.txt, or cannot be fetched; other pages that fail become
 * skip events with the reason.
 */
export async function* webSource(
  startUrl: string,
  opts: WebSourceOptions,
): AsyncGenerator<SourceEvent> {
  const start = normalizeUrl(startUrl);
  if (!start) throw new Error(`Not an http(s) URL: ${startUrl}`);
  const crawl = new WebCrawl(start, opts);
  try {
    yield* crawl.run();
  } finally {
    await crawl.close();
  }
}
