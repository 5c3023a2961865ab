/**
 * From what a user typed (`./docs`, `file:///x`, `https://github.com/o/r`) to a source of pages and
 * the library it becomes. Local paths and file:// URLs need a trusted caller (the local CLI or the
 * local admin token): no web page may make the server read the user's files.
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLibraryId } from '../../shared/library-id.js';
import { PermanentJobError } from '../jobs/runner.js';
import { checkoutSource, openGitCheckout } from './sources/git.js';
import { localFolderSource } from './sources/local.js';
import { openNpmSource } from './sources/npm.js';
import { isLocalNpmSource, isNpmSource, planNpm } from './sources/npm-spec.js';
import type { Queryable } from '../db/db.js';
import { fetchGuardFromEnv, gitPinArgs, type FetchGuard } from '../net/guard.js';
import { npmFetchOptions } from '../net/node-agent.js';
import {
  isWebUrl,
  openWeb,
  parseWebUrl,
  webLibraryId,
  type UrlSourceKind,
} from './sources/web-spec.js';
import type { SourceEvent } from './types.js';

export interface SourceSpec {
  source: string;
  name?: string;
  libraryId?: string;
  version?: string;
  ref?: string;
  trustedLocal: boolean;
  /** How to read an http(s) URL; guessed when absent (sources/web-spec.ts `isWebUrl`). */
  kind?: UrlSourceKind;
}

export interface PlannedSource {
  kind: 'local' | 'git' | 'npm' | 'web';
  /** Absolute folder for local, URL for git, `npm:<name>@<wanted>` or `npm:file:<path>` for npm. */
  location: string;
  libraryId: string;
  title?: string;
  version: string;
  /** npm tarballs: the package's own name replaces the stand-in id once unpacked. */
  idFromSource?: boolean;
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/\.git$/, '')
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'docs'
  );
}

const NETWORK_URL = /^(https?|ssh|git):\/\//i;
// scp-like git syntax: git@github.com:owner/repo.git
const SCP_LIKE = /^[\w.-]+@[\w.-]+:(?!\/\/)/;

/**
 * True when a source would read the server's disk (plain paths, `file://`, drive letters): only
 * trusted local callers may add those. The one rule the HTTP edge, the CLI and the engine share.
 */
export function isLocalSource(source: string): boolean {
  const s = source.trim();
  if (isNpmSource(s)) return isLocalNpmSource(s);
  return !(NETWORK_URL.test(s) || SCP_LIKE.test(s));
}

function isGitUrl(s: string): boolean {
  return /^https:\/\//i.test(s) || /^file:\/\/.+\.git\/?$/i.test(s);
}

/** Validates a source spec and names its library; throws PermanentJobError with a clear message. */
export function planSource(spec: SourceSpec): PlannedSource {
  const raw = spec.source.trim();
  if (isNpmSource(raw)) return planNpmSource(spec, raw);
  if (isWebUrl(raw, spec.kind)) return planWebSource(spec, raw);
  const isLocal = isLocalSource(raw);
  const otherScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) && !/^(https|file):\/\//i.test(raw);
  if (otherScheme || (!isLocal && !/^https:\/\//i.test(raw))) {
    throw new PermanentJobError(
      `Unsupported source "${raw}": use an https:// git URL or a local folder.`,
    );
  }
  if (isLocal && !spec.trustedLocal) {
    throw new PermanentJobError(
      'Local paths and file:// URLs are accepted only from the local CLI or with the local admin token.',
    );
  }
  let requestedId: string | undefined;
  let version = spec.version ?? '';
  if (spec.libraryId) {
    const parsed = parseLibraryId(spec.libraryId);
    if (!parsed)
      throw new PermanentJobError(`"${spec.libraryId}" is not a library id (/owner/name).`);
    requestedId = parsed.libraryId;
    if (parsed.version && !version) version = parsed.version;
  }
  if (isGitUrl(raw)) {
    const url = new URL(raw);
    const parts = url.pathname.split('/').filter(Boolean);
    const name = slug(parts.at(-1) ?? 'repo');
    const owner = slug(parts.at(-2) ?? url.hostname);
    return {
      kind: 'git',
      location: raw,
      libraryId: requestedId ?? `/${owner}/${name}`,
      ...(spec.name ? { title: spec.name } : {}),
      version,
    };
  }
  const path = raw.startsWith('file://') ? fileURLToPath(raw) : raw;
  if (!isAbsolute(path))
    throw new PermanentJobError(`Local source paths must be absolute: ${path}`);
  const abs = resolvePath(path);
  if (!existsSync(abs)) throw new PermanentJobError(`Docs folder not found: ${abs}`);
  return {
    kind: 'local',
    location: abs,
    libraryId: requestedId ?? `/local/${slug(basename(abs))}`,
    ...(spec.name ? { title: spec.name } : {}),
    version,
  };
}

