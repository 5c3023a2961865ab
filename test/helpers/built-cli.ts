/**
 * The built CLI (`dist/server/cli.js`) for end-to-end suites: rebuilt when a source file is newer,
 * run to completion, or started as `twinmcp serve` until the test stops it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './corpus.js';

export const CLI = join(REPO_ROOT, 'dist', 'server', 'cli.js');

/** Newest modification time under the folders the CLI bundle is built from. */
function newestSourceMtime(): number {
  let newest = 0;
  const visit = (path: string): void => {
    const info = statSync(path);
    if (info.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (/\.(ts|json)$/.test(path)) {
      newest = Math.max(newest, info.mtimeMs);
    }
  };
  for (const rel of ['server', 'shared', 'package.json']) visit(join(REPO_ROOT, rel));
  return newest;
}

/** Builds dist/ when it is missing or older than the sources. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestSourceMtime()) return;
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}\n${build.stderr}`);
  assert.ok(existsSync(CLI), `${CLI} missing after the build`);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, killing it after `timeoutMs`. */
export function runProcess(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Exit status and both outputs, for assertion messages. */
export const showRun = (r: RunResult): string =>
  `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout.slice(0, 3000)}\n--- stderr\n${r.stderr.slice(0, 3000)}`;

export interface RunningServe {
  child: ChildProcess;
  base: string;
  port: number;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `twinmcp serve --port 0` and resolves once it prints its URL. */
export async function startServe(opts: {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<RunningServe> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + (opts.timeoutMs ?? 45_000);
  for (;;) {
    const m = /TwinMCP listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
    if (m) {
      return {
        child,
        base: m[1]!,
        port: Number(m[2]),
        output: () => out,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    if (child.exitCode !== null) assert.fail(`serve exited early:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`serve did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
