/**
 * The workspace's dependency versions (name -> locked version), read from the first workspace
 * folder's package.json and lockfiles on first use, then kept until one of them changes.
 */
import { createRequire } from 'node:module';
import * as vscode from 'vscode';
import type * as Lockfiles from '../shared/lockfiles.js';

type LockfilesModule = typeof Lockfiles;

const WATCHED =
  '{package.json,package-lock.json,npm-shrinkwrap.json,pnpm-lock.yaml,yarn.lock,poetry.lock,requirements.txt}';
// Lockfiles of big monorepos reach tens of MB; beyond this the parse would stall the host.
const MAX_FILE_BYTES = 20 * 1024 * 1024;

/**
 * shared/lockfiles.ts from its own bundle (dist/extension/lockfiles.cjs, built by
 * scripts/build.mjs beside extension.cjs), required on first use so activation never parses it.
 */
export function loadLockfiles(extensionUri: vscode.Uri): LockfilesModule {
  const file = vscode.Uri.joinPath(extensionUri, 'dist', 'extension', 'lockfiles.cjs').fsPath;
  return createRequire(file)(file) as LockfilesModule;
}

export class WorkspaceDeps implements vscode.Disposable {
  private cached: Promise<Map<string, string>> | undefined;
  private watcher: vscode.FileSystemWatcher | undefined;
  private readonly emitter = new vscode.EventEmitter<void>();
  /** Fires when a watched manifest or lockfile changed (after the first read). */
  readonly onDidChange = this.emitter.event;

  /** name -> version; empty without a workspace folder. */
  constructor(private readonly extensionUri: vscode.Uri) {}

  get(): Promise<Map<string, string>> {
    this.cached ??= this.read().catch(() => new Map<string, string>());
    return this.cached;
  }

  /** As a plain object for JSON (the MCP header, chat `workspaceDeps`). */
  async record(): Promise<Record<string, string>> {
    return Object.fromEntries(await this.get());
  }

  private async read(): Promise<Map<string, string>> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return new Map();
    this.watch(folder);
    const { LOCKFILE_NAMES, workspaceDependencies } = loadLockfiles(this.extensionUri);
    const readText = async (name: string): Promise<string | undefined> => {
      const uri = vscode.Uri.joinPath(folder.uri, name);
      try {
        const stat = await vscode.workspace.fs.stat(uri);
        if (stat.size > MAX_FILE_BYTES) return undefined;
        return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      } catch {
        return undefined;
      }
    };
    const [packageJson, ...texts] = await Promise.all([
      readText('package.json'),
      ...LOCKFILE_NAMES.map(readText),
    ]);
    const lockfiles = LOCKFILE_NAMES.flatMap((name, i) => {
      const text = texts[i];
      return text === undefined ? [] : [{ name, text }];
    });
    return workspaceDependencies({
      ...(packageJson !== undefined ? { packageJson } : {}),
      lockfiles,
    });
  }

  private watch(folder: vscode.WorkspaceFolder): void {
    if (this.watcher) return;
    this.watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(folder, WATCHED),
    );
    const changed = () => {
      this.cached = undefined;
      this.emitter.fire();
    };
    this.watcher.onDidChange(changed);
    this.watcher.onDidCreate(changed);
    this.watcher.onDidDelete(changed);
  }

  dispose(): void {
    this.watcher?.dispose();
    this.emitter.dispose();
  }
}
