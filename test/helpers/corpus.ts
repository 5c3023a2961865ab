/**
 * The shared documentation corpus (read-only), checked out beside the repository as
 * `../shared/corpus`. Tests that need it skip with a clear message when it is absent, except under
 * `CI=true`, where a missing corpus is a failure: CI must never pass by skipping.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/corpus.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the corpus is expected: `../shared/corpus` relative to the repository root. */
export const CORPUS_ROOT = resolve(REPO_ROOT, '..', 'shared', 'corpus');

/** Absolute path of a corpus folder or file, e.g. `corpusPath('md/fastify')`; may not exist. */
export function corpusPath(relative: string): string {
  return resolve(CORPUS_ROOT, relative);
}

/**
 * The absolute path of a corpus folder, for use in a `before` hook or a test: when it is missing,
 * throws under `CI=true` and otherwise skips the calling test or suite with the reason.
 */
export function requireCorpus(ctx: Mocha.Context, relative: string): string {
  const path = corpusPath(relative);
  if (existsSync(path)) return path;
  const message =
    `Corpus folder not found: ${path} (the shared corpus is expected at ../shared/corpus ` +
    'relative to the repository root).';
  if (process.env.CI === 'true') throw new Error(`${message} CI=true: the corpus is required.`);
  console.warn(`    skipped: ${message}`);
  ctx.skip();
}
