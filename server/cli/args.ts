/**
 * All argument parsing lives here: argv in, a plain command object out. Nothing runs, so tests
 * exercise every usage error without opening a database.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { parseLibraryId } from '../../shared/library-id.js';
import { VERSION } from '../config.js';
import { registerAccountsCommands, type AccountsCommand } from './accounts.js';
import { registerArchiveCommands, type ArchiveCommand } from './archive.js';
import { parseConcurrency, registerJobsCommands, type JobsCommand } from './jobs.js';

export type CliCommand =
  | {
      name: 'serve';
      port?: number;
      host?: string;
      worker?: false;
      concurrency?: number;
      migrate?: false;
    }
  | { name: 'migrate' }
  | {
      name: 'add';
      source: string;
      title?: string;
      libraryId?: string;
      version?: string;
      ref?: string;
      latest?: boolean;
      kind?: 'git' | 'web';
    }
  | { name: 'list' }
  | { name: 'resolve'; libraryName: string; query?: string }
  | { name: 'query'; libraryId: string; query: string; tokens?: number; json: boolean }
  | { name: 'remove'; libraryId: string }
  | { name: 'refresh'; libraryId?: string }
  | { name: 'mcp'; remote?: string }
  | AccountsCommand
  | ArchiveCommand
  | JobsCommand;

/** Either a command to run, or an exit code when help, version or a usage error ended parsing. */
export type ParseResult = { command: CliCommand; configFile?: string } | { exitCode: number };

export interface ParseOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Exit code for bad usage (and for a data directory held by another process). */
export const EXIT_USAGE = 2;

/** Parses user arguments (without `node` and the script path). */
export function parseArgs(argv: readonly string[], output: ParseOutput): ParseResult {
  let parsed: CliCommand | undefined;
  const set = (command: CliCommand): void => {
    parsed = command;
  };
  const program = buildProgram(set, output);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and version end with exit code 0; everything else commander reports is bad usage.
    return { exitCode: err.exitCode === 0 ? 0 : EXIT_USAGE };
  }
  const configFile = program.opts<{ config?: string }>().config;
  if (!parsed) return { exitCode: EXIT_USAGE };
  return { command: parsed, ...(configFile !== undefined ? { configFile } : {}) };
}

