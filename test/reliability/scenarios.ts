/**
 * Settings of the reliability runs: the CI form (short) by default, the documented full form
 * (`npm run reliability`: 100 connections, 60 s per phase) with TWINMCP_RELIABILITY=full.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CORPUS_ROOT, REPO_ROOT } from '../helpers/corpus.js';
import type { LoadResult } from './load.js';

export interface RunSettings {
  form: 'ci' | 'full';
  connections: number;
  /** Seconds per load phase. */
  durationS: number;
  /** Seconds of the restart phase: PostgreSQL stops a quarter in, and the rest shows recovery. */
  restartDurationS: number;
  /** How long PostgreSQL stays down in the restart scenario. */
  outageMs: number;
  /** Corpus folders queued as jobs in the kill scenario (each also re-indexed when `twice`). */
  jobFolders: { folder: string; twice: boolean }[];
}

export function runSettings(env: NodeJS.ProcessEnv = process.env): RunSettings {
  if (env.TWINMCP_RELIABILITY === 'full') {
    return {
      form: 'full',
      connections: 100,
      durationS: 60,
      restartDurationS: 60,
      outageMs: 5000,
      jobFolders: [
        { folder: 'kysely', twice: true },
        { folder: 'zod', twice: true },
        { folder: 'zod-v3', twice: false },
        { folder: 'hono', twice: true },
        { folder: 'vite', twice: false },
        { folder: 'express', twice: false },
        { folder: 'typeorm', twice: false },
      ],
    };
  }
  // 10 connections and 8 s phases keep the whole file near a minute on 2 shared cores.
  return {
    form: 'ci',
    connections: 10,
    durationS: 8,
    // Stop at 4 s, ~1 s to stop, 2 s down, ~1 s to start, up to ~4 s until /ready and haproxy
    // agree again, then a few good seconds.
    restartDurationS: 16,
    outageMs: 2000,
    jobFolders: [
      { folder: 'kysely', twice: true },
      { folder: 'zod', twice: true },
      { folder: 'zod-v3', twice: false },
      { folder: 'hono', twice: false },
    ],
  };
}

/** The libraries indexed before any load, and the question set's names for them. */
export const LOAD_LIBRARIES = [
  { folder: 'fastify', libraryId: '/fastify/fastify', name: 'Fastify' },
  { folder: 'kysely', libraryId: '/kysely-org/kysely', name: 'Kysely' },
];

export const corpusFolder = (folder: string) => join(CORPUS_ROOT, 'md', folder);

/** The evaluation questions, read for their text only (load), never for tuning. */
export const QUESTIONS_FILE = resolve(REPO_ROOT, '..', 'shared', 'eval', 'questions.jsonl');

export interface PhaseReport {
  name: string;
  load: LoadResult;
  notes: Record<string, unknown>;
}

const reports: PhaseReport[] = [];

/** Keeps a phase's figures; written to TWINMCP_RELIABILITY_REPORT (JSON) when that is set. */
export function recordPhase(report: PhaseReport): void {
  // A phase recorded again (more notes after its checks) replaces the earlier record.
  const same = reports.findIndex((r) => r.name === report.name);
  if (same >= 0) reports.splice(same, 1, report);
  else reports.push(report);
  const file = process.env.TWINMCP_RELIABILITY_REPORT;
  if (!file) return;
  const slim = reports.map((r) => ({
    ...r,
    load: { ...r.load, failures: r.load.failures.length },
  }));
  writeFileSync(file, JSON.stringify({ settings: runSettings(), phases: slim }, null, 2));
}
