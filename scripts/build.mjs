// Builds what ships: the server CLI (ESM, dependencies left in node_modules because PGlite loads
// its WASM files from its own package folder) and the extension (CJS bundle, vscode external).
import { build } from 'esbuild';
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { webviewBuildOptions } from '../webview-ui/build-options.mjs';

const watch = process.argv.includes('--watch');
rmSync('dist', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  sourcemap: false,
};

await build({
  ...common,
  entryPoints: {
    cli: 'server/cli.ts',
    'chunk-worker': 'server/indexing/chunk-worker.ts',
    'pglite-worker': 'server/db/pglite-worker.ts',
    'api-ref-worker': 'server/indexing/api-ref/api-ref-worker.ts',
  },
  outdir: 'dist/server',
  format: 'esm',
  packages: 'external',
});
chmodSync('dist/server/cli.js', 0o755);

if (existsSync('extension/extension.ts')) {
  await build({
    ...common,
    entryPoints: ['extension/extension.ts'],
    outfile: 'dist/extension/extension.cjs',
    format: 'cjs',
    external: ['vscode'],
    minify: !watch,
  });
  // The lockfile parsers (yaml + @yarnpkg/lockfile, ~225 KB) in a file of their own, required on
  // the first dependency read: every activation would otherwise parse them (~30 ms).
  await build({
    ...common,
    entryPoints: ['shared/lockfiles.ts'],
    outfile: 'dist/extension/lockfiles.cjs',
    format: 'cjs',
    minify: !watch,
  });
}

// The webviews (chat side panel, account page, lookup panel): browser IIFEs plus their CSS, loaded
// by the extension from dist/webview-ui.
await build(webviewBuildOptions('dist/webview-ui'));
