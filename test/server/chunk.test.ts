import assert from 'node:assert/strict';
import {
  CODE_OVERSIZE_FACTOR,
  DEFAULT_MAX_TOKENS,
  chunkPage,
  type ChunkOptions,
} from '../../server/indexing/chunk.js';
import { countJoined, countTokens, truncateToTokens } from '../../server/indexing/tokens.js';
import type { Chunk, PageFormat } from '../../server/indexing/types.js';

function chunk(text: string, format: PageFormat = 'markdown', opts?: ChunkOptions): Chunk[] {
  // Structure tests look at sections one by one: folding small subsections is tested on its own.
  return chunkPage(
    { path: `page.${format === 'markdown' ? 'md' : format}`, format, text },
    { mergeTokens: 0, ...opts },
  );
}

function fencesBalanced(c: Chunk): boolean {
  return (c.text.match(/```/g) ?? []).length % 2 === 0;
}

/** Invariants every chunk list must satisfy. */
function checkChunks(chunks: Chunk[], maxTokens = DEFAULT_MAX_TOKENS): void {
  chunks.forEach((c, i) => {
    assert.equal(c.ordinal, i);
    assert.equal(c.tokens, countTokens(c.text));
    assert.ok(c.text.trim().length > 0, 'no empty chunks');
    assert.ok(
      c.tokens <= maxTokens * CODE_OVERSIZE_FACTOR + 16,
      `chunk ${i} has ${c.tokens} tokens`,
    );
    assert.ok(fencesBalanced(c), `chunk ${i} splits a fence`);
  });
}

const sentence = (i: number) => `Sentence number ${i} talks about configuration option ${i}.`;

describe('tokens', () => {
  it('counts o200k tokens and truncates to a budget', () => {
    assert.equal(countTokens(''), 0);
    assert.equal(countTokens('hello world'), 2);
    const text = Array.from({ length: 200 }, (_, i) => sentence(i)).join(' ');
    const cut = truncateToTokens(text, 50);
    assert.ok(text.startsWith(cut));
    assert.ok(countTokens(cut) <= 50);
    assert.equal(truncateToTokens('short', 50), 'short');
  });

  it('counts pieces joined by blank lines exactly from their own counts', () => {
    // Junctions o200k's pre-tokenizer treats differently: punctuation runs take the line
    // breaks after them (and slashes), marks join words, whitespace edges merge.
    const parts = [
      'Plain words',
      'Ends with a period.',
      '```js\nconst a = 1;\n```',
      '**Bold**',
      'Line one.\n///',
      '/// slash first',
      '/path/to/file',
      'Done ✨️',
      'Note: see (this)',
      '- item',
      '  indented start',
      'trailing space ',
      '\nleading newline',
      'x'.repeat(300),
      `${'y'.repeat(300)} tail`,
      'ends ?!',
      '42',
    ];
    for (const a of parts) {
      for (const b of parts) {
        const pieces = [a, b, a].map((text) => ({ text, tokens: countTokens(text) }));
        const joined = `${a}\n\n${b}\n\n${a}`;
        assert.equal(countJoined(pieces), countTokens(joined), JSON.stringify([a, b]));
      }
    }
  });

  it('counts a long run without whitespace quickly', () => {
    const start = Date.now();
    const n = countTokens('a'.repeat(1_000_000));
    assert.ok(n > 1000);
    assert.ok(Date.now() - start < 5000);
  });
});

describe('chunking', () => {
  it('splits an oversize section at block boundaries, keeping title, breadcrumb and anchor', () => {
    const paragraphs = Array.from({ length: 60 }, (_, i) => `${sentence(i)} ${sentence(i + 1000)}`);
    const md = `# Guide\n\n## Big section\n\n${paragraphs.join('\n\n')}`;
    const chunks = chunk(md, 'markdown', { maxTokens: 200 });
    checkChunks(chunks, 200);
    assert.ok(chunks.length >= 5);
    for (const c of chunks) {
      assert.equal(c.title, 'Big section');
      assert.equal(c.anchor, 'big-section');
      assert.deepEqual(c.breadcrumb, ['Guide', 'Big section']);
      assert.ok(c.tokens <= 200 + 50, `${c.tokens}`);
    }
    // Every paragraph appears whole in exactly one chunk, in order.
    const joined = chunks.map((c) => c.text).join('\n\n');
    assert.equal(joined, paragraphs.join('\n\n'));
  });

  it('never splits a code fence; a fence over maxTokens is its own chunk', () => {
    const code = Array.from({ length: 30 }, (_, i) => `const value${i} = compute(${i}, "x");`).join(
      '\n',
    );
    const md = `## Example\n\nBefore the code.\n\n\`\`\`ts\n${code}\n\`\`\`\n\nAfter the code.`;
    const chunks = chunk(md, 'markdown', { maxTokens: 150 });
    checkChunks(chunks, 150);
    const withCode = chunks.filter((c) => c.code.length > 0);
    assert.equal(withCode.length, 1);
    assert.equal(withCode[0]?.code[0]?.code, code);
    assert.equal(withCode[0]?.code[0]?.lang, 'ts');
    assert.ok((withCode[0]?.tokens ?? 0) > 150);
    assert.ok(chunks.some((c) => c.text === 'Before the code.'));
  });

  it('splits long paragraphs at sentence boundaries', () => {
    const para = Array.from({ length: 400 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunk(`## Long\n\n${para}`, 'markdown', { maxTokens: 300 });
    checkChunks(chunks, 300);
    assert.ok(chunks.length > 3);
    for (const c of chunks) {
      assert.ok(c.tokens <= 350);
      assert.match(c.text, /^Sentence number \d+/);
      assert.match(c.text, /\.$/);
    }
  });

  it('bounds huge tables, repeating the header row', () => {
    const rows = Array.from({ length: 300 }, (_, i) => `| opt${i} | Description of option ${i} |`);
    const md = `## Options\n\n| Name | Description |\n| --- | --- |\n${rows.join('\n')}`;
    const chunks = chunk(md, 'markdown', { maxTokens: 200 });
    checkChunks(chunks, 200);
    assert.ok(chunks.length > 5);
    for (const c of chunks) {
      assert.ok(c.tokens <= 250);
      assert.match(c.text, /^\| Name \| Description \|/);
    }
  });

  it('splits huge lists by item', () => {
    const items = Array.from({ length: 200 }, (_, i) => `- item ${i}: ${sentence(i)}`);
    const chunks = chunk(`## List\n\n${items.join('\n')}`, 'markdown', { maxTokens: 200 });
    checkChunks(chunks, 200);
    assert.ok(chunks.length > 5);
    assert.ok(chunks.every((c) => c.text.startsWith('- item')));
  });

  it('reads reStructuredText sections, code-block directives and literal blocks', () => {
    const rst = [
      '==========',
      'Quickstart',
      '==========',
      '',
      'Intro paragraph.',
      '',
      'Make a Request',
      '--------------',
      '',
      'Import it::',
      '',
      '    >>> import requests',
      '',
      '.. code-block:: python',
      '   :linenos:',
      '',
      '    r = requests.get(url)',
      '',
      'Sub part',
      '~~~~~~~~',
      '',
      'Text.',
    ].join('\n');
    const chunks = chunk(rst, 'rst');
    checkChunks(chunks);
    assert.deepEqual(
      chunks.map((c) => [c.title, c.breadcrumb.join(' > ')]),
      [
        ['Quickstart', 'Quickstart'],
        ['Make a Request', 'Quickstart > Make a Request'],
        ['Sub part', 'Quickstart > Make a Request > Sub part'],
      ],
    );
    assert.equal(chunks[0]?.pageTitle, 'Quickstart');
    assert.deepEqual(chunks[1]?.code, [
      { lang: '', code: '>>> import requests' },
      { lang: 'python', code: 'r = requests.get(url)' },
    ]);
    assert.ok(chunks[1]?.text.startsWith('Import it:\n'));
  });

  it('reads plain text as paragraphs', () => {
    const chunks = chunk('First para\nline two.\n\nSecond para.', 'text');
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]?.title, 'page');
    assert.ok(chunks[0]?.text.includes('Second para.'));
  });
});