function buildProgram(set: (command: CliCommand) => void, output: ParseOutput): Command {
  const program = new Command('twinmcp')
    .description(
      'Current, version-exact documentation for your libraries, for people and coding agents.',
    )
    .version(VERSION)
    .option(
      '--config <file>',
      'settings file (YAML or JSON, keys as the environment variables; the environment wins)',
    )
    // Without this the root's --version would swallow `add --version v5`.
    .enablePositionalOptions()
    .showHelpAfterError('(run twinmcp --help for usage)')
    .configureOutput({ writeOut: output.out, writeErr: output.err });
  // exitOverride must reach subcommands too, hence after every .command() below as well.
  program.exitOverride();

  program
    .command('serve')
    .description('Run the HTTP server (REST API) on this data directory')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)', parsePort)
    .option('--host <host>', 'address to bind to (default 127.0.0.1)')
    .option('--no-worker', 'run no indexing jobs here (`twinmcp worker` processes run them)')
    .option('-c, --concurrency <n>', 'indexing jobs run at once (default 1)', parseConcurrency)
    .option('--no-migrate', 'apply no migrations at start (`twinmcp migrate` does; /ready waits)')
    .action(
      (opts: {
        port?: number;
        host?: string;
        worker: boolean;
        concurrency?: number;
        migrate: boolean;
      }) => {
        const { worker, migrate, ...rest } = opts;
        set({
          name: 'serve',
          ...rest,
          ...(worker ? {} : { worker: false }),
          ...(migrate ? {} : { migrate: false }),
        });
      },
    );

  program
    .command('migrate')
    .description(
      'Apply pending database migrations and exit (safe to run from many instances at once)',
    )
    .action(() => set({ name: 'migrate' }));

  program
    .command('add')
    .description('Index a local folder, a git repository or a website')
    .argument(
      '<source>',
      'local path, file:// URL, https:// git URL, website URL, or npm:<package>[@<version>]',
    )
    .option('--name <title>', 'display name of the library')
    .option('--id <libraryId>', 'library id to index under, /owner/name', parseId)
    .option('--version <version>', 'version label, e.g. v5')
    .option('--ref <ref>', 'git branch, tag or commit')
    .option('--latest', 'make this version the one a bare library id means')
    .option('--kind <kind>', 'read an http(s) URL as "git" or "web" (default: guessed)', parseKind)
    .action(
      (
        source: string,
        opts: {
          name?: string;
          id?: string;
          version?: string;
          ref?: string;
          latest?: boolean;
          kind?: 'git' | 'web';
        },
      ) =>
        set({
          name: 'add',
          source,
          ...(opts.name !== undefined ? { title: opts.name } : {}),
          ...(opts.id !== undefined ? { libraryId: opts.id } : {}),
          ...(opts.version !== undefined ? { version: opts.version } : {}),
          ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
          ...(opts.latest ? { latest: true } : {}),
          ...(opts.kind !== undefined ? { kind: opts.kind } : {}),
        }),
    );

  program
    .command('list')
    .description('List indexed libraries')
    .action(() => set({ name: 'list' }));

  program
    .command('resolve')
    .description('Find library ids matching a name')
    .argument('<name>', 'library name, e.g. "fastify"')
    .argument('[query...]', 'what you want to do, to rank the matches')
    .action((libraryName: string, query: string[]) =>
      set({ name: 'resolve', libraryName, ...(query.length ? { query: query.join(' ') } : {}) }),
    );

  program
    .command('query')
    .description('Get documentation snippets for a question')
    .argument('<libraryId>', 'library id, e.g. /fastify/fastify or /fastify/fastify/v5', parseId)
    .argument('<query...>', 'the question')
    .option('-t, --tokens <n>', 'token budget of the answer', parsePositiveInt)
    .option('--json', 'print the snippets as JSON', false)
    .action((libraryId: string, query: string[], opts: { tokens?: number; json: boolean }) =>
      set({
        name: 'query',
        libraryId,
        query: query.join(' '),
        json: opts.json,
        ...(opts.tokens ? { tokens: opts.tokens } : {}),
      }),
    );

  program
    .command('remove')
    .description('Remove a library, or one version of it')
    .argument('<libraryId>', 'library id, e.g. /fastify/fastify or /fastify/fastify/v5', parseId)
    .action((libraryId: string) => set({ name: 'remove', libraryId }));

  program
    .command('refresh')
    .description(
      'Re-index a library, or every library, from its stored source (changed pages only)',
    )
    .argument('[libraryId]', 'library id, e.g. /npm/zod (default: every library)', parseId)
    .action((libraryId: string | undefined) =>
      set({ name: 'refresh', ...(libraryId !== undefined ? { libraryId } : {}) }),
    );

  program
    .command('mcp')
    .description('Run the MCP server on stdin/stdout, for coding agents')
    .option(
      '--remote <url>',
      'forward to a hosted TwinMCP (its API key from the TWINMCP_API_KEY environment variable)',
      parseServerUrl,
    )
    .action((opts: { remote?: string }) =>
      set({ name: 'mcp', ...(opts.remote !== undefined ? { remote: opts.remote } : {}) }),
    );

  registerAccountsCommands(program, set);
  registerArchiveCommands(program, set);
  registerJobsCommands(program, set);

  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeOut: output.out, writeErr: output.err });
  }
  return program;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new InvalidArgumentError('Expected a port from 0 to 65535.');
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1)
    throw new InvalidArgumentError('Expected a positive whole number.');
  return n;
}

function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL (e.g. https://twinmcp.example.com).`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidArgumentError(`"${value}" must be an http:// or https:// URL.`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function parseId(value: string): string {
  if (!parseLibraryId(value)) {
    throw new InvalidArgumentError(
      'Expected a library id like /owner/name or /owner/name/version.',
    );
  }
  return value.trim();
}

function parseKind(value: string): 'git' | 'web' {
  if (value !== 'git' && value !== 'web') {
    throw new InvalidArgumentError('expected "git" or "web"');
  }
  return value;
}
