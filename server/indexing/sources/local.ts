import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SourceEvent } from '../types.js';
import { compileExcludes, type ExcludeMatcher } from './exclude.js';
import {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_FILES,
  formatForPath,
  isPathInside,
  isUnsupportedDocPath,
  normalizeRelativePath,
  pageUrl,
  type SourceOptions,
} from './options.js';
import { readDocFile } from './read-file.js';

export { isPathInside, type SourceOptions } from './options.js';

interface WalkContext {
  /** realpath of the root: every file read must resolve inside it. */
  realRoot: string;
  excludes: ExcludeMatcher;
  maxFileBytes: number;
  maxFiles: number;
  baseUrl?: string;
  /** Relative paths already handled, so overlapping `include` entries yield each page once. */
  seen: Set<string>;
  filesSeen: number;
  stopped: boolean;
}

// Never documentation, and potentially huge; dot folders also hide VCS and tool state.
const SKIPPED_FOLDER_NAMES = new Set(['node_modules', '.git']);

function isSkippedFolderName(name: string): boolean {
  return SKIPPED_FOLDER_NAMES.has(name) || name.startsWith('.');
}

function skip(path: string, reason: string): SourceEvent {
  return { kind: 'skip', path, reason };
}

function baseName(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf('/') + 1);
}

// Code-unit order rather than localeCompare: identical on every machine and locale.
function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function errorCode(err: unknown): string {
  return err instanceof Error && 'code' in err && typeof err.code === 'string'
    ? err.code
    : String(err);
}

async function* visitFile(
  ctx: WalkContext,
  rel: string,
  absPath: string,
): AsyncGenerator<SourceEvent> {
  const name = baseName(rel);
  if (ctx.excludes.file(rel)) return;
  const format = formatForPath(name);
  if (!format) {
    if (isUnsupportedDocPath(name)) yield skip(rel, 'unsupported documentation format');
    return;
  }
  // Entries from readdir never contain `..`, but a path built any other way must not climb out.
  if (rel.split('/').includes('..')) {
    yield skip(rel, 'path contains a ".." segment');
    return;
  }
  if (ctx.seen.has(rel)) return;
  ctx.seen.add(rel);
  if (ctx.filesSeen >= ctx.maxFiles) {
    ctx.stopped = true;
    yield skip(
      rel,
      `file limit of ${ctx.maxFiles} reached (maxFiles); remaining files not indexed`,
    );
    return;
  }
  ctx.filesSeen++;
  const result = await readDocFile(absPath, ctx.maxFileBytes);
  if (!result.ok) {
    yield skip(rel, result.reason);
    return;
  }
  yield {
    kind: 'page',
    page: {
      path: rel,
      ...(ctx.baseUrl !== undefined ? { url: pageUrl(ctx.baseUrl, rel) } : {}),
      format,
      text: result.text,
    },
  };
}

async function* visitSymlink(ctx: WalkContext, rel: string): AsyncGenerator<SourceEvent> {
  const name = baseName(rel);
  const docLike = formatForPath(name) !== undefined || isUnsupportedDocPath(name);
  let target: string;
  try {
    target = await realpath(join(ctx.realRoot, rel));
  } catch {
    if (docLike) yield skip(rel, 'broken symlink');
    return;
  }
  if (!isPathInside(ctx.realRoot, target)) {
    yield skip(rel, 'symlink points outside the docs root; refused');
    return;
  }
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    yield skip(rel, `cannot read symlink target (${errorCode(err)})`);
    return;
  }
  // Folder links inside the root are not followed: their target is walked at its own path, and
  // following them could loop or index the same pages twice.
  if (info.isFile()) yield* visitFile(ctx, rel, target);
}

