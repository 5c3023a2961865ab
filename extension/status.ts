/** The status bar item: connection and plan, refreshed after activation and on every change. */
import * as vscode from 'vscode';
import type { ConnectionState } from '../shared/webview-protocol.js';
import type { Connection } from './connection.js';

export function describeConnection(s: ConnectionState): { text: string; tooltip: string } {
  switch (s.status) {
    case 'connected':
      return {
        text: `$(book) TwinMCP${s.account ? `: ${s.account.plan}` : ''}`,
        tooltip: s.account
          ? `Signed in to ${s.serverUrl} as ${s.account.email ?? s.account.name} (${s.account.plan} plan)`
          : `Connected to ${s.serverUrl} (no accounts on this server)`,
      };
    case 'unauthorized':
      return {
        text: '$(book) TwinMCP: sign in',
        tooltip: `${s.serverUrl}: ${s.message ?? 'not signed in'}`,
      };
    case 'offline':
      return {
        text: '$(debug-disconnect) TwinMCP',
        tooltip: s.message ?? `${s.serverUrl} is not reachable`,
      };
  }
}

export function registerStatusBar(context: vscode.ExtensionContext, connection: Connection): void {
  const item = vscode.window.createStatusBarItem(
    'twinmcp.status',
    vscode.StatusBarAlignment.Right,
    100,
  );
  item.name = 'TwinMCP';
  item.text = '$(book) TwinMCP';
  item.command = 'twinmcp.openAccount';
  item.show();
  const show = (s: ConnectionState) => {
    const d = describeConnection(s);
    item.text = d.text;
    item.tooltip = d.tooltip;
    item.command = s.status === 'unauthorized' ? 'twinmcp.signIn' : 'twinmcp.openAccount';
  };
  // After activation, off its critical path: the first request waits for the event loop to idle.
  const timer = setTimeout(() => void connection.state().then(show), 1000);
  context.subscriptions.push(item, connection.onDidChange(show), {
    dispose: () => clearTimeout(timer),
  });
}
