import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkPage } from '../../server/indexing/chunk.js';
import type { Chunk, PageFormat } from '../../server/indexing/types.js';

const CORPUS = process.env.TWINMCP_CORPUS ?? '/work/shared/corpus';

/** Skips (or, on CI, fails) a test that needs the shared documentation corpus. */
function needCorpus(ctx: Mocha.Context): void {
  if (existsSync(CORPUS)) return;
  if (process.env.CI === 'true') throw new Error(`documentation corpus missing at ${CORPUS}`);
  console.warn(`    (skipped: documentation corpus not found at ${CORPUS})`);
  ctx.skip();
}

function chunk(text: string, format: PageFormat = 'markdown', path = 'docs/page.md'): Chunk[] {
  return chunkPage({ path, format, text }, { mergeTokens: 0 });
}

function corpusPage(rel: string): Chunk[] {
  const format: PageFormat = rel.endsWith('.mdx') ? 'mdx' : 'markdown';
  const path = rel.split('/').slice(2).join('/');
  return chunkPage({ path, format, text: readFileSync(join(CORPUS, rel), 'utf8') });
}

/** The eval's normalisation: case, `\` escapes, backticks, `*`, `_`, whitespace. */
function norm(s: string): string {
  return s.toLowerCase().replace(/\\(.)/g, '$1').replace(/[`*_]/g, '').replace(/\s+/g, ' ').trim();
}

function fencesBalanced(c: Chunk): boolean {
  return (c.text.match(/```/g) ?? []).length % 2 === 0;
}

/** Chunk text outside code fences. */
function prose(c: Chunk): string {
  return c.text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1/gm, '');
}