/** Website sources: the start URL, crawled within its folder (server/indexing/sources/web.ts). */
function planWebSource(spec: SourceSpec, raw: string): PlannedSource {
  let location: string;
  try {
    location = parseWebUrl(raw);
  } catch (err) {
    throw new PermanentJobError((err as Error).message);
  }
  let libraryId = webLibraryId(location);
  let version = spec.version ?? '';
  if (spec.libraryId) {
    const parsed = parseLibraryId(spec.libraryId);
    if (!parsed)
      throw new PermanentJobError(`"${spec.libraryId}" is not a library id (/owner/name).`);
    libraryId = parsed.libraryId;
    if (parsed.version && !version) version = parsed.version;
  }
  return { kind: 'web', location, libraryId, ...(spec.name ? { title: spec.name } : {}), version };
}

/** `npm:` sources (server/indexing/sources/npm-spec.ts): registry packages, or local tarballs when trusted. */
function planNpmSource(spec: SourceSpec, raw: string): PlannedSource {
  if (isLocalNpmSource(raw) && !spec.trustedLocal) {
    throw new PermanentJobError(
      'Local npm tarballs and folders are accepted only from the local CLI or with the local admin token.',
    );
  }
  let requestedId: string | undefined;
  let version = spec.version ?? '';
  if (spec.libraryId) {
    const parsed = parseLibraryId(spec.libraryId);
    if (!parsed)
      throw new PermanentJobError(`"${spec.libraryId}" is not a library id (/owner/name).`);
    requestedId = parsed.libraryId;
    if (parsed.version && !version) version = parsed.version;
  }
  try {
    const npm = planNpm(raw, requestedId);
    return { kind: 'npm', ...npm, ...(spec.name ? { title: spec.name } : {}), version };
  } catch (err) {
    throw new PermanentJobError((err as Error).message);
  }
}

export interface OpenedSource {
  /** npm: the exact version unpacked and whether it is the `latest` dist-tag; the id it names. */
  version?: string;
  latest?: boolean;
  libraryId?: string;
  /**
   * The events include `unchanged` pages (a website's 304s) that refer to the serving version:
   * index with reuse on, so the pipeline copies them.
   */
  reuse?: boolean;
  events: AsyncIterable<SourceEvent>;
  title: string;
  description?: string;
  packageNames: string[];
  info: Record<string, unknown>;
  close(): Promise<void>;
}

function titleFromName(name: string): string {
  return name.replace(/[-_]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
}

export async function openSource(
  plan: PlannedSource,
  opts: {
    ref?: string;
    allowLocalGit: boolean;
    /** The SSRF rule for websites, git and npm; from the environment when absent (server/net). */
    guard?: FetchGuard;
    /** Lets a website re-crawl ask "changed since?" for the serving version's pages. */
    db?: Queryable;
    /** Pages a resumed job already stored: a website crawl does not fetch them again. */
    committed?: Iterable<{ path: string; url: string | null; links: string[] | null }>;
  },
): Promise<OpenedSource> {
  const guard = opts.guard ?? fetchGuardFromEnv();
  if (plan.kind === 'web') {
    const web = await openWeb(plan.location, {
      guard,
      libraryId: plan.libraryId,
      version: plan.version,
      ...(opts.db ? { db: opts.db } : {}),
      ...(opts.committed ? { committed: opts.committed } : {}),
    });
    return {
      events: web.events,
      reuse: web.conditional,
      title: plan.title ?? titleFromName(plan.libraryId.split('/')[2] ?? web.title),
      packageNames: [],
      info: { kind: 'web', url: plan.location },
      close: async () => {},
    };
  }
  if (plan.kind === 'npm') {
    // pacote fetches through the same address rule as websites and git (hosted mode: a guarded
    // agent that checks and pins every connection, redirects included).
    return openNpmSource(plan, {
      allowLocal: opts.allowLocalGit,
      pacoteOptions: npmFetchOptions(guard),
    });
  }
  if (plan.kind === 'local') {
    return {
      events: localFolderSource(plan.location),
      title: plan.title ?? titleFromName(basename(plan.location)),
      packageNames: [],
      info: { kind: 'local', path: plan.location },
      close: async () => {},
    };
  }
  // Hosted mode: resolved and checked here, and git is pinned to that address (server/net/guard.ts).
  const extraConfig = await gitPinArgs(plan.location, guard).catch((err: Error) => {
    throw new PermanentJobError(err.message);
  });
  const checkout = await openGitCheckout(plan.location, {
    allowLocal: opts.allowLocalGit,
    ...(extraConfig.length > 0 ? { extraConfig } : {}),
    ...(opts.ref ? { ref: opts.ref } : {}),
  });
  const m = checkout.metadata;
  return {
    events: checkoutSource(checkout),
    title: plan.title ?? m.projectTitle ?? titleFromName(m.repoName),
    ...((m.description ?? m.packageDescription)
      ? { description: m.description ?? m.packageDescription }
      : {}),
    packageNames: m.packageName ? [m.packageName] : [],
    info: {
      kind: 'git',
      url: checkout.url,
      commit: checkout.commit,
      ...(checkout.ref ? { ref: checkout.ref } : {}),
      // Tags the repo config lists as older versions (the engine indexes them after this one).
      ...(m.previousVersions.length ? { previousVersions: m.previousVersions } : {}),
    },
    close: () => checkout.cleanup(),
  };
}
