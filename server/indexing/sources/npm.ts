/**
 * `npm:` sources: a published package (or, for trusted local callers, a tarball or package folder)
 * fetched with pacote under the user's npm configuration, unpacked safely (npm-tar.ts), and read as
 * its README/CHANGELOG, its docs folders, and an API reference generated from its declaration files.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pacote from 'pacote';
import { typesEntries } from '../api-ref/entries.js';
import { apiReferencePages } from '../api-ref/run.js';
import { PermanentJobError } from '../../jobs/runner.js';
import type { SourceEvent } from '../types.js';
import { localFolderSource } from './local.js';
import { npmConfigOptions, npmLibraryId, parseNpmSpec, type NpmSpec } from './npm-spec.js';
import { DEFAULT_TAR_LIMITS, TarballRefused, unpackTarball, type TarLimits } from './npm-tar.js';
import { formatForPath } from './options.js';

export interface NpmSourceOptions {
  /** Permit `npm:file:` tarballs and folders (trusted local callers only). */
  allowLocal: boolean;
  /** Parent folder for the unpacked package. Default: the OS temp folder. */
  workDir?: string;
  limits?: Partial<TarLimits>;
  /** API reference symbols per package (see extract.ts). */
  maxSymbols?: number;
  /** Environment the npm configuration is read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Extra pacote options (tests: a private cache folder). */
  pacoteOptions?: Record<string, unknown>;
}

/** An unpacked package; call `cleanup()` when done (idempotent). */
export interface NpmPackage {
  spec: NpmSpec;
  /** Package root on disk. */
  dir: string;
  name: string;
  /** The exact version unpacked (`5.6.2`). */
  version: string;
  description?: string;
  /** True when `version` is the package's `latest` dist-tag (always for local tarballs). */
  isLatest: boolean;
  /** Where pacote fetched it from and its integrity, when known. */
  resolved?: string;
  integrity?: string;
  /** package.json as published. */
  manifest: Record<string, unknown>;
  /** Package-relative files unpacked. */
  files: Set<string>;
  /** Entries passed over while unpacking, and why. */
  skipped: { path: string; reason: string }[];
  cleanup(): Promise<void>;
}

const DECLARATION = /\.d\.(?:ts|mts|cts)$/;
const ROOT_DOC = /^(?:readme|changelog|history|changes)(?:\.[a-z]+)?$/i;
const DOC_FOLDERS = new Set(['docs', 'doc', 'documentation']);

/**
 * What is worth unpacking: package.json, declaration files, root README/CHANGELOG and the docs
 * folders' documentation files. Bundled dependencies (`node_modules/`) never.
 */
