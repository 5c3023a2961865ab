/// <reference lib="dom" />
/**
 * The lookup results panel ("TwinMCP: Look Up Documentation"): each snippet with its title,
 * breadcrumb, a source link and its Markdown content with code block buttons.
 */
import type { Snippet } from '../../shared/api.js';
import type { HostMessage } from '../../shared/webview-protocol.js';
import { button, el, rootElement } from '../common/dom.js';
import { renderMarkdown } from '../common/markdown.js';
import { assertNever, createMessenger } from '../common/vscode-api.js';
import '../common/base.css';
import './lookup.css';

type Results = Extract<HostMessage, { type: 'lookup/results' }>;

const vscode = createMessenger<{ results: Results | null }>();
const content = el('main', { class: 'lookup', attrs: { 'aria-live': 'polite' } });
const notice = el('div', { class: 'banner error', attrs: { role: 'alert', hidden: '' } });
rootElement().replaceChildren(notice, content);

const code = {
  copy: (text: string) => vscode.post({ type: 'copyCode', code: text }),
  insert: (text: string) => vscode.post({ type: 'insertCode', code: text }),
};

function snippetView(snippet: Snippet, libraryId: string, index: number): HTMLElement {
  const titleId = `snippet-${index}`;
  const body = el('div', { class: 'markdown snippet-content' });
  body.append(renderMarkdown(snippet.content, { code }));
  return el(
    'article',
    { class: 'snippet', attrs: { 'aria-labelledby': titleId } },
    el('h2', { text: snippet.title || snippet.path, attrs: { id: titleId } }),
    snippet.breadcrumb.length > 0 &&
      el('div', { class: 'breadcrumb muted', text: snippet.breadcrumb.join(' › ') }),
    button(
      snippet.source,
      () =>
        vscode.post({ type: 'openSource', source: snippet.source, path: snippet.path, libraryId }),
      { class: 'link source-link', ariaLabel: `Open source of ${snippet.title || snippet.path}` },
    ),
    body,
  );
}

function render(results: Results | null): void {
  if (!results) {
    content.replaceChildren(el('p', { class: 'muted', text: 'Looking up documentation…' }));
    return;
  }
  const heading = el(
    'header',
    {},
    el('h1', { text: results.query }),
    el('div', {
      class: 'muted',
      text: `${results.snippets.length} result${results.snippets.length === 1 ? '' : 's'} in ${results.libraryId}`,
    }),
  );
  content.replaceChildren(
    heading,
    ...(results.snippets.length > 0
      ? results.snippets.map((s, i) => snippetView(s, results.libraryId, i))
      : [el('p', { text: 'No documentation matched this query.' })]),
  );
}

function onMessage(message: HostMessage): void {
  switch (message.type) {
    case 'lookup/results':
      notice.hidden = true;
      vscode.setState({ results: message });
      render(message);
      break;
    case 'error':
      notice.hidden = false;
      notice.textContent = message.message;
      break;
    case 'connection':
    case 'chat/restore':
    case 'chat/event':
    case 'chat/chips':
    case 'chat/prefill':
    case 'chat/cleared':
    case 'account/data':
    case 'account/signedOut':
    case 'account/keyCreated':
      break;
    default:
      assertNever(message);
  }
}

render(vscode.getState()?.results ?? null);
vscode.onMessage(onMessage);
vscode.post({ type: 'ready', view: 'lookup' });
