/**
 * Jobs for the kill scenario: queue add and re-index jobs of corpus folders, kill a worker while
 * it holds one, then check that every job ended succeeded exactly once and nothing was duplicated.
 */
import assert from 'node:assert/strict';
import type { ApiProcess, Cluster } from './cluster.js';
import { waitUntil } from './processes.js';
import { corpusFolder, LOAD_LIBRARIES, type RunSettings } from './scenarios.js';

export interface QueuedJob {
  id: string;
  libraryId: string;
  folder: string;
}

/** `/rel/<folder>` per folder, queued once or twice (the second run re-indexes the first). */
export async function queueJobs(
  cluster: Cluster,
  api: ApiProcess,
  folders: RunSettings['jobFolders'],
): Promise<QueuedJob[]> {
  const jobs: QueuedJob[] = [];
  for (const round of [1, 2]) {
    for (const { folder, twice } of folders) {
      if (round === 2 && !twice) continue;
      const libraryId = `/rel/${folder}`;
      const job = await cluster.addSource(api, {
        source: corpusFolder(folder),
        libraryId,
        name: `Reliability ${folder}`,
      });
      jobs.push({ id: job.id, libraryId, folder });
    }
  }
  return jobs;
}

/**
 * SIGKILLs the worker process that holds one of `jobIds` (its lease owner is `<pid>-<suffix>`,
 * server/jobs/runner.ts); after `waitMs` without one running, kills the first worker anyway.
 */
export async function killWorkerHoldingJob(
  cluster: Cluster,
  jobIds: string[],
  waitMs: number,
): Promise<{ worker: string; jobId?: string }> {
  const byPid = new Map(cluster.workers.map((w) => [String(w.pid), w]));
  let hit: { worker: string; jobId?: string } | undefined;
  await waitUntil(
    'a worker runs one of the queued jobs',
    async () => {
      const rows = await cluster.sql<{ id: string; lease_owner: string }[]>`
        SELECT id, lease_owner FROM jobs WHERE state = 'running' AND id = ANY(${jobIds})`;
      for (const row of rows) {
        const worker = byPid.get(row.lease_owner.split('-')[0]!);
        if (worker?.alive()) {
          worker.signal('SIGKILL');
          hit = { worker: worker.name, jobId: row.id };
          return true;
        }
      }
      return false;
    },
    waitMs,
    50,
  ).catch(() => {});
  if (hit) return hit;
  const first = cluster.workers[0]!;
  first.signal('SIGKILL');
  return { worker: first.name };
}

export interface JobOutcome {
  summary: {
    jobs: number;
    succeeded: number;
    /** Jobs that needed a second attempt (the one whose worker was killed). */
    retried: number;
    libraries: number;
    /** Staging versions left behind by a killed attempt (never served). */
    abandonedStaging: number;
  };
}

/**
 * Waits for every job, then asserts: all succeeded; each library has exactly one serving
 * version, built by one of its jobs; its chunks are unique per page position; the copy of a
 * load library indexed under load has exactly the chunks of the one indexed at set-up; and no
 * half-written (staging) version is left behind.
 */
export async function checkJobOutcome(
  cluster: Cluster,
  jobs: QueuedJob[],
  timeoutMs: number,
): Promise<JobOutcome> {
  const rows = await cluster.waitForJobs(
    jobs.map((j) => j.id),
    timeoutMs,
  );
  const bad = rows.filter((r) => r.state !== 'succeeded');
  assert.deepEqual(bad, [], `jobs that did not succeed: ${JSON.stringify(bad)}`);
  const { sql } = cluster;
  const libraryIds = [...new Set(jobs.map((j) => j.libraryId))];
  const versions = await sql<
    { library_id: string; id: string; state: string; job_id: string; snippet_count: number }[]
  >`SELECT library_id, id, state, job_id, snippet_count FROM library_versions
     WHERE library_id = ANY(${libraryIds})`;
  for (const libraryId of libraryIds) {
    const ready = versions.filter((v) => v.library_id === libraryId && v.state === 'ready');
    assert.equal(ready.length, 1, `${libraryId}: ${ready.length} serving versions`);
    const own = jobs.filter((j) => j.libraryId === libraryId).map((j) => j.id);
    assert.ok(
      own.includes(ready[0]!.job_id),
      `${libraryId}: served version from job ${ready[0]!.job_id}`,
    );
    const [counts] = await sql<{ chunks: number; distinct_positions: number }[]>`
      SELECT count(*)::int AS chunks, count(DISTINCT (page_id, ordinal))::int AS distinct_positions
        FROM chunks WHERE version_id = ${ready[0]!.id}`;
    assert.equal(counts!.chunks, counts!.distinct_positions, `${libraryId}: duplicate chunks`);
    assert.equal(counts!.chunks, ready[0]!.snippet_count, `${libraryId}: chunk count`);
  }
  // The same folder indexed at set-up (no faults) and under load must give the same chunks.
  for (const lib of LOAD_LIBRARIES) {
    const copy = jobs.find((j) => j.folder === lib.folder);
    if (!copy) continue;
    const counts = await sql<{ library_id: string; snippet_count: number; page_count: number }[]>`
      SELECT library_id, snippet_count, page_count FROM library_versions
       WHERE state = 'ready' AND library_id IN (${lib.libraryId}, ${copy.libraryId})`;
    assert.equal(counts.length, 2);
    assert.equal(counts[0]!.snippet_count, counts[1]!.snippet_count, JSON.stringify(counts));
    assert.equal(counts[0]!.page_count, counts[1]!.page_count, JSON.stringify(counts));
  }
  // A killed attempt's half-written version must be cleaned up or reused, not left behind.
  const staging = versions.filter((v) => v.state === 'indexing');
  assert.deepEqual(staging, [], `abandoned staging versions: ${JSON.stringify(staging)}`);
  return {
    summary: {
      jobs: rows.length,
      succeeded: rows.filter((r) => r.state === 'succeeded').length,
      retried: rows.filter((r) => r.attempts > 1).length,
      libraries: libraryIds.length,
      abandonedStaging: staging.length,
    },
  };
}
