import { sep } from 'node:path';
import type { PageFormat } from '../types.js';

/** Options shared by every file-based source (local folder, git checkout). */
export interface SourceOptions {
  /**
   * Folders or files (relative to the root, forward slashes) to index instead of the whole root.
   * A missing entry yields a skip event.
   */
  include?: string[];
  /**
   * Folder patterns to leave out, with Context7's `excludeFolders` semantics: `name` matches a
   * folder of that name at any depth, `./name` only at the root, `a/b` that path from the root,
   * and patterns with `*`, `?`, `[...]` or `{a,b}` are globs (matched against the relative path,
   * or against the bare name when the pattern has no `/`); globs also apply to files.
   */
  exclude?: string[];
  /** File names (not paths) to leave out, e.g. `CHANGELOG.md`; globs allowed (`*.test.md`). */
  excludeFiles?: string[];
  /** Files larger than this are skipped. Default {@link DEFAULT_MAX_FILE_BYTES}. */
  maxFileBytes?: number;
  /** Stop (with a skip event) once this many documentation files were seen. Default {@link DEFAULT_MAX_FILES}. */
  maxFiles?: number;
  /** When set, each page gets `url = baseUrl + path` (path segments URI-encoded). */
  baseUrl?: string;
}

/** Default cap on one file's size: 2 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024;
/** Default cap on documentation files per source. */
export const DEFAULT_MAX_FILES = 20_000;

const FORMAT_BY_EXTENSION: Readonly<Record<string, PageFormat>> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.mdx': 'mdx',
  '.txt': 'text',
  '.rst': 'rst',
  '.html': 'html',
  '.htm': 'html',
};

// Documentation-like formats we cannot parse yet: worth a skip event so an operator sees why a
// library came out thin. Everything else (images, css, js, fonts, json, ...) is ignored silently.
const UNSUPPORTED_DOC_EXTENSIONS = new Set([
  '.adoc',
  '.asciidoc',
  '.org',
  '.ipynb',
  '.textile',
  '.rdoc',
  '.pod',
  '.pdf',
  '.docx',
  '.odt',
]);

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  // A leading dot is a hidden file name, not an extension.
  return dot > 0 ? name.slice(dot).toLowerCase() : '';
}

/** Page format for a file name, or undefined when it is not a documentation file we read. */
export function formatForPath(name: string): PageFormat | undefined {
  return FORMAT_BY_EXTENSION[extensionOf(name)];
}

/** True for documentation formats we recognise but cannot parse (AsciiDoc, notebooks, PDF, ...). */
export function isUnsupportedDocPath(name: string): boolean {
  return UNSUPPORTED_DOC_EXTENSIONS.has(extensionOf(name));
}

/**
 * Whether `candidate` is `root` itself or lies under it. Both must already be absolute and
 * resolved (use `realpath` on both to account for symlinks); this compares strings only, with a
 * separator so that `/docs-evil` is not inside `/docs`.
 */
export function isPathInside(root: string, candidate: string): boolean {
  if (candidate === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return candidate.startsWith(prefix);
}

/**
 * Normalises a user-given relative path (`./docs/`, `docs\\api`) to `docs/api`. Returns undefined
 * for absolute paths and anything with a `..` segment, which could leave the root.
 */
export function normalizeRelativePath(input: string): string | undefined {
  const slashed = input.trim().replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-zA-Z]:/.test(slashed)) return undefined;
  const segments = slashed.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return undefined;
  return segments.join('/');
}

/** Joins a base URL and a relative page path, URI-encoding each path segment. */
export function pageUrl(baseUrl: string, path: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  return base + path.split('/').map(encodeURIComponent).join('/');
}
