/**
 * `twinmcp worker`, `twinmcp jobs list` and `twinmcp jobs cancel <id>`: parsing (registered by
 * args.ts) and the two jobs commands, run against a local engine or a running server.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { JobState, type Job } from '../../shared/api.js';
import { EngineError } from '../engine-types.js';
import type { Backend } from './backend.js';
import type { CliIo } from './commands.js';

export type JobsCommand =
  | { name: 'worker'; concurrency?: number }
  | { name: 'jobs-list'; states?: JobState[]; json: boolean }
  | { name: 'jobs-cancel'; id: string };

export function isJobsCommand(c: { name: string }): c is JobsCommand {
  return c.name === 'worker' || c.name === 'jobs-list' || c.name === 'jobs-cancel';
}

/** Parses `--concurrency`: 1 to 64 jobs at once (each holds a page batch and a chunk window). */
export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new InvalidArgumentError('Expected a whole number of jobs from 1 to 64.');
  }
  return n;
}

function parseStates(value: string): JobState[] {
  const states = value.split(',').map((s) => s.trim());
  for (const s of states) {
    if (!JobState.safeParse(s).success) {
      throw new InvalidArgumentError(`Unknown state "${s}" (use ${JobState.options.join(', ')}).`);
    }
  }
  return states as JobState[];
}

export function registerJobsCommands(program: Command, set: (command: JobsCommand) => void): void {
  program
    .command('worker')
    .description(
      'Run indexing jobs only (no HTTP), on DATABASE_URL or on a data directory no server holds',
    )
    .option('-c, --concurrency <n>', 'jobs run at once (default 1)', parseConcurrency)
    .action((opts: { concurrency?: number }) =>
      set({
        name: 'worker',
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      }),
    );
  const jobs = program.command('jobs').description('List or cancel indexing jobs');
  jobs
    .command('list')
    .description('List indexing jobs, newest first')
    .option(
      '--state <states>',
      'only these states, comma-separated (e.g. queued,running)',
      parseStates,
    )
    .option('--json', 'print the jobs as JSON', false)
    .action((opts: { state?: JobState[]; json: boolean }) =>
      set({ name: 'jobs-list', json: opts.json, ...(opts.state ? { states: opts.state } : {}) }),
    );
  jobs
    .command('cancel')
    .description('Cancel a job: a queued one at once, a running one at its next page batch')
    .argument('<id>', 'job id, as `twinmcp jobs list` shows it')
    .action((id: string) => set({ name: 'jobs-cancel', id: id.trim() }));
  jobs.exitOverride();
  for (const c of jobs.commands) c.exitOverride();
}

function formatJob(j: Job): string {
  const what = j.libraryId ? `${j.libraryId}${j.version ? `/${j.version}` : ''}` : '-';
  const attempts = j.maxAttempts ? ` attempt ${j.attempts ?? 0}/${j.maxAttempts}` : '';
  const pages = j.progress ? ` ${j.progress.pages} pages` : '';
  const extra = [
    j.cancelRequested && j.state === 'running' ? 'cancel requested' : '',
    j.nextRunAt ? `retry at ${j.nextRunAt}` : '',
    j.error && j.state !== 'succeeded' ? `last error: ${j.error}` : '',
  ].filter(Boolean);
  return `${j.id}  ${j.state.padEnd(9)} ${j.kind.padEnd(7)} ${what}${attempts}${pages}${extra.length ? `  (${extra.join('; ')})` : ''}\n`;
}

/** `jobs list` / `jobs cancel`; resolves to the exit code (3 when the job does not exist). */
export async function runJobsCommand(
  command: Exclude<JobsCommand, { name: 'worker' }>,
  backend: Backend,
  io: CliIo,
): Promise<number> {
  if (!backend.listJobs || !backend.cancelJob) {
    throw new EngineError('internal_error', 'This backend cannot list or cancel jobs.');
  }
  if (command.name === 'jobs-list') {
    const jobs = await backend.listJobs(command.states);
    if (command.json) io.out(`${JSON.stringify(jobs, null, 2)}\n`);
    else if (jobs.length === 0) io.out('No jobs.\n');
    else for (const j of jobs) io.out(formatJob(j));
    return 0;
  }
  const job = await backend.cancelJob(command.id);
  io.out(
    job.state === 'cancelled'
      ? `Cancelled job ${job.id}\n`
      : `Cancel requested for job ${job.id}: it stops at its next page batch\n`,
  );
  return 0;
}
