/**
 * Bundles the in-host suite (test/vscode/suite/index.ts) to one CJS file the extension host can
 * require. `vscode` is the host's own module; mocha stays external and resolves from the
 * repository's node_modules, since the bundle is written under .cache/ inside the repository.
 */
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../helpers/corpus.js';

/**
 * Where the bundle goes (git-ignored). `index.js`, because the host requires the tests path
 * without an extension (as test-electron passes it), and require() does not try `.cjs`; the
 * folder's own package.json makes that `.js` CommonJS despite the root's `"type": "module"`.
 */
export const SUITE_BUNDLE = join(REPO_ROOT, '.cache', 'vscode-test', 'suite', 'index.js');

export async function buildHostSuite(): Promise<string> {
  mkdirSync(dirname(SUITE_BUNDLE), { recursive: true });
  writeFileSync(join(dirname(SUITE_BUNDLE), 'package.json'), '{ "type": "commonjs" }\n');
  await build({
    entryPoints: [join(REPO_ROOT, 'test', 'vscode', 'suite', 'index.ts')],
    outfile: SUITE_BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
    sourcemap: 'inline',
  });
  return SUITE_BUNDLE;
}
