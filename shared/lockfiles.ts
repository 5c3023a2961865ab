/**
 * Lockfile parsers: text in, package name -> exact locked version out. Used by the extension to
 * tell the server which versions a workspace uses (WORKSPACE_DEPS_HEADER, chat `workspaceDeps`,
 * hovers). Pure: no node:*, no vscode; a malformed file yields empty maps, never a throw.
 */
import { parse as parseYarnV1 } from '@yarnpkg/lockfile';
import { parse as parseYaml } from 'yaml';

/** What one lockfile says: the root project's own dependencies and every package in it. */
export interface LockedDeps {
  /** Dependencies the root project declares (empty when the lockfile does not say, e.g. yarn v1). */
  direct: Map<string, string>;
  /** Every locked package; for a name locked at several versions, the one nearest the root. */
  all: Map<string, string>;
}

/** File names this module reads, by ecosystem. */
export const LOCKFILE_NAMES = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'poetry.lock',
  'requirements.txt',
] as const;
export type LockfileName = (typeof LOCKFILE_NAMES)[number];

const empty = (): LockedDeps => ({ direct: new Map(), all: new Map() });

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** package-lock.json / npm-shrinkwrap.json, lockfileVersion 1, 2 or 3. */
export function parsePackageLock(text: string): LockedDeps {
  const out = empty();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  if (!isObject(doc)) return out;
  const packages = doc.packages;
  if (isObject(packages)) {
    // v2/v3: keys are install paths; `node_modules/x` is hoisted to the root, deeper ones nest.
    const root = packages[''];
    const rootDeps = isObject(root) ? declaredNames(root) : new Set<string>();
    for (const [path, entry] of Object.entries(packages)) {
      if (!isObject(entry) || entry.link === true || typeof entry.version !== 'string') continue;
      const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(path);
      if (m) {
        out.all.set(m[1]!, entry.version);
        if (rootDeps.has(m[1]!)) out.direct.set(m[1]!, entry.version);
      }
    }
    return out;
  }
  // v1: `dependencies` holds the hoisted tree; nested `dependencies` are deeper copies.
  const deps = doc.dependencies;
  if (isObject(deps)) {
    for (const [name, entry] of Object.entries(deps)) {
      if (
        isObject(entry) &&
        typeof entry.version === 'string' &&
        !entry.version.startsWith('file:')
      ) {
        out.all.set(name, entry.version);
      }
    }
  }
  return out;
}

function declaredNames(manifest: Json): Set<string> {
  const names = new Set<string>();
  for (const field of [
    'dependencies',
    'devDependencies',
    'optionalDependencies',
    'peerDependencies',
  ]) {
    const deps = manifest[field];
    if (isObject(deps)) for (const name of Object.keys(deps)) names.add(name);
  }
  return names;
}

/** `3.23.8(react@18.2.0)` -> `3.23.8`; `link:../x` and `file:` versions -> undefined. */
function pnpmVersion(raw: unknown): string | undefined {
  const value = isObject(raw) ? raw.version : raw;
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const v = String(value).replace(/\(.*$/, '').trim();
  if (!v || /^(link|file|workspace|portal):/.test(v)) return undefined;
  // v5/v6 write aliased and tarball deps as package paths (`/zod@3.22.4`): keep the version part.
  if (v.startsWith('/')) return splitPnpmKey(v)?.version;
  return v;
}

/** A `packages:` key of pnpm v5 (`/name/1.0.0`), v6 (`/name@1.0.0`) or v9 (`name@1.0.0`). */
function splitPnpmKey(key: string): { name: string; version: string } | undefined {
  const k = key.replace(/^\//, '').replace(/\(.*$/, '');
  const at = k.indexOf('@', 1);
  if (at > 0) return { name: k.slice(0, at), version: k.slice(at + 1) };
  const slash = k.lastIndexOf('/');
  if (slash <= 0) return undefined;
  return { name: k.slice(0, slash), version: k.slice(slash + 1) };
}

/** pnpm-lock.yaml: lockfileVersion 5.x (flat), 6.0 and 9.0 (importers with specifier + version). */
export function parsePnpmLock(text: string): LockedDeps {
  const out = empty();
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return out;
  }
  if (!isObject(doc)) return out;
  const importers = isObject(doc.importers) ? doc.importers : undefined;
  const root = importers ? importers['.'] : doc;
  if (isObject(root)) {
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      const deps = root[field];
      if (!isObject(deps)) continue;
      for (const [name, raw] of Object.entries(deps)) {
        const version = pnpmVersion(raw);
        if (version) out.direct.set(name, version);
      }
    }
  }
  for (const section of ['packages', 'snapshots']) {
    const packages = doc[section];
    if (!isObject(packages)) continue;
    for (const key of Object.keys(packages)) {
      const split = splitPnpmKey(key);
      if (split && /^\d/.test(split.version) && !out.all.has(split.name)) {
        out.all.set(split.name, split.version);
      }
    }
  }
  for (const [name, version] of out.direct) out.all.set(name, version);
  return out;
}

/**
 * yarn.lock, v1 (Yarn classic) or berry (YAML with `__metadata`). Entries are keyed by the ranges
 * that resolved to them (`zod@^3.22.0, zod@^3.23.0`), so `ranges` maps `name@range` -> version
 * for matching package.json's ranges to the locked version.
 */
