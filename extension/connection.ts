/**
 * Connection and plan state: asked of the server lazily (first view or status refresh), cached
 * until sign-in, sign-out or a settings change. Shared by the status bar and the webviews.
 */
import * as vscode from 'vscode';
import type { AccountResponse } from '../shared/account.js';
import type { ConnectionState } from '../shared/webview-protocol.js';
import { ApiError } from './client.js';
import type { Services } from './services.js';

export class Connection implements vscode.Disposable {
  private current: Promise<ConnectionState> | undefined;
  private readonly emitter = new vscode.EventEmitter<ConnectionState>();
  readonly onDidChange = this.emitter.event;
  private readonly sub: vscode.Disposable;

  constructor(private readonly services: Services) {
    this.sub = services.onDidChangeConnection(() => {
      this.current = undefined;
      void this.state().then((s) => this.emitter.fire(s));
    });
  }

  /** The state, asking the server once per change. */
  state(): Promise<ConnectionState> {
    this.current ??= this.fetch();
    return this.current;
  }

  refresh(): Promise<ConnectionState> {
    this.current = undefined;
    const next = this.state();
    void next.then((s) => this.emitter.fire(s));
    return next;
  }

  private async fetch(): Promise<ConnectionState> {
    const serverUrl = this.services.serverUrl();
    try {
      // Without a key this still tells "sign in needed" (401) from a server with auth off.
      const me = await this.services.client.json<AccountResponse>('/api/v1/account', {
        timeoutMs: 5000,
      });
      return {
        serverUrl,
        status: 'connected',
        account: { name: me.account.name, email: me.account.email, plan: me.plan.name },
      };
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        const signedIn = Boolean(await this.services.key());
        return {
          serverUrl,
          status: 'unauthorized',
          message: signedIn ? err.message : 'Not signed in',
        };
      }
      if (err instanceof ApiError && err.code !== 'network' && err.status > 0 && err.status < 500) {
        // Auth off (a local server): no accounts, every call is allowed.
        return { serverUrl, status: 'connected' };
      }
      return {
        serverUrl,
        status: 'offline',
        message: err instanceof Error ? err.message : String(err),
      };
    }
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}
