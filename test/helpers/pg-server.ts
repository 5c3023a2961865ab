import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

export interface PgServer {
  /** URL of a database created for the run (`twinmcp_test`). */
  url: string;
  /** Create another empty database on this server and return its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Drop a database made by createDatabase, closing its remaining connections. */
  dropDatabase(url: string): Promise<void>;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, postgres) not found. Install them, e.g. ' +
  '`apt-get install -y postgresql` (Debian/Ubuntu) or `brew install postgresql` (macOS).';

function findBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config comes with libpq-dev, which a server install may lack: scan instead.
  }
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debianRoot, v, 'bin')));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) candidates.push(dir);
  const found = candidates.find(
    (dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
  if (!found) throw new Error(INSTALL_HINT);
  return found;
}

// PostgreSQL refuses to run as root: as root, run it as the `postgres` system user.
function runAs(): { uid: number; gid: number; prefix: string[] } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    // setpriv execs in place (no intermediate process), so signals reach postgres directly.
    return { uid, gid, prefix: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'] };
  } catch {
    throw new Error(
      'Running as root and no `postgres` system user exists to run the test server as; ' +
        'install the postgresql package (it creates the user) or run the tests as another user.',
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  // A fresh cluster accepts connections ~0.3 s after start; 30 s covers a loaded CI machine.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`postgres exited with code ${child.exitCode}:\n${log()}`);
    }
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql.unsafe('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`postgres not ready after 30 s: ${err}\n${log()}`);
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * initdb a throwaway cluster in a temp dir and start it on a free localhost port, durability
 * off (fsync, full_page_writes). ~1.1 s here. Throws with install instructions when the
 * binaries are missing: tests must never skip PostgreSQL silently.
 */
export async function startPostgresServer(): Promise<PgServer> {
  const bin = findBinDir();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'twinmcp-pg-'));
  const dataDir = join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const command = (exe: string, args: string[]): [string, string[]] =>
    user
      ? [user.prefix[0]!, [...user.prefix.slice(1), join(bin, exe), ...args]]
      : [join(bin, exe), args];

  try {
    // -A trust: a throwaway cluster on 127.0.0.1 holding nothing worth a password.
    const flags = '-U postgres -A trust -E UTF8 --locale=C --no-sync'.split(' ');
    const [initdb, initArgs] = command('initdb', ['-D', dataDir, ...flags]);
    execFileSync(initdb, initArgs, { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
    throw new Error(`initdb failed: ${stderr}`);
  }

  const port = await freePort();
  // Durability off (fsync, full_page_writes, synchronous_commit): the cluster is thrown away.
  // Suites each hold a pool of up to 10 connections; 200 leaves room to spare.
  const settings = [
    'fsync=off',
    'full_page_writes=off',
    'synchronous_commit=off',
    'max_connections=200',
  ];
  const [exe, args] = command('postgres', [
    ...['-D', dataDir, '-k', dir, '-p', String(port), '-h', '127.0.0.1'],
    ...settings.flatMap((setting) => ['-c', setting]),
  ]);
  const child = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // Keep the last 8 kB for error messages.
    stderr = (stderr + chunk.toString()).slice(-8192);
  });
  const killOnExit = () => {
    // Immediate shutdown (SIGQUIT) if the test process exits without calling stop().
    child.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  const base = `postgres://postgres@127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT'); // fast shutdown: abort sessions, no checkpoint wait worth having
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(`${base}/postgres`, child, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }

  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  let count = 0;
  const createDatabase = async (name = `t_${process.pid}_${++count}_${Date.now() % 1e6}`) => {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    return `${base}/${name}`;
  };
  const dropDatabase = async (url: string) => {
    const name = new URL(url).pathname.slice(1);
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  const url = await createDatabase('twinmcp_test');
  return {
    url,
    createDatabase,
    dropDatabase,
    async stop() {
      await admin.end({ timeout: 1 });
      await stop();
    },
  };
}

let shared: Promise<PgServer> | undefined;

/**
 * One server per test run, started on first use (initdb + start ~1.1 s here, so suites do not
 * each pay it) and stopped by a root `after` hook.
 */
export function sharedPostgresServer(): Promise<PgServer> {
  shared ??= startPostgresServer();
  return shared;
}

// Registered at import time, which mocha runs while loading spec files, so this lands on the root
// suite and runs once after every test. Outside mocha (`after` undefined) nothing is registered.
if (typeof after === 'function') {
  after(async () => {
    const server = shared;
    shared = undefined;
    // A server that failed to start already reported its error in the test that needed it.
    const started = await server?.catch(() => undefined);
    await started?.stop();
  });
}
