/**
 * TwinMCP for VS Code. `activate()` is the table of contents: one register call per feature.
 * Nothing here touches the network or scans files; each feature loads its heavy parts on first
 * use (the bench holds activation under 50 ms: `twinmcp.debug.activationMs`).
 */
import * as vscode from 'vscode';
import { registerAccountPanel } from './account-panel.js';
import { registerAuth } from './auth.js';
import { registerChatView } from './chat-view.js';
import { registerCommands } from './commands.js';
import { Connection } from './connection.js';
import { registerHover } from './hover.js';
import { registerMcpProvider } from './mcp.js';
import { Services } from './services.js';
import { registerStatusBar } from './status.js';
import { WorkspaceDeps } from './workspace-deps.js';

let activationMs = 0;

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const services = new Services(context);
  const deps = new WorkspaceDeps(context.extensionUri);
  const connection = new Connection(services);
  context.subscriptions.push(services, deps, connection);

  registerAuth(context, services);
  registerMcpProvider(context, services, deps);
  registerChatView(context, services, deps, connection);
  registerAccountPanel(context, services, connection);
  registerHover(context, services, deps);
  registerCommands(context, services);
  registerStatusBar(context, connection);
  registerDebug(context, connection);

  activationMs = performance.now() - started;
}

function registerDebug(context: vscode.ExtensionContext, connection: Connection): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('twinmcp.debug.activationMs', () => activationMs),
    vscode.commands.registerCommand('twinmcp.connection.state', () => connection.refresh()),
  );
}

export function deactivate(): void {}
