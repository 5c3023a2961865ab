/**
 * `scripts/package.mjs` from the tests: packs dist/twinmcp.vsix, rebuilding the bundles first only
 * when a source is newer than dist/extension (npm test has just built them).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/corpus.js';

export const VSIX = join(REPO_ROOT, 'dist', 'twinmcp.vsix');
const BUNDLE = join(REPO_ROOT, 'dist', 'extension', 'extension.cjs');

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Runs the package script (and its check); returns the VSIX path. */
export function ensurePackaged(): string {
  const sources = Math.max(
    ...['extension', 'shared', 'webview-ui', 'package.json', 'scripts/build.mjs'].map((p) =>
      newestMtime(join(REPO_ROOT, p)),
    ),
  );
  const fresh = existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= sources;
  const args = ['scripts/package.mjs', ...(fresh ? ['--no-build'] : [])];
  const r = spawnSync(process.execPath, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
  assert.ok(existsSync(VSIX), `${VSIX} missing after packaging`);
  return VSIX;
}

/** Entry names of a zip (unzip -Z1). */
export function vsixEntries(path: string): string[] {
  const r = spawnSync('unzip', ['-Z1', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}
