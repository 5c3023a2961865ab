/**
 * Child processes for the reliability runs, each the leader of its own process group so that a
 * kill reaches everything it started, and all of them killed when the test process exits even
 * after a failed assertion or an uncaught error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Managed {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last 32 kB of stdout and stderr together, for failure messages. */
  output(): string;
  alive(): boolean;
  /** Resolves when the process has exited (at once when it already has). */
  exited: Promise<void>;
  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM the group, then SIGKILL after `graceMs` (default 10 s). */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Managed>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

const killAll = () => {
  for (const proc of live) killGroup(proc.pid, 'SIGKILL');
};
process.once('exit', killAll);
// Ctrl-C or a timeout's SIGTERM ends the test process without its 'exit' event.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

/** Spawns `command` in a new process group, output captured. */
export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string },
): Managed {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command}`);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-32_768);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: Managed = {
    name,
    pid: child.pid,
    child,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited,
    signal: (signal) => killGroup(child.pid!, signal),
    async stop(graceMs = 10_000) {
      if (!proc.alive()) return;
      proc.signal('SIGTERM');
      const timer = setTimeout(() => proc.signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Children of the leader (if any) go too.
      killGroup(child.pid!, 'SIGKILL');
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Resolves with the first match of `pattern` in the output; fails when the process exits first. */
export async function waitForOutput(
  proc: Managed,
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(proc.output());
    if (m) return m;
    if (!proc.alive()) throw new Error(`${proc.name} exited early:\n${proc.output()}`);
    if (Date.now() > deadline) {
      throw new Error(`${proc.name}: no ${pattern} after ${timeoutMs} ms:\n${proc.output()}`);
    }
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('port')),
      );
    });
  });
}

/** Polls `check` every `everyMs` until it returns true; throws `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}
