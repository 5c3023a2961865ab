import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The ESM build of `tsx/esm/api`, from tsx's package exports. Not import.meta.resolve: under mocha
// the caller is compiled to CommonJS, which has none; and not require.resolve, which gives the
// CommonJS build (it fails to load its ESM half from a data: URL).
function tsxEsmApi(from: string): string {
  const manifest = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return pathToFileURL(join(dirname(manifest), pkg.exports['./esm/api']!.import.default)).href;
}

/**
 * Where a worker thread's code is. The build emits each worker as `<name>.js` beside cli.js
 * (scripts/build.mjs); source runs (tsx: tests, bench, eval) start the `.ts` file. On Node 20 a
 * worker ignores ESM loaders passed in `execArgv` (`--import tsx` ends in "Unknown file extension
 * .ts", nodejs/node#47747), so from source the worker starts from a tiny module that registers
 * tsx's loader in the worker itself and then imports the `.ts` file.
 */
export function workerEntry(name: string, importMetaUrl: string): URL {
  const fromSource = importMetaUrl.endsWith('.ts');
  const target = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, importMetaUrl);
  if (!fromSource) return target;
  const boot = `import { register } from ${JSON.stringify(tsxEsmApi(importMetaUrl))};
register();
await import(${JSON.stringify(target.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}