async function* walkFolder(ctx: WalkContext, relDir: string): AsyncGenerator<SourceEvent> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(ctx.realRoot, relDir), { withFileTypes: true });
  } catch (err) {
    yield skip(relDir, `cannot read folder (${errorCode(err)})`);
    return;
  }
  entries.sort(byName);
  for (const entry of entries) {
    if (ctx.stopped) return;
    const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (isSkippedFolderName(entry.name) || ctx.excludes.folder(rel)) continue;
      yield* walkFolder(ctx, rel);
    } else if (entry.isSymbolicLink()) {
      if (isSkippedFolderName(entry.name) || ctx.excludes.folder(rel)) continue;
      yield* visitSymlink(ctx, rel);
    } else if (entry.isFile()) {
      yield* visitFile(ctx, rel, join(ctx.realRoot, rel));
    }
    // Sockets, FIFOs and devices are never documentation (and opening a FIFO would block).
  }
}

/** Why an explicitly included path must be refused, if it must. */
function includeRefusal(ctx: WalkContext, rel: string): string | undefined {
  const segments = rel.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    const prefix = segments.slice(0, i + 1).join('/');
    // Dot folders may be included on purpose (`.vitepress`), but never VCS state or dependencies.
    if (SKIPPED_FOLDER_NAMES.has(segment)) return `"${segment}" folders are never indexed`;
    if (i < segments.length - 1 && ctx.excludes.folder(prefix)) {
      return `inside the excluded folder "${prefix}"`;
    }
  }
  return undefined;
}

async function* visitInclude(ctx: WalkContext, raw: string): AsyncGenerator<SourceEvent> {
  const rel = normalizeRelativePath(raw);
  if (rel === undefined) {
    yield skip(raw, 'include path must be relative to the root, without ".." segments');
    return;
  }
  if (rel === '') {
    yield* walkFolder(ctx, '');
    return;
  }
  const refusal = includeRefusal(ctx, rel);
  if (refusal) {
    yield skip(rel, `include path refused: ${refusal}`);
    return;
  }
  let target: string;
  try {
    await lstat(join(ctx.realRoot, rel));
    target = await realpath(join(ctx.realRoot, rel));
  } catch (err) {
    yield skip(
      rel,
      errorCode(err) === 'ENOENT' ? 'include path not found' : 'include path unreadable',
    );
    return;
  }
  if (!isPathInside(ctx.realRoot, target)) {
    yield skip(rel, 'include path resolves outside the docs root; refused');
    return;
  }
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    yield skip(rel, `include path unreadable (${errorCode(err)})`);
    return;
  }
  if (info.isDirectory()) {
    if (!ctx.excludes.folder(rel)) yield* walkFolder(ctx, rel);
  } else if (info.isFile()) {
    yield* visitFile(ctx, rel, target);
  }
}

/**
 * Walks a documentation folder and yields its pages in a deterministic (code-unit sorted,
 * depth-first) order, with a skip event for each documentation file it cannot use and why:
 * binary, too large, not UTF-8, a symlink leaving the root, past `maxFiles`. Non-documentation
 * files (images, styles, scripts, ...) are ignored silently, as are `node_modules`, `.git` and
 * dot folders. Throws when `root` is not a readable folder.
 */
export async function* localFolderSource(
  root: string,
  opts: SourceOptions = {},
): AsyncGenerator<SourceEvent> {
  let realRoot: string;
  try {
    realRoot = await realpath(resolve(root));
  } catch (err) {
    throw new Error(`Docs folder not found or unreadable: ${root} (${errorCode(err)})`);
  }
  if (!(await stat(realRoot)).isDirectory()) throw new Error(`Docs root is not a folder: ${root}`);

  const ctx: WalkContext = {
    realRoot,
    excludes: compileExcludes(opts.exclude, opts.excludeFiles),
    maxFileBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    maxFiles: opts.maxFiles ?? DEFAULT_MAX_FILES,
    ...(opts.baseUrl !== undefined ? { baseUrl: opts.baseUrl } : {}),
    seen: new Set(),
    filesSeen: 0,
    stopped: false,
  };
  // Sorted so the page order does not depend on how a config happened to list its folders.
  const includes =
    opts.include && opts.include.length > 0 ? [...new Set(opts.include)].sort() : [''];
  for (const include of includes) {
    yield* visitInclude(ctx, include);
    if (ctx.stopped) return;
  }
}
