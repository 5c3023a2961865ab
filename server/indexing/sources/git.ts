import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { devNull, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { SourceEvent } from '../types.js';
import { localFolderSource } from './local.js';
import type { SourceOptions } from './options.js';
import { loadRepoConfig, planDocs, type DocsPlan, type RepoConfig } from './repo-config.js';

const execFileAsync = promisify(execFile);

/** Default time limit for one git command: 5 minutes. */
export const DEFAULT_GIT_TIMEOUT_MS = 5 * 60 * 1000;
/** Default cap on the checked-out tree (sum of blob sizes): 500 MiB. */
export const DEFAULT_MAX_CHECKOUT_BYTES = 500 * 1024 * 1024;

/** How to reach a repository and what git may do while cloning it. */
export interface GitAccessOptions {
  /** Permit `file://` URLs and local paths (tests, trusted admin setups). Off for user input. */
  allowLocal: boolean;
  /** Time limit per git command in ms. Default {@link DEFAULT_GIT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /**
   * Extra `-c name=value` arguments for every git command: the SSRF pin from
   * server/net/guard.ts `gitPinArgs` (`http.curloptResolve`, no redirects).
   */
  extraConfig?: string[];
}

/** Options of {@link openGitCheckout} and {@link gitSource}. */
export interface GitSourceOptions extends GitAccessOptions, SourceOptions {
  /** Branch, tag or full commit sha; the remote's default branch when absent. */
  ref?: string;
  /** Parent folder for the temporary clone. Default: the OS temp folder. */
  workDir?: string;
  /** Fetch tags pointing at the cloned commit (off: `--no-tags`). */
  tags?: boolean;
  /** Refuse repositories whose tree is larger than this. Default {@link DEFAULT_MAX_CHECKOUT_BYTES}. */
  maxCheckoutBytes?: number;
}

/** What a pipeline needs to name a library before reading its pages. */
export interface GitRepoMetadata {
  /** Repository name from the URL (`fastify` for `https://github.com/fastify/fastify.git`). */
  repoName: string;
  /** Owner segment for `https://host/owner/repo` URLs. */
  owner?: string;
  /** `name` and `description` of a root `package.json`, when present and valid. */
  packageName?: string;
  packageDescription?: string;
  /** From the repo config (`twinmcp.json` / `context7.json`). */
  projectTitle?: string;
  description?: string;
  rules: string[];
  /** Tags listed in the config's `previousVersions`. */
  previousVersions: string[];
}

/** A cloned repository on disk; call `cleanup()` when done (idempotent). */
export interface GitCheckout {
  /** Checkout folder (the repo root). */
  dir: string;
  /** The URL handed to git (local paths become `file://` URLs). */
  url: string;
  /** Full sha of the checked-out commit. */
  commit: string;
  /** The requested ref, if any. */
  ref?: string;
  config: RepoConfig;
  /** Config file that was read, and why part or all of it was ignored. */
  configFile?: string;
  configWarning?: string;
  plan: DocsPlan;
  /** Folders and files indexed, relative to the repo root (empty: the whole repo). */
  docsRoots: string[];
  /** Base for page URLs (GitHub blob URLs); undefined for other hosts. */
  baseUrl?: string;
  metadata: GitRepoMetadata;
  cleanup(): Promise<void>;
}

/** A validated repository location: the URL git gets and its kind. */
export interface ParsedGitUrl {
  kind: 'https' | 'file';
  url: string;
}

/**
 * Validates a repository URL before git sees it. Accepts `https://` URLs (without embedded
 * credentials); `file://` URLs and local paths only with `allowLocal` (a path becomes a `file://`
 * URL, so `--depth` applies). Refuses option-like values (`--upload-pack=...`), transport helpers
 * (`ext::...`), `ssh://`, `git://`, `http://` and scp-style `host:path`, with a clear Error.
 */
export function parseGitUrl(input: string, allowLocal: boolean): ParsedGitUrl {
  if (input.length === 0) throw new Error('Git URL is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(input)) {
    throw new Error('Git URL must not contain whitespace or control characters');
  }
  if (input.startsWith('-')) {
    throw new Error(`Git URL must not start with "-" (git would read it as an option): ${input}`);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(input)) {
    throw new Error(`Git transport helpers ("name::address") are not allowed: ${input}`);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(input)?.[1]?.toLowerCase();
  if (scheme === 'https') {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new Error(`Invalid https URL: ${input}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new Error('Git URLs with embedded credentials are not supported');
    }
    if (url.hostname === '') throw new Error(`Git URL has no host: ${input}`);
    return { kind: 'https', url: url.href };
  }
  if (scheme === 'file') {
    if (!allowLocal) {
      throw new Error(
        `file:// URLs are refused unless local sources are allowed (allowLocal): ${input}`,
      );
    }
    let url: URL;
    try {
      url = new URL(input);
      fileURLToPath(url); // rejects file://remote-host/... and malformed paths
    } catch {
      throw new Error(`Invalid file:// URL: ${input}`);
    }
    return { kind: 'file', url: url.href };
  }
  if (scheme !== undefined) {
    throw new Error(`Only https:// git URLs are supported (got ${scheme}://)`);
  }
  // `host:path` and `user@host:path` are scp-style SSH; a colon before any slash marks them.
  if (/^[^/]*:/.test(input)) {
    throw new Error(`SSH-style git URLs (host:path) are not supported; use https://: ${input}`);
  }
  if (!allowLocal) {
    throw new Error(
      `Local repository paths are refused unless local sources are allowed (allowLocal): ${input}`,
    );
  }
  return { kind: 'file', url: pathToFileURL(resolve(input)).href };
}

const COMMIT_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

function validateRef(ref: string): void {
  // A subset of git's ref rules that is enough to keep refs from being read as options or paths.
  if (
    ref.length === 0 ||
    ref.length > 250 ||
    ref.startsWith('-') ||
    ref.includes('..') ||
    ref.endsWith('/') ||
    ref.endsWith('.lock') ||
    !/^[A-Za-z0-9._/+@-]+$/.test(ref)
  ) {
    throw new Error(`Invalid git ref: ${JSON.stringify(ref)}`);
  }
}

// Variables that could redirect or weaken git (GIT_DIR, GIT_SSL_NO_VERIFY, GIT_ASKPASS, ...) are
// dropped from the inherited environment; CA settings stay so corporate proxies keep working.
const KEPT_GIT_VARIABLES = new Set(['GIT_SSL_CAINFO', 'GIT_SSL_CAPATH']);

function gitEnv(allowFile: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('GIT_') && !KEPT_GIT_VARIABLES.has(key)) continue;
    if (key === 'SSH_ASKPASS') continue;
    env[key] = value;
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    // User config could rewrite URLs (insteadOf), add credential helpers or LFS filters.
    GIT_CONFIG_GLOBAL: devNull,
    // Overrides protocol.* config, so even a config we did not foresee cannot widen it.
    GIT_ALLOW_PROTOCOL: allowFile ? 'https:file' : 'https',
    GIT_PROTOCOL_FROM_USER: '0',
    GIT_LFS_SKIP_SMUDGE: '1',
  };
}

