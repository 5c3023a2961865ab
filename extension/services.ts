/**
 * What every feature shares: settings, the key in SecretStorage, the REST client and the events
 * (sign-in state, settings). Cheap to build: nothing here touches the network or the disk.
 */
import * as vscode from 'vscode';
import { ServerClient } from './client.js';

const KEY_SECRET = 'twinmcp.apiKey';
const DEFAULT_SERVER_URL = 'http://127.0.0.1:7377';

export class Services implements vscode.Disposable {
  readonly client: ServerClient;
  /** Fires after sign-in, sign-out and a changed server URL. */
  readonly onDidChangeConnection: vscode.Event<void>;
  private readonly connectionEmitter = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];
  private cachedKey: Promise<string | undefined> | undefined;
  private changeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly context: vscode.ExtensionContext) {
    this.onDidChangeConnection = this.connectionEmitter.event;
    this.client = new ServerClient({ serverUrl: () => this.serverUrl(), key: () => this.key() });
    this.disposables.push(
      this.connectionEmitter,
      context.secrets.onDidChange((e) => {
        if (e.key !== KEY_SECRET) return;
        this.cachedKey = undefined;
        this.changed();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('twinmcp.serverUrl')) this.changed();
      }),
    );
  }

  /** The server URL (application scope: a workspace cannot point the user's key elsewhere). */
  serverUrl(): string {
    const url = vscode.workspace.getConfiguration('twinmcp').get<string>('serverUrl');
    return (url?.trim() || DEFAULT_SERVER_URL).replace(/\/+$/, '');
  }

  hoverEnabled(): boolean {
    return vscode.workspace.getConfiguration('twinmcp').get<boolean>('hover.enabled', true);
  }

  key(): Promise<string | undefined> {
    this.cachedKey ??= Promise.resolve(this.context.secrets.get(KEY_SECRET));
    return this.cachedKey;
  }

  async setKey(key: string): Promise<void> {
    await this.context.secrets.store(KEY_SECRET, key);
    this.cachedKey = Promise.resolve(key);
    this.changed();
  }

  async deleteKey(): Promise<void> {
    await this.context.secrets.delete(KEY_SECRET);
    this.cachedKey = Promise.resolve(undefined);
    this.changed();
  }

  /**
   * One event per change: storing a key also fires SecretStorage's own event, and each event
   * restarts the MCP server, so events within 50 ms are one.
   */
  private changed(): void {
    clearTimeout(this.changeTimer);
    this.changeTimer = setTimeout(() => this.connectionEmitter.fire(), 50);
  }

  dispose(): void {
    clearTimeout(this.changeTimer);
    for (const d of this.disposables) d.dispose();
  }
}

/** The message of an error, for notifications. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
