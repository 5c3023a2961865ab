/** Fixtures shared by the accounts suites: a tiny docs folder and indexing it for an owner. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TwinEngine } from '../../server/engine.js';

/** Writes a two-page Markdown library about `topic` into `dir`. */
export function writeDocs(dir: string, title: string, topic: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'README.md'),
    `# ${title}\n\n${title} handles ${topic}. Install it with npm and call \`configure${title}()\`.\n\n` +
      `## Configure ${topic}\n\nCall \`configure${title}({ ${topic}: true })\` before the first request ` +
      `to enable ${topic} for every route.\n`,
  );
  writeFileSync(
    join(dir, 'guide.md'),
    `# ${title} guide\n\n## Retry ${topic}\n\nSet \`retries\` to retry ${topic} on failure; the ` +
      `default is three attempts with a backoff of one second.\n`,
  );
}

/** Indexes `dir` as `libraryId`, owned by `owner` (null = public), and waits for the job. */
export async function indexAs(
  engine: TwinEngine,
  dir: string,
  libraryId: string,
  title: string,
  owner: string | null,
): Promise<string> {
  const job = await engine.addSource({
    source: dir,
    libraryId,
    name: title,
    trustedLocal: true,
    owner,
  });
  const done = await engine.waitForJob(job.id);
  assert.equal(done.state, 'succeeded', `indexing ${libraryId} failed: ${done.error}`);
  return job.id;
}

/** Plans for the HTTP suites: small numbers so limits are reached in a few requests. */
export const TEST_PLANS = {
  defaultPlan: 'free',
  plans: {
    anonymous: {
      queriesPerDay: 500,
      hoverPerDay: 0,
      chatTokensPerMonth: 0,
      privateLibraries: 0,
      requestsPerWindow: 1000,
    },
    free: {
      queriesPerDay: 500,
      hoverPerDay: 500,
      chatTokensPerMonth: 1000,
      privateLibraries: 2,
      requestsPerWindow: 1000,
    },
    tiny: {
      queriesPerDay: 3,
      hoverPerDay: 2,
      chatTokensPerMonth: 0,
      privateLibraries: 0,
      requestsPerWindow: 1000,
    },
    burst: {
      queriesPerDay: null,
      hoverPerDay: null,
      chatTokensPerMonth: null,
      privateLibraries: 0,
      requestsPerWindow: 5,
    },
  },
};

/** Environment for an auth-on server in `dir` using TEST_PLANS (written to `dir/plans.json`). */
export function authEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const plansFile = join(dir, 'plans.json');
  writeFileSync(plansFile, JSON.stringify(TEST_PLANS));
  return {
    TWINMCP_DATA_DIR: join(dir, 'data'),
    TWINMCP_LOG_LEVEL: 'silent',
    TWINMCP_AUTH: 'on',
    TWINMCP_ANONYMOUS: 'allow',
    TWINMCP_PLANS_FILE: plansFile,
    TWINMCP_RATE_WINDOW_MS: '60000',
    ...extra,
  };
}

/** A settable clock: tests move time forward instead of sleeping. */
export function testClock(start = Date.now()): {
  now: () => number;
  advance: (ms: number) => void;
} {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}