function gitConfigArgs(allowFile: boolean): string[] {
  const config = [
    'protocol.allow=never',
    'protocol.https.allow=always',
    ...(allowFile ? ['protocol.file.allow=always'] : []),
    // No hook, fsmonitor or credential helper of any repo or user may run.
    `core.hooksPath=${devNull}`,
    'core.fsmonitor=false',
    'credential.helper=',
    'submodule.recurse=false',
    'advice.detachedHead=false',
    // core.symlinks keeps git's default (real symlinks): the folder walker resolves each link and
    // refuses those leaving the checkout, reporting them, where plain-file links would be indexed
    // as junk pages holding a path.
  ];
  return config.flatMap((entry) => ['-c', entry]);
}

interface RunGitOptions {
  cwd?: string;
  allowFile: boolean;
  timeoutMs: number;
  extraConfig?: string[];
}

function failureDetail(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as {
      killed?: boolean;
      signal?: string | null;
      stderr?: unknown;
      message?: unknown;
    };
    if (e.killed || e.signal === 'SIGKILL') return 'timed out';
    if (typeof e.stderr === 'string' && e.stderr.trim() !== '') {
      // The last lines carry git's `fatal:` reason; earlier ones are progress noise.
      return e.stderr.trim().split('\n').slice(-3).join(' | ');
    }
    if (typeof e.message === 'string') return e.message;
  }
  return String(err);
}

async function runGit(args: string[], opts: RunGitOptions): Promise<string> {
  try {
    const { stdout } = await execFileAsync(
      'git',
      [...gitConfigArgs(opts.allowFile), ...(opts.extraConfig ?? []), ...args],
      {
        ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
        env: gitEnv(opts.allowFile),
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        windowsHide: true,
        encoding: 'utf8',
      },
    );
    return stdout;
  } catch (err) {
    const command = args.find((a) => !a.startsWith('-')) ?? 'command';
    throw new Error(`git ${command} failed: ${failureDetail(err)}`);
  }
}