export function wantedInPackage(path: string): boolean {
  const segments = path.split('/');
  if (segments.includes('node_modules')) return false;
  const name = segments.at(-1) ?? '';
  if (path === 'package.json') return true;
  if (DECLARATION.test(name)) return true;
  if (formatForPath(name) === undefined) return false;
  if (segments.length === 1) return ROOT_DOC.test(name);
  return DOC_FOLDERS.has(segments[0]!.toLowerCase());
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/**
 * Resolves and unpacks a package. Registry specs are resolved to an exact version through the
 * packument (dist-tags say whether it is `latest`); the tarball is streamed through pacote, which
 * checks its integrity, into {@link unpackTarball}. On failure the folder is removed first.
 */
export async function openNpmPackage(source: string, opts: NpmSourceOptions): Promise<NpmPackage> {
  const spec = parseNpmSpec(source);
  if (spec.kind === 'file' && !opts.allowLocal) {
    throw new Error('Local npm tarballs and folders are accepted only from trusted local callers.');
  }
  const limits = { ...DEFAULT_TAR_LIMITS, ...opts.limits };
  const pacoteOpts = {
    ...npmConfigOptions(opts.env),
    packumentCache: new Map(),
    ...opts.pacoteOptions,
  };
  let fetchSpec = spec.pacoteSpec;
  let resolvedName: string | undefined;
  let resolvedVersion: string | undefined;
  let isLatest = true;
  let resolved: string | undefined;
  let integrity: string | undefined;
  if (spec.kind === 'registry') {
    const manifest = await pacote.manifest(spec.pacoteSpec, pacoteOpts);
    resolvedName = manifest.name;
    resolvedVersion = manifest.version;
    resolved = manifest._resolved;
    integrity = manifest._integrity;
    const unpacked = (manifest.dist as { unpackedSize?: number } | undefined)?.unpackedSize;
    if (typeof unpacked === 'number' && unpacked > limits.maxTotalBytes) {
      throw new TarballRefused(
        `${manifest.name}@${manifest.version} unpacks to ${unpacked} bytes, over the ${limits.maxTotalBytes}-byte cap`,
      );
    }
    const packument = await pacote.packument(spec.name, pacoteOpts);
    isLatest = packument['dist-tags']?.latest === manifest.version;
    fetchSpec = `${manifest.name}@${manifest.version}`;
  }

  const tempDir = await mkdtemp(join(opts.workDir ?? tmpdir(), 'twinmcp-npm-'));
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await rm(tempDir, { recursive: true, force: true });
  };
  try {
    const dir = join(tempDir, 'package');
    // pacote may call the handler again after a failed attempt (a cache miss, a dropped
    // connection): each call starts afresh. The error listener goes on before anything else runs,
    // since pacote's stream emits errors with nobody listening otherwise (and crashes the process).
    const result = await pacote.tarball.stream(
      fetchSpec,
      (stream) => {
        const input = new PassThrough();
        stream.on('error', (err: Error) => input.destroy(err));
        stream.pipe(input);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
        return unpackTarball(input, dir, wantedInPackage, limits);
      },
      { ...pacoteOpts, ...(integrity ? { integrity } : {}), ...(resolved ? { resolved } : {}) },
    );
    const files = new Set(result.files);
    let manifest: Record<string, unknown> = {};
    if (files.has('package.json')) {
      try {
        const parsed: unknown = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
        if (parsed && typeof parsed === 'object') manifest = parsed as Record<string, unknown>;
      } catch {
        result.skipped.push({ path: 'package.json', reason: 'not valid JSON' });
      }
    }
    const name = resolvedName ?? str(manifest.name);
    const version = resolvedVersion ?? str(manifest.version);
    if (!name || !version) {
      throw new Error(`${source}: the package has no package.json with a name and a version`);
    }
    const description = str(manifest.description);
    return {
      spec,
      dir,
      name,
      version,
      ...(description ? { description } : {}),
      isLatest,
      ...(spec.kind === 'file' ? { resolved: spec.path } : resolved ? { resolved } : {}),
      ...(integrity ? { integrity } : {}),
      manifest,
      files,
      skipped: result.skipped,
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Pages of an unpacked package: unpacking skips, then the README/CHANGELOG and docs folders (the
 * local-folder reader, with its own caps), then one API reference page per exported symbol.
 * Does not clean up.
 */
export async function* npmPackageSource(
  pkg: NpmPackage,
  opts: Pick<NpmSourceOptions, 'maxSymbols'> = {},
): AsyncGenerator<SourceEvent> {
  for (const s of pkg.skipped) yield { kind: 'skip', ...s };
  const include = [...pkg.files].filter((f) => f !== 'package.json' && !DECLARATION.test(f));
  if (include.length > 0) yield* localFolderSource(pkg.dir, { include });

  const { entries, skipped } = typesEntries(pkg.manifest, (p) => pkg.files.has(p));
  for (const s of skipped) yield { kind: 'skip', ...s };
  if (entries.length === 0) {
    yield {
      kind: 'skip',
      path: 'package.json',
      reason: `no TypeScript declarations in the package (they may be published as @types/${pkg.name.replace(/^@([^/]+)\//, '$1__')})`,
    };
    return;
  }
  const api = await apiReferencePages(pkg.dir, pkg.name, entries, opts.maxSymbols);
  for (const s of api.skipped) yield { kind: 'skip', ...s };
  for (const page of api.pages) yield { kind: 'page', page };
}

/** What the engine needs to index an `npm:` source (the OpenedSource shape of source-spec.ts). */
export interface OpenedNpmSource {
  events: AsyncIterable<SourceEvent>;
  title: string;
  description?: string;
  packageNames: string[];
  info: Record<string, unknown>;
  /** The exact version unpacked, unless the caller named a version label. */
  version: string;
  /** Whether this is the `latest` dist-tag. */
  latest: boolean;
  /** The package's own library id, when the plan's was a stand-in. */
  libraryId?: string;
  close(): Promise<void>;
}

/** Opens a planned `npm:` source: resolves, unpacks, and names what the pipeline will store. */
export async function openNpmSource(
  plan: { location: string; title?: string; version: string; idFromSource?: boolean },
  opts: NpmSourceOptions,
): Promise<OpenedNpmSource> {
  let pkg: NpmPackage;
  try {
    pkg = await openNpmPackage(plan.location, opts);
  } catch (err) {
    // A missing package or version, a refused tarball: retrying cannot help. Network trouble can.
    const code = (err as { code?: unknown }).code;
    const transient =
      typeof code === 'string' &&
      /^(?:ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|EHOST|ENET|E5\d\d$|E429$)/.test(code);
    throw transient ? err : new PermanentJobError((err as Error).message);
  }
  return {
    events: npmPackageSource(pkg, opts),
    title: plan.title ?? pkg.name,
    ...(pkg.description ? { description: pkg.description } : {}),
    packageNames: [pkg.name],
    info: {
      kind: 'npm',
      // What refresh re-resolves: a range or tag may lead to a newer version next time.
      spec: plan.location,
      name: pkg.name,
      version: pkg.version,
      ...(pkg.resolved ? { resolved: pkg.resolved } : {}),
      ...(pkg.integrity ? { integrity: pkg.integrity } : {}),
    },
    version: plan.version || pkg.version,
    latest: pkg.isLatest,
    ...(plan.idFromSource ? { libraryId: npmLibraryId(pkg.name) } : {}),
    close: () => pkg.cleanup(),
  };
}
