import type { Element, ElementContent, Root as HastRoot, RootContent as HastContent } from 'hast';
import { select, selectAll } from 'hast-util-select';
import { defaultHandlers, toMdast, type Handle } from 'hast-util-to-mdast';
import { toText } from 'hast-util-to-text';
import type { Root } from 'mdast';
import rehypeParse from 'rehype-parse';
import { unified } from 'unified';
import { dropHiddenElements } from '../screen-html.js';
import { tidy, type LooseNode, type ParsedPage } from './mdast-tools.js';

// Most specific first: MkDocs Material, then generic `main`, then Sphinx themes.
const MAIN_SELECTORS = [
  '[role=main] article',
  'article.md-content__inner',
  '.md-content',
  'main',
  'div.body',
  'div.document',
  'article',
  '[role=main]',
  'body',
];

const JUNK_SELECTOR = [
  'nav',
  'header',
  'footer',
  'aside',
  'script',
  'style',
  'noscript',
  'template',
  'form',
  'button',
  'svg',
  '.headerlink',
  '.md-sidebar',
  '.sphinxsidebar',
  '.related',
  '.toc',
  '.md-source-file',
  '.md-footer',
  '.linenos',
  '.linenodiv',
].join(', ');

const documentParser = unified().use(rehypeParse).freeze();
const fragmentParser = unified().use(rehypeParse, { fragment: true }).freeze();

/** Parses a built documentation page: main content only, code languages and heading ids kept. */
export function parseHtml(text: string): ParsedPage {
  const doc = documentParser.parse(text);
  const titleEl = select('title', doc);
  const fallbackTitle = titleEl ? cleanTitle(toText(titleEl)) : undefined;
  let main: Element | undefined;
  for (const selector of MAIN_SELECTORS) {
    main = select(selector, doc);
    if (main) break;
  }
  const content: HastRoot = { type: 'root', children: main ? [main] : doc.children };
  return { tree: hastToMdast(content), fallbackTitle };
}

/** Converts an HTML fragment (raw HTML inside Markdown) to mdast block nodes. */
export function htmlFragmentToMdast(html: string): LooseNode[] {
  const tree = hastToMdast(fragmentParser.parse(html));
  return tree.children as LooseNode[];
}

function hastToMdast(tree: HastRoot): Root {
  removeJunk(tree);
  // Before text extraction: hidden text is for models only (see screen-html.ts).
  dropHiddenElements(tree);
  prepare(tree, []);
  const result = toMdast(tree, { handlers: HEADING_HANDLERS });
  const root: Root = result.type === 'root' ? result : { type: 'root', children: [] };
  tidy(root as unknown as LooseNode);
  return root;
}

// Keep heading ids: MkDocs puts them on the heading, Sphinx on the enclosing section.
const withAnchor: Handle = (state, node) => {
  const result = defaultHandlers.h1(state, node);
  const id = node.properties.id;
  if (result && !Array.isArray(result) && result.type === 'heading' && id) {
    result.data = { anchorId: String(id) };
  }
  return result;
};
const HEADING_HANDLERS = {
  h1: withAnchor,
  h2: withAnchor,
  h3: withAnchor,
  h4: withAnchor,
  h5: withAnchor,
  h6: withAnchor,
};

function removeJunk(tree: HastRoot): void {
  const junk = new Set<unknown>(selectAll(JUNK_SELECTOR, tree));
  if (junk.size === 0) return;
  const walk = (node: HastRoot | Element) => {
    node.children = node.children.filter((c) => !junk.has(c)) as typeof node.children;
    for (const c of node.children) if (c.type === 'element') walk(c);
  };
  walk(tree);
}

function prepare(node: HastRoot | Element, ancestors: Element[]): void {
  const children = node.children as HastContent[];
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (!child) continue;
    if (child.type === 'text') {
      child.value = child.value.replace(/¶/g, '');
      continue;
    }
    if (child.type !== 'element') continue;
    if (child.tagName === 'table' && hasClass(child, 'highlighttable')) {
      // Pygments line-number tables: keep only the code cell's <pre>.
      const pre = select('td.code pre', child) ?? select('pre', child);
      if (pre) children[i] = replaceWithin(pre, child);
    }
    const el = children[i] as Element;
    if (el.tagName === 'pre') {
      normaliseCode(el, ancestors);
      continue;
    }
    if ((el.tagName === 'section' || hasClass(el, 'section')) && el.properties.id) {
      const h = el.children.find(
        (c): c is Element => c.type === 'element' && /^h[1-6]$/.test(c.tagName),
      );
      if (h && !h.properties.id) h.properties.id = el.properties.id;
    }
    prepare(el, [el, ...ancestors]);
  }
}

/** Keeps the pre but lets its language be found from the table's wrapper too. */
function replaceWithin(pre: Element, table: Element): Element {
  const cls = [...classes(table), ...classes(pre)];
  return { ...pre, properties: { ...pre.properties, className: cls } };
}

/**
 * Rewrites a `<pre>` as `<pre><code class="language-x">text</code></pre>`, the shape
 * hast-util-to-mdast reads the language from. Highlighter spans are flattened to text.
 */
function normaliseCode(pre: Element, ancestors: Element[]): void {
  const text = toText(pre, { whitespace: 'pre' }).replace(/\n+$/, '');
  const code = pre.children.find((c): c is Element => c.type === 'element' && c.tagName === 'code');
  const candidates = [code, pre, ...ancestors.slice(0, 3)].filter((e): e is Element => !!e);
  let lang = '';
  for (const el of candidates) {
    lang = languageFromClasses(classes(el));
    if (lang) break;
  }
  lang = normaliseLang(lang, text);
  const codeEl: ElementContent = {
    type: 'element',
    tagName: 'code',
    properties: lang ? { className: [`language-${lang}`] } : {},
    children: [{ type: 'text', value: text }],
  };
  pre.children = [codeEl];
}

function languageFromClasses(list: string[]): string {
  for (const c of list) {
    const m = /^(?:language|lang|highlight)-([\w+#.-]+)$/.exec(c);
    if (m?.[1]) return m[1].toLowerCase();
  }
  return '';
}

function normaliseLang(lang: string, text: string): string {
  // Sphinx's `default` lexer is Python with console detection; say so when it is a session.
  if (lang === 'default' || lang === 'none' || lang === '') {
    return /^>>> /.test(text) ? 'pycon' : '';
  }
  return lang;
}

function classes(el: Element): string[] {
  const c = el.properties.className;
  return Array.isArray(c) ? c.map(String) : c ? String(c).split(/\s+/) : [];
}

function hasClass(el: Element, name: string): boolean {
  return classes(el).includes(name);
}

function cleanTitle(title: string): string {
  // "Models - Pydantic Validation" / "Quickstart — Requests 2.32.3 documentation"
  return title.replace(/\s+[-—|–]\s+[^-—|–]+$/, '').trim();
}
