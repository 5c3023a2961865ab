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
  // How long our provider took per hover (the last 100), for the bench: executeHoverProvider
  // also waits for VS Code's own TypeScript hover, whose first answer starts tsserver.
  const timings: number[] = [];
  context.subscriptions.push(
    { dispose: () => clearTimeout(timer) },
    vscode.commands.registerCommand('twinmcp.debug.hoverTimings', () => [...timings]),
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
          const started = performance.now();
          try {
            return await (await load()).provideHover(doc, position, token);
          } finally {
            timings.push(performance.now() - started);
            if (timings.length > 100) timings.shift();
          }
        },
      },
    ),
  );
}
