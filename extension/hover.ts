/** Registers the documentation hover; its implementation loads on the first hover. */
import * as vscode from 'vscode';
import type { DocHoverProvider } from './hover-provider.js';
import type { Services } from './services.js';
import type { WorkspaceDeps } from './workspace-deps.js';

const LANGUAGES = ['javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'python'];

export function registerHover(
  context: vscode.ExtensionContext,
  services: Services,
  deps: WorkspaceDeps,
): void {
  let provider: Promise<DocHoverProvider> | undefined;
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(
      LANGUAGES.flatMap((language) => [
        { language, scheme: 'file' },
        { language, scheme: 'untitled' },
        { language, scheme: 'vscode-remote' },
      ]),
      {
        async provideHover(doc, position, token) {
          if (!services.hoverEnabled()) return undefined;
          provider ??= import('./hover-provider.js').then(
            (m) => new m.DocHoverProvider(services, deps),
          );
          return (await provider).provideHover(doc, position, token);
        },
      },
    ),
  );
}
