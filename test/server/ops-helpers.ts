/**
 * For the operations suites: a PostgreSQL server that can be stopped and started again on the same
 * data directory and port (test/helpers/pg-server.ts throws its cluster away on stop).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { CLI } from '../helpers/built-cli.js';
import { REPO_ROOT } from '../helpers/corpus.js';

export interface StoppablePostgres {
  /** `postgres://postgres@127.0.0.1:<port>` without a database name. */
  base: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server for good and removes its files. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const dirs = existsSync(root)
    ? readdirSync(root)
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => join(root, v, 'bin'))
    : [];
  dirs.push(...(process.env.PATH ?? '').split(':'));
  const found = dirs.find((d) => d && existsSync(join(d, 'initdb')));
  if (!found) throw new Error('PostgreSQL server binaries not found: apt-get install postgresql');
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(),
      );
    });
  });
}

/** initdb + start on a free loopback port; as root, runs as the `postgres` user. */
export async function startStoppablePostgres(): Promise<StoppablePostgres> {
  const bin = binDir();
  const root = mkdtempSync(join(tmpdir(), 'twinmcp-ops-pg-'));
  const dataDir = join(root, 'data');
  let prefix: string[] = [];
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(root, uid, gid);
    prefix = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'];
  }
  const cmd = (exe: string, args: string[]): [string, string[]] =>
    prefix.length
      ? [prefix[0]!, [...prefix.slice(1), join(bin, exe), ...args]]
      : [join(bin, exe), args];
  const [initdb, initArgs] = cmd('initdb', [
    ...['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
  ]);
  execFileSync(initdb, initArgs, { stdio: 'pipe' });
  const port = await freePort();
  const base = `postgres://postgres@127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    const [exe, args] = cmd('postgres', [
      ...['-D', dataDir, '-k', root, '-p', String(port), '-h', '127.0.0.1'],
      ...['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    ]);
    const proc = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4096)));
    child = proc;
    // ~0.3 s to accept connections alone; 60 s on a machine shared by many suites.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`postgres exited:\n${log}`);
      const sql = postgres(`${base}/postgres`, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await sql.unsafe('SELECT 1');
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`postgres not ready: ${err}\n${log}`);
      } finally {
        await sql.end({ timeout: 1 });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT'); // fast shutdown: sessions are cut, as in an operator's restart
    await exited;
  };
  const killOnExit = () => {
    child?.kill('SIGQUIT');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  await start();
  return {
    base,
    start,
    stop,
    async destroy() {
      process.removeListener('exit', killOnExit);
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Creates database `name` on the server. */
export async function createDatabase(base: string, name: string): Promise<string> {
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  return `${base}/${name}`;
}

/** A long-running CLI process: resolves once its output matches `ready`. */
export async function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{
  child: ChildProcess;
  match: RegExpExecArray;
  output: () => string;
  exit: Promise<number | null>;
}> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Start-up is ~1 s alone; several minutes on a CI machine shared by many suites.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const match = ready.exec(out);
    if (match) return { child, match, output: () => out, exit };
    if (child.exitCode !== null) assert.fail(`${args.join(' ')} exited early:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`${args.join(' ')} did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The environment of a CLI process on `url`, with a data directory of its own. */
export function cliEnv(
  tmp: string,
  name: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: tmp,
    TWINMCP_DATA_DIR: join(tmp, name),
    TWINMCP_LOG_LEVEL: 'warn',
    ...extra,
  };
}
