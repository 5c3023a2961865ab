// Builds what ships: the server CLI (ESM, dependencies left in node_modules because PGlite loads
// its WASM files from its own package folder) and the extension (CJS bundle, vscode external).
import { build } from 'esbuild';
import { chmodSync, existsSync, rmSync } from 'node:fs';

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
}
