/// <reference lib="dom" />
/** One question/answer pair in the transcript: question, Markdown answer, label, sources, error. */
import type { CodeActions } from '../common/code-blocks.js';
import { button, el } from '../common/dom.js';
import { renderMarkdown, type CitationTarget } from '../common/markdown.js';
import type { ChatEntry } from './state.js';

/** The label of an answer made of retrieved snippets because the server has no chat model. */
export const RETRIEVAL_ONLY_LABEL =
  'Retrieved documentation (no language model configured on the server)';

/** What an exchange can ask the host to do. */
export interface ExchangeActions {
  code: CodeActions;
  openSource(target: CitationTarget): void;
}

function citationTargets(entry: ChatEntry): Map<number, CitationTarget> {
  const targets = new Map<number, CitationTarget>();
  // While streaming, `[n]` already resolves through the retrieved sources (numbered the same way);
  // the `citations` event that follows is authoritative.
  for (const source of entry.sources) {
    targets.set(source.n, {
      n: source.n,
      title: source.title,
      source: source.source,
      path: source.path,
      libraryId: source.libraryId,
    });
  }
  for (const [key, citation] of Object.entries(entry.citations)) {
    targets.set(Number(key), { n: Number(key), ...citation });
  }
  return targets;
}

/** The DOM of one exchange, updated in place as its entry changes. */
export class ExchangeView {
  readonly root: HTMLElement;
  private readonly answer: HTMLElement;
  private readonly label: HTMLElement;
  private readonly sources: HTMLElement;
  private readonly error: HTMLElement;
  private renderedAnswer: string | null = null;

  constructor(
    entry: ChatEntry,
    private readonly actions: ExchangeActions,
  ) {
    const question = el(
      'div',
      { class: 'question' },
      el('span', { class: 'visually-hidden', text: 'You asked: ' }),
      el('div', { class: 'question-text', text: entry.question }),
    );
    this.label = el('div', { class: 'answer-label', attrs: { hidden: '' } });
    this.answer = el('div', { class: 'answer markdown' });
    this.sources = el('div', { class: 'sources', attrs: { hidden: '' } });
    this.error = el('div', { class: 'error-message', attrs: { role: 'alert', hidden: '' } });
    this.root = el(
      'article',
      { class: 'exchange', attrs: { 'data-id': entry.id, 'aria-label': entry.question } },
      question,
      this.label,
      this.answer,
      this.error,
      this.sources,
    );
    this.update(entry);
  }

  /** Re-renders what changed; the answer's Markdown only when its text or citations changed. */
  update(entry: ChatEntry): void {
    this.root.classList.toggle('streaming', entry.streaming);
    // Screen readers wait for aria-busy="false" before announcing, instead of reading every delta.
    this.answer.setAttribute('aria-busy', String(entry.streaming));
    const key = `${entry.answer}\u0000${Object.keys(entry.citations).length}\u0000${entry.sources.length}`;
    if (entry.streaming && entry.answer === '') {
      this.answer.replaceChildren(
        el('p', { class: 'muted', text: entry.sources.length ? 'Writing…' : 'Searching…' }),
      );
      this.renderedAnswer = null;
    } else if (key !== this.renderedAnswer) {
      this.renderedAnswer = key;
      const targets = citationTargets(entry);
      this.answer.replaceChildren(
        renderMarkdown(entry.answer, {
          code: this.actions.code,
          cite: (n) => targets.get(n),
          onCite: (target) => this.actions.openSource(target),
        }),
      );
    }
    this.label.hidden = !entry.retrievalOnly;
    this.label.textContent = entry.retrievalOnly ? RETRIEVAL_ONLY_LABEL : '';
    if (entry.error) {
      this.error.hidden = false;
      this.error.textContent =
        entry.error.code === 'cancelled' ? 'Stopped.' : `Error: ${entry.error.message}`;
      this.error.classList.toggle('cancelled', entry.error.code === 'cancelled');
    } else {
      this.error.hidden = true;
    }
    this.renderSources(entry);
  }

  private renderSources(entry: ChatEntry): void {
    const targets = [...citationTargets(entry).values()];
    const cited = new Set(Object.keys(entry.citations).map(Number));
    // Once the answer is done, list what it cited; fall back to everything retrieved.
    const shown = cited.size > 0 ? targets.filter((t) => cited.has(t.n)) : targets;
    this.sources.hidden = shown.length === 0;
    if (shown.length === 0) return;
    const list = el('ol', { class: 'source-list' });
    for (const target of shown.sort((a, b) => a.n - b.n)) {
      const breadcrumb = entry.sources.find((s) => s.n === target.n)?.breadcrumb ?? [];
      list.append(
        el(
          'li',
          { attrs: { value: String(target.n) } },
          button(target.title || target.path, () => this.actions.openSource(target), {
            class: 'link',
            ariaLabel: `Open source ${target.n}: ${target.title || target.path}`,
          }),
          breadcrumb.length > 0 &&
            el('span', { class: 'muted breadcrumb', text: ` — ${breadcrumb.join(' › ')}` }),
          el('span', { class: 'muted library', text: ` (${target.libraryId})` }),
        ),
      );
    }
    this.sources.replaceChildren(el('div', { class: 'sources-title', text: 'Sources' }), list);
  }
}
