/**
 * What an `npm:` source may name, the library id it becomes, and the npm configuration pacote is
 * given. No registry host is written here: pacote gets whatever the user's npm configuration says
 * (environment and user .npmrc), and falls back to its own default otherwise.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A validated `npm:` source. */
export type NpmSpec =
  | {
      kind: 'registry';
      /** Package name, e.g. `zod` or `@tanstack/react-query`. */
      name: string;
      /** Version, range or dist-tag as typed; `latest` when none was. */
      wanted: string;
      /** What pacote is asked for: `name@wanted`. */
      pacoteSpec: string;
    }
  | {
      kind: 'file';
      /** Absolute path of a .tgz tarball or a package folder. */
      path: string;
      pacoteSpec: string;
    };

// npm's own rules (validate-npm-package-name): lower case for new packages, URL-safe characters,
// at most 214 characters; old packages may have capitals, so those are accepted too.
const NAME = /^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i;
// Versions, ranges (`^1.2`, `>=2 <3`, `1.x || 2`) and dist-tags; no aliases (`npm:other@1`) or URLs.
const WANTED = /^[\w.^~<>=|*+ -]{1,100}$/;

/** True when `source` is an `npm:` source (whatever follows). */
export function isNpmSource(source: string): boolean {
  return /^npm:/i.test(source.trim());
}

/** True when an `npm:` source reads the server's disk (`npm:file:...`, `npm:/abs/path`). */
export function isLocalNpmSource(source: string): boolean {
  const rest = source.trim().replace(/^npm:/i, '');
  return /^file:/i.test(rest) || isAbsolute(rest) || /^\.{1,2}([/\\]|$)/.test(rest);
}

/**
 * Parses `npm:<name>[@<version|range|tag>]`, or `npm:file:<tarball or folder>` (local, trusted
 * callers only: the caller checks). Throws an Error naming what is wrong.
 */
export function parseNpmSpec(source: string): NpmSpec {
  const raw = source.trim();
  if (!isNpmSource(raw)) throw new Error(`Not an npm source: "${raw}" (expected npm:<name>)`);
  const rest = raw.slice(4).trim();
  if (rest === '') throw new Error('npm source has no package name: use npm:<name>[@<version>]');
  if (isLocalNpmSource(raw)) {
    const path = /^file:/i.test(rest)
      ? rest.startsWith('file://')
        ? fileURLToPath(rest)
        : rest.slice(5)
      : rest;
    if (!isAbsolute(path)) {
      throw new Error(`Local npm package paths must be absolute: ${path}`);
    }
    const abs = resolve(path);
    return { kind: 'file', path: abs, pacoteSpec: `file:${abs}` };
  }
  if (/:\/\/|^git\+|^(?:github|gitlab|bitbucket|gist):/i.test(rest)) {
    throw new Error(
      `npm sources name a registry package (npm:<name>[@<version>]); URLs and git specs are not accepted: ${rest}`,
    );
  }
  const at = rest.indexOf('@', 1);
  const name = at === -1 ? rest : rest.slice(0, at);
  const wanted = at === -1 ? 'latest' : rest.slice(at + 1).trim();
  if (!NAME.test(name) || name.length > 214) {
    throw new Error(`"${name}" is not a valid npm package name`);
  }
  if (wanted === '' || !WANTED.test(wanted) || /^npm:/i.test(wanted)) {
    throw new Error(`"${wanted}" is not a version, range or dist-tag of ${name}`);
  }
  return { kind: 'registry', name, wanted, pacoteSpec: `${name}@${wanted}` };
}

/**
 * The library id of a package: `/npm/zod`, and `/npm/tanstack__react-query` for
 * `@tanstack/react-query` (ids allow neither `@` nor a third `/`; npm names never contain `__`
 * after a scope, so the mapping reads back unambiguously in practice).
 */
export function npmLibraryId(name: string): string {
  const scoped = /^@([^/]+)\/(.+)$/.exec(name);
  const id = scoped ? `${scoped[1]}__${scoped[2]}` : name;
  return `/npm/${id.toLowerCase()}`;
}