export function parseYarnLock(text: string): LockedDeps & { ranges: Map<string, string> } {
  const out = { ...empty(), ranges: new Map<string, string>() };
  const entries: [string, unknown][] = [];
  if (/^__metadata:/m.test(text)) {
    try {
      const doc: unknown = parseYaml(text);
      if (isObject(doc)) entries.push(...Object.entries(doc).filter(([k]) => k !== '__metadata'));
    } catch {
      return out;
    }
  } else {
    try {
      const parsed = parseYarnV1(text);
      if (parsed.type === 'success') entries.push(...Object.entries(parsed.object));
    } catch {
      return out;
    }
  }
  for (const [keys, entry] of entries) {
    if (!isObject(entry) || typeof entry.version !== 'string') continue;
    const resolution = typeof entry.resolution === 'string' ? entry.resolution : '';
    if (resolution.includes('@workspace:') || resolution.includes('@link:')) continue;
    for (const pattern of keys.split(',').map((k) => k.trim().replace(/^"|"$/g, ''))) {
      const at = pattern.indexOf('@', 1);
      if (at <= 0) continue;
      const name = pattern.slice(0, at);
      // berry writes `zod@npm:^3.22.0`; the range is what package.json says.
      const range = pattern.slice(at + 1).replace(/^npm:/, '');
      out.ranges.set(`${name}@${range}`, entry.version);
      if (!out.all.has(name)) out.all.set(name, entry.version);
    }
  }
  return out;
}

/** requirements.txt: `name==1.2.3` pins (other specifiers carry no exact version). */
export function parseRequirements(text: string): LockedDeps {
  const out = empty();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s#.*$/, '').trim();
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9.+!_-]+)/.exec(
      line,
    );
    if (!m) continue;
    const name = normalizePythonName(m[1]!);
    out.direct.set(name, m[2]!);
    out.all.set(name, m[2]!);
  }
  return out;
}

/** poetry.lock: the `[[package]]` tables' name and version (a TOML subset, read by line). */
export function parsePoetryLock(text: string): LockedDeps {
  const out = empty();
  for (const block of text.split(/^\[\[package\]\]\s*$/m).slice(1)) {
    const body = block.split(/^\[/m)[0] ?? '';
    const name = /^name\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    const version = /^version\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    if (name && version) out.all.set(normalizePythonName(name), version);
  }
  return out;
}

/** PEP 503: `Foo_Bar.baz` and `foo-bar-baz` are one project. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Parses a lockfile by its file name; unknown names give empty maps. */
export function parseLockfile(fileName: string, text: string): LockedDeps {
  switch (fileName) {
    case 'package-lock.json':
    case 'npm-shrinkwrap.json':
      return parsePackageLock(text);
    case 'pnpm-lock.yaml':
      return parsePnpmLock(text);
    case 'yarn.lock':
      return parseYarnLock(text);
    case 'poetry.lock':
      return parsePoetryLock(text);
    case 'requirements.txt':
      return parseRequirements(text);
    default:
      return empty();
  }
}

/** Most dependencies sent: the chat endpoint accepts 1000, the MCP header 2000. */
export const MAX_WORKSPACE_DEPS = 1000;

/**
 * The workspace's dependencies, name -> version: package.json's direct dependencies with their
 * locked versions (the range itself when nothing locks them), then whatever the lockfiles list as
 * direct, then Python pins. Runtime dependencies come before dev ones when the cap cuts.
 */
export function workspaceDependencies(input: {
  packageJson?: string;
  lockfiles: { name: string; text: string }[];
}): Map<string, string> {
  const locks = input.lockfiles.map((f) => ({ name: f.name, deps: parseLockfile(f.name, f.text) }));
  const lockedVersion = (name: string, range: string): string | undefined => {
    for (const { deps } of locks) {
      const byRange = (deps as { ranges?: Map<string, string> }).ranges?.get(`${name}@${range}`);
      const v = byRange ?? deps.direct.get(name) ?? deps.all.get(name);
      if (v) return v;
    }
    return undefined;
  };
  const out = new Map<string, string>();
  const manifest = safeJson(input.packageJson);
  for (const field of [
    'dependencies',
    'peerDependencies',
    'optionalDependencies',
    'devDependencies',
  ]) {
    const deps = manifest?.[field];
    if (!isObject(deps)) continue;
    for (const [name, range] of Object.entries(deps)) {
      if (typeof range !== 'string' || out.has(name)) continue;
      if (/^(workspace|link|file|portal):/.test(range)) continue;
      const version = lockedVersion(name, range) ?? cleanRange(range);
      if (version) out.set(name, version);
    }
  }
  for (const { deps } of locks) {
    for (const [name, version] of deps.direct) if (!out.has(name)) out.set(name, version);
  }
  return new Map([...out].slice(0, MAX_WORKSPACE_DEPS));
}

function safeJson(text: string | undefined): Json | undefined {
  if (!text) return undefined;
  try {
    const doc: unknown = JSON.parse(text);
    return isObject(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** A range the server can read (`^4.28.0`); URLs and git specs carry no usable version. */
function cleanRange(range: string): string | undefined {
  const r = range.trim();
  if (!r || r.length > 100 || /[:/]/.test(r.replace(/^npm:[^@]+@/, ''))) return undefined;
  return /\d/.test(r) ? r : undefined;
}
