/**
 * Website source pieces without a database: URL scope and page paths, link and sitemap reading,
 * the git-or-website rule and library ids, llms.txt / llms-full.txt preference, conditional
 * requests yielding `unchanged`, page caps and robots Crawl-delay. Served from a loopback fixture.
 */
import assert from 'node:assert/strict';
import { planSource } from '../../server/indexing/source-spec.js';
import { webSource, type WebSourceOptions } from '../../server/indexing/sources/web.js';
import {
  extractLinks,
  formatForResponse,
  llmsTxtLinks,
  sitemapLocs,
  WebScope,
} from '../../server/indexing/sources/web-links.js';
import {
  crawlLimitsFromEnv,
  isWebUrl,
  webLibraryId,
} from '../../server/indexing/sources/web-spec.js';
import type { SourceEvent } from '../../server/indexing/types.js';
import { FetchGuard } from '../../server/net/guard.js';
import { SiteServer } from '../helpers/site-server.js';

const allow = new FetchGuard({ mode: 'allow' });

async function collect(url: string, opts: Partial<WebSourceOptions> = {}): Promise<SourceEvent[]> {
  const out: SourceEvent[] = [];
  for await (const e of webSource(url, { guard: allow, delayMs: 0, ...opts })) out.push(e);
  return out;
}

const pages = (events: SourceEvent[]) =>
  events
    .flatMap((e) => (e.kind === 'page' ? [e.page] : []))
    .sort((a, b) => (a.path < b.path ? -1 : 1));