/** Keys of an .npmrc that concern fetching packages: registries, their auth, TLS, proxies. */
const NPMRC_KEY =
  /^(?:registry|@[\w.-]+:registry|\/\/.+|strict-ssl|cafile|ca|https-proxy|proxy|noproxy)$/;

function expandEnv(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{([^}]+)\}/g, (_, name: string) => env[name] ?? '');
}

/** Parses .npmrc text (ini `key=value` lines; `;` and `#` comments). */
export function parseNpmrc(text: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) continue;
    const key = expandEnv(trimmed.slice(0, eq).trim(), env);
    let value = trimmed.slice(eq + 1).trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    if (NPMRC_KEY.test(key)) out[key] = expandEnv(value, env);
  }
  return out;
}

/**
 * The user's npm configuration as pacote options: the user .npmrc (`NPM_CONFIG_USERCONFIG` or
 * `~/.npmrc`), then `npm_config_*` environment variables, which win as they do for npm itself.
 * Install scripts never run (`ignoreScripts`): packing a folder must not execute its code.
 */
export function npmConfigOptions(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const opts: Record<string, unknown> = {};
  const userconfig =
    env.npm_config_userconfig ?? env.NPM_CONFIG_USERCONFIG ?? join(homedir(), '.npmrc');
  try {
    Object.assign(opts, parseNpmrc(readFileSync(userconfig, 'utf8'), env));
  } catch {
    // No user .npmrc: pacote's defaults apply.
  }
  for (const [k, v] of Object.entries(env)) {
    const m = /^npm_config_(.+)$/i.exec(k);
    if (!m?.[1] || v === undefined) continue;
    const key = m[1].toLowerCase().replace(/_/g, '-');
    if (key === 'registry' || key === 'strict-ssl' || key === 'https-proxy' || key === 'proxy') {
      opts[key] = v;
    }
  }
  if (opts['strict-ssl'] !== undefined) opts.strictSSL = opts['strict-ssl'] !== 'false';
  opts.ignoreScripts = true;
  return opts;
}

/** The registries the npm configuration names (`registry` and `@scope:registry`), for allow-lists. */
export function configuredRegistries(env: NodeJS.ProcessEnv = process.env): string[] {
  const opts = npmConfigOptions(env);
  return Object.entries(opts)
    .filter(
      ([k, v]) => (k === 'registry' || /^@[\w.-]+:registry$/.test(k)) && typeof v === 'string',
    )
    .map(([, v]) => v as string);
}

/** What planSource needs from an `npm:` source: a library id and a version label to start with. */
export interface NpmPlan {
  location: string;
  libraryId: string;
  /** The id comes from the package itself once unpacked (local tarball, no id requested). */
  idFromSource: boolean;
}

/**
 * Validates an `npm:` source at enqueue time (no network): the id is `/npm/<name>` for registry
 * packages; a local tarball's name is known only once unpacked, so it gets a stand-in from the
 * file name that the package's own name replaces. Throws an Error with the reason.
 */
export function planNpm(source: string, requestedId: string | undefined): NpmPlan {
  const spec = parseNpmSpec(source);
  if (spec.kind === 'registry') {
    return {
      location: `npm:${spec.name}@${spec.wanted}`,
      libraryId: requestedId ?? npmLibraryId(spec.name),
      idFromSource: false,
    };
  }
  const base = spec.path.split(/[/\\]/).pop() ?? 'package';
  const stem = base.replace(/\.(?:tgz|tar\.gz|tar)$/i, '').replace(/-\d+\.\d+\.\d+.*$/, '');
  return {
    location: `npm:file:${spec.path}`,
    libraryId:
      requestedId ?? npmLibraryId(stem.toLowerCase().replace(/[^a-z0-9._-]+/g, '-') || 'package'),
    idFromSource: requestedId === undefined,
  };
}

/** `npm:./pkg.tgz` typed in a shell -> `npm:file:/abs/pkg.tgz`; other sources unchanged. */
export function absoluteNpmSource(source: string, cwd: string): string {
  if (!isNpmSource(source) || !isLocalNpmSource(source)) return source;
  const rest = source
    .trim()
    .slice(4)
    .replace(/^file:(?!\/\/)/i, '');
  if (/^file:\/\//i.test(rest)) return `npm:${rest}`;
  return `npm:file:${resolve(cwd, rest)}`;
}