/** Sum of blob sizes in a commit's tree, without checking it out. */
async function treeSize(
  dir: string,
  commit: string,
  run: Omit<RunGitOptions, 'cwd'>,
): Promise<number> {
  const out = await runGit(['ls-tree', '-r', '-l', '-z', commit], { ...run, cwd: dir });
  let total = 0;
  for (const record of out.split('\0')) {
    // "<mode> <type> <object> <size>\t<path>"; size is "-" for submodule entries.
    const size = Number(/^\S+ blob \S+ +(\d+)\t/.exec(record)?.[1] ?? 0);
    total += size;
  }
  return total;
}

/** `https://github.com/o/r(.git)` → `https://github.com/o/r/blob/<ref>/`; undefined for other hosts. */
export function githubBlobBase(url: string, refOrCommit: string): string | undefined {
  const parsed = new URL(url);
  if (parsed.hostname !== 'github.com' && parsed.hostname !== 'www.github.com') return undefined;
  const segments = parsed.pathname.split('/').filter((s) => s !== '');
  if (segments.length !== 2) return undefined;
  const [owner, repo] = segments as [string, string];
  const ref = refOrCommit.split('/').map(encodeURIComponent).join('/');
  return `https://github.com/${owner}/${repo.replace(/\.git$/, '')}/blob/${ref}/`;
}

function repoNameParts(parsed: ParsedGitUrl): { repoName: string; owner?: string } {
  if (parsed.kind === 'file')
    return { repoName: basename(fileURLToPath(parsed.url)).replace(/\.git$/, '') };
  const segments = new URL(parsed.url).pathname.split('/').filter((s) => s !== '');
  const repoName = (segments.at(-1) ?? new URL(parsed.url).hostname).replace(/\.git$/, '');
  const owner = segments.length >= 2 ? segments.at(-2) : undefined;
  return owner !== undefined ? { repoName, owner } : { repoName };
}

async function readPackageJson(dir: string): Promise<{ name?: string; description?: string }> {
  const path = join(dir, 'package.json');
  try {
    const info = await lstat(path);
    // Not a symlink, and small: it is metadata, not something to follow or stream.
    if (!info.isFile() || info.size > 1024 * 1024) return {};
    const json: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof json !== 'object' || json === null) return {};
    const { name, description } = json as Record<string, unknown>;
    return {
      ...(typeof name === 'string' && name.trim() !== '' ? { name: name.trim() } : {}),
      ...(typeof description === 'string' && description.trim() !== ''
        ? { description: description.trim() }
        : {}),
    };
  } catch {
    return {};
  }
}

async function cloneInto(
  dir: string,
  parsed: ParsedGitUrl,
  opts: GitSourceOptions,
  run: Omit<RunGitOptions, 'cwd'>,
): Promise<string> {
  const tagArgs = opts.tags ? [] : ['--no-tags'];
  if (opts.ref !== undefined && COMMIT_SHA.test(opts.ref)) {
    // `clone --branch` takes names only; a commit is fetched by sha into an empty repository.
    await runGit(['init', '--quiet', '--template=', dir], run);
    await runGit(
      [
        'fetch',
        '--quiet',
        '--depth',
        '1',
        ...tagArgs,
        '--no-recurse-submodules',
        '--',
        parsed.url,
        opts.ref,
      ],
      { ...run, cwd: dir },
    );
    return (
      await runGit(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], { ...run, cwd: dir })
    ).trim();
  }
  await runGit(
    [
      'clone',
      '--quiet',
      '--depth',
      '1',
      '--single-branch',
      ...tagArgs,
      '--no-recurse-submodules',
      // Checked out only after the size check below.
      '--no-checkout',
      '--template=',
      ...(opts.ref !== undefined ? ['--branch', opts.ref] : []),
      '--',
      parsed.url,
      dir,
    ],
    run,
  );
  return (await runGit(['rev-parse', '--verify', 'HEAD^{commit}'], { ...run, cwd: dir })).trim();
}

/**
 * Clones a repository (shallow, single branch, no submodules, hooks disabled, https only unless
 * `allowLocal`) into a temporary folder and works out what to index: the repo config
 * (`twinmcp.json` / `context7.json`), the docs folders and naming metadata. The caller reads
 * pages with {@link checkoutSource} and must call `cleanup()`; on failure the folder is removed
 * before the error is thrown.
 */
