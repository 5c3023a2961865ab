/**
 * The account page (a webview panel): plan, usage this period, API keys (create: the secret shown
 * once; revoke), Upgrade (Checkout URL) and Manage Billing (portal URL), all through the host.
 */
import * as vscode from 'vscode';
import type {
  AccountResponse,
  CreatedKeyResponse,
  KeysResponse,
  UsageResponse,
} from '../shared/account.js';
import { isWebviewMessage, type HostMessage } from '../shared/webview-protocol.js';
import { ApiError } from './client.js';
import type { Connection } from './connection.js';
import type { Services } from './services.js';
import { handleCommonMessage, loadWebview, reportTo, webviewOptions } from './webview-common.js';

type AccountData = Extract<HostMessage, { type: 'account/data' }>;

// The built-in plans in price order (server/accounts/config.ts); Upgrade offers those above yours.
const PLAN_ORDER = ['free', 'pro', 'team'];

/** The account data the page shows; undefined when not signed in. */
export async function accountSnapshot(services: Services): Promise<AccountData | undefined> {
  const client = services.client;
  try {
    const [me, usage, keys] = await Promise.all([
      client.json<AccountResponse>('/api/v1/account'),
      client.json<UsageResponse>('/api/v1/account/usage'),
      client.json<KeysResponse>('/api/v1/account/keys'),
    ]);
    const at = PLAN_ORDER.indexOf(me.plan.name);
    return {
      type: 'account/data',
      account: me.account,
      plan: me.plan,
      usage,
      keys: keys.keys,
      upgradePlans: at < 0 ? [] : PLAN_ORDER.slice(at + 1),
    };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export function registerAccountPanel(
  context: vscode.ExtensionContext,
  services: Services,
  connection: Connection,
): void {
  let panel: vscode.WebviewPanel | undefined;

  const open = () => {
    if (panel) return panel.reveal();
    const p = vscode.window.createWebviewPanel(
      'twinmcp.account',
      'TwinMCP Account',
      vscode.ViewColumn.Active,
      {
        ...webviewOptions(context),
        retainContextWhenHidden: false,
      },
    );
    panel = p;
    const post = (m: HostMessage) => void p.webview.postMessage(m);
    const report = reportTo(post);
    const send = async () => {
      const data = await accountSnapshot(services);
      post(data ?? { type: 'account/signedOut' });
      post({ type: 'connection', state: await connection.state() });
    };
    const openUrl = async (path: string, body: unknown) => {
      const { url } = await services.client.json<{ url: string }>(path, { method: 'POST', body });
      await vscode.env.openExternal(vscode.Uri.parse(url));
    };
    p.webview.onDidReceiveMessage(async (raw: unknown) => {
      if (!isWebviewMessage(raw)) return;
      try {
        if (await handleCommonMessage(raw)) return;
        switch (raw.type) {
          case 'ready':
          case 'account/refresh':
            return await send();
          case 'account/createKey': {
            const created = await services.client.json<CreatedKeyResponse>('/api/v1/account/keys', {
              method: 'POST',
              body: { name: raw.name },
            });
            post({ type: 'account/keyCreated', key: created.key, secret: created.secret });
            return await send();
          }
          case 'account/revokeKey':
            await services.client.json(`/api/v1/account/keys/${encodeURIComponent(raw.id)}`, {
              method: 'DELETE',
            });
            return await send();
          case 'account/upgrade':
            return await openUrl('/api/v1/billing/checkout', { plan: raw.plan });
          case 'account/manageBilling':
            return await openUrl('/api/v1/billing/portal', {});
          default:
            return;
        }
      } catch (err) {
        report(err);
      }
    });
    const sub = connection.onDidChange(() => void send().catch(report));
    p.onDidDispose(() => {
      sub.dispose();
      panel = undefined;
    });
    loadWebview(context, p.webview, 'account', 'TwinMCP Account');
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('twinmcp.openAccount', open),
    // For integration suites: the data the page shows (undefined when signed out).
    vscode.commands.registerCommand('twinmcp.account.snapshot', () => accountSnapshot(services)),
  );
}