describe('website source: URLs, links, rules', () => {
  it('scope: prefix of the start folder (or the host), page paths relative to it', () => {
    const scope = new WebScope(new URL('https://d.test/docs/guide/intro.html'), 'prefix');
    assert.equal(scope.root, 'https://d.test/docs/guide/');
    assert.ok(scope.admits(new URL('https://d.test/docs/guide/a/b.html')));
    assert.ok(!scope.admits(new URL('https://d.test/docs/other.html')));
    assert.ok(!scope.admits(new URL('https://d.test/docs/guide/style.css')));
    assert.ok(!scope.admits(new URL('https://e.test/docs/guide/a.html')));
    assert.equal(scope.pathOf(new URL('https://d.test/docs/guide/a/'), 'html'), 'a/index.html');
    assert.equal(scope.pathOf(new URL('https://d.test/docs/guide/'), 'markdown'), 'index.md');
    assert.equal(
      scope.pathOf(new URL('https://d.test/docs/guide/a%20b.md?x=1'), 'markdown'),
      'a b.md?x=1',
    );
    const host = new WebScope(new URL('https://d.test/docs/'), 'host');
    assert.ok(host.admits(new URL('https://d.test/blog/post.html')));
  });

  it('links: base href, canonical, robots meta, nofollow links, scripts and comments ignored', () => {
    const html = `<html><head><base href="/root/"><link rel="canonical" href="real.html">
      <meta name="robots" content="noindex, nofollow"></head><body>
      <a href="a.html#x">a</a><a href='b/'>b</a><a href=c.html rel="nofollow">c</a>
      <a href="mailto:x@y">m</a><!-- <a href="hidden.html"> --><script>"<a href='s.html'>"</script>
      <a href="a.html">again</a><a href="https://u:p@x.test/">creds</a></body></html>`;
    const found = extractLinks(html, 'https://s.test/page/here.html');
    assert.deepEqual(found.links, ['https://s.test/root/a.html', 'https://s.test/root/b/']);
    assert.equal(found.canonical, 'https://s.test/root/real.html');
    assert.ok(found.noindex && found.nofollow);
  });

  it('content types, llms.txt links and sitemaps', () => {
    assert.equal(formatForResponse('text/html; charset=utf-8', '/a'), 'html');
    assert.equal(formatForResponse('text/markdown', '/a.md'), 'markdown');
    assert.equal(formatForResponse('text/plain', '/a.md'), 'markdown');
    assert.equal(formatForResponse('text/plain', '/notes'), 'text');
    assert.equal(formatForResponse('application/pdf', '/a.pdf'), undefined);
    assert.deepEqual(
      llmsTxtLinks(
        '# X\n- [A](a.md): first\n- [B](<https://o.test/b.md> "t")\n',
        'https://s.test/docs/llms.txt',
      ).map(String),
      ['https://s.test/docs/a.md', 'https://o.test/b.md'],
    );
    assert.deepEqual(
      sitemapLocs(
        '<sitemapindex><sitemap><loc> https://s.test/s1.xml </loc></sitemap></sitemapindex>',
      ),
      {
        index: true,
        locs: ['https://s.test/s1.xml'],
      },
    );
    assert.deepEqual(
      sitemapLocs('<urlset><url><loc><![CDATA[https://s.test/a?x=1&amp;y=2]]></loc></url></urlset>')
        .locs,
      ['https://s.test/a?x=1&y=2'],
    );
  });

  it('git or website: explicit kind wins; .git and owner/repo on git hosts are git; the rest is web', () => {
    assert.equal(isWebUrl('https://github.com/fastify/fastify'), false);
    assert.equal(isWebUrl('https://git.example.com/team/repo.git'), false);
    assert.equal(isWebUrl('https://fastify.dev/docs/latest/'), true);
    assert.equal(isWebUrl('https://github.com/fastify/fastify/tree/main/docs'), true);
    assert.equal(isWebUrl('http://127.0.0.1:8000/docs/'), true);
    assert.equal(isWebUrl('https://git.example.com/team/repo', 'git'), false);
    assert.equal(isWebUrl('https://github.com/o/r', 'web'), true);
    assert.equal(
      planSource({ source: 'https://docs.pydantic.dev/latest/', trustedLocal: false }).kind,
      'web',
    );
    assert.equal(planSource({ source: 'https://github.com/o/r', trustedLocal: false }).kind, 'git');
    const kinded = planSource({
      source: 'https://github.com/o/r',
      trustedLocal: false,
      kind: 'web',
    });
    assert.deepEqual([kinded.kind, kinded.libraryId], ['web', '/github/r']);
    assert.equal(webLibraryId('https://docs.pydantic.dev/latest/'), '/pydantic/pydantic');
    assert.equal(webLibraryId('https://fastify.dev/docs/v5.1.x/'), '/fastify/fastify');
    assert.equal(webLibraryId('http://127.0.0.1:9/requests/'), '/127.0.0.1/requests');
    assert.throws(
      () => planSource({ source: 'https://u:p@d.test/', trustedLocal: false }),
      /credentials/,
    );
  });

  it('crawl limits from the environment, with the variable named on a bad value', () => {
    assert.deepEqual(
      crawlLimitsFromEnv({ TWINMCP_WEB_MAX_PAGES: '50', TWINMCP_WEB_DELAY_MS: '0' }),
      {
        maxPages: 50,
        delayMs: 0,
      },
    );
    assert.throws(
      () => crawlLimitsFromEnv({ TWINMCP_WEB_TIMEOUT_MS: 'soon' }),
      /TWINMCP_WEB_TIMEOUT_MS/,
    );
  });
});