export async function openGitCheckout(url: string, opts: GitSourceOptions): Promise<GitCheckout> {
  const parsed = parseGitUrl(url, opts.allowLocal);
  if (opts.ref !== undefined) validateRef(opts.ref);
  const run = {
    allowFile: parsed.kind === 'file',
    timeoutMs: opts.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS,
    ...(opts.extraConfig ? { extraConfig: opts.extraConfig } : {}),
  };
  const tempDir = await mkdtemp(join(opts.workDir ?? tmpdir(), 'twinmcp-git-'));
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await rm(tempDir, { recursive: true, force: true });
  };
  try {
    const dir = join(tempDir, 'repo');
    const commit = await cloneInto(dir, parsed, opts, run);
    const maxBytes = opts.maxCheckoutBytes ?? DEFAULT_MAX_CHECKOUT_BYTES;
    const size = await treeSize(dir, commit, run);
    if (size > maxBytes) {
      throw new Error(
        `Repository tree is ${size} bytes, over the ${maxBytes}-byte limit (maxCheckoutBytes)`,
      );
    }
    await runGit(['checkout', '--quiet', '--detach', commit], { ...run, cwd: dir });

    const loaded = await loadRepoConfig(dir);
    const plan = await planDocs(dir, loaded.config);
    const pkg = await readPackageJson(dir);
    const { config } = loaded;
    const baseUrl =
      parsed.kind === 'https' ? githubBlobBase(parsed.url, opts.ref ?? commit) : undefined;
    return {
      dir,
      url: parsed.url,
      commit,
      ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
      config,
      ...(loaded.file !== undefined ? { configFile: loaded.file } : {}),
      ...(loaded.warning !== undefined ? { configWarning: loaded.warning } : {}),
      plan,
      docsRoots: plan.include,
      ...(baseUrl !== undefined ? { baseUrl } : {}),
      metadata: {
        ...repoNameParts(parsed),
        ...(pkg.name !== undefined ? { packageName: pkg.name } : {}),
        ...(pkg.description !== undefined ? { packageDescription: pkg.description } : {}),
        ...(config.projectTitle !== undefined ? { projectTitle: config.projectTitle } : {}),
        ...(config.description !== undefined ? { description: config.description } : {}),
        rules: config.rules ?? [],
        previousVersions: (config.previousVersions ?? []).map((v) => v.tag),
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Pages of an open checkout, following its docs plan. Caller options narrow it: `include`
 * replaces the planned folders, `exclude`/`excludeFiles` add to the config's, `baseUrl`
 * replaces the GitHub blob URL. Config problems come first, as skip events. Does not clean up.
 */
export async function* checkoutSource(
  checkout: GitCheckout,
  opts: SourceOptions = {},
): AsyncGenerator<SourceEvent> {
  if (checkout.configWarning !== undefined) {
    yield { kind: 'skip', path: checkout.configFile ?? 'config', reason: checkout.configWarning };
  }
  for (const folder of checkout.plan.rejectedFolders) {
    yield {
      kind: 'skip',
      path: folder,
      reason: 'config folder must be relative to the repo root, without ".."',
    };
  }
  const baseUrl = opts.baseUrl ?? checkout.baseUrl;
  yield* localFolderSource(checkout.dir, {
    ...opts,
    include: opts.include ?? checkout.plan.include,
    exclude: [...checkout.plan.exclude, ...(opts.exclude ?? [])],
    excludeFiles: [...checkout.plan.excludeFiles, ...(opts.excludeFiles ?? [])],
    ...(baseUrl !== undefined ? { baseUrl } : {}),
  });
}

/**
 * Clones `url` and yields its documentation pages (see {@link openGitCheckout} for the clone
 * and {@link checkoutSource} for what is read). The clone is removed when the generator
 * finishes, throws, or is abandoned early (`break` / `return()`).
 */
export async function* gitSource(url: string, opts: GitSourceOptions): AsyncGenerator<SourceEvent> {
  const checkout = await openGitCheckout(url, opts);
  try {
    yield* checkoutSource(checkout, opts);
  } finally {
    await checkout.cleanup();
  }
}

/** A tag of a remote repository and the commit it points at (annotated tags peeled). */
export interface GitTag {
  name: string;
  commit: string;
}

/** Lists a repository's tags with `git ls-remote` (no clone), sorted by name. Same URL rules as {@link parseGitUrl}. */
export async function listGitTags(url: string, opts: GitAccessOptions): Promise<GitTag[]> {
  const parsed = parseGitUrl(url, opts.allowLocal);
  const out = await runGit(['ls-remote', '--tags', '--', parsed.url], {
    allowFile: parsed.kind === 'file',
    timeoutMs: opts.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS,
    ...(opts.extraConfig ? { extraConfig: opts.extraConfig } : {}),
  });
  const tags = new Map<string, string>();
  const peeled = new Map<string, string>();
  for (const line of out.split('\n')) {
    const match = /^([0-9a-f]+)\trefs\/tags\/(.+?)(\^\{\})?$/.exec(line.trim());
    if (!match?.[1] || !match[2]) continue;
    (match[3] ? peeled : tags).set(match[2], match[1]);
  }
  return [...tags.keys()]
    .sort()
    .map((name) => ({ name, commit: peeled.get(name) ?? tags.get(name) ?? '' }));
}
