/**
 * `twinmcp export <libraryId>` and `twinmcp import <file>`: move an index between machines as a
 * signed archive (server/archive/). Both open the database directly, like `accounts`: with
 * DATABASE_URL alongside running servers; with the embedded database only when no server holds it.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { parseLibraryId } from '../../shared/library-id.js';
import { exportArchive } from '../archive/export.js';
import { ArchiveError, decodeArchive } from '../archive/format.js';
import { importLibrary } from '../archive/import.js';
import {
  loadOrCreateSigningKey,
  readSigningKey,
  signerFingerprint,
  signingKeyPath,
} from '../archive/keys.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { MIGRATIONS } from '../db/schema.js';
import { acquireLock, generateAdminToken, readLock } from '../lock.js';
import type { CliIo } from './commands.js';

export type ArchiveCommand =
  | { name: 'export'; libraryId: string; output?: string; key?: string }
  | { name: 'import'; file: string; trust: string[]; key?: string };

/** Exit code of an archive refused as corrupt, tampered, untrusted or unsupported. */
export const EXIT_ARCHIVE = 4;
// Same as EXIT_USAGE in args.ts (not imported: args.ts imports this module).
const EXIT_IN_USE = 2;

/** True for the commands this module runs. */
export function isArchiveCommand(command: { name: string }): command is ArchiveCommand {
  return command.name === 'export' || command.name === 'import';
}

/** The data directory is held by another process, or the file cannot be read: exit code 2. */
export class ArchiveCliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveCliError';
  }
}

/** Adds `export` and `import` to the program; `set` receives the parsed command. */
export function registerArchiveCommands(program: Command, set: (c: ArchiveCommand) => void): void {
  program
    .command('export')
    .description('Write a library (all its versions, or one) to a signed archive file')
    .argument('<libraryId>', 'library id, e.g. /fastify/fastify or /fastify/fastify/v5', parseId)
    .option('-o, --output <file>', 'archive file (default: <owner>-<name>[-<version>].twinmcp.gz)')
    .option(
      '--key <file>',
      'Ed25519 signing key, PEM (default: <data dir>.archive-key.pem, created on first use)',
    )
    .action((libraryId: string, o: { output?: string; key?: string }) =>
      set({
        name: 'export',
        libraryId,
        ...(o.output !== undefined ? { output: o.output } : {}),
        ...(o.key !== undefined ? { key: o.key } : {}),
      }),
    );
  program
    .command('import')
    .description(
      'Load a library from an archive made by `twinmcp export` (replaces the same versions)',
    )
    .argument('<file>', 'archive file')
    .option(
      '--trust <fingerprint>',
      'accept archives signed by this key (SHA256:…, printed by export); repeatable',
      collect,
      [] as string[],
    )
    .option(
      '--key <file>',
      "this machine's signing key, trusted implicitly (default: <data dir>.archive-key.pem)",
    )
    .action((file: string, o: { trust: string[]; key?: string }) =>
      set({
        name: 'import',
        file,
        trust: o.trust,
        ...(o.key !== undefined ? { key: o.key } : {}),
      }),
    );
}

function collect(value: string, previous: string[]): string[] {
  if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(value.trim())) {
    throw new InvalidArgumentError('Expected a key fingerprint like SHA256:abc… (43 characters).');
  }
  return [...previous, value.trim()];
}

function parseId(value: string): string {
  if (!parseLibraryId(value)) {
    throw new InvalidArgumentError(
      'Expected a library id like /owner/name or /owner/name/version.',
    );
  }
  return value.trim();
}

/** Runs export or import; resolves to the exit code. Other failures propagate to main. */
export async function runArchiveCommand(
  command: ArchiveCommand,
  config: Config,
  io: CliIo,
): Promise<number> {
  try {
    return command.name === 'export'
      ? await exportCommand(command, config, io)
      : await importCommand(command, config, io);
  } catch (err) {
    if (err instanceof ArchiveCliError) {
      io.err(`error: ${err.message}\n`);
      return EXIT_IN_USE;
    }
    if (!(err instanceof ArchiveError)) throw err;
    io.err(`error: archive refused: ${err.message}\n`);
    return EXIT_ARCHIVE;
  }
}