describe('website source: crawling a fixture site', () => {
  let site: SiteServer;
  before(async () => {
    site = new SiteServer({
      mounts: [],
      robots: 'User-agent: TwinMCP\nCrawl-delay: 0.2\nDisallow: /html/secret.html\n',
      files: {
        '/llms/llms.txt':
          '# Mini\n\n- [Guide](guide.md)\n- [API](/llms/api/ref.md): reference\n- [Other](https://elsewhere.test/x.md)\n- [Up](/outside.md)\n',
        '/llms/guide.md': '# Guide\n\nInstall the mini library with pip.\n',
        '/llms/api/ref.md': '# Reference\n\n`mini.run(x)` runs x.\n',
        '/llms/index.html': '<html><body><a href="never.html">x</a></body></html>',
        '/full/llms-full.txt': '# Everything\n\nAll docs in one file.\n\n## Part two\n\nMore.\n',
        '/full/llms.txt': '- [A](a.md)\n',
        '/html/index.html':
          '<html><body><main><h1>Home</h1><a href="one.html">1</a><a href="secret.html">s</a></main></body></html>',
        '/html/one.html':
          '<html><body><main><h1>One</h1><a href="two.html">2</a></main></body></html>',
        '/html/two.html':
          '<html><body><main><h1>Two</h1><a href="three.html">3</a></main></body></html>',
        '/html/three.html': '<html><body><main><h1>Three</h1></main></body></html>',
        '/html/secret.html': '<html><body>secret</body></html>',
      },
    });
    await site.start();
  });
  after(() => site.close());

  it('llms.txt: indexes the Markdown files it links to within scope, nothing else', async () => {
    site.resetCounts();
    const got = pages(await collect(`${site.origin}/llms/`));
    assert.deepEqual(
      got.map((p) => [p.path, p.format]),
      [
        ['api/ref.md', 'markdown'],
        ['guide.md', 'markdown'],
      ],
    );
    assert.equal(got[0]!.url, `${site.origin}/llms/api/ref.md`);
    assert.equal(site.counts.get('/llms/index.html'), undefined, 'the HTML is not crawled');
    assert.equal(
      site.counts.get('/outside.md'),
      undefined,
      'links outside the scope are not fetched',
    );
  });

  it('llms-full.txt is preferred over llms.txt and the HTML', async () => {
    const got = pages(await collect(`${site.origin}/full/`));
    assert.deepEqual(
      got.map((p) => p.path),
      ['llms-full.txt'],
    );
    assert.match(got[0]!.text, /All docs in one file/);
    assert.equal(pages(await collect(`${site.origin}/full/`, { llmsTxt: false })).length, 0);
  });

  it('depth and page caps, robots for our agent with its Crawl-delay', async () => {
    site.resetCounts();
    const started = Date.now();
    const all = await collect(`${site.origin}/html/`);
    assert.deepEqual(
      pages(all).map((p) => p.path),
      ['index.html', 'one.html', 'three.html', 'two.html'],
    );
    assert.ok(
      all.some((e) => e.kind === 'skip' && e.path === 'secret.html' && /robots/.test(e.reason)),
    );
    // Crawl-delay 0.2 s between request starts: 4 pages + discovery requests take > 0.6 s.
    assert.ok(Date.now() - started >= 600, `${Date.now() - started} ms`);
    assert.deepEqual(
      pages(await collect(`${site.origin}/html/`, { maxDepth: 1 })).map((p) => p.path),
      ['index.html', 'one.html'],
    );
    const capped = await collect(`${site.origin}/html/`, { maxPages: 2 });
    assert.equal(pages(capped).length, 2);
    assert.ok(capped.some((e) => e.kind === 'skip' && /page limit of 2 reached/.test(e.reason)));
  });

  it('conditional re-fetch: validators in, `unchanged` out for 304s, full page when changed', async () => {
    const first = pages(await collect(`${site.origin}/html/`));
    const previous = new Map(
      first.map((p) => [
        p.path,
        {
          versionId: 7,
          path: p.path,
          url: p.url ?? null,
          etag: p.etag ?? null,
          lastModified: p.lastModified ?? null,
        },
      ]),
    );
    assert.ok(first.every((p) => p.etag && p.lastModified));
    site.override('/html/two.html', '<html><body><main><h1>Two, revised</h1></main></body></html>');
    site.resetCounts();
    const events = await collect(`${site.origin}/html/`, { previous });
    const unchanged = events.flatMap((e) => (e.kind === 'unchanged' ? [e] : []));
    assert.deepEqual(unchanged.map((e) => e.path).sort(), ['index.html', 'one.html', 'three.html']);
    assert.ok(unchanged.every((e) => e.versionId === 7));
    assert.deepEqual(
      pages(events).map((p) => p.path),
      ['two.html'],
    );
    const pageHits = site.log.filter((e) => /^\/html\/(?:[a-z]+\.html)?$/.test(e.path));
    assert.equal(pageHits.length, 4, JSON.stringify(site.log));
    assert.ok(
      pageHits.every((e) => e.conditional),
      JSON.stringify(pageHits),
    );
  });
});
