/**
 * Where a package's type declarations start: the `types` condition of each `exports` subpath, the
 * `types`/`typings` field, or the declaration file beside a JavaScript entry (`index.js` ->
 * `index.d.ts`), the way TypeScript itself looks them up.
 */

/** One module a package exposes and the declaration file that types it. */
export interface TypesEntry {
  /** `.` for the package root, `./sub` for `pkg/sub`. */
  subpath: string;
  /** Package-relative path of the declaration file, forward slashes. */
  file: string;
}

const DECLARATION = /\.d\.(?:ts|mts|cts)$/;
// Conditions TypeScript honours, in the order a bundler-resolving project meets them.
const CONDITION_ORDER = ['types', 'typings', 'import', 'module', 'node', 'require', 'default'];

function normalize(path: string): string | undefined {
  const segments = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) return undefined;
  return segments.join('/');
}

/** `lib/index.js` -> candidates `lib/index.d.ts`, `lib/index/index.d.ts` (bare folders too). */
function declarationCandidates(target: string): string[] {
  const path = normalize(target);
  if (!path) return [];
  if (DECLARATION.test(path)) return [path];
  const out: string[] = [];
  const m = /^(.*)\.(m|c)?(?:js|ts|jsx|tsx)$/.exec(path);
  if (m) out.push(`${m[1]}.d.${m[2] ?? ''}ts`);
  else out.push(`${path}.d.ts`, `${path}/index.d.ts`);
  return out;
}

/** The declaration file an `exports` value leads to (string, conditions object, or array). */
function fromExportValue(
  value: unknown,
  exists: (p: string) => boolean,
  depth = 0,
): string | undefined {
  if (depth > 8 || value === null || value === undefined) return undefined;
  if (typeof value === 'string') return declarationCandidates(value).find(exists);
  if (Array.isArray(value)) {
    for (const v of value) {
      const hit = fromExportValue(v, exists, depth + 1);
      if (hit) return hit;
    }
    return undefined;
  }
  if (typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort((a, b) => rank(a) - rank(b));
  for (const key of keys) {
    const hit = fromExportValue(record[key], exists, depth + 1);
    if (hit) return hit;
  }
  return undefined;
}

function rank(condition: string): number {
  const i = CONDITION_ORDER.indexOf(condition);
  return i === -1 ? CONDITION_ORDER.length : i;
}

export interface EntriesResult {
  entries: TypesEntry[];
  /** Subpaths that could not be followed, and why. */
  skipped: { path: string; reason: string }[];
}

/**
 * The typed modules of a package, root first. `exists` says whether a package-relative file was
 * unpacked. Wildcard subpaths (`./*`) are reported, not expanded.
 */
export function typesEntries(
  pkg: Record<string, unknown>,
  exists: (p: string) => boolean,
): EntriesResult {
  const entries: TypesEntry[] = [];
  const skipped: EntriesResult['skipped'] = [];
  const add = (subpath: string, file: string | undefined) => {
    if (file && !entries.some((e) => e.subpath === subpath)) entries.push({ subpath, file });
  };
  const exportsField = pkg.exports;
  if (exportsField !== undefined && exportsField !== null) {
    const isSubpathMap =
      typeof exportsField === 'object' &&
      !Array.isArray(exportsField) &&
      Object.keys(exportsField).some((k) => k.startsWith('.'));
    const map: Record<string, unknown> = isSubpathMap
      ? (exportsField as Record<string, unknown>)
      : { '.': exportsField };
    for (const [subpath, value] of Object.entries(map)) {
      if (!subpath.startsWith('.') || subpath === './package.json') continue;
      if (subpath.includes('*')) {
        skipped.push({
          path: `package.json#exports["${subpath}"]`,
          reason: 'wildcard export not expanded',
        });
        continue;
      }
      const normalized = subpath === '.' ? '.' : `./${normalize(subpath) ?? ''}`;
      if (normalized === './') continue;
      add(normalized, fromExportValue(value, exists));
    }
  }
  for (const field of ['types', 'typings']) {
    const value = pkg[field];
    if (typeof value === 'string') add('.', declarationCandidates(value).find(exists));
  }
  if (typeof pkg.main === 'string') add('.', declarationCandidates(pkg.main).find(exists));
  add('.', ['index.d.ts', 'index.d.mts', 'index.d.cts'].find(exists));
  entries.sort((a, b) =>
    a.subpath === '.' ? -1 : b.subpath === '.' ? 1 : a.subpath < b.subpath ? -1 : 1,
  );
  return { entries, skipped };
}

/** `pkg` for `.`, `pkg/sub` for `./sub`. */
export function moduleName(packageName: string, subpath: string): string {
  return subpath === '.' ? packageName : `${packageName}/${subpath.slice(2)}`;
}
