// `npm run package`: builds the esbuild bundles, packs the extension into dist/twinmcp.vsix with
// @vscode/vsce (no dependency detection: the bundle carries everything but `vscode`), then checks
// what went in. `node scripts/package.mjs --check FILE.vsix` runs only the check.
//
// vsce flags, all offline: --allow-missing-repository and --skip-license (the manifest names no
// repository and the project ships no LICENSE file; vsce would otherwise prompt on stdin),
// --no-rewrite-relative-links (with no repository vsce cannot turn README's relative links into
// absolute ones and refuses to pack).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VSIX = join(ROOT, 'dist', 'twinmcp.vsix');
// The budget; the bundle is far below it (a few hundred KB), so growth past it means
// something that should not ship (node_modules, server code) slipped in.
export const MAX_VSIX_BYTES = 3 * 1024 * 1024;

/** Entry names (and the content of small text entries on request) from a zip's central directory. */
export function listZip(path) {
  const buf = readFileSync(path);
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
    const method = buf.readUInt16LE(at + 10);
    const compressed = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const read = () => {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const raw = buf.subarray(start, start + compressed);
      return method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    };
    entries.push({ name, size, read });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Problems with a packed VSIX (empty when it is fine). */
export function checkVsix(path) {
  const problems = [];
  const bytes = statSync(path).size;
  if (bytes > MAX_VSIX_BYTES) problems.push(`${bytes} bytes > ${MAX_VSIX_BYTES} (3 MB)`);
  const names = listZip(path).map((e) => e.name);
  const forbidden = [
    [/\.map$/, 'a source map'],
    [/(^|\/)test\//, 'test files'],
    [/^extension\/server\//, 'server sources'],
    [/^extension\/dist\/server\//, 'the server bundle'],
    [/(^|\/)node_modules\//, 'node_modules'],
    [/\.tsx?$/, 'TypeScript sources'],
  ];
  for (const name of names) {
    for (const [pattern, what] of forbidden) {
      if (pattern.test(name)) problems.push(`${name}: ${what} must not ship`);
    }
  }
  for (const needed of ['extension/package.json', 'extension/dist/extension/extension.cjs']) {
    if (!names.includes(needed)) problems.push(`${needed} is missing`);
  }
  return problems;
}

function run(command, args) {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error(`package: ${[command, ...args].join(' ')} failed (exit ${r.status})`);
    process.exit(1);
  }
}

function main(argv) {
  const checkAt = argv.indexOf('--check');
  let vsix = VSIX;
  if (checkAt >= 0) {
    vsix = resolve(argv[checkAt + 1] ?? '');
    if (!argv[checkAt + 1] || !existsSync(vsix)) {
      console.error('package: --check needs an existing .vsix file');
      process.exit(2);
    }
  } else {
    if (!argv.includes('--no-build')) run(process.execPath, ['scripts/build.mjs']);
    if (!existsSync(join(ROOT, 'dist', 'extension', 'extension.cjs'))) {
      console.error(
        'package: dist/extension/extension.cjs missing (is extension/extension.ts there?)',
      );
      process.exit(1);
    }
    const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
    run(process.execPath, [
      vsce,
      'package',
      '--no-dependencies',
      '--allow-missing-repository',
      '--skip-license',
      '--no-rewrite-relative-links',
      '--out',
      VSIX,
    ]);
  }
  const problems = checkVsix(vsix);
  if (problems.length > 0) {
    console.error(`package: ${vsix} fails the check:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  const kb = (statSync(vsix).size / 1024).toFixed(1);
  console.log(`package: ${vsix} ok (${kb} KB, ${listZip(vsix).length} files)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
