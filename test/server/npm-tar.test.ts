/**
 * Tarball safety of npm sources: entries that climb out, absolute names, links pointing outside,
 * and size caps refuse the package before anything outside the destination is touched; links
 * inside are never created; only the files asked for are written.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openNpmPackage, wantedInPackage } from '../../server/indexing/sources/npm.js';
import { TarballRefused, unpackTarball } from '../../server/indexing/sources/npm-tar.js';
import { buildTarball, type TarEntry } from './npm-fixture.js';

const PKG = { name: 'package/package.json', body: '{"name":"evil","version":"1.0.0"}' };

async function unpack(entries: TarEntry[], limits?: Parameters<typeof unpackTarball>[3]) {
  const dest = mkdtempSync(join(tmpdir(), 'twinmcp-tar-'));
  try {
    const result = await unpackTarball(
      Readable.from([buildTarball(entries)]),
      dest,
      wantedInPackage,
      limits,
    );
    return { result, files: readdirSync(dest, { recursive: true }).map(String).sort(), dest };
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

async function refused(
  entries: TarEntry[],
  message: RegExp,
  limits?: Parameters<typeof unpackTarball>[3],
) {
  const dir = mkdtempSync(join(tmpdir(), 'twinmcp-tar-'));
  const inner = join(dir, 'package');
  mkdirSync(inner);
  try {
    await assert.rejects(
      unpackTarball(Readable.from([buildTarball(entries)]), inner, wantedInPackage, limits),
      (err: unknown) => err instanceof TarballRefused && message.test(err.message),
    );
    // Nothing was written beside the destination.
    assert.deepEqual(readdirSync(dir), ['package']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm tarball safety', () => {
  it('writes only package.json, declarations, README/CHANGELOG and docs folders', async () => {
    const { result, files } = await unpack([
      PKG,
      { name: 'package/README.md', body: '# Evil' },
      { name: 'package/CHANGELOG.md', body: '# Changes' },
      { name: 'package/docs/guide.md', body: '# Guide' },
      { name: 'package/lib/index.d.ts', body: 'export declare const x: number;' },
      { name: 'package/lib/index.js', body: 'export const x = 1;' },
      { name: 'package/notes.md', body: 'not a root doc' },
      { name: 'package/node_modules/dep/README.md', body: '# bundled' },
      { name: 'package/docs', type: '5' },
    ]);
    assert.deepEqual(result.files.sort(), [
      'CHANGELOG.md',
      'README.md',
      'docs/guide.md',
      'lib/index.d.ts',
      'package.json',
    ]);
    assert.ok(files.includes('lib/index.d.ts'));
    assert.ok(!files.includes('lib/index.js'));
    assert.ok(!files.some((f) => f.includes('node_modules')));
  });

  it('refuses a package with a ../ entry', async () => {
    await refused(
      [PKG, { name: 'package/../../escape.md', body: 'x' }],
      /climbs out of the package/,
    );
  });

  it('refuses a package with an absolute entry name', async () => {
    await refused([PKG, { name: '/tmp/twinmcp-evil.md', body: 'x' }], /absolute path/);
  });

  it('refuses a symbolic link pointing outside the package, and never creates links', async () => {
    await refused(
      [PKG, { name: 'package/README.md', type: '2', link: '../../../etc/passwd' }],
      /points outside the package/,
    );
    await refused(
      [PKG, { name: 'package/docs/x.md', type: '2', link: '/etc/passwd' }],
      /absolute path/,
    );
    await refused(
      [PKG, { name: 'package/docs/y.md', type: '1', link: 'package/../../z' }],
      /outside/,
    );
    const { result, files } = await unpack([
      PKG,
      { name: 'package/docs/real.md', body: '# Real' },
      { name: 'package/README.md', type: '2', link: 'docs/real.md' },
    ]);
    assert.deepEqual(result.skipped, [
      {
        path: 'README.md',
        reason: 'link to "docs/real.md" not extracted (links are never followed)',
      },
    ]);
    assert.ok(!files.includes('README.md'), 'the link was not created');
  });

  it('caps the unpacked total (refusing the package) and each kept file (skipping it)', async () => {
    const limits = { maxTotalBytes: 10_000, maxFileBytes: 1000, maxEntries: 100 };
    await refused(
      [PKG, { name: 'package/blob.bin', size: 20_000 }],
      /more than 10000 bytes/,
      limits,
    );
    const { result, files } = await unpack(
      [PKG, { name: 'package/docs/big.md', body: 'x'.repeat(2000) }],
      limits,
    );
    assert.match(result.skipped[0]?.reason ?? '', /over the 1000-byte cap/);
    assert.ok(!files.includes('docs/big.md'));
    await refused(
      Array.from({ length: 5 }, (_, i) => ({ name: `package/f${i}.txt`, body: 'x' })),
      /more than 3 entries/,
      { ...limits, maxEntries: 3 },
    );
  });

  it('openNpmPackage refuses a hostile tarball and leaves no folder behind', async () => {
    const work = mkdtempSync(join(tmpdir(), 'twinmcp-npmwork-'));
    const tgz = join(work, 'evil-1.0.0.tgz');
    writeFileSync(tgz, buildTarball([PKG, { name: 'package/../evil.md', body: 'x' }]));
    const unpackDir = join(work, 'unpack');
    mkdirSync(unpackDir);
    try {
      await assert.rejects(
        openNpmPackage(`npm:file:${tgz}`, { allowLocal: true, workDir: unpackDir }),
        /climbs out of the package/,
      );
      assert.deepEqual(readdirSync(unpackDir), [], 'the temporary folder was removed');
      assert.ok(!existsSync(join(work, 'evil.md')));
      await assert.rejects(
        openNpmPackage(`npm:file:${tgz}`, { allowLocal: false }),
        /only from trusted local callers/,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('never leaves a symlink on disk for a link entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinmcp-tar-'));
    try {
      await unpackTarball(
        Readable.from([
          buildTarball([PKG, { name: 'package/docs/l.md', type: '2', link: 'x.md' }]),
        ]),
        dir,
        wantedInPackage,
      );
      assert.throws(() => lstatSync(join(dir, 'docs', 'l.md')), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
