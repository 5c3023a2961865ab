/**
 * npm sources end to end on both back ends: a real tarball made by `npm pack` indexed through the
 * engine's job runner (README, docs folder, API reference), query-docs finding a symbol by name
 * with its signature and JSDoc, versions and the `latest` alias, resolve by package name, hostile
 * and untrusted sources refused. One opt-in test (TWINMCP_TEST_NETWORK=1) fetches a real package.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../shared/api.js';
import { createEngine, type TwinEngine } from '../../server/engine.js';
import { EngineError, type CallContext } from '../../server/engine-types.js';
import { planSource } from '../../server/indexing/source-spec.js';
import { npmPackageSource, openNpmPackage } from '../../server/indexing/sources/npm.js';
import {
  absoluteNpmSource,
  npmLibraryId,
  parseNpmSpec,
} from '../../server/indexing/sources/npm-spec.js';
import { describeBackends } from '../helpers/backends.js';
import {
  buildTarball,
  FIXTURE_ID,
  FIXTURE_NAME,
  npmPack,
  writeFixturePackage,
} from './npm-fixture.js';

const CLI: CallContext = { client: 'cli' };

async function waitJob(engine: TwinEngine, id: string): Promise<Job> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`job ${id} still running after 60 s`)), 60_000);
  });
  try {
    return await Promise.race([engine.waitForJob(id), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('npm specs', () => {
  it('names registry packages /npm/<name> and validates what follows npm:', () => {
    assert.deepEqual(parseNpmSpec('npm:zod'), {
      kind: 'registry',
      name: 'zod',
      wanted: 'latest',
      pacoteSpec: 'zod@latest',
    });
    assert.equal(parseNpmSpec('npm:@tanstack/react-query@^5.2').kind, 'registry');
    assert.equal(npmLibraryId('@tanstack/react-query'), '/npm/tanstack__react-query');
    const plan = planSource({ source: 'npm:zod@^3.22', trustedLocal: false });
    assert.deepEqual(plan, {
      kind: 'npm',
      location: 'npm:zod@^3.22',
      libraryId: '/npm/zod',
      idFromSource: false,
      version: '',
    });
    for (const bad of [
      'npm:',
      'npm:https://evil.example/x.tgz',
      'npm:git+ssh://x',
      'npm:zod@npm:other',
      'npm:Bad Name',
    ]) {
      assert.throws(
        () => planSource({ source: bad, trustedLocal: true }),
        /npm|name|version|URL/i,
        bad,
      );
    }
    assert.throws(
      () => planSource({ source: 'npm:file:/tmp/x.tgz', trustedLocal: false }),
      /only from the local CLI/,
    );
    assert.equal(absoluteNpmSource('npm:./x.tgz', '/work'), 'npm:file:/work/x.tgz');
    assert.equal(absoluteNpmSource('npm:zod@3', '/work'), 'npm:zod@3');
  });
});

describeBackends('npm source', ({ db }) => {
  describe('a packed fixture indexed through the engine', function () {
    let engine: TwinEngine;
    let tmp: string;
    let tgz: string;
    let job: Job;

    before(async function () {
      this.timeout(120_000);
      tmp = mkdtempSync(join(tmpdir(), 'twinmcp-npm-'));
      const pkgDir = join(tmp, 'pkg');
      mkdirSync(pkgDir);
      writeFixturePackage(pkgDir, '2.1.0');
      tgz = await npmPack(pkgDir, tmp);
      engine = await createEngine({
        config: { dataDir: join(tmp, 'data') },
        db: db(),
        worker: true,
      });
      const queued = await engine.addSource({ source: `npm:file:${tgz}`, trustedLocal: true });
      job = await waitJob(engine, queued.id);
    });

    after(async () => {
      await engine?.close();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('indexes README, docs and one API page per exported symbol under /npm/<name>/<version>', () => {
      assert.equal(job.state, 'succeeded', `job error: ${job.error}`);
      assert.equal(job.libraryId, FIXTURE_ID);
      assert.equal(job.version, '2.1.0');
      assert.ok(job.progress!.pages >= 15, `pages: ${job.progress!.pages}`);
      assert.deepEqual(job.progress!.skipped, []);
    });

    it('stores the API pages with their paths and the package name as an alias', async () => {
      const pages = await engine.db.query<{ path: string }>(
        `SELECT p.path FROM pages p JOIN library_versions v ON v.id = p.version_id
          WHERE v.library_id = $1 ORDER BY p.path`,
        [FIXTURE_ID],
      );
      const paths = pages.map((p) => p.path);
      for (const p of [
        'README.md',
        'docs/guide.md',
        'api/index/createWidget.md',
        'api/index/Layout.grid.md',
        'api/extras/sparkle.md',
      ]) {
        assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
      }
      assert.ok(!paths.some((p) => p.startsWith('src/')), 'sources are not documentation');
      const [lib] = await engine.db.query<{ aliases: string[]; source: Record<string, unknown> }>(
        `SELECT aliases, source FROM libraries WHERE id = $1`,
        [FIXTURE_ID],
      );
      assert.ok(lib!.aliases.includes(FIXTURE_NAME), lib!.aliases.join(', '));
      assert.equal(lib!.source.kind, 'npm');
      assert.equal(lib!.source.version, '2.1.0');
    });

    it('query-docs finds a symbol by name, with its signature and JSDoc', async () => {
      const { json, text } = await engine.query(FIXTURE_ID, 'createWidget', undefined, CLI);
      const top = [...json.codeSnippets, ...json.infoSnippets].sort((a, b) => b.score - a.score)[0];
      assert.ok(top, 'a snippet');
      assert.equal(top.title, 'createWidget');
      assert.match(top.content, /function createWidget\(label: string\): Widget;/);
      assert.match(top.content, /Creates a dashboard widget from a label\./);
      assert.match(top.content, /`label`: Text shown on the widget\./);
      assert.match(text, /### createWidget/);
      const cls = await engine.query(FIXTURE_ID, 'WidgetRegistry register throws', undefined, CLI);
      assert.match(cls.text, /register\(widget: Widget\): this;/);
    });

    it('answers /latest and the exact version, and resolve finds it by package name', async () => {
      const latest = await engine.query(`${FIXTURE_ID}/latest`, 'area of a shape', undefined, CLI);
      assert.equal(latest.json.version, '2.1.0');
      assert.match(latest.text, /function area\(shape: Shape\): number;/);
      const exact = await engine.query(`${FIXTURE_ID}/2.1.0`, 'sparkle', undefined, CLI);
      assert.match(exact.text, /function sparkle\(id: string, durationMs\?: number\): void;/);
      const results = await engine.resolve(FIXTURE_NAME, undefined, CLI);
      assert.equal(results[0]?.id, FIXTURE_ID);
    });

    it('a newer version becomes a second version and takes latest; the older stays queryable', async function () {
      this.timeout(120_000);
      const pkgDir = join(tmp, 'pkg2');
      mkdirSync(pkgDir);
      writeFixturePackage(
        pkgDir,
        '2.2.0',
        '\n## Changes in 2.2\n\nWidgets now support glowing borders.\n',
      );
      const tgz2 = await npmPack(pkgDir, tmp);
      const queued = await engine.addSource({ source: `npm:file:${tgz2}`, trustedLocal: true });
      const done = await waitJob(engine, queued.id);
      assert.equal(done.state, 'succeeded', `job error: ${done.error}`);
      assert.equal(done.version, '2.2.0');
      const lib = (await engine.listLibraries()).find((l) => l.id === FIXTURE_ID);
      assert.deepEqual([...lib!.versions].sort(), ['2.1.0', '2.2.0']);
      assert.equal(
        (await engine.query(FIXTURE_ID, 'glowing borders', undefined, CLI)).json.version,
        '2.2.0',
      );
      assert.equal(
        (await engine.query(`${FIXTURE_ID}/latest`, 'area', undefined, CLI)).json.version,
        '2.2.0',
      );
      assert.equal(
        (await engine.query(`${FIXTURE_ID}/2.1`, 'area', undefined, CLI)).json.version,
        '2.1.0',
      );
    });

    it('refuses local tarballs from untrusted callers and fails hostile tarballs for good', async () => {
      await assert.rejects(
        engine.addSource({ source: `npm:file:${tgz}`, trustedLocal: false }),
        (err: unknown) => err instanceof EngineError && err.code === 'forbidden',
      );
      const evil = join(tmp, 'evil-1.0.0.tgz');
      writeFileSync(
        evil,
        buildTarball([
          { name: 'package/package.json', body: '{"name":"evil","version":"1.0.0"}' },
          { name: 'package/../../../evil.md', body: '# pwned' },
        ]),
      );
      const queued = await engine.addSource({ source: `npm:file:${evil}`, trustedLocal: true });
      const done = await waitJob(engine, queued.id);
      assert.equal(done.state, 'failed');
      assert.match(done.error ?? '', /climbs out of the package/);
      const row = await engine.db.query<{ attempts: number }>(
        `SELECT attempts FROM jobs WHERE id = $1`,
        [queued.id],
      );
      assert.equal(row[0]!.attempts, 1, 'a refused tarball is not retried');
    });
  });
});

describe('npm source from the registry (TWINMCP_TEST_NETWORK=1)', () => {
  it('fetches a small typed package through pacote and documents its API', async function () {
    if (process.env.TWINMCP_TEST_NETWORK !== '1') this.skip();
    this.timeout(120_000);
    const pkg = await openNpmPackage('npm:yocto-queue@1', { allowLocal: false });
    try {
      assert.equal(pkg.name, 'yocto-queue');
      assert.match(pkg.version, /^1\.\d+\.\d+$/);
      const pages: string[] = [];
      for await (const e of npmPackageSource(pkg)) if (e.kind === 'page') pages.push(e.page.path);
      assert.ok(pages.includes('readme.md') || pages.includes('README.md'), pages.join(', '));
      assert.ok(
        pages.some((p) => p.startsWith('api/')),
        pages.join(', '),
      );
    } finally {
      await pkg.cleanup();
    }
  });
});
