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
import type { SourceEvent } from './types.js';

export interface SourceSpec {
  source: string;
  name?: string;
  libraryId?: string;
  version?: string;
  ref?: string;
  trustedLocal: boolean;
}

export interface PlannedSource {
  kind: 'local' | 'git';
  /** Absolute folder for local, URL for git. */
  location: string;
  libraryId: string;
  title?: string;
  version: string;
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
  return !(NETWORK_URL.test(s) || SCP_LIKE.test(s));
}

function isGitUrl(s: string): boolean {
  return /^https:\/\//i.test(s) || /^file:\/\/.+\.git\/?$/i.test(s);
}

/** Validates a source spec and names its library; throws PermanentJobError with a clear message. */
export function planSource(spec: SourceSpec): PlannedSource {
  const raw = spec.source.trim();
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

export interface OpenedSource {
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
  opts: { ref?: string; allowLocalGit: boolean },
): Promise<OpenedSource> {
  if (plan.kind === 'local') {
    return {
      events: localFolderSource(plan.location),
      title: plan.title ?? titleFromName(basename(plan.location)),
      packageNames: [],
      info: { kind: 'local', path: plan.location },
      close: async () => {},
    };
  }
  const checkout = await openGitCheckout(plan.location, {
    allowLocal: opts.allowLocalGit,
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
    },
    close: () => checkout.cleanup(),
  };
}
