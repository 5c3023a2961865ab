/**
 * The shared documentation corpus (../shared/corpus) and how eval and bench index it: each set
 * under the library id and version of ../shared/eval/libraries.json, and, as distractors, the
 * README and docs of every package in our own node_modules under `/npm/...` ids.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from '../server/db/db.js';
import type { ChunkPool } from '../server/indexing/chunk-pool.js';
import { indexLibrary, type IndexSummary } from '../server/indexing/pipeline.js';
import { localFolderSource } from '../server/indexing/sources/local.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DIR = process.env.TWINMCP_SHARED_DIR ?? resolve(REPO_ROOT, '..', 'shared');
export const CORPUS_DIR = join(SHARED_DIR, 'corpus');
export const EVAL_DIR = join(SHARED_DIR, 'eval');

export interface CorpusSet {
  slug: string;
  kind: 'md' | 'html';
  path: string;
  files: number;
  libraryId: string;
  version: string | null;
  latest: boolean;
  title: string;
}

/** Fails with a clear message when the corpus is not beside the repo. */
export function requireCorpus(): void {
  if (
    !existsSync(join(CORPUS_DIR, 'MANIFEST.json')) ||
    !existsSync(join(EVAL_DIR, 'libraries.json'))
  ) {
    throw new Error(
      `The documentation corpus is not at ${CORPUS_DIR} (with ${EVAL_DIR}). ` +
        'Place the shared/ folder beside the repository or set TWINMCP_SHARED_DIR.',
    );
  }
}

export function corpusSets(): CorpusSet[] {
  requireCorpus();
  const manifest = JSON.parse(readFileSync(join(CORPUS_DIR, 'MANIFEST.json'), 'utf8')) as {
    sets: { slug: string; kind: 'md' | 'html'; path: string; files: number }[];
  };
  const libs = JSON.parse(readFileSync(join(EVAL_DIR, 'libraries.json'), 'utf8')) as {
    libraries: Record<
      string,
      { libraryId: string; version: string | null; latest: boolean; title: string }
    >;
  };
  return manifest.sets.map((s) => {
    const lib = libs.libraries[s.slug];
    if (!lib) throw new Error(`libraries.json has no entry for corpus set ${s.slug}`);
    return { slug: s.slug, kind: s.kind, path: join(CORPUS_DIR, s.path), files: s.files, ...lib };
  });
}

export async function indexCorpusSet(
  db: Db,
  set: CorpusSet,
  idSuffix = '',
  pool?: ChunkPool,
): Promise<IndexSummary> {
  const [, owner, name] = set.libraryId.split('/');
  return indexLibrary(db, {
    libraryId: `/${owner}${idSuffix}/${name}`,
    version: set.version ?? '',
    title: set.title,
    latest: set.latest,
    source: localFolderSource(set.path),
    sourceInfo: { kind: 'local', path: set.path },
    ownerAccount: null,
    jobId: null,
    ...(pool ? { pool } : {}),
  });
}

/** Top-level packages of node_modules (scoped ones included), with a README or a docs folder. */
export function distractorPackages(nodeModules = join(REPO_ROOT, 'node_modules')) {
  const out: { dir: string; name: string; description: string; include: string[] }[] = [];
  const dirs: string[] = [];
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const sub of readdirSync(join(nodeModules, entry)))
        dirs.push(join(nodeModules, entry, sub));
    } else dirs.push(join(nodeModules, entry));
  }
  for (const dir of dirs.sort()) {
    let pkg: { name?: string; description?: string };
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      continue;
    }
    if (!pkg.name) continue;
    const include = readdirSync(dir).filter(
      (f) => /^readme(\.(md|markdown|txt|rst))?$/i.test(f) || f === 'docs',
    );
    if (include.length === 0) continue;
    out.push({ dir, name: pkg.name, description: pkg.description ?? '', include });
  }
  return out;
}

/** `/npm/zod`, `/npm-types/node`: a namespace libraries.json never uses. */
export function distractorId(name: string): string {
  const m = /^@([^/]+)\/(.+)$/.exec(name);
  return m ? `/npm-${m[1]}/${m[2]}` : `/npm/${name}`;
}

export async function indexDistractor(
  db: Db,
  pkg: ReturnType<typeof distractorPackages>[number],
  pool?: ChunkPool,
) {
  return indexLibrary(db, {
    libraryId: distractorId(pkg.name),
    version: '',
    title: pkg.name,
    latest: true,
    description: pkg.description,
    packageNames: [pkg.name],
    source: localFolderSource(pkg.dir, { include: pkg.include }),
    sourceInfo: { kind: 'local', path: pkg.dir },
    ownerAccount: null,
    trustScore: 5,
    jobId: null,
    ...(pool ? { pool } : {}),
  });
}

function hashTree(
  hash: ReturnType<typeof createHash>,
  root: string,
  filter: (p: string) => boolean,
) {
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const p = join(dir, entry);
      const st = statSync(p);
      if (st.isDirectory()) {
        if (entry !== 'node_modules' && !entry.startsWith('.')) walk(p);
      } else if (filter(p)) {
        hash.update(relative(root, p));
        hash.update(readFileSync(p));
      }
    }
  };
  walk(root);
}

/** Key of an eval index: the corpus, the lockfile and the indexing code. */
export async function indexKey(): Promise<string> {
  const hash = createHash('sha256');
  hashTree(hash, CORPUS_DIR, () => true);
  hash.update(readFileSync(join(EVAL_DIR, 'libraries.json')));
  hash.update(await readFile(join(REPO_ROOT, 'package-lock.json')).catch(() => Buffer.alloc(0)));
  // Only code that changes what is stored: ranking changes reuse the index.
  for (const dir of ['server/indexing', 'server/db'])
    hashTree(hash, join(REPO_ROOT, dir), (p) => p.endsWith('.ts'));
  hash.update(readFileSync(join(REPO_ROOT, 'server/search/text.ts')));
  return hash.digest('hex').slice(0, 16);
}

/** A retrieval question (../shared/eval/README.md). */
export interface QueryItem {
  id: string;
  type: 'query';
  library: string;
  query: string;
  expect: { file: string; heading: string; phrases: string[] };
  difficulty: string;
}
export interface ResolveItem {
  id: string;
  type: 'resolve';
  query: string;
  expect: { library: string };
  difficulty: string;
}
export type EvalItem = QueryItem | ResolveItem;

export interface EvalLibrary {
  libraryId: string;
  version: string | null;
  latest: boolean;
  title: string;
}

export function loadQuestions(file: string): EvalItem[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EvalItem);
}

/** Corpus slug -> library id and version, from ../shared/eval/libraries.json. */
export function evalLibraries(): Record<string, EvalLibrary> {
  return (
    JSON.parse(readFileSync(join(EVAL_DIR, 'libraries.json'), 'utf8')) as {
      libraries: Record<string, EvalLibrary>;
    }
  ).libraries;
}
