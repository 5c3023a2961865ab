/**
 * Command palette: "Look Up Documentation" (library quick pick with live search, a query, the
 * results in a webview panel) and "Add Documentation Source" (folder or git URL, a progress
 * notification until the indexing job ends).
 */
import * as vscode from 'vscode';
import type { ContextResponse, Job, SearchResponse, SearchResult } from '../shared/api.js';
import { isWebviewMessage, type HostMessage } from '../shared/webview-protocol.js';
import { ApiError } from './client.js';
import { messageOf, type Services } from './services.js';
import {
  handleCommonMessage,
  loadWebview,
  openSource,
  reportTo,
  webviewOptions,
} from './webview-common.js';

// Typing in the quick pick searches once the user pauses ~200 ms.
const SEARCH_DEBOUNCE_MS = 200;
// Indexing runs for seconds to minutes; a poll a second is cheap and keeps the progress live.
const JOB_POLL_MS = 1000;
const TERMINAL = new Set<Job['state']>(['succeeded', 'failed', 'cancelled']);

interface LibraryItem extends vscode.QuickPickItem {
  libraryId: string;
}

function pickLibrary(services: Services): Promise<string | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<LibraryItem>();
    qp.title = 'TwinMCP: Look Up Documentation';
    qp.placeholder = 'Library name (e.g. react, fastify 4)';
    qp.matchOnDescription = true;
    let timer: NodeJS.Timeout | undefined;
    let controller: AbortController | undefined;
    const toItem = (
      r: Pick<SearchResult, 'id' | 'title' | 'description' | 'versions'>,
    ): LibraryItem => ({
      label: r.title,
      description: r.id,
      detail: [r.description, r.versions.length ? `versions: ${r.versions.join(', ')}` : '']
        .filter(Boolean)
        .join(' — '),
      libraryId: r.id,
    });
    const search = (text: string) => {
      controller?.abort();
      const c = new AbortController();
      controller = c;
      qp.busy = true;
      const request = text.trim()
        ? services.client
            .json<SearchResponse>('/api/v1/libs/search', {
              query: { libraryName: text.trim() },
              signal: c.signal,
            })
            .then((r) => r.results)
        : services.client
            .json<{ libraries: SearchResult[] }>('/api/v1/libs', { signal: c.signal })
            .then((r) => r.libraries);
      request.then(
        (results) => {
          if (c !== controller) return;
          qp.items = results.map(toItem);
          qp.busy = false;
        },
        (err: unknown) => {
          if (c !== controller || (err instanceof ApiError && err.code === 'cancelled')) return;
          qp.busy = false;
          qp.items = [];
          qp.placeholder = messageOf(err);
        },
      );
    };
    qp.onDidChangeValue((v) => {
      clearTimeout(timer);
      timer = setTimeout(() => search(v), SEARCH_DEBOUNCE_MS);
    });
    qp.onDidAccept(() => {
      resolve(qp.selectedItems[0]?.libraryId);
      qp.hide();
    });
    qp.onDidHide(() => {
      clearTimeout(timer);
      controller?.abort();
      resolve(undefined);
      qp.dispose();
    });
    qp.show();
    search('');
  });
}

/** Fetches the results and shows them in the lookup panel (exported for the integration suite). */
async function showLookup(
  context: vscode.ExtensionContext,
  services: Services,
  libraryId: string,
  query: string,
) {
  const result = await services.client.json<ContextResponse>('/api/v1/context', {
    query: { libraryId, query, type: 'json' },
  });
  const snippets = [...result.codeSnippets, ...result.infoSnippets].sort(
    (a, b) => b.score - a.score,
  );
  const panel = vscode.window.createWebviewPanel(
    'twinmcp.lookup',
    `TwinMCP: ${query}`,
    vscode.ViewColumn.Beside,
    webviewOptions(context),
  );
  const message: HostMessage = {
    type: 'lookup/results',
    libraryId: result.libraryId,
    query,
    snippets,
  };
  const post = (m: HostMessage) => void panel.webview.postMessage(m);
  panel.webview.onDidReceiveMessage(async (raw: unknown) => {
    if (!isWebviewMessage(raw)) return;
    try {
      if (await handleCommonMessage(raw)) return;
      if (raw.type === 'ready') post(message);
    } catch (err) {
      reportTo(post)(err);
    }
  });
  loadWebview(context, panel.webview, 'lookup', 'TwinMCP Lookup');
  return { libraryId: result.libraryId, query, snippets: snippets.length };
}

