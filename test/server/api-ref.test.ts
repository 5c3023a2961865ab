/**
 * API reference from declaration files: entry points from package.json, every exported symbol
 * (re-exports, `export *`, namespaces, overloads, classes without private members) with its JSDoc
 * and signature, one page and one snippet per symbol, the symbol cap, and a compiler that never
 * reads outside the package.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moduleName, typesEntries } from '../../server/indexing/api-ref/entries.js';
import { extractApi, type ApiSymbol } from '../../server/indexing/api-ref/extract.js';
import { renderSymbolPage } from '../../server/indexing/api-ref/render.js';
import { chunkPage } from '../../server/indexing/chunk.js';
import { FIXTURE_NAME, writeFixturePackage } from './npm-fixture.js';

describe('API reference from declaration files', () => {
  let dir: string;
  let symbols: ApiSymbol[];
  const byName = (name: string) => {
    const s = symbols.find((x) => x.name === name);
    assert.ok(s, `symbol ${name} extracted (got ${symbols.map((x) => x.name).join(', ')})`);
    return s;
  };
  const exists = (p: string) =>
    ['dist/index.d.ts', 'dist/extras.d.ts', 'dist/shapes.d.ts'].includes(p);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'twinmcp-apiref-'));
    writeFixturePackage(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const { entries } = typesEntries(pkg, exists);
    symbols = extractApi(dir, FIXTURE_NAME, entries).symbols;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the typed modules from exports, types, or the file beside main', () => {
    const pkg = {
      exports: {
        '.': { types: './dist/index.d.ts' },
        './extras': { default: './dist/extras.js' },
        './x/*': './x/*.js',
      },
    };
    const { entries, skipped } = typesEntries(pkg, exists);
    assert.deepEqual(entries, [
      { subpath: '.', file: 'dist/index.d.ts' },
      { subpath: './extras', file: 'dist/extras.d.ts' },
    ]);
    assert.match(skipped[0]?.reason ?? '', /wildcard/);
    assert.deepEqual(typesEntries({ typings: 'dist/index.d.ts' }, exists).entries, [
      { subpath: '.', file: 'dist/index.d.ts' },
    ]);
    assert.deepEqual(typesEntries({ main: './dist/index.js' }, exists).entries, [
      { subpath: '.', file: 'dist/index.d.ts' },
    ]);
    assert.deepEqual(typesEntries({}, () => false).entries, []);
    assert.equal(moduleName('@a/b', './extras'), '@a/b/extras');
  });

  it('walks every export: declarations, export *, renamed re-exports and namespace members', () => {
    const kinds = Object.fromEntries(symbols.map((s) => [s.name, s.kind]));
    assert.deepEqual(
      {
        createWidget: kinds.createWidget,
        WidgetRegistry: kinds.WidgetRegistry,
        WidgetOptions: kinds.WidgetOptions,
        WidgetSize: kinds.WidgetSize,
        Color: kinds.Color,
        DEFAULT_SIZE: kinds.DEFAULT_SIZE,
        Layout: kinds.Layout,
        'Layout.grid': kinds['Layout.grid'],
        area: kinds.area,
        Shape: kinds.Shape,
        render: kinds.render,
        sparkle: kinds.sparkle,
      },
      {
        createWidget: 'function',
        WidgetRegistry: 'class',
        WidgetOptions: 'interface',
        WidgetSize: 'type',
        Color: 'enum',
        DEFAULT_SIZE: 'const',
        Layout: 'namespace',
        'Layout.grid': 'function',
        area: 'function',
        Shape: 'type',
        render: 'function',
        sparkle: 'function',
      },
    );
    // Re-exported by `./extras` too: one symbol, under the root module, with the other named.
    assert.equal(symbols.filter((s) => s.name === 'area').length, 1);
    assert.equal(byName('area').module, FIXTURE_NAME);
    assert.deepEqual(byName('area').alsoIn, [`${FIXTURE_NAME}/extras`]);
    assert.equal(byName('sparkle').module, `${FIXTURE_NAME}/extras`);
  });

  it('keeps overloads, JSDoc tags and the printed signature without comments', () => {
    const fn = byName('createWidget');
    assert.deepEqual(fn.signatures, [
      'function createWidget(label: string): Widget;',
      'function createWidget(options: WidgetOptions): Widget;',
    ]);
    assert.equal(fn.doc.summary, 'Creates a dashboard widget from a label.');
    assert.deepEqual(
      fn.doc.params.map((p) => [p.name, p.text]),
      [
        ['label', 'Text shown on the widget.'],
        ['options', 'Label, size and colour.'],
      ],
    );
    assert.equal(fn.doc.returns, 'The widget, not yet mounted.');
    assert.match(fn.doc.examples[0] ?? '', /createWidget\('Revenue'\)/);
    assert.match(byName('mount').doc.deprecated ?? '', /WidgetRegistry\.mountAll/);
  });

  it('shows public class members only', () => {
    const cls = byName('WidgetRegistry');
    const sig = cls.signatures.join('\n');
    assert.match(sig, /register\(widget: Widget\): this;/);
    assert.match(sig, /constructor\(seed\?: Widget\[\]\);/);
    assert.doesNotMatch(sig, /byId|version/);
    const register = cls.members.find((m) => m.name === 'WidgetRegistry.register');
    assert.match(register?.doc.throws[0] ?? '', /\{RangeError\} when the id is already taken/);
  });

  it('renders one page per symbol that the chunker stores as one snippet', () => {
    const page = renderSymbolPage(FIXTURE_NAME, byName('createWidget'));
    assert.equal(page.path, 'api/index/createWidget.md');
    assert.equal(page.format, 'markdown');
    const chunks = chunkPage(page);
    assert.equal(chunks.length, 1, page.text);
    const [chunk] = chunks;
    assert.equal(chunk!.title, 'createWidget');
    assert.deepEqual(chunk!.breadcrumb, [FIXTURE_NAME, 'Function', 'createWidget']);
    assert.match(chunk!.text, /Creates a dashboard widget from a label\./);
    assert.match(chunk!.text, /- `label`: Text shown on the widget\./);
    assert.match(chunk!.text, /\*\*Returns:\*\* The widget, not yet mounted\./);
    assert.deepEqual(chunk!.code.at(-1), {
      lang: 'ts',
      code: [
        '/** Creates a dashboard widget from a label. */',
        'function createWidget(label: string): Widget;',
        '/** Creates a dashboard widget from full options. */',
        'function createWidget(options: WidgetOptions): Widget;',
      ].join('\n'),
    });
    const sub = chunkPage(renderSymbolPage(FIXTURE_NAME, byName('sparkle')))[0]!;
    assert.deepEqual(sub.breadcrumb, [
      FIXTURE_NAME,
      `${FIXTURE_NAME}/extras`,
      'Function',
      'sparkle',
    ]);
    assert.equal(renderSymbolPage(FIXTURE_NAME, byName('sparkle')).path, 'api/extras/sparkle.md');
  });

  it('splits a big class into member sections, one snippet each', () => {
    const many = Array.from(
      { length: 40 },
      (_, i) =>
        `  /** Handles event number ${i} of the stream, with retries and backoff. */\n  onEvent${i}(payload: { id: string; attempt: number; data: Record<string, unknown> }): Promise<void>;`,
    ).join('\n');
    const big = mkdtempSync(join(tmpdir(), 'twinmcp-apiref-'));
    try {
      writeFileSync(
        join(big, 'index.d.ts'),
        `/** A big client. */\nexport declare class Client {\n${many}\n}\n`,
      );
      const [client] = extractApi(big, 'big', [{ subpath: '.', file: 'index.d.ts' }]).symbols;
      assert.ok(client?.splitMembers);
      assert.deepEqual(client.signatures, ['class Client { … }']);
      const chunks = chunkPage(renderSymbolPage('big', client));
      assert.ok(chunks.length >= 5, `chunks: ${chunks.length}`);
      const member = chunks.find((c) => c.title === 'Client.onEvent7');
      assert.ok(member, 'a member has its own snippet');
      assert.deepEqual(member.breadcrumb, ['big', 'Class', 'Client', 'Client.onEvent7']);
      assert.match(member.text, /Handles event number 7/);
    } finally {
      rmSync(big, { recursive: true, force: true });
    }
  });

  it('caps the symbols per package and says so', () => {
    const pkg = { types: './dist/index.d.ts' };
    const { entries } = typesEntries(pkg, exists);
    const capped = extractApi(dir, FIXTURE_NAME, entries, { maxSymbols: 3 });
    assert.equal(capped.symbols.length, 3);
    assert.match(
      capped.skipped.map((s) => s.reason).join('\n'),
      /capped at 3 symbols; \d+ more not indexed/,
    );
  });

  it('documents the ambient modules of an @types-style package, each as its module', () => {
    const types = mkdtempSync(join(tmpdir(), 'twinmcp-apiref-'));
    try {
      writeFileSync(
        join(types, 'index.d.ts'),
        [
          'declare module "fs" {',
          '  /** Reads a whole file. */',
          '  export function readFileSync(path: string): string;',
          '}',
          'declare module "node:fs" {',
          '  export * from "fs";',
          '}',
        ].join('\n'),
      );
      const { symbols: found } = extractApi(types, '@types/node', [
        { subpath: '.', file: 'index.d.ts' },
      ]);
      assert.deepEqual(
        found.map((s) => [s.name, s.module, s.alsoIn, s.doc.summary]),
        [['readFileSync', 'fs', ['node:fs'], 'Reads a whole file.']],
      );
      assert.equal(renderSymbolPage('@types/node', found[0]!).path, 'api/fs/readFileSync.md');
    } finally {
      rmSync(types, { recursive: true, force: true });
    }
  });

  it('never reads declarations outside the package folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'twinmcp-apiref-'));
    try {
      mkdirSync(join(root, 'pkg'));
      writeFileSync(
        join(root, 'outside.d.ts'),
        '/** Outside. */\nexport declare function stolen(): void;\n',
      );
      writeFileSync(
        join(root, 'pkg', 'index.d.ts'),
        "export * from '../outside.js';\nexport declare function own(): void;\n",
      );
      const { symbols: found } = extractApi(join(root, 'pkg'), 'pkg', [
        { subpath: '.', file: 'index.d.ts' },
      ]);
      assert.deepEqual(
        found.map((s) => s.name),
        ['own'],
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
