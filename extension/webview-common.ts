/** What every webview host does alike: the HTML shell with its CSP, and the shared messages. */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { WebviewKind, WebviewMessage } from '../shared/webview-protocol.js';
import { messageOf } from './services.js';
import { newNonce, webviewHtml } from './webview-html.js';

/** The built webview folder, the only place the webviews may load files from. */
export function webviewRoot(context: vscode.ExtensionContext): vscode.Uri {
  return vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview-ui');
}

export function webviewOptions(context: vscode.ExtensionContext): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [webviewRoot(context)] };
}

/** Sets the HTML of a webview to load `dist/webview-ui/<kind>.js` and `.css`, with a fresh nonce. */
export function loadWebview(
  context: vscode.ExtensionContext,
  webview: vscode.Webview,
  kind: WebviewKind,
  title: string,
): void {
  const root = webviewRoot(context);
  webview.html = webviewHtml({
    title,
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, `${kind}.js`)).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, `${kind}.css`)).toString(),
    nonce: newNonce((n) => randomBytes(n)),
  });
}

/** Opens a cited source: a web URL in the browser, a local file in the editor. */
export async function openSource(source: string, path?: string): Promise<void> {
  const target = source || path || '';
  if (/^https?:\/\//i.test(target)) {
    await vscode.env.openExternal(vscode.Uri.parse(target));
    return;
  }
  const file = target.replace(/^file:\/\//, '').split('#')[0];
  if (file && (file.startsWith('/') || /^[A-Za-z]:[\\/]/.test(file))) {
    const uri = vscode.Uri.file(file);
    try {
      await vscode.workspace.fs.stat(uri);
      await vscode.window.showTextDocument(uri, { preview: true });
      return;
    } catch {
      // Indexed on another machine: fall through to the message.
    }
  }
  void vscode.window.showInformationMessage(
    `TwinMCP: the source ${target} is not a web page or a file on this machine.`,
  );
}

/** Handles the messages any view may send; returns false for view-specific ones. */
export async function handleCommonMessage(msg: WebviewMessage): Promise<boolean> {
  switch (msg.type) {
    case 'openSource':
      await openSource(msg.source, msg.path);
      return true;
    case 'copyCode':
      await vscode.env.clipboard.writeText(msg.code);
      void vscode.window.setStatusBarMessage('TwinMCP: code copied', 2000);
      return true;
    case 'insertCode': {
      const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
      if (!editor) {
        void vscode.window.showWarningMessage(
          'TwinMCP: open an editor to insert the code at its cursor.',
        );
        return true;
      }
      await editor.edit((edit) => {
        for (const sel of editor.selections) edit.replace(sel, msg.code);
      });
      return true;
    }
    case 'signIn':
      await vscode.commands.executeCommand('twinmcp.signIn');
      return true;
    case 'signOut':
      await vscode.commands.executeCommand('twinmcp.signOut');
      return true;
    default:
      return false;
  }
}

/** Reports a failed handler to the view and the log instead of dropping it. */
export function reportTo(post: (m: { type: 'error'; message: string }) => unknown) {
  return (err: unknown) => void post({ type: 'error', message: messageOf(err) });
}