describe('markdown parsing', () => {
  it('titles the page from front matter, then the first h1, then the file name', () => {
    assert.equal(chunk('---\ntitle: From FM\n---\n# Heading\n\nBody.')[0]?.pageTitle, 'From FM');
    assert.equal(chunk('# First H1\n\nBody.')[0]?.pageTitle, 'First H1');
    assert.equal(
      chunk('Body only.', 'markdown', 'guide/Getting-Started.md')[0]?.pageTitle,
      'Getting-Started',
    );
    assert.equal(chunk('Body only.', 'markdown', 'guide/index.md')[0]?.pageTitle, 'guide');
  });

  it('gives sections titles, breadcrumbs and GitHub anchors (duplicates suffixed)', () => {
    const chunks = chunk(
      '# Guide\n\nIntro.\n\n## Setup\n\nA.\n\n### Options\n\nB.\n\n## Usage\n\nC.\n\n### Options\n\nD.',
    );
    assert.deepEqual(
      chunks.map((c) => [c.title, c.anchor, c.breadcrumb.join(' > ')]),
      [
        ['Guide', 'guide', 'Guide'],
        ['Setup', 'setup', 'Guide > Setup'],
        ['Options', 'options', 'Guide > Setup > Options'],
        ['Usage', 'usage', 'Guide > Usage'],
        ['Options', 'options-1', 'Guide > Usage > Options'],
      ],
    );
    assert.deepEqual(
      chunks.map((c) => c.ordinal),
      [0, 1, 2, 3, 4],
    );
    assert.ok(
      chunks.every((c) => !c.text.startsWith('#')),
      'heading line is not repeated in text',
    );
  });

  it('keeps content before the first heading under the page title, and skips empty sections', () => {
    const chunks = chunk('---\ntitle: T\n---\nPreamble.\n\n## Empty\n\n## Full\n\nText.');
    assert.deepEqual(
      chunks.map((c) => [c.title, c.anchor]),
      [
        ['T', ''],
        ['Full', 'full'],
      ],
    );
  });

  it('drops HTML comments and reduces raw HTML to its text', () => {
    const md =
      '<h1 align="center">Fastify</h1>\n\n## Hooks\n\n<!-- hidden note -->\n\n<details>\n<summary>More info</summary>\nDetails <b>bold</b> text.\n</details>\n\nSee <kbd>Ctrl</kbd>+<kbd>C</kbd>.';
    const chunks = chunk(md, 'markdown', 'Reference/Hooks.md');
    const all = chunks.map((c) => c.text).join('\n');
    assert.equal(chunks[0]?.pageTitle, 'Hooks', 'an HTML banner h1 does not name every page');
    assert.ok(!all.includes('hidden note'));
    assert.ok(!/<\/?(details|summary|b|kbd)>/.test(all), all);
    assert.ok(norm(all).includes('more info'));
    assert.ok(norm(all).includes('details bold text.'));
    assert.ok(norm(all).includes('see ctrl+c.'));
    assert.deepEqual(chunks.find((c) => c.title === 'Hooks')?.breadcrumb, ['Hooks']);
  });

  it('keeps words intact around emphasis, underscores and links', () => {
    const md =
      'Use **foo**bar and *x*y with snake_case_name, a [link text](https://example.com) and `inline_code()`.';
    const text = norm(chunk(md)[0]?.text ?? '');
    assert.ok(text.includes('use foobar and xy with snakecasename, a'), text);
    assert.ok(text.includes('link text'));
    assert.ok(text.includes('inlinecode()'));
    assert.ok(!text.includes('&#x'), text);
  });

  it('keeps the source of blocks cleaning left alone and serializes the others', () => {
    const text = [
      '# Page',
      '',
      'Some *emphasis* and a literal [bracket] here.',
      '',
      'Called a _reducer._',
      '',
      '* one\n* two',
      '',
      'See [the guide](./guide.md) for more.',
      '',
      '| a   | b   |\n| --- | --- |\n| 1   | 2   |',
      '',
      '  ```js\n  const x = 1;\n  ```',
      '',
      '~~~py\nprint(1)\n~~~',
    ].join('\n');
    const [c] = chunk(text);
    assert.ok(c);
    // Untouched: the author's formatting, unescaped.
    assert.ok(c.text.includes('Some *emphasis* and a literal [bracket] here.'), c.text);
    assert.ok(c.text.includes('* one\n* two'), c.text);
    assert.ok(c.text.includes('~~~py\nprint(1)\n~~~'), c.text);
    // Rewritten (link unwrapped), `_` emphasis (PostgreSQL reads `_reducer._` as one word),
    // padded table and indented fence: serialized as before.
    assert.ok(c.text.includes('Called a *reducer.*'), c.text);
    assert.ok(c.text.includes('See the guide for more.'), c.text);
    assert.ok(c.text.includes('| 1 | 2 |'), c.text);
    assert.ok(c.text.includes('```js\nconst x = 1;\n```'), c.text);
    assert.deepEqual(c.code, [
      { lang: 'js', code: 'const x = 1;' },
      { lang: 'py', code: 'print(1)' },
    ]);
  });

  it('uses react.dev {/*id*/} and VitePress {#id} heading anchors', () => {
    const md =
      '# Page\n\n## Reference {/*reference*/}\n\nText.\n\n## Usage {#custom-usage}\n\nMore.\n\n```jsx\n{/* kept in code */}\n```';
    const chunks = chunk(md);
    assert.deepEqual(
      chunks.map((c) => [c.title, c.anchor]),
      [
        ['Reference', 'reference'],
        ['Usage', 'custom-usage'],
      ],
    );
    assert.ok(chunks[1]?.code[0]?.code.includes('{/* kept in code */}'));
  });

  it('unwraps MkDocs admonitions so their fences survive', () => {
    const md =
      '## A\n\n!!! note "Heads up"\n    Indented body.\n\n    ```python\n    x = 1\n    ```\n\nAfter.';
    const [c] = chunk(md);
    assert.ok(c);
    assert.deepEqual(c.code, [{ lang: 'python', code: 'x = 1' }]);
    assert.ok(norm(c.text).includes('heads up indented body.'));
  });
});

