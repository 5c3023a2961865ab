import type { Heading, Root } from 'mdast';
import type { SourcePage } from '../types.js';
import { parseHtml } from './html.js';
import { parseMarkdown } from './markdown.js';
import { plainText, type ParsedPage } from './mdast-tools.js';
import { parseRst, parseText } from './rst.js';

/** A page as mdast plus its resolved title. */
export interface PageTree {
  tree: Root;
  title: string;
}

/**
 * Parses a page by format, falling back to simpler readings instead of throwing:
 * Markdown/MDX → plain text; HTML → tag-stripped text; RST → plain text.
 */
export function parsePage(page: SourcePage): PageTree {
  const text = page.text.replace(/^\uFEFF/, '');
  const attempts: Array<() => ParsedPage> = [];
  switch (page.format) {
    case 'mdx':
      attempts.push(() => parseMarkdown(text, { mdx: true }));
      break;
    case 'markdown':
      attempts.push(() => parseMarkdown(text, { mdx: false }));
      break;
    case 'html':
      attempts.push(() => parseHtml(text));
      attempts.push(() => parseText(stripTags(text)));
      break;
    case 'rst':
      attempts.push(() => parseRst(text));
      break;
    case 'text':
      break;
  }
  attempts.push(() => parseText(text));

  let parsed: ParsedPage = { tree: { type: 'root', children: [] } };
  for (const attempt of attempts) {
    try {
      parsed = attempt();
      break;
    } catch {
      // Try the next, simpler reading.
    }
  }
  return { tree: parsed.tree, title: resolveTitle(parsed, page.path) };
}

function resolveTitle(parsed: ParsedPage, path: string): string {
  if (parsed.title) return parsed.title;
  const h1s = parsed.tree.children.filter(
    (n): n is Heading => n.type === 'heading' && n.depth === 1,
  );
  const markdownH1 = h1s.find((h) => !h.data?.fromHtml);
  if (markdownH1 && plainText(markdownH1)) return plainText(markdownH1);
  const fileTitle = titleFromPath(path);
  // An HTML h1 in Markdown is usually a project banner ("Fastify" atop every page): the file
  // name says more, unless it is a generic README/index.
  const htmlH1 = h1s[0] ? plainText(h1s[0]) : '';
  if (htmlH1 && (/^(index|readme)$/i.test(fileTitle) || !fileTitle)) return htmlH1;
  return parsed.fallbackTitle || fileTitle || htmlH1;
}

function titleFromPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  let name = (parts.pop() ?? '').replace(/\.[^.]+$/, '');
  // `guide/index.md` and `concepts/models/index.html` are named by their folder.
  if (/^(index|readme)$/i.test(name) && parts.length) name = parts.pop() ?? name;
  return name;
}

function stripTags(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