async function exportCommand(
  command: Extract<ArchiveCommand, { name: 'export' }>,
  config: Config,
  io: CliIo,
): Promise<number> {
  const key = await loadOrCreateSigningKey(
    path.resolve(io.cwd, command.key ?? signingKeyPath(config.dataDir)),
  );
  const parsed = parseLibraryId(command.libraryId)!;
  const output = path.resolve(
    io.cwd,
    command.output ??
      `${parsed.owner}-${parsed.name}${parsed.version ? `-${parsed.version}` : ''}.twinmcp.gz`,
  );
  const result = await withDatabase(config, 'export', (db) =>
    exportArchive(db, command.libraryId, key),
  );
  // Written beside the target and renamed: a reader never sees half an archive.
  const partial = `${output}.partial`;
  await writeFile(partial, result.file);
  await rename(partial, output);
  const fingerprint = signerFingerprint(key);
  const m = result.manifest;
  io.out(
    `Exported ${m.library.id} (${describeVersions(m.versions.map((v) => v.version))}: ` +
      `${result.parts.pages.length} pages, ${result.parts.chunks.length} snippets` +
      `${result.parts.vectors.length ? `, ${result.parts.vectors.length} vectors` : ''}) to ${output}\n`,
  );
  io.err(
    `Signed by ${fingerprint}. On the other machine: twinmcp import ${path.basename(output)} --trust ${fingerprint}\n`,
  );
  return 0;
}

async function importCommand(
  command: Extract<ArchiveCommand, { name: 'import' }>,
  config: Config,
  io: CliIo,
): Promise<number> {
  const file = await readFile(path.resolve(io.cwd, command.file)).catch((err: unknown) => {
    throw new ArchiveCliError(`cannot read ${command.file}: ${(err as Error).message}`);
  });
  const trusted = new Set(command.trust);
  const own = await readSigningKey(
    path.resolve(io.cwd, command.key ?? signingKeyPath(config.dataDir)),
  );
  if (own) trusted.add(signerFingerprint(own));
  // Verified before the database opens: a refused archive never touches the store.
  const { manifest, parts, signer } = decodeArchive(file, trusted);
  io.err(`Archive of ${manifest.library.id} signed by ${signer}, verified.\n`);
  const summary = await withDatabase(config, 'import', (db) => importLibrary(db, manifest, parts));
  io.out(
    `Imported ${summary.libraryId} (${describeVersions(summary.versions)}: ${summary.pages} pages, ` +
      `${summary.snippets} snippets${summary.vectors ? `, ${summary.vectors} vectors` : ''})\n`,
  );
  if (summary.vectorsSkipped) io.err(`Vectors not imported: ${summary.vectorsSkipped}\n`);
  return 0;
}

function describeVersions(versions: string[]): string {
  const labels = versions.map((v) => v || 'default');
  return `${labels.length === 1 ? 'version' : 'versions'} ${labels.join(', ')}`;
}

async function withDatabase<T>(
  config: Config,
  command: string,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  if (config.databaseUrl) return withOpen(openDatabase({ databaseUrl: config.databaseUrl }), fn);
  const owner = await readLock(config.lockFile);
  if (owner) {
    throw new ArchiveCliError(
      `The embedded database in ${config.dataDir} is open in process ${owner.pid} (twinmcp ${owner.command ?? 'serve'}). ` +
        `Stop it to ${command}, then start it again; or use a PostgreSQL server (DATABASE_URL), ` +
        'which every process can share.',
    );
  }
  const lock = await acquireLock(config.lockFile, {
    pid: process.pid,
    adminToken: generateAdminToken(),
    dataDir: config.dataDir,
    command,
  });
  try {
    return await withOpen(openDatabase({ dataDir: config.dataDir }), fn);
  } finally {
    await lock.release();
  }
}

async function withOpen<T>(opening: Promise<Db>, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await opening;
  try {
    await migrate(db, MIGRATIONS);
    return await fn(db);
  } finally {
    await db.close();
  }
}