describe('malformed input', () => {
  const cases: Array<[string, string, PageFormat]> = [
    ['empty file', '', 'markdown'],
    ['whitespace only', '  \n\n\t', 'mdx'],
    ['unclosed fence', '# T\n\nText\n\n```js\nconst a = 1;\n\n## not a heading', 'markdown'],
    ['unclosed fence (mdx)', '# T\n\n```js\nconst a = <div>;', 'mdx'],
    ['broken JSX', '# T\n\n<Tabs><Tab value="a">\n\ntext {unclosed\n\n</Tabz>', 'mdx'],
    [
      'broken HTML',
      '<html><body><main><h1>T</h1><p>unclosed <b>bold <pre><code class="language-js">x',
      'html',
    ],
    ['broken RST', 'Title\n===\n\n.. code-block::\n\n::\n\n   \n', 'rst'],
    ['deep blockquotes', `${'> '.repeat(2000)}deep`, 'markdown'],
  ];
  for (const [name, text, format] of cases) {
    it(`does not throw on ${name}`, () => {
      checkChunks(chunk(text, format));
    });
  }

  it('handles random bytes as every format', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const text = Array.from({ length: 50_000 }, () =>
      String.fromCharCode(Math.floor(rand() * 0xffff)),
    ).join('');
    for (const format of ['markdown', 'mdx', 'html', 'text', 'rst'] as const) {
      checkChunks(chunk(text, format));
    }
  });

  it('bounds a 1 MB single line', () => {
    const start = Date.now();
    const words = 'lorem ipsum dolor sit amet '.repeat(40_000);
    for (const [text, format] of [
      [words, 'markdown'],
      ['x'.repeat(1_000_000), 'markdown'],
      [`<p>${'y'.repeat(1_000_000)}</p>`, 'html'],
    ] as const) {
      const chunks = chunk(text, format);
      checkChunks(chunks);
      assert.ok(chunks.length > 10);
      assert.ok(
        chunks.every((c) => c.tokens <= DEFAULT_MAX_TOKENS + 16),
        format,
      );
    }
    assert.ok(Date.now() - start < 60_000, 'within a minute');
  });

  it('bounds a huge code fence by cutting it into complete fences', () => {
    const code = Array.from({ length: 5000 }, (_, i) => `line_${i} = value_${i} + other_${i}`).join(
      '\n',
    );
    const chunks = chunk(`## Code\n\n\`\`\`py\n${code}\n\`\`\``);
    checkChunks(chunks);
    assert.ok(chunks.length > 1);
    assert.equal(chunks.map((c) => c.code.map((b) => b.code).join('\n')).join('\n'), code);
  });

  it('survives deeply nested lists', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `${'  '.repeat(i)}- level ${i}`);
    const chunks = chunk(lines.join('\n'));
    checkChunks(chunks);
    assert.ok(chunks.some((c) => c.text.includes('level 0')));
  });

  it('folds small subsections into their section, and only whole subtrees', () => {
    const text = [
      '# Utility Types',
      '## `ReturnType<Type>`',
      'Constructs a type consisting of the return type of function `Type`.',
      '##### Example',
      '```ts\ntype T0 = ReturnType<() => string>;\n```',
      '## `Partial<Type>`',
      'Constructs a type with all properties of `Type` set to optional.',
    ].join('\n\n');
    const folded = chunkPage({ path: 'u.md', format: 'markdown', text });
    const rt = folded.find((c) => c.title === 'ReturnType<Type>');
    assert.ok(rt, 'the ReturnType section is a chunk');
    assert.match(rt.text, /##### Example/);
    assert.equal(rt.code.length, 1, 'the example code travels with the API it shows');
    assert.ok(!folded.some((c) => c.title === 'Example'));
    const flat = chunkPage({ path: 'u.md', format: 'markdown', text }, { mergeTokens: 0 });
    assert.ok(flat.some((c) => c.title === 'Example'));
    // A subtree larger than the bound is left as separate sections.
    const big = chunkPage({ path: 'u.md', format: 'markdown', text }, { mergeTokens: 20 });
    assert.ok(big.some((c) => c.title === 'Example'));
  });
});
