import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkPage } from '../../server/indexing/chunk.js';
import type { Chunk } from '../../server/indexing/types.js';

const CORPUS = process.env.TWINMCP_CORPUS ?? '/work/shared/corpus';

/** Skips (or, on CI, fails) a test that needs the shared documentation corpus. */
function needCorpus(ctx: Mocha.Context): void {
  if (existsSync(CORPUS)) return;
  if (process.env.CI === 'true') throw new Error(`documentation corpus missing at ${CORPUS}`);
  console.warn(`    (skipped: documentation corpus not found at ${CORPUS})`);
  ctx.skip();
}

function html(text: string, path = 'page.html'): Chunk[] {
  return chunkPage({ path, format: 'html', text }, { mergeTokens: 0 });
}

function norm(s: string): string {
  return s.toLowerCase().replace(/\\(.)/g, '$1').replace(/[`*_]/g, '').replace(/\s+/g, ' ').trim();
}

function sitePages(set: string): Array<{ path: string; chunks: Chunk[] }> {
  const dir = join(CORPUS, 'html', set);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.html'))
    .sort()
    .map((path) => ({
      path,
      chunks: chunkPage({ path, format: 'html', text: readFileSync(join(dir, path), 'utf8') }),
    }));
}

const MKDOCS_PAGE = `<!doctype html><html><head><title>Models - Pydantic</title></head><body>
<header class="md-header"><a class="md-skip" href="#x">Skip to content</a></header>
<div class="md-container"><main class="md-main"><div class="md-main__inner">
<div class="md-sidebar md-sidebar--primary"><nav class="md-nav"><ul><li>Home</li><li>Concepts</li></ul></nav></div>
<div class="md-sidebar md-sidebar--secondary"><nav class="md-nav--secondary"><label>Table of contents</label></nav></div>
<div class="md-content"><article class="md-content__inner md-typeset">
<h1 id="models">Models<a class="headerlink" href="#models" title="Permanent link">&para;</a></h1>
<p>Intro with <code>BaseModel</code> and <a href="x">a link</a>.</p>
<h2 id="basic-usage">Basic usage<a class="headerlink" href="#basic-usage">¶</a></h2>
<div class="language-python highlight"><pre><span></span><code><span class="kn">from</span> <span class="nn">pydantic</span> <span class="kn">import</span> <span class="n">BaseModel</span>
<span class="n">x</span> <span class="o">=</span> <span class="mi">1</span>
</code></pre></div>
<table class="highlighttable"><tr><td class="linenos"><div class="linenodiv"><pre>1
2</pre></div></td><td class="code"><div class="language-pycon highlight"><pre><code>&gt;&gt;&gt; 1 + 1
2</code></pre></div></td></tr></table>
<p>Adjacent<em>inline</em> <strong>elements</strong>stay as shown.</p>
<aside class="md-source-file">Last updated</aside>
</article></div></div></main>
<footer class="md-footer">Made with Material</footer></div></body></html>`;

const SPHINX_PAGE = `<html><head><title>Quickstart — Requests 2.32.3 documentation</title></head><body>
<div class="related" role="navigation"><h3>Navigation</h3><ul><li>index</li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper"><div class="body" role="main">
<section id="quickstart"><h1>Quickstart<a class="headerlink" href="#quickstart">¶</a></h1>
<p>Eager to get started?</p>
<section id="make-a-request"><h2>Make a Request<a class="headerlink" href="#make-a-request">¶</a></h2>
<div class="highlight-default notranslate"><div class="highlight"><pre><span></span><span class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">requests</span>
</pre></div></div>
<div class="highlight-python notranslate"><div class="highlight"><pre><span></span><span class="n">r</span> <span class="o">=</span> <span class="n">get</span><span class="p">()</span>
</pre></div></div>
<div class="highlight-default notranslate"><div class="highlight"><pre><span></span>plain output
</pre></div></div>
</section></section></div></div></div>
<div class="sphinxsidebar" role="navigation"><h3>Quick search</h3><h3>Related Topics</h3></div></div>
<div class="footer">&copy;2019</div></body></html>`;

describe('HTML parsing', () => {
  it('MkDocs Material: main article only, code languages, heading ids, no permalinks', () => {
    const chunks = html(MKDOCS_PAGE, 'concepts/models/index.html');
    const all = chunks.map((c) => c.text).join('\n');
    assert.equal(chunks[0]?.pageTitle, 'Models');
    for (const junk of [
      'Skip to content',
      'Table of contents',
      'Home',
      'Made with',
      'Last updated',
      '¶',
    ]) {
      assert.ok(!all.includes(junk), `${junk} leaked into ${all}`);
    }
    const usage = chunks.find((c) => c.title === 'Basic usage');
    assert.ok(usage);
    assert.equal(usage.anchor, 'basic-usage');
    assert.deepEqual(usage.breadcrumb, ['Models', 'Basic usage']);
    assert.deepEqual(usage.code, [
      { lang: 'python', code: 'from pydantic import BaseModel\nx = 1' },
      { lang: 'pycon', code: '>>> 1 + 1\n2' },
    ]);
    assert.ok(norm(all).includes('intro with basemodel and a link.'));
    assert.ok(norm(all).includes('adjacentinline elementsstay as shown.'), norm(all));
  });

  it('Sphinx: section ids as anchors, highlight-<lang> wrappers, default lexer', () => {
    const chunks = html(SPHINX_PAGE, 'user/quickstart.html');
    const all = chunks.map((c) => c.text).join('\n');
    assert.ok(!/Navigation|Quick search|Related Topics|©2019/.test(all), all);
    assert.deepEqual(
      chunks.map((c) => [c.title, c.anchor]),
      [
        ['Quickstart', 'quickstart'],
        ['Make a Request', 'make-a-request'],
      ],
    );
    assert.deepEqual(
      chunks[1]?.code.map((b) => b.lang),
      ['pycon', 'python', ''],
    );
    assert.equal(chunks[1]?.code[0]?.code, '>>> import requests');
  });

  it('falls back to the <title> and then the file name for the page title', () => {
    assert.equal(html('<title>Guide | Site</title><p>Text</p>')[0]?.pageTitle, 'Guide');
    assert.equal(html('<p>Text</p>', 'dev/todo.html')[0]?.pageTitle, 'todo');
  });

  it('requests site (corpus): every page chunks, no navigation, pycon code', function () {
    needCorpus(this);
    const pages = sitePages('requests');
    assert.ok(pages.length >= 15);
    let langs = new Set<string>();
    for (const { path, chunks } of pages) {
      for (const c of chunks) {
        assert.ok(
          !/\bNavigation\b|Quick search|Related Topics|¶/.test(c.text),
          `${path} #${c.ordinal}`,
        );
        assert.equal((c.text.match(/```/g) ?? []).length % 2, 0);
        langs = new Set([...langs, ...c.code.map((b) => b.lang)]);
      }
    }
    assert.ok(langs.has('pycon'), [...langs].join(','));
    const quick = pages.find((p) => p.path === 'user/quickstart.html')?.chunks ?? [];
    const make = quick.find((c) => c.title === 'Make a Request');
    assert.equal(make?.anchor, 'make-a-request');
    assert.ok(
      make?.code.some(
        (b) =>
          b.lang === 'pycon' &&
          b.code.includes(">>> r = requests.get('https://api.github.com/events')"),
      ),
    );
  });

  it('pydantic 2.13 site (corpus): every page chunks, no site chrome, python code', function () {
    needCorpus(this);
    const pages = sitePages('pydantic-2.13');
    assert.ok(pages.length > 150);
    let python = 0;
    for (const { path, chunks } of pages) {
      for (const c of chunks) {
        assert.ok(
          !/Skip to content|Table of contents|Made with|Back to top|¶/.test(c.text),
          `${path} #${c.ordinal}: ${c.text}`,
        );
        assert.equal((c.text.match(/```/g) ?? []).length % 2, 0);
        python += c.code.filter((b) => b.lang === 'python').length;
      }
    }
    assert.ok(python > 500, `python blocks: ${python}`);
    const models = pages.find((p) => p.path === 'concepts/models/index.html')?.chunks ?? [];
    assert.equal(models[0]?.pageTitle, 'Models');
    const basic = models.filter((c) => c.title === 'Basic model usage');
    assert.equal(basic[0]?.anchor, 'basic-model-usage');
    assert.ok(
      basic.some((c) =>
        c.code.some((b) => b.lang === 'python' && b.code.includes('class User(BaseModel):')),
      ),
    );
    assert.ok(
      basic.some((c) =>
        norm(c.text).includes(
          'fields of a model can be accessed as normal attributes of the user object',
        ),
      ),
    );
    // The sidebar's page list never becomes content: the nav label "Concepts" appears in no chunk
    // as a bare list item.
    assert.ok(models.every((c) => !/^- (Concepts|Get Started|API Documentation)$/m.test(c.text)));
  });
});
