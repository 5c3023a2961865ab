import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { formatForPath, normalizeRelativePath } from './options.js';

/** Config file names read at a repository root, in order of preference. */
export const REPO_CONFIG_FILES = ['twinmcp.json', 'context7.json'] as const;

// Config files are tiny; a cap keeps a hostile repo from making us parse megabytes of JSON.
const MAX_CONFIG_BYTES = 256 * 1024;

const stringList = z.array(z.string().trim().min(1).max(500)).max(1000);

/**
 * Context7's `context7.json` fields (the same format is accepted as `twinmcp.json`).
 * Unknown keys (`$schema`, `url`, `public_key`, ...) are ignored.
 */
export const repoConfigSchema = z.object({
  projectTitle: z.string().trim().min(1).max(200).optional(),
  description: z.string().trim().min(1).max(2000).optional(),
  /** Branch Context7 parses; recorded only, the caller picks the ref before cloning. */
  branch: z.string().trim().min(1).max(250).optional(),
  folders: stringList.optional(),
  excludeFolders: stringList.optional(),
  excludeFiles: stringList.optional(),
  rules: z.array(z.string().trim().min(1).max(2000)).max(200).optional(),
  previousVersions: z
    .array(z.object({ tag: z.string().trim().min(1).max(250) }))
    .max(500)
    .optional(),
});

/** A parsed repository config; every field optional. */
export type RepoConfig = z.infer<typeof repoConfigSchema>;

/** Result of {@link loadRepoConfig}: problems are reported as a warning, never thrown. */
export interface LoadedRepoConfig {
  config: RepoConfig;
  /** The config file name that was read, when one exists. */
  file?: string;
  /** Why (part of) the config was ignored; the caller reports it and goes on with defaults. */
  warning?: string;
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/**
 * Validates a parsed config value field by field, so one malformed field (say `rules` given as a
 * string) drops only that field, with a warning naming it.
 */
export function parseRepoConfig(value: unknown, file = 'config'): LoadedRepoConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { config: {}, file, warning: `${file}: expected a JSON object; using defaults` };
  }
  const input = value as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, schema] of Object.entries(repoConfigSchema.shape)) {
    if (input[key] === undefined) continue;
    const result = schema.safeParse(input[key]);
    if (result.success) config[key] = result.data;
    else problems.push(`"${key}" ${result.error.issues[0]?.message ?? 'is invalid'}`);
  }
  // Re-parse the accepted subset so the result is typed by the schema rather than by a cast.
  const parsed = repoConfigSchema.parse(config);
  return problems.length > 0
    ? { config: parsed, file, warning: `${file}: ignored invalid fields: ${problems.join('; ')}` }
    : { config: parsed, file };
}

/**
 * Reads `twinmcp.json` (preferred) or `context7.json` at `dir`. A missing file gives an empty
 * config; an unreadable, oversized, symlinked or invalid file gives defaults plus a warning.
 */
export async function loadRepoConfig(dir: string): Promise<LoadedRepoConfig> {
  for (const file of REPO_CONFIG_FILES) {
    const path = join(dir, file);
    let info;
    try {
      info = await lstat(path);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') continue;
      return {
        config: {},
        file,
        warning: `${file}: unreadable (${errorCode(err) ?? 'error'}); using defaults`,
      };
    }
    // A symlinked config could point anywhere on this machine; the parse error would echo it.
    if (!info.isFile()) {
      return { config: {}, file, warning: `${file}: not a regular file; using defaults` };
    }
    if (info.size > MAX_CONFIG_BYTES) {
      return {
        config: {},
        file,
        warning: `${file}: larger than ${MAX_CONFIG_BYTES} bytes; using defaults`,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''));
    } catch (err) {
      const detail = err instanceof SyntaxError ? err.message : (errorCode(err) ?? 'read error');
      return { config: {}, file, warning: `${file}: invalid JSON (${detail}); using defaults` };
    }
    return parseRepoConfig(json, file);
  }
  return { config: {} };
}

/** Which parts of a repository to index, derived from its config or its layout. */
export interface DocsPlan {
  /** Folders and files to index, relative to the repo root; empty means the whole repo. */
  include: string[];
  exclude: string[];
  excludeFiles: string[];
  /** `config`: the config's `folders`; `detected`: a conventional docs folder; `whole-repo`: neither. */
  mode: 'config' | 'detected' | 'whole-repo';
  /** Config folders dropped because they were absolute or climbed out with `..`. */
  rejectedFolders: string[];
}

/** Conventional documentation folders, most specific first; the first one present wins. */
export const DOCS_FOLDER_CANDIDATES = ['docs', 'doc', 'website/docs', 'website', 'documentation'];

/**
 * Folders left out when indexing a whole repository: tests and build output are not docs.
 * `examples` is kept on purpose: example code is what assistants look for.
 */
export const WHOLE_REPO_EXCLUDES = [
  'test',
  'tests',
  '__tests__',
  '__mocks__',
  '__fixtures__',
  'fixtures',
  'coverage',
  'dist',
  'vendor',
];

/** Project-process files that are not usage documentation, left out of whole-repo indexing. */
export const WHOLE_REPO_EXCLUDE_FILES = [
  'CHANGELOG.md',
  'CHANGES.md',
  'HISTORY.md',
  'CODE_OF_CONDUCT.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  'LICENSE.md',
];

async function isRealFolder(path: string): Promise<boolean> {
  try {
    // lstat: a `docs` symlink is not followed; the walker would refuse it if it leaves the root.
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Root README files in a documentation format (`README.md`, `readme.rst`, ...), sorted. */
export async function findRootReadmes(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /^readme\./i.test(e.name) && formatForPath(e.name) !== undefined)
    .map((e) => e.name)
    .sort();
}

/**
 * Chooses what to index in a checkout: the config's `folders` when given; otherwise the first
 * conventional docs folder plus the root README(s); otherwise the whole repo minus tests and
 * build output. Config exclusions always apply.
 */
export async function planDocs(dir: string, config: RepoConfig): Promise<DocsPlan> {
  const exclude = [...(config.excludeFolders ?? [])];
  const rejectedFolders: string[] = [];
  const folders: string[] = [];
  for (const folder of config.folders ?? []) {
    const rel = normalizeRelativePath(folder);
    if (rel === undefined) rejectedFolders.push(folder);
    else folders.push(rel);
  }
  if (folders.length > 0) {
    return {
      include: [...new Set(folders)],
      exclude,
      excludeFiles: [...(config.excludeFiles ?? [])],
      mode: 'config',
      rejectedFolders,
    };
  }
  for (const candidate of DOCS_FOLDER_CANDIDATES) {
    if (await isRealFolder(join(dir, candidate))) {
      return {
        include: [candidate, ...(await findRootReadmes(dir))],
        exclude,
        excludeFiles: [...(config.excludeFiles ?? [])],
        mode: 'detected',
        rejectedFolders,
      };
    }
  }
  return {
    include: [],
    exclude: [...WHOLE_REPO_EXCLUDES, ...exclude],
    excludeFiles: config.excludeFiles ? [...config.excludeFiles] : [...WHOLE_REPO_EXCLUDE_FILES],
    mode: 'whole-repo',
    rejectedFolders,
  };
}
