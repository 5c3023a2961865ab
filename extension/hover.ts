/** Registers the documentation hover; its implementation loads on the first hover. */
import * as vscode from 'vscode';
import type { DocHoverProvider } from './hover-provider.js';
import type { Services } from './services.js';
import type { WorkspaceDeps } from './workspace-deps.js';

const LANGUAGES = ['javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'python'];
// Imports of the active editor are resolved this long after activation, never during it.
const WARM_DELAY_MS = 1500;

export function registerHover(
  context: vscode.ExtensionContext,
  services: Services,
  deps: WorkspaceDeps,
): void {
  let provider: Promise<DocHoverProvider> | undefined;
  const load = () =>
    (provider ??= import('./hover-provider.js').then(
      (m) => new m.DocHoverProvider(services, deps),
    ));
  const warm = (editor: vscode.TextEditor | undefined) => {
    if (!editor || !services.hoverEnabled()) return;
    if (!LANGUAGES.includes(editor.document.languageId)) return;
    void load()
      .then((p) => p.warm(editor.document))
      .catch(() => {});
  };
  const timer = setTimeout(() => warm(vscode.window.activeTextEditor), WARM_DELAY_MS);
  context.subscriptions.push(
    { dispose: () => clearTimeout(timer) },
    vscode.window.onDidChangeActiveTextEditor(warm),
    vscode.languages.registerHoverProvider(
      LANGUAGES.flatMap((language) => [
        { language, scheme: 'file' },
        { language, scheme: 'untitled' },
        { language, scheme: 'vscode-remote' },
      ]),
      {
        async provideHover(doc, position, token) {
          if (!services.hoverEnabled()) return undefined;
          return (await load()).provideHover(doc, position, token);
        },
      },
    ),
  );
}
