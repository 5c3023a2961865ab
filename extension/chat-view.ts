/**
 * The chat side panel (a webview view in the TwinMCP activity bar container) and the commands that
 * drive it. The session and its dependencies load on first use, not at activation.
 */
import * as vscode from 'vscode';
import {
  isWebviewMessage,
  type HostMessage,
  type WebviewMessage,
} from '../shared/webview-protocol.js';
import type { ChatSession } from './chat-session.js';
import type { Connection } from './connection.js';
import type { Services } from './services.js';
import { handleCommonMessage, loadWebview, reportTo, webviewOptions } from './webview-common.js';
import type { WorkspaceDeps } from './workspace-deps.js';

export const CHAT_VIEW_ID = 'twinmcp.chat';

export function registerChatView(
  context: vscode.ExtensionContext,
  services: Services,
  deps: WorkspaceDeps,
  connection: Connection,
): void {
  let session: Promise<ChatSession> | undefined;
  const getSession = () =>
    (session ??= import('./chat-session.js').then(({ ChatSession }) => {
      const s = new ChatSession(services, deps);
      context.subscriptions.push({ dispose: () => s.dispose() });
      return s;
    }));
  let view: vscode.WebviewView | undefined;
  // Messages for a view that is not ready yet (prefill from a hover opens the view first).
  let pending: HostMessage[] = [];
  let ready = false;
  const post = (msg: HostMessage) => {
    if (view && ready) void view.webview.postMessage(msg);
    else if (msg.type === 'chat/prefill') pending.push(msg);
  };

  const onMessage = async (raw: unknown) => {
    if (!isWebviewMessage(raw)) return;
    const msg: WebviewMessage = raw;
    if (await handleCommonMessage(msg)) return;
    const s = await getSession();
    s.post = post;
    switch (msg.type) {
      case 'ready':
        ready = true;
        post(s.restoreMessage());
        post({ type: 'connection', state: await connection.state() });
        for (const m of pending) post(m);
        pending = [];
        void s.detect('').catch(() => undefined);
        return;
      case 'chat/ask':
        await s.ask(msg.id, msg.text, msg.libraries);
        return;
      case 'chat/cancel':
        s.cancel(msg.id);
        return;
      case 'chat/detect':
        await s.detect(msg.text);
        return;
      case 'chat/removeChip':
        s.removeChip(msg.libraryId);
        return;
      case 'chat/clear':
        await s.clear();
        return;
      default:
        return;
    }
  };

  context.subscriptions.push(
    vscode.window.registerWebviewViewProvider(
      CHAT_VIEW_ID,
      {
        resolveWebviewView(webviewView) {
          view = webviewView;
          ready = false;
          webviewView.webview.options = webviewOptions(context);
          loadWebview(context, webviewView.webview, 'chat', 'TwinMCP Chat');
          webviewView.webview.onDidReceiveMessage((m: unknown) =>
            onMessage(m).catch(reportTo((e) => post(e))),
          );
          webviewView.onDidDispose(() => {
            if (view === webviewView) view = undefined;
          });
        },
      },
      { webviewOptions: { retainContextWhenHidden: true } },
    ),
    connection.onDidChange((state) => post({ type: 'connection', state })),
    // Integration suites and scripts ask without the UI; returns the finished transcript entry.
    vscode.commands.registerCommand(
      'twinmcp.chat.ask',
      async (text: string, libraries?: string[]) => {
        if (typeof text !== 'string' || !text.trim())
          throw new Error('twinmcp.chat.ask needs the question text');
        const s = await getSession();
        s.post = post;
        return s.ask(`cmd-${Date.now().toString(36)}`, text.trim(), libraries ?? []);
      },
    ),
    vscode.commands.registerCommand('twinmcp.chat.transcript', async () =>
      (await getSession()).transcript(),
    ),
    vscode.commands.registerCommand('twinmcp.chat.clear', async () => (await getSession()).clear()),
    vscode.commands.registerCommand(
      'twinmcp.openInChat',
      async (arg?: { text?: string; libraries?: string[]; send?: boolean }) => {
        await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
        post({
          type: 'chat/prefill',
          text: arg?.text ?? '',
          libraries: arg?.libraries ?? [],
          send: arg?.send ?? false,
        });
      },
    ),
  );
}
