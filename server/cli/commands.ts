/** Command handlers: call the backend, hand results to output.ts. */
import path from 'node:path';
import { isLocalSource } from '../indexing/source-spec.js';
import { absoluteNpmSource, isNpmSource } from '../indexing/sources/npm-spec.js';
import { runStdio } from '../mcp/stdio.js';
import type { CliCommand } from './args.js';
import type { AccountsCommand } from './accounts.js';
import type { ArchiveCommand } from './archive.js';
import type { JobsCommand } from './jobs.js';
import type { Backend } from './backend.js';
import { formatJobSummary, formatLibraries, formatSearchResults } from './output.js';
import { createProgressReporter } from './progress.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (live progress) or a pipe/log (plain lines). */
  stdoutIsTTY: boolean;
  stdoutStream?: NodeJS.WritableStream;
  cwd: string;
}

export type ClientCommand = Exclude<
  CliCommand,
  { name: 'serve' } | { name: 'migrate' } | AccountsCommand | ArchiveCommand | JobsCommand
>;

/** Runs one command against the backend; resolves to the exit code. */
export async function runCommand(
  command: ClientCommand,
  backend: Backend,
  io: CliIo,
): Promise<number> {
  switch (command.name) {
    case 'list':
      io.out(formatLibraries(await backend.list()));
      return 0;
    case 'resolve':
      io.out(formatSearchResults(await backend.resolve(command.libraryName, command.query)));
      return 0;
    case 'query': {
      const result = await backend.query(
        command.libraryId,
        command.query,
        command.tokens,
        command.json ? 'json' : 'txt',
      );
      io.out(
        result.type === 'json'
          ? `${JSON.stringify(result.json, null, 2)}\n`
          : ensureNewline(result.text),
      );
      return 0;
    }
    case 'remove':
      await backend.remove(command.libraryId);
      io.out(`Removed ${command.libraryId}\n`);
      return 0;
    case 'add':
      return add(command, backend, io);
    case 'refresh':
      return refresh(command, backend, io);
    case 'mcp':
      await runStdio({
        resolve: (name, query) => backend.resolve(name, query),
        query: async (id, query, tokens) => {
          const result = await backend.query(id, query, tokens, 'txt');
          return { text: result.type === 'txt' ? result.text : '' };
        },
        listLibraries: () => backend.list(),
      });
      return 0;
  }
}

async function add(
  command: Extract<CliCommand, { name: 'add' }>,
  backend: Backend,
  io: CliIo,
): Promise<number> {
  // A server runs in another directory: send it an absolute path.
  const source = isNpmSource(command.source)
    ? absoluteNpmSource(command.source, io.cwd)
    : isLocalSource(command.source) && !/^file:/i.test(command.source)
      ? path.resolve(io.cwd, command.source)
      : command.source;
  const job = await backend.add({
    source,
    ...(command.title !== undefined ? { name: command.title } : {}),
    ...(command.libraryId !== undefined ? { libraryId: command.libraryId } : {}),
    ...(command.version !== undefined ? { version: command.version } : {}),
    ...(command.ref !== undefined ? { ref: command.ref } : {}),
    ...(command.latest ? { latest: true } : {}),
    ...(command.kind !== undefined ? { kind: command.kind } : {}),
  });
  const progress = createProgressReporter({
    write: io.out,
    isTTY: io.stdoutIsTTY,
    ...(io.stdoutStream ? { stream: io.stdoutStream } : {}),
  });
  let done;
  try {
    done = await backend.waitForJob(job.id, (j) => progress.update(j));
  } finally {
    progress.stop();
  }
  io.out(formatJobSummary(done));
  return done.state === 'succeeded' ? 0 : 1;
}

/** Queues refresh jobs and follows each to its end; exit 1 when one failed. */
async function refresh(
  command: Extract<CliCommand, { name: 'refresh' }>,
  backend: Backend,
  io: CliIo,
): Promise<number> {
  const { jobs, skipped } = await backend.refresh(command.libraryId);
  for (const s of skipped) {
    io.err(`Not refreshed: ${s.libraryId}${s.version ? `/${s.version}` : ''}: ${s.reason}\n`);
  }
  if (jobs.length === 0) {
    io.out('Nothing to refresh.\n');
    return 0;
  }
  let failed = 0;
  for (const job of jobs) {
    const progress = createProgressReporter({
      write: io.out,
      isTTY: io.stdoutIsTTY,
      ...(io.stdoutStream ? { stream: io.stdoutStream } : {}),
    });
    let done;
    try {
      done = await backend.waitForJob(job.id, (j) => progress.update(j));
    } finally {
      progress.stop();
    }
    io.out(formatJobSummary(done));
    const reused = done.progress?.reused;
    if (done.state === 'succeeded' && reused !== undefined) {
      io.out(`  ${reused} unchanged pages reused, ${done.progress!.pages - reused} re-chunked\n`);
    }
    if (done.state !== 'succeeded') failed++;
  }
  return failed > 0 ? 1 : 0;
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
