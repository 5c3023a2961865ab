/**
 * Sign-in: a `vscode.authentication` provider (the account shows in VS Code's Accounts menu) whose
 * session is the API key in SecretStorage, obtained by the device flow or pasted by the user.
 */
import * as vscode from 'vscode';
import type { AccountResponse } from '../shared/account.js';
import { ApiError } from './client.js';
import { pollForKey, requestDeviceCode } from './device-flow.js';
import { messageOf, type Services } from './services.js';

export const AUTH_PROVIDER_ID = 'twinmcp';
const LABEL_STATE = 'twinmcp.accountLabel';
const SESSION_ID = 'twinmcp-key';

class KeyAuthProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly emitter =
    new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.emitter.event;
  private last: vscode.AuthenticationSession | undefined;

  constructor(private readonly services: Services) {}

  private async session(): Promise<vscode.AuthenticationSession | undefined> {
    const key = await this.services.key();
    if (!key) return undefined;
    const label = this.services.context.globalState.get<string>(LABEL_STATE) ?? 'TwinMCP account';
    return { id: SESSION_ID, accessToken: key, account: { id: label, label }, scopes: [] };
  }

  async getSessions(): Promise<vscode.AuthenticationSession[]> {
    const s = await this.session();
    return s ? [s] : [];
  }

  async createSession(): Promise<vscode.AuthenticationSession> {
    const key = await signInInteractively(this.services);
    if (!key) throw new Error('Sign-in cancelled');
    const s = await this.session();
    if (!s) throw new Error('Sign-in failed');
    return s;
  }

  async removeSession(): Promise<void> {
    await signOut(this.services);
  }

  /** Tells VS Code the session changed (the key was stored or deleted by any path). */
  async announce(): Promise<void> {
    const now = await this.session();
    const before = this.last;
    this.last = now;
    if (now && !before) this.emitter.fire({ added: [now], removed: [], changed: [] });
    else if (!now && before) this.emitter.fire({ added: [], removed: [before], changed: [] });
    else if (now && before && now.accessToken !== before.accessToken) {
      this.emitter.fire({ added: [], removed: [], changed: [now] });
    }
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** Validates a key with `GET /api/v1/account` and stores it; returns the account label. */
export async function signInWithKey(services: Services, key: string): Promise<string> {
  const trimmed = key.trim();
  if (!trimmed) throw new Error('The API key is empty');
  const me = await services.client.json<AccountResponse>('/api/v1/account', { key: trimmed });
  const label = me.account.email ?? me.account.name ?? me.account.id;
  await services.context.globalState.update(LABEL_STATE, label);
  await services.setKey(trimmed);
  return label;
}

async function signOut(services: Services): Promise<void> {
  await services.deleteKey();
  await services.context.globalState.update(LABEL_STATE, undefined);
}

async function signInInteractively(services: Services): Promise<string | undefined> {
  const choice = await vscode.window.showQuickPick(
    [
      {
        label: '$(globe) Sign in with your browser',
        detail: 'Approve a one-time code on the server’s sign-in page',
        id: 'device',
      },
      {
        label: '$(key) Paste an API key',
        detail: 'A tmcp_… key from the account page or `twinmcp keys create`',
        id: 'paste',
      },
    ],
    { title: `Sign in to TwinMCP (${services.serverUrl()})`, ignoreFocusOut: true },
  );
  if (!choice) return undefined;
  try {
    if (choice.id === 'paste') return await pasteKey(services);
    return await deviceSignIn(services);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'cancelled') return undefined;
    void vscode.window.showErrorMessage(`TwinMCP sign-in failed: ${messageOf(err)}`);
    return undefined;
  }
}

async function pasteKey(services: Services): Promise<string | undefined> {
  const key = await vscode.window.showInputBox({
    title: 'TwinMCP API key',
    prompt: `Checked against ${services.serverUrl()}; stored in VS Code's secret storage only.`,
    placeHolder: 'tmcp_…',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Paste the key'),
  });
  if (!key) return undefined;
  const label = await signInWithKey(services, key);
  void vscode.window.showInformationMessage(`TwinMCP: signed in as ${label}`);
  return key.trim();
}

async function deviceSignIn(services: Services): Promise<string | undefined> {
  const code = await requestDeviceCode(services.client);
  const target = code.verification_uri_complete ?? code.verification_uri;
  await vscode.env.clipboard.writeText(code.user_code);
  void vscode.env.openExternal(vscode.Uri.parse(target));
  const key = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `TwinMCP: approve code ${code.user_code} in your browser (copied; ${code.verification_uri})`,
      cancellable: true,
    },
    (_progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      return pollForKey(services.client, code, { signal: controller.signal });
    },
  );
  const label = await signInWithKey(services, key);
  void vscode.window.showInformationMessage(`TwinMCP: signed in as ${label}`);
  return key;
}

/** The authentication provider and the Sign In / Sign Out commands. */
export function registerAuth(context: vscode.ExtensionContext, services: Services): void {
  const provider = new KeyAuthProvider(services);
  void provider.announce();
  context.subscriptions.push(
    provider,
    vscode.authentication.registerAuthenticationProvider(AUTH_PROVIDER_ID, 'TwinMCP', provider, {
      supportsMultipleAccounts: false,
    }),
    services.onDidChangeConnection(() => void provider.announce()),
    // `{ key }` signs in without UI (the integration suite and scripts use it).
    vscode.commands.registerCommand('twinmcp.signIn', async (arg?: { key?: string }) => {
      if (arg?.key) return signInWithKey(services, arg.key);
      await vscode.authentication.getSession(AUTH_PROVIDER_ID, [], { createIfNone: true }).then(
        () => undefined,
        () => undefined,
      );
      return undefined;
    }),
    vscode.commands.registerCommand('twinmcp.signOut', async () => {
      await signOut(services);
      void vscode.window.showInformationMessage(
        'TwinMCP: signed out; the key was removed from this machine.',
      );
    }),
  );
}
