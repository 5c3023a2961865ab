import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compileExcludes, globToRegExp } from '../../server/indexing/sources/exclude.js';
import { isPathInside, localFolderSource } from '../../server/indexing/sources/local.js';
import type { SourceOptions } from '../../server/indexing/sources/options.js';
import type { SourceEvent, SourcePage } from '../../server/indexing/types.js';

const FASTIFY_CORPUS = '/work/shared/corpus/md/fastify';

async function collect(root: string, opts?: SourceOptions): Promise<SourceEvent[]> {
  const events: SourceEvent[] = [];
  for await (const event of localFolderSource(root, opts)) events.push(event);
  return events;
}

function pages(events: SourceEvent[]): SourcePage[] {
  return events.flatMap((e) => (e.kind === 'page' ? [e.page] : []));
}

function skips(events: SourceEvent[]): Map<string, string> {
  return new Map(events.flatMap((e) => (e.kind === 'skip' ? [[e.path, e.reason] as const] : [])));
}

async function write(root: string, rel: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), content);
}

describe('sources: local folder', () => {
  describe('fastify corpus', function () {
    before(function () {
      if (!existsSync(FASTIFY_CORPUS)) {
        if (process.env.CI === 'true') throw new Error(`corpus missing: ${FASTIFY_CORPUS}`);
        console.log(`      (skipped: corpus not found at ${FASTIFY_CORPUS})`);
        this.skip();
      }
    });

    it('yields its 42 markdown pages in sorted order, without skips', async () => {
      const events = await collect(FASTIFY_CORPUS);
      assert.deepEqual([...skips(events)], []);
      const list = pages(events);
      assert.equal(list.length, 42);
      const paths = list.map((p) => p.path);
      assert.deepEqual(paths, [...paths].sort());
      assert.ok(paths.includes('Reference/Hooks.md'));
      assert.ok(paths.includes('index.md'));
      assert.ok(
        list.every((p) => p.format === 'markdown' && p.text.length > 0 && p.url === undefined),
      );
    });

    it('is deterministic and honours include, baseUrl and excludeFiles', async () => {
      const a = pages(await collect(FASTIFY_CORPUS)).map((p) => p.path);
      const b = pages(await collect(FASTIFY_CORPUS)).map((p) => p.path);
      assert.deepEqual(a, b);
      const guides = pages(
        await collect(FASTIFY_CORPUS, {
          include: ['Guides'],
          excludeFiles: ['Index.md'],
          baseUrl: 'https://fastify.dev/docs',
        }),
      );
      assert.equal(guides.length, 19);
      assert.ok(guides.every((p) => p.path.startsWith('Guides/') && !p.path.endsWith('/Index.md')));
      assert.equal(guides[0]?.url, 'https://fastify.dev/docs/Guides/Benchmarking.md');
    });
  });

  describe('checks on a temporary folder', () => {
    let base: string;
    let root: string;

    before(async () => {
      base = await mkdtemp(join(tmpdir(), 'twinmcp-local-'));
      root = join(base, 'docs-root');
      await write(base, 'outside-secret.md', '# SECRET outside the root\n');
      await write(root, 'README.md', '# Readme\n');
      await write(root, 'guide/intro.md', '\uFEFF# Intro\n\nHello.\n');
      await write(root, 'guide/more.markdown', '# More\n');
      await write(root, 'guide/comp.mdx', '# MDX\n\n<Tabs />\n');
      await write(root, 'guide/notes.txt', 'plain notes\n');
      await write(root, 'guide/api.rst', 'API\n===\n');
      await write(root, 'site/index.html', '<h1>Home</h1>');
      await write(root, 'site/old.htm', '<h1>Old</h1>');
      await write(root, 'site/style.css', 'body{}');
      await write(root, 'site/logo.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
      await write(root, 'site/app.js', 'console.log(1)');
      await write(root, 'site/data.json', '{}');
      await write(root, 'guide/book.adoc', '= AsciiDoc\n');
      await write(root, 'bad/binary.md', new Uint8Array([0x23, 0x20, 0x41, 0x00, 0x42]));
      await write(
        root,
        'bad/latin1.md',
        new Uint8Array([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]),
      );
      await write(root, 'bad/big.md', '# Big\n' + 'x'.repeat(4096));
      await write(root, 'bad/empty.md', '  \n');
      await write(
        root,
        'bad/lfs.md',
        'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n',
      );
      await write(root, 'node_modules/pkg/README.md', '# dependency\n');
      await write(root, '.vitepress/config.md', '# hidden\n');
      await write(root, 'internal/secret.md', '# internal\n');
      await write(root, 'guide/internal/deep.md', '# nested internal\n');
      await write(root, 'guide/CHANGELOG.md', '# changes\n');
      await symlink(join(base, 'outside-secret.md'), join(root, 'bad/escape.md'));
      await symlink('../README.md', join(root, 'guide/alias.md'));
      await symlink(base, join(root, 'escape-dir'));
      await symlink(join(root, 'guide'), join(root, 'guide-link'));
      await symlink(join(root, 'missing.md'), join(root, 'bad/dangling.md'));
    });

    after(async () => {
      await rm(base, { recursive: true, force: true });
    });

    it('maps extensions to formats and ignores non-documentation files silently', async () => {
      const events = await collect(root, { maxFileBytes: 1024 });
      const byPath = new Map(pages(events).map((p) => [p.path, p]));
      assert.equal(byPath.get('guide/intro.md')?.format, 'markdown');
      assert.equal(byPath.get('guide/more.markdown')?.format, 'markdown');
      assert.equal(byPath.get('guide/comp.mdx')?.format, 'mdx');
      assert.equal(byPath.get('guide/notes.txt')?.format, 'text');
      assert.equal(byPath.get('guide/api.rst')?.format, 'rst');
      assert.equal(byPath.get('site/index.html')?.format, 'html');
      assert.equal(byPath.get('site/old.htm')?.format, 'html');
      const skipped = skips(events);
      for (const ignored of ['site/style.css', 'site/logo.png', 'site/app.js', 'site/data.json']) {
        assert.ok(!byPath.has(ignored) && !skipped.has(ignored), ignored);
      }
      assert.match(skipped.get('guide/book.adoc') ?? '', /unsupported documentation format/);
    });

    it('strips a BOM and follows symlinks that stay inside the root', async () => {
      const byPath = new Map(pages(await collect(root)).map((p) => [p.path, p]));
      assert.equal(byPath.get('guide/intro.md')?.text, '# Intro\n\nHello.\n');
      assert.equal(byPath.get('guide/alias.md')?.text, '# Readme\n');
      // A folder link is not walked: its target is indexed at its own path.
      assert.ok(![...byPath.keys()].some((p) => p.startsWith('guide-link/')));
    });

    it('skips unusable documentation files with clear reasons', async () => {
      const events = await collect(root, { maxFileBytes: 1024 });
      const skipped = skips(events);
      assert.match(skipped.get('bad/binary.md') ?? '', /binary content/);
      assert.match(skipped.get('bad/latin1.md') ?? '', /not valid UTF-8/);
      assert.match(skipped.get('bad/big.md') ?? '', /too large.*1 KiB limit/);
      assert.match(skipped.get('bad/empty.md') ?? '', /empty file/);
      assert.match(skipped.get('bad/lfs.md') ?? '', /Git LFS pointer/);
      assert.match(skipped.get('bad/escape.md') ?? '', /outside the docs root/);
      assert.match(skipped.get('escape-dir') ?? '', /outside the docs root/);
      assert.match(skipped.get('bad/dangling.md') ?? '', /broken symlink/);
      assert.ok(pages(events).every((p) => !p.text.includes('SECRET')));
    });

    it('uses the default 2 MiB size cap', async () => {
      const skipped = skips(await collect(root));
      assert.ok(!skipped.has('bad/big.md'));
    });

    it('never enters node_modules or dot folders', async () => {
      const paths = pages(await collect(root)).map((p) => p.path);
      assert.ok(!paths.some((p) => p.startsWith('node_modules/') || p.startsWith('.vitepress/')));
    });

    it('applies Context7-style folder exclusions and file-name exclusions', async () => {
      const anyDepth = pages(
        await collect(root, { exclude: ['internal'], excludeFiles: ['CHANGELOG.md'] }),
      );
      const anyPaths = anyDepth.map((p) => p.path);
      assert.ok(!anyPaths.includes('internal/secret.md'));
      assert.ok(!anyPaths.includes('guide/internal/deep.md'));
      assert.ok(!anyPaths.includes('guide/CHANGELOG.md'));

      const rootOnly = pages(await collect(root, { exclude: ['./internal'] })).map((p) => p.path);
      assert.ok(!rootOnly.includes('internal/secret.md'));
      assert.ok(rootOnly.includes('guide/internal/deep.md'));

      const byPath = pages(await collect(root, { exclude: ['guide/internal', 'site/*.htm'] })).map(
        (p) => p.path,
      );
      assert.ok(byPath.includes('internal/secret.md'));
      assert.ok(!byPath.includes('guide/internal/deep.md'));
      assert.ok(!byPath.includes('site/old.htm'));
      assert.ok(byPath.includes('site/index.html'));
    });

    it('indexes only the included folders and files, refusing paths that leave the root', async () => {
      const events = await collect(root, {
        include: ['guide', 'README.md', 'guide/internal', '../outside-secret.md', '/etc', 'nope'],
        exclude: ['internal'],
      });
      const paths = pages(events).map((p) => p.path);
      assert.equal(paths[0], 'README.md');
      assert.ok(paths.slice(1).every((p) => p.startsWith('guide/')));
      assert.equal(new Set(paths).size, paths.length);
      const skipped = skips(events);
      assert.match(skipped.get('../outside-secret.md') ?? '', /without "\.\." segments/);
      assert.match(skipped.get('/etc') ?? '', /relative to the root/);
      assert.match(skipped.get('nope') ?? '', /not found/);
      assert.ok(!paths.includes('guide/internal/deep.md'));
    });

    it('refuses an include that is a symlink leaving the root', async () => {
      const skipped = skips(await collect(root, { include: ['escape-dir'] }));
      assert.match(skipped.get('escape-dir') ?? '', /outside the docs root/);
    });

    it('stops with a skip event past maxFiles', async () => {
      const many = join(base, 'many');
      for (const n of [1, 2, 3, 4, 5]) await write(many, `p${n}.md`, `# Page ${n}\n`);
      const events = await collect(many, { maxFiles: 3 });
      assert.deepEqual(
        pages(events).map((p) => p.path),
        ['p1.md', 'p2.md', 'p3.md'],
      );
      assert.equal(events.length, 4);
      const last = events.at(-1);
      assert.equal(last?.kind, 'skip');
      assert.match(last?.kind === 'skip' ? last.reason : '', /file limit of 3 reached/);
    });

    it('throws a clear error for a missing root', async () => {
      await assert.rejects(collect(join(base, 'does-not-exist')), /Docs folder not found/);
    });
  });

  describe('helpers', () => {
    it('isPathInside compares with a separator', () => {
      assert.ok(isPathInside('/a/docs', '/a/docs'));
      assert.ok(isPathInside('/a/docs', '/a/docs/x.md'));
      assert.ok(!isPathInside('/a/docs', '/a/docs-evil/x.md'));
      assert.ok(!isPathInside('/a/docs', '/a'));
      assert.ok(isPathInside('/', '/etc'));
    });

    it('globToRegExp handles *, **, ?, classes and braces', () => {
      assert.ok(globToRegExp('**/*.fix.txt').test('a.fix.txt'));
      assert.ok(globToRegExp('**/*.fix.txt').test('x/y/a.fix.txt'));
      assert.ok(!globToRegExp('*.md').test('x/a.md'));
      assert.ok(globToRegExp('packages/*/bin').test('packages/core/bin'));
      assert.ok(globToRegExp('v?.{md,mdx}').test('v1.mdx'));
      assert.ok(globToRegExp('[!a]b').test('cb'));
      assert.ok(!globToRegExp('[!a]b').test('ab'));
      assert.ok(globToRegExp('a.b(c)').test('a.b(c)'));
      assert.ok(globToRegExp('{unclosed').test('unclosed'));
    });

    it('compileExcludes distinguishes names, root paths, paths and globs', () => {
      const m = compileExcludes(
        ['tests', './build', 'docs/internal', 'packages/*/bin', '*.tmp'],
        ['NOTES.md'],
      );
      assert.ok(m.folder('tests') && m.folder('a/b/tests'));
      assert.ok(m.folder('build') && !m.folder('a/build'));
      assert.ok(m.folder('docs/internal') && !m.folder('x/docs/internal'));
      assert.ok(m.folder('packages/x/bin'));
      assert.ok(m.file('a/b.tmp') && m.file('deep/NOTES.md') && !m.file('NOTES.txt'));
    });
  });
});
