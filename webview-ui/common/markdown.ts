/// <reference lib="dom" />
/**
 * Markdown to DOM: `marked` renders, DOMPurify sanitizes every render (documentation text and model
 * output are untrusted), then code blocks get their buttons and `[n]` citations become buttons.
 */
import { Marked } from 'marked';
import { decorateCodeBlocks, type CodeActions } from './code-blocks.js';
import { el } from './dom.js';
import { sanitizeHtml } from './sanitize.js';

// Event handler and style attributes in raw HTML are dropped before any DOM parsing: DOMPurify
// removes them anyway, but parsing them at all (even into an inert document) makes Chromium report
// CSP violations for the page. A missed case costs a report, not safety.
const INLINE_ATTRIBUTE = /([\s/"'])(?:on[a-z]+|style)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]*)/gi;

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html: ({ text }) => text.replace(INLINE_ATTRIBUTE, '$1'),
  },
});

/** Where a `[n]` citation points. */
export interface CitationTarget {
  n: number;
  title: string;
  source: string;
  path: string;
  libraryId: string;
}

export interface MarkdownOptions {
  code?: CodeActions;
  /** Resolves `[n]`; unresolved numbers stay plain text. */
  cite?: (n: number) => CitationTarget | undefined;
  onCite?: (target: CitationTarget) => void;
}

/** Renders Markdown into a sanitized, decorated fragment. */
export function renderMarkdown(markdown: string, options: MarkdownOptions = {}): DocumentFragment {
  const html = marked.parse(markdown, { async: false });
  const fragment = sanitizeHtml(html);
  if (options.code) decorateCodeBlocks(fragment, options.code);
  if (options.cite && options.onCite) linkCitations(fragment, options.cite, options.onCite);
  return fragment;
}

const CITATION = /\[(\d{1,3})\]/g;

function insideSkipped(node: Node): boolean {
  for (let p = node.parentElement; p; p = p.parentElement) {
    if (['CODE', 'PRE', 'A', 'BUTTON'].includes(p.tagName)) return true;
  }
  return false;
}

function linkCitations(
  fragment: DocumentFragment,
  cite: (n: number) => CitationTarget | undefined,
  onCite: (target: CitationTarget) => void,
): void {
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (CITATION.test(node.nodeValue ?? '') && !insideSkipped(node)) texts.push(node as Text);
    CITATION.lastIndex = 0;
  }
  for (const text of texts) {
    const value = text.nodeValue ?? '';
    const parts: Node[] = [];
    let last = 0;
    for (const match of value.matchAll(CITATION)) {
      const target = cite(Number(match[1]));
      if (!target) continue;
      parts.push(document.createTextNode(value.slice(last, match.index)));
      const link = el('button', {
        class: 'citation',
        text: `[${target.n}]`,
        attrs: {
          type: 'button',
          'aria-label': `Open source ${target.n}: ${target.title}`,
          title: target.title,
        },
      });
      link.addEventListener('click', () => onCite(target));
      parts.push(link);
      last = match.index + match[0].length;
    }
    if (parts.length === 0) continue;
    parts.push(document.createTextNode(value.slice(last)));
    text.replaceWith(...parts);
  }
}
