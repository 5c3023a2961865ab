/**
 * A PostgreSQL 15 server for the reliability runs that can be stopped and started again on the
 * same data directory and port (test/helpers/pg-server.ts throws its cluster away on stop, which a
 * restart-under-load scenario cannot use).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from './processes.js';

export interface RestartablePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/twinmcp`. */
  url: string;
  port: number;
  /** Fast shutdown (SIGINT: sessions are aborted, as when a server is restarted by its operator). */
  stop(): Promise<void>;
  /** Starts the server again on the same data directory and port; resolves once it accepts queries. */
  start(): Promise<void>;
  /** Stops the server for good and deletes its files. */
  dispose(): Promise<void>;
  /** Whether the postmaster is up. */
  running(): boolean;
}

function binDir(): string {
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
  candidates.push(...(process.env.PATH ?? '').split(':'));
  const found = candidates.find((d) => d && existsSync(join(d, 'initdb')));
  if (!found) {
    throw new Error(
      'PostgreSQL server binaries (initdb, postgres) not found: apt-get install -y postgresql',
    );
  }
  return found;
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` system user. */
function asUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  return { uid, gid };
}

async function waitAccepting(url: string, child: ChildProcess, log: () => string): Promise<void> {
  // A fresh cluster accepts connections ~0.3 s after start; 30 s covers a loaded machine.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}):\n${log()}`);
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

/** initdb in a temp dir and start it on a free loopback port with a `twinmcp` database. */
export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const bin = binDir();
  const user = asUser();
  // Its own temp dir (not the run's): as root, the server user must own every folder above it.
  const root = mkdtempSync(join(tmpdir(), 'twinmcp-reliability-pg-'));
  const dataDir = join(root, 'data');
  if (user) chownSync(root, user.uid, user.gid);
  const command = (exe: string, args: string[]): [string, string[]] =>
    user
      ? [
          'setpriv',
          [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', join(bin, exe), ...args],
        ]
      : [join(bin, exe), args];
  const [initdb, initArgs] = command('initdb', [
    ...['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
  ]);
  try {
    execFileSync(initdb, initArgs, { stdio: 'pipe' });
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  }

  const port = await freePort();
  // Durability off: the cluster is thrown away. 4 processes x 10 pooled connections + the test's
  // own fit in 100; 200 leaves room for a pool that reconnects before the old sockets are reaped.
  const settings = ['fsync=off', 'full_page_writes=off', 'synchronous_commit=off'];
  settings.push('max_connections=200');
  const base = `postgres://postgres@127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let stderr = '';

  const start = async () => {
    const [exe, args] = command('postgres', [
      ...['-D', dataDir, '-k', root, '-p', String(port), '-h', '127.0.0.1'],
      ...settings.flatMap((s) => ['-c', s]),
    ]);
    const proc = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8192);
    });
    child = proc;
    await waitAccepting(`${base}/postgres`, proc, () => stderr);
  };
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT');
    await exited;
  };
  const killOnExit = () => {
    child?.kill('SIGQUIT');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  await start();
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe('CREATE DATABASE twinmcp');
  } finally {
    await admin.end({ timeout: 1 });
  }
  return {
    url: `${base}/twinmcp`,
    port,
    start,
    stop,
    async dispose() {
      await stop();
      process.removeListener('exit', killOnExit);
      rmSync(root, { recursive: true, force: true });
    },
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
  };
}
