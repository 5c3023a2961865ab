/**
 * The TwinMCP server the extension under test talks to: a temp data directory seeded in this
 * process (two majors of one corpus library, an account and its key), then the built CLI's
 * `serve` on a free port with accounts on, so the account page has a plan and usage to show.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccount } from '../../server/accounts/accounts.js';
import { createApiKey } from '../../server/accounts/keys.js';
import { createEngine } from '../../server/engine.js';
import { ensureBuilt, startServe, type RunningServe } from '../helpers/built-cli.js';
import { REPO_ROOT, corpusPath } from '../helpers/corpus.js';

/** Zod 3 and Zod 4 under one id: a workspace locked to zod 3 must get the v3 docs. */
export const LIBRARY_ID = '/colinhacks/zod';
export const LIBRARIES = [
  { corpus: 'md/zod-v3', version: 'v3', latest: false },
  { corpus: 'md/zod', version: 'v4', latest: true },
] as const;
export const ACCOUNT_EMAIL = 'vscode-tests@example.com';

export interface TwinServer {
  serve: RunningServe;
  base: string;
  apiKey: string;
  dataDir: string;
}

/** Indexes the corpus libraries and makes an account + key in one engine (one database open). */
export async function seedDataDir(dataDir: string): Promise<{ apiKey: string }> {
  const engine = await createEngine({ config: { dataDir } });
  try {
    const jobs = [];
    for (const lib of LIBRARIES) {
      jobs.push(
        await engine.addSource({
          source: corpusPath(lib.corpus),
          libraryId: LIBRARY_ID,
          name: 'Zod',
          version: lib.version,
          latest: lib.latest,
          trustedLocal: true,
        }),
      );
    }
    for (const job of jobs) {
      const done = await engine.waitForJob(job.id);
      if (done.state !== 'succeeded')
        throw new Error(`indexing failed: ${done.error ?? done.state}`);
    }
    const account = await createAccount(engine.db, { email: ACCOUNT_EMAIL, name: 'VS Code tests' });
    const key = await createApiKey(engine.db, account.id, { name: 'vscode-tests' });
    return { apiKey: key.key };
  } finally {
    await engine.close();
  }
}

/**
 * Seeding takes about a minute (two corpus sets). For local iteration only,
 * TWINMCP_VSCODE_SEED_CACHE=1 keeps one seeded copy in .cache/vscode-test/seed and copies it;
 * CI and `npm test` always seed afresh.
 */
async function seedOrCopy(dataDir: string): Promise<{ apiKey: string }> {
  if (process.env.TWINMCP_VSCODE_SEED_CACHE !== '1') return seedDataDir(dataDir);
  const cache = join(REPO_ROOT, '.cache', 'vscode-test', 'seed');
  if (!existsSync(join(cache, 'key.txt'))) {
    mkdirSync(cache, { recursive: true });
    const { apiKey } = await seedDataDir(join(cache, 'data'));
    writeFileSync(join(cache, 'key.txt'), apiKey);
  }
  cpSync(join(cache, 'data'), dataDir, { recursive: true });
  return { apiKey: readFileSync(join(cache, 'key.txt'), 'utf8').trim() };
}

/** Seeds `root/data` and starts `twinmcp serve` on it (TWINMCP_AUTH=on, anonymous allowed). */
export async function startTwinServer(root: string): Promise<TwinServer> {
  ensureBuilt();
  const dataDir = join(root, 'data');
  const { apiKey } = await seedOrCopy(dataDir);
  const serve = await startServe({
    cwd: root,
    env: {
      ...process.env,
      TWINMCP_DATA_DIR: dataDir,
      TWINMCP_AUTH: 'on',
      TWINMCP_ANONYMOUS: 'allow',
      TWINMCP_LOG_LEVEL: 'warn',
      // No LLM configured: chat answers with the retrieved snippets (the fallback).
      OPENAI_API_KEY: '',
      ANTHROPIC_API_KEY: '',
    },
    timeoutMs: 90_000,
  });
  return { serve, base: serve.base, apiKey, dataDir };
}