async function addSource(services: Services, arg?: { source?: string }): Promise<Job | undefined> {
  let source = arg?.source;
  if (!source) {
    const pick = await vscode.window.showQuickPick(
      [
        { label: '$(repo) Git repository URL', id: 'git' },
        {
          label: '$(folder) Local folder',
          id: 'folder',
          detail: 'Only for a server on this machine',
        },
      ],
      { title: 'TwinMCP: Add Documentation Source' },
    );
    if (!pick) return undefined;
    if (pick.id === 'folder') {
      const folder = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        openLabel: 'Index this folder',
      });
      source = folder?.[0]?.fsPath;
    } else {
      source = await vscode.window.showInputBox({
        title: 'Git repository URL',
        placeHolder: 'https://github.com/owner/repo',
        validateInput: (v) => (/^https:\/\/\S+$/.test(v.trim()) ? undefined : 'An https:// URL'),
      });
    }
  }
  if (!source) return undefined;
  const { job } = await services.client.json<{ job: Job }>('/api/v1/libs', {
    method: 'POST',
    body: { source: source.trim() },
  });
  const final = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `TwinMCP: indexing ${source}`,
      cancellable: true,
    },
    async (progress, token) => {
      let current = job;
      while (!TERMINAL.has(current.state) && !token.isCancellationRequested) {
        await new Promise((r) => setTimeout(r, JOB_POLL_MS));
        current = (
          await services.client.json<{ job: Job }>(`/api/v1/jobs/${encodeURIComponent(job.id)}`)
        ).job;
        const p = current.progress;
        if (p) progress.report({ message: `${p.phase}: ${p.pages} pages, ${p.chunks} chunks` });
      }
      return current;
    },
  );
  if (final.state === 'succeeded') {
    void vscode.window.showInformationMessage(
      `TwinMCP: indexed ${final.libraryId ?? source}${final.progress ? ` (${final.progress.pages} pages, ${final.progress.chunks} chunks)` : ''}.`,
    );
  } else if (TERMINAL.has(final.state)) {
    void vscode.window.showErrorMessage(
      `TwinMCP: indexing ${source} ${final.state}${final.error ? `: ${final.error}` : ''}`,
    );
  } else {
    void vscode.window.showInformationMessage(
      `TwinMCP: indexing ${source} goes on in the background (job ${job.id}).`,
    );
  }
  return final;
}

export function registerCommands(context: vscode.ExtensionContext, services: Services): void {
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R | undefined> => {
      try {
        return await fn(...args);
      } catch (err) {
        void vscode.window.showErrorMessage(`TwinMCP: ${messageOf(err)}`);
        return undefined;
      }
    };
  context.subscriptions.push(
    // `(libraryId, query)` skips the pickers (integration suite); returns what the panel shows.
    vscode.commands.registerCommand(
      'twinmcp.lookup',
      guard(async (libraryId?: string, query?: string) => {
        const id = libraryId ?? (await pickLibrary(services));
        if (!id) return undefined;
        const q =
          query ??
          (await vscode.window.showInputBox({
            title: `Look up in ${id}`,
            placeHolder: 'What do you want to know?',
            validateInput: (v) => (v.trim() ? undefined : 'Type a question'),
          }));
        if (!q?.trim()) return undefined;
        return showLookup(context, services, id, q.trim());
      }),
    ),
    vscode.commands.registerCommand(
      'twinmcp.addSource',
      guard((arg?: { source?: string }) => addSource(services, arg)),
    ),
    vscode.commands.registerCommand(
      'twinmcp.openSource',
      (arg?: { source?: string; path?: string }) => openSource(arg?.source ?? '', arg?.path),
    ),
  );
}
