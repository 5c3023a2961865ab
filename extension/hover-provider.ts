/**
 * Documentation hovers: an identifier imported from a package shows the best snippet for that
 * symbol, for the version the workspace locks (lookups and caches in hover-docs.ts). Cancelling
 * the hover aborts the request; the setting turns it off.
 */
import * as vscode from 'vscode';
import { hoverTarget } from './hover-imports.js';
import { HoverDocs } from './hover-docs.js';
import { HOVER_COMMANDS } from './hover-markdown.js';
import type { Services } from './services.js';
import type { WorkspaceDeps } from './workspace-deps.js';

// Moving the pointer across a line fires a hover per identifier; 40 ms lets it settle first.
const DEBOUNCE_MS = 40;

export class DocHoverProvider implements vscode.HoverProvider {
  private readonly docs: HoverDocs;

  constructor(
    private readonly services: Services,
    private readonly deps: WorkspaceDeps,
  ) {
    // Hovers count against their own quota; the label goes only to users who allow telemetry.
    this.docs = new HoverDocs(services.client, () => vscode.env.isTelemetryEnabled);
    services.onDidChangeConnection(() => this.docs.clear());
  }

  /** Resolves the document's imported packages ahead of the first hover (see HoverDocs.warm). */
  async warm(doc: vscode.TextDocument): Promise<void> {
    const imports = this.docs.importsOf(doc.uri.toString(), doc.version, doc.languageId, () =>
      doc.getText(),
    );
    if (imports.size === 0) return;
    const deps = await this.deps.get();
    this.docs.warm(imports, (pkg) => deps.get(packageKey(doc.languageId, pkg)));
  }

  async provideHover(
    doc: vscode.TextDocument,
    position: vscode.Position,
    token: vscode.CancellationToken,
  ): Promise<vscode.Hover | undefined> {
    if (!this.services.hoverEnabled()) return undefined;
    const text = doc.getText();
    const imports = this.docs.importsOf(
      doc.uri.toString(),
      doc.version,
      doc.languageId,
      () => text,
    );
    const target = hoverTarget(text, doc.offsetAt(position), imports);
    if (!target) return undefined;
    const deps = await this.deps.get();
    const locked = deps.get(packageKey(doc.languageId, target.packageName));
    let markdown = this.docs.cached(target, locked);
    if (!markdown) {
      await new Promise((r) => setTimeout(r, DEBOUNCE_MS));
      if (token.isCancellationRequested) return undefined;
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      markdown = this.docs.markdown(target, locked, controller.signal);
    }
    const value = await markdown.catch(() => null);
    if (!value || token.isCancellationRequested) return undefined;
    const md = new vscode.MarkdownString(value);
    md.isTrusted = { enabledCommands: [...HOVER_COMMANDS] };
    md.supportHtml = false;
    return new vscode.Hover(md);
  }
}

/** Python packages are keyed by their PEP 503 name, as shared/lockfiles.ts writes them. */
function packageKey(languageId: string, packageName: string): string {
  return languageId === 'python' ? packageName.toLowerCase().replace(/[-_.]+/g, '-') : packageName;
}
