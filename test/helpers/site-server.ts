/**
 * A loopback HTTP server for website-crawl tests: serves folders (the corpus's built HTML sites)
 * and in-memory files under path prefixes, with ETag / Last-Modified and 304s, a robots.txt,
 * redirects, 404s, slow pages, per-path request counts, and pages that can be changed between
 * crawls. Absolute URLs of the real site (`https://docs.pydantic.dev/latest/`) are rewritten to
 * the local mount, so sitemaps and canonical links point here.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

export interface Mount {
  /** URL prefix, e.g. `/requests/`. */
  prefix: string;
  /** Folder served under the prefix (directory URLs serve index.html). */
  dir?: string;
  /** Absolute URL prefix of the real site, rewritten to this mount in text responses. */
  rewriteFrom?: string;
  /** Files (relative to the prefix) never rewritten, e.g. an llms.txt meant to point elsewhere. */
  noRewrite?: string[];
}

export interface SiteServerOptions {
  mounts: Mount[];
  /** Extra files by absolute path: content (type guessed from the extension) or full responses. */
  files?: Record<string, string | FixtureResponse>;
  /** Absolute path -> absolute or relative Location of a 301. */
  redirects?: Record<string, string>;
  /** Absolute paths answered after this many ms. */
  slow?: Record<string, number>;
  robots?: string;
}

export interface FixtureResponse {
  status?: number;
  type?: string;
  body: string;
  headers?: Record<string, string>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.xml': 'application/xml',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

// One fixed date: Last-Modified must not change between two crawls of an unchanged page.
const LAST_MODIFIED = 'Tue, 05 May 2026 10:00:00 GMT';

export class SiteServer {
  /** Requests per path (including 304s). */
  readonly counts = new Map<string, number>();
  /** Every answered request: path, status and whether it was conditional. */
  readonly log: Array<{ path: string; status: number; conditional: boolean }> = [];
  private readonly overrides = new Map<string, string>();
  private server: Server | undefined;
  origin = '';

  constructor(private readonly opts: SiteServerOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Replaces a page's body (absolute path) from now on. */
  override(path: string, body: string): void {
    this.overrides.set(path, body);
  }

  resetCounts(): void {
    this.counts.clear();
    this.log.length = 0;
  }

  /** Requests seen for paths starting with `prefix`. */
  requestsUnder(prefix: string): Array<{ path: string; status: number; conditional: boolean }> {
    return this.log.filter((e) => e.path.startsWith(prefix));
  }

  private find(requested: string): FixtureResponse | undefined {
    // Directory URLs serve their index page, for in-memory files as for folders.
    const path = requested.endsWith('/') ? `${requested}index.html` : requested;
    const override = this.overrides.get(path);
    if (override !== undefined) return { body: override, type: typeFor(path) };
    const file = this.opts.files?.[path];
    if (file !== undefined)
      return typeof file === 'string' ? { body: file, type: typeFor(path) } : file;
    if (path === '/robots.txt' && this.opts.robots !== undefined) {
      return { body: this.opts.robots, type: TYPES['.txt']! };
    }
    for (const mount of this.opts.mounts) {
      if (!mount.dir || !path.startsWith(mount.prefix)) continue;
      let rel = path.slice(mount.prefix.length);
      if (rel === '' || rel.endsWith('/')) rel += 'index.html';
      const abs = normalize(join(mount.dir, rel));
      if (!abs.startsWith(normalize(mount.dir))) return undefined;
      if (!existsSync(abs) || !statSync(abs).isFile()) return undefined;
      const type = typeFor(abs);
      const raw = readFileSync(abs);
      if (!/^text\/|xml/.test(type))
        return { body: raw.toString('latin1'), type, headers: { binary: '1' } };
      let body = raw.toString('utf8');
      if (mount.rewriteFrom && !(mount.noRewrite ?? []).includes(rel)) {
        body = body.split(mount.rewriteFrom).join(`${this.origin}${mount.prefix}`);
      }
      return { body, type };
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
    const conditional = Boolean(req.headers['if-none-match'] ?? req.headers['if-modified-since']);
    const answer = (status: number) => this.log.push({ path, status, conditional });
    const delay = this.opts.slow?.[path];
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const target = this.opts.redirects?.[path];
    if (target) {
      answer(301);
      res.writeHead(301, { location: target }).end();
      return;
    }
    const found = this.find(path);
    if (!found) {
      answer(404);
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
      return;
    }
    const binary = found.headers?.binary === '1';
    const bytes = Buffer.from(found.body, binary ? 'latin1' : 'utf8');
    const etag = `"${createHash('sha1').update(bytes).digest('hex').slice(0, 16)}"`;
    const status = found.status ?? 200;
    if (status === 200 && req.headers['if-none-match'] === etag) {
      answer(304);
      res.writeHead(304, { etag, 'last-modified': LAST_MODIFIED }).end();
      return;
    }
    answer(status);
    const { binary: _b, ...headers } = found.headers ?? {};
    res
      .writeHead(status, {
        'content-type': found.type ?? 'text/html; charset=utf-8',
        ...(status === 200 ? { etag, 'last-modified': LAST_MODIFIED } : {}),
        ...headers,
      })
      .end(bytes);
  }
}

function typeFor(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}
