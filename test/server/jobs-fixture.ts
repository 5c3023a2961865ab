/**
 * A synthetic documentation site for job tests on loopback: N pages in a link tree, each slow by
 * `delayMs`, with per-path request counts, and start pages that fail a set number of times (a
 * site down, then back). Generated, so a clean index of it is exactly reproducible.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JobSiteOptions {
  pages: number;
  delayMs?: number;
  /** Path -> [status, times]: the first `times` requests of the path answer `status`. */
  failFirst?: Record<string, [number, number]>;
  /** Changes every page's text (a new release of the docs). */
  variant?: string;
}

function pageHtml(i: number, pages: number, variant: string): string {
  const links = [2 * i + 1, 2 * i + 2]
    .filter((n) => n < pages)
    .map((n) => `<a href="p${n}.html">Page ${n}</a>`)
    .join(' ');
  // Words unique to the page so that no two pages share a chunk (no dedupe across pages).
  const word = `topic${i}x${(i * 7919) % 1000}`;
  return `<!doctype html><html><head><title>Page ${i}</title></head><body>
<nav><a href="index.html">Home</a></nav><main><h1>Page ${i}: ${word}</h1>
<p>This page explains ${word} in detail. The ${word} option configures the widget number ${i}.</p>
<h2>Using ${word}</h2><p>Call <code>configure${i}()</code> before starting; ${word} then applies.</p>
<pre><code class="language-js">import { configure${i} } from 'widgets';
configure${i}({ ${word}: true });</code></pre>
<h2>Limits of ${word}</h2><p>At most ${i + 3} widgets may use ${word} at once${variant}.</p>
<p>${links}</p></main></body></html>`;
}

export class JobSite {
  readonly counts = new Map<string, number>();
  private server: Server | undefined;
  private readonly failures = new Map<string, number>();
  origin = '';

  constructor(readonly opts: JobSiteOptions) {}

  get start(): string {
    return `${this.origin}/site/index.html`;
  }

  /** Requests of page paths (`/site/...html`), as [path, count]. */
  pageRequests(): Map<string, number> {
    return new Map([...this.counts].filter(([p]) => /^\/site\/.*\.html$/.test(p)));
  }

  resetCounts(): void {
    this.counts.clear();
  }

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
      const reply = () => {
        const fail = this.opts.failFirst?.[path];
        const seen = this.failures.get(path) ?? 0;
        if (fail && seen < fail[1]) {
          this.failures.set(path, seen + 1);
          res.writeHead(fail[0], { 'content-type': 'text/plain' }).end('unavailable');
          return;
        }
        const m = /^\/site\/(?:index|p(\d+))\.html$/.exec(path);
        const n = m?.[1] === undefined ? -1 : Number(m[1]);
        if (!m || n >= this.opts.pages) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
          return;
        }
        const body =
          n < 0
            ? `<!doctype html><html><head><title>Widgets</title></head><body><main><h1>Widgets docs</h1>
<p>Start with <a href="p0.html">Page 0</a>.</p></main></body></html>`
            : pageHtml(n, this.opts.pages, this.opts.variant ?? '');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
      };
      const delay = path.endsWith('.html') ? (this.opts.delayMs ?? 0) : 0;
      if (delay > 0) setTimeout(reply, delay);
      else reply();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** Pages committed so far in the staging version of `jobId`. */
export const STAGED_PAGES_SQL = `SELECT p.path FROM pages p JOIN library_versions v ON v.id = p.version_id
  WHERE v.job_id = $1 AND v.state = 'indexing'`;