describe('MDX parsing', () => {
  it('drops imports, exports and expressions and unwraps JSX', () => {
    const mdx = [
      "import { Tabs, Tab } from 'fumadocs-ui/components/tabs';",
      'export const meta = { a: 1 };',
      '',
      '# Schemas',
      '',
      '## Strings {/*strings*/}',
      '',
      '{/* a comment */}',
      '',
      'Value is {props.value} here.',
      '',
      '<Tabs items={["Zod", "Mini"]}>',
      '<Tab value="Zod">',
      '```ts',
      'z.string();',
      '```',
      '</Tab>',
      '</Tabs>',
      '',
      '<Callout type="info">Inline **callout** text</Callout>',
      '',
      '<Accordion title="How coercion works">',
      '- a list item',
      '</Accordion>',
    ].join('\n');
    const chunks = chunk(mdx, 'mdx', 'api.mdx');
    const [c] = chunks;
    assert.ok(c);
    assert.equal(chunks.length, 1);
    assert.equal(c.title, 'Strings');
    assert.equal(c.anchor, 'strings');
    assert.deepEqual(c.code, [{ lang: 'ts', code: 'z.string();' }]);
    assert.ok(!/import|export|\{|<\/?[A-Z]/.test(prose(c)), c.text);
    const text = norm(c.text);
    for (const phrase of [
      'value is here.',
      'inline callout text',
      'how coercion works',
      'a list item',
    ]) {
      assert.ok(text.includes(phrase), `${phrase} in ${text}`);
    }
  });

  it('falls back to Markdown when MDX does not parse', () => {
    const chunks = chunk(
      "import { Tabs } from 'x';\n\n# T\n\nA <b and a { brace.\n\n<Broken attr=>\n\n## Next\n\nStill here.",
      'mdx',
      'x.mdx',
    );
    assert.ok(chunks.length >= 2);
    assert.ok(chunks.some((c) => c.text.includes('Still here.')));
    assert.ok(chunks.every((c) => !c.text.includes('import')));
  });

  it('react useState.md: code kept, no JSX comments or imports in prose', function () {
    needCorpus(this);
    const chunks = corpusPage('md/react/reference/react/useState.md');
    assert.ok(chunks.length > 20);
    assert.equal(chunks[0]?.pageTitle, 'useState');
    const first = chunks.find((c) => c.title === 'useState(initialState)');
    assert.ok(first, 'section for useState(initialState)');
    assert.equal(first.anchor, 'usestate');
    assert.ok(first.code.some((b) => b.lang === 'js' && b.code.includes('useState(28)')));
    assert.ok(chunks.reduce((n, c) => n + c.code.length, 0) > 30);
    for (const c of chunks) {
      assert.ok(fencesBalanced(c));
      assert.ok(!prose(c).includes('{/*'), c.text);
      assert.ok(!/^\s*import\s/m.test(prose(c)), c.text);
      assert.ok(!/^<\/?(Sandpack|Intro|Pitfall|Recipes|Solution)\b/m.test(prose(c)), c.text);
    }
  });

  it('zod .mdx pages: code kept, no import lines or JSX leftovers', function () {
    needCorpus(this);
    const dir = join(CORPUS, 'md/zod');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.mdx'),
    );
    assert.ok(files.length > 5);
    for (const f of files) {
      const chunks = corpusPage(`md/zod/${f}`);
      for (const c of chunks) {
        assert.ok(fencesBalanced(c), `${f} #${c.ordinal}`);
        assert.ok(!/^\s*import\s.*from\s/m.test(prose(c)), `${f} #${c.ordinal}: ${c.text}`);
        assert.ok(!prose(c).includes('{/*'), `${f} #${c.ordinal}`);
      }
    }
    const api = corpusPage('md/zod/api.mdx');
    const coercion = api.filter((c) => c.title === 'Coercion');
    assert.ok(
      coercion.some((c) =>
        c.code.some((b) => b.lang === 'ts' && b.code.includes('z.coerce.string()')),
      ),
    );
    assert.ok(
      coercion.some((c) =>
        norm(c.text).includes('zod coerces all inputs using the built-in constructors'),
      ),
    );
  });
});

describe('fastify Hooks.md (corpus)', () => {
  it('has the "Respond to a request from a hook" section and no split fences', function () {
    needCorpus(this);
    const chunks = corpusPage('md/fastify/Reference/Hooks.md');
    const respond = chunks.filter((c) => c.title === 'Respond to a request from a hook');
    assert.ok(respond.length > 0);
    assert.ok(respond.some((c) => c.text.includes('Replying from a hook implies')));
    assert.equal(respond[0]?.anchor, 'respond-to-a-request-from-a-hook');
    for (const c of chunks)
      assert.ok(fencesBalanced(c), `chunk ${c.ordinal} has an odd number of fences`);
  });
});
