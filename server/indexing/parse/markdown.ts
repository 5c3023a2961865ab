import type { Root } from 'mdast';
import remarkFrontmatter from 'remark-frontmatter';
import remarkGfm from './gfm-lite.js';
import remarkMdx from 'remark-mdx';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { parse as parseYaml } from 'yaml';
import { htmlFragmentToMdast } from './html.js';
import {
  markEdited,
  rememberSources,
  tidy,
  type LooseNode,
  type ParsedPage,
} from './mdast-tools.js';

const markdownParser = unified()
  .use(remarkParse)
  .use(remarkGfm)
  .use(remarkFrontmatter, ['yaml', 'toml'])
  .freeze();
const mdxParser = unified()
  .use(remarkParse)
  .use(remarkGfm)
  .use(remarkFrontmatter, ['yaml', 'toml'])
  .use(remarkMdx)
  .freeze();

// Containers whose children are blocks; html anywhere else is inline (a single tag).
const FLOW_PARENTS = new Set(['root', 'blockquote', 'listItem', 'footnoteDefinition']);
const DROPPED_TYPES = new Set(['yaml', 'toml', 'mdxjsEsm', 'mdxFlowExpression', 'definition']);
const DROPPED_JSX = new Set(['script', 'style', 'template']);
// `{/*id*/}` (react.dev) and `{#id}` (VitePress) at the end of a heading name its anchor.
const HEADING_ID_COMMENT = /^\/\*\s*([\w-]+)\s*\*\/$/;
const HEADING_ID_SUFFIX = /\s*\{#([\w-]+)\}\s*$/;

/**
 * Parses Markdown or MDX into a clean mdast: front matter read for the title, MDX imports,
 * expressions and comments dropped, JSX and raw HTML reduced to their content. Throws on
 * input the MDX parser rejects; the caller falls back to plain Markdown.
 */
export function parseMarkdown(text: string, opts: { mdx: boolean }): ParsedPage {
  const source = opts.mdx ? text : cleanProseLines(dedentAdmonitions(text));
  const tree = (opts.mdx ? mdxParser : markdownParser).parse(source) as Root;
  const root = tree as unknown as LooseNode;
  const title = frontMatterTitle(root);
  cleanChildren(root, 0);
  tidy(root);
  rememberSources(tree, source);
  return { tree, title };
}

function frontMatterTitle(root: LooseNode): string | undefined {
  const fm = root.children?.find((c) => c.type === 'yaml');
  if (!fm?.value) return undefined;
  try {
    const data: unknown = parseYaml(fm.value);
    if (data && typeof data === 'object' && 'title' in data) {
      const title = (data as { title: unknown }).title;
      if (typeof title === 'string' || typeof title === 'number') return String(title).trim();
    }
  } catch {
    // Broken front matter only costs the title.
  }
  return undefined;
}

function cleanChildren(parent: LooseNode, depth: number): void {
  if (!parent.children) return;
  const out: LooseNode[] = [];
  let changed = false;
  for (const child of parent.children) {
    const kept = cleanNode(child, parent, depth);
    if (kept.length !== 1 || kept[0] !== child) {
      changed = true;
      // Replacements may come from another parse (reduceHtmlBlock): their positions are not
      // offsets into this source.
      for (const n of kept) markEdited(n);
    }
    out.push(...kept);
  }
  if (changed) markEdited(parent);
  parent.children = out;
  if (parent.type === 'heading') takeHeadingSuffix(parent);
}

function cleanNode(node: LooseNode, parent: LooseNode, depth: number): LooseNode[] {
  if (DROPPED_TYPES.has(node.type)) return [];
  switch (node.type) {
    case 'mdxTextExpression': {
      const m = HEADING_ID_COMMENT.exec((node.value ?? '').trim());
      if (parent.type === 'heading' && m?.[1]) setAnchor(parent, m[1]);
      return [];
    }
    case 'mdxJsxFlowElement':
    case 'mdxJsxTextElement':
      return unwrapJsx(node, parent, depth);
    case 'html':
      return FLOW_PARENTS.has(parent.type)
        ? reduceHtmlBlock(node.value ?? '', depth)
        : inlineHtml(node);
    default:
      cleanChildren(node, depth);
      return [node];
  }
}

function unwrapJsx(node: LooseNode, parent: LooseNode, depth: number): LooseNode[] {
  const name = typeof node.name === 'string' ? node.name : '';
  if (DROPPED_JSX.has(name)) return [];
  cleanChildren(node, depth);
  const children = node.children ?? [];
  // A `title="..."` on a block component (Accordion, Callout) or a tab's `value` is visible text.
  const title =
    stringAttribute(node, 'title') ??
    (/^Tab$/.test(name) ? stringAttribute(node, 'value') : undefined);
  const flowParent = FLOW_PARENTS.has(parent.type) || parent.type === 'mdxJsxFlowElement';
  if (title && node.type === 'mdxJsxFlowElement' && flowParent) {
    const label: LooseNode = {
      type: 'paragraph',
      children: [{ type: 'strong', children: [{ type: 'text', value: title }] }],
    };
    return [label, ...children];
  }
  return children;
}

function stringAttribute(node: LooseNode, name: string): string | undefined {
  const attrs = Array.isArray(node.attributes) ? (node.attributes as LooseNode[]) : [];
  const attr = attrs.find((a) => a.type === 'mdxJsxAttribute' && a.name === name);
  return typeof attr?.value === 'string' && attr.value.trim() ? attr.value.trim() : undefined;
}

function inlineHtml(node: LooseNode): LooseNode[] {
  // Inline html is one tag at a time; the text between tags is already a text node.
  return /^<br\s*\/?>$/i.test((node.value ?? '').trim()) ? [{ type: 'text', value: ' ' }] : [];
}

const TAG = /<\/?[A-Za-z][^<>]*>|<!--[\s\S]*?(?:-->|$)/g;

/**
 * A raw HTML (or JSX-in-Markdown) block. When it wraps Markdown code fences (no blank line
 * between `<Tab>` and the fence), the tags are removed and the rest is parsed as Markdown so
 * the fences survive; otherwise it is read as HTML.
 */
function reduceHtmlBlock(value: string, depth: number): LooseNode[] {
  if (!value.replace(TAG, '').trim()) return [];
  if (depth < 2 && /^\s*(```|~~~)/m.test(value)) {
    const inner = markdownParser.parse(
      cleanProseLines(value.replace(TAG, '\n')),
    ) as unknown as LooseNode;
    cleanChildren(inner, depth + 1);
    return inner.children ?? [];
  }
  try {
    const nodes = htmlFragmentToMdast(value);
    for (const n of nodes) if (n.type === 'heading') n.data = { ...(n.data ?? {}), fromHtml: true };
    return nodes;
  } catch {
    return [{ type: 'paragraph', children: [{ type: 'text', value: value.replace(TAG, ' ') }] }];
  }
}

function takeHeadingSuffix(heading: LooseNode): void {
  const last = heading.children?.[heading.children.length - 1];
  if (last?.type !== 'text' || !last.value) return;
  const m = HEADING_ID_SUFFIX.exec(last.value);
  if (!m?.[1]) return;
  last.value = last.value.slice(0, m.index);
  markEdited(last);
  setAnchor(heading, m[1]);
}

function setAnchor(heading: LooseNode, id: string): void {
  const data = (heading.data ?? {}) as Record<string, unknown>;
  heading.data = { ...data, anchorId: id };
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
// One-line MDX `import`/`export` statements, left as text when an .mdx page is read as
// Markdown because the MDX parser rejected it.
const ESM_LINE =
  /^(?:import\s+(?:[\w*{][^\n]*\s+from\s+)?['"][^'"\n]+['"];?|export\s+(?:const|let|default|function)\b[^\n]*)[ \t]*$/m;
const ESM_LINES = new RegExp(ESM_LINE.source, 'gm');
// Python-Markdown admonitions (`!!! note "Title"`, `???+ example`) and pymdownx tabs
// (`=== "Tab"`) whose body is indented by four spaces.
const ADMONITION = /^(?:(!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+"([^"]*)")?|===\+?\s+"([^"]*)")\s*$/;

/**
 * CommonMark reads an admonition's indented body as a paragraph continuation or an indented
 * code block, which garbles its fences. The header becomes a bold label and the body is
 * dedented so it parses as ordinary Markdown.
 */
function dedentAdmonitions(text: string): string {
  if (!/^\s*(!!!|\?\?\?|===)/m.test(text)) return text;
  const stack: number[] = [];
  let fence: string | undefined;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) {
      out.push('');
      continue;
    }
    const indent = /^ */.exec(line)?.[0].length ?? 0;
    while (stack.length && indent < (stack[stack.length - 1] ?? 0) + 4) stack.pop();
    const content = line.slice(Math.min(indent, 4 * stack.length));
    const f = FENCE.exec(content);
    if (fence) {
      if (f?.[1]?.startsWith(fence)) fence = undefined;
      out.push(content);
      continue;
    }
    if (f?.[1]) fence = f[1];
    const m = fence ? null : ADMONITION.exec(content.trim());
    if (!m) {
      out.push(content);
      continue;
    }
    const pad = /^ */.exec(content)?.[0] ?? '';
    const label = m[4] ?? (m[3] !== undefined ? m[3] : capitalise(m[2] ?? ''));
    out.push(label ? `${pad}**${label}**` : '', '');
    stack.push(indent);
  }
  return out.join('\n');
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * Source-level fixes applied outside code fences, for things CommonMark would misread:
 * react.dev's `{/*id*\/}` heading anchors and `{/* comments *\/}` (parsed as text with
 * emphasis; anchors become `{#id}`, read back later, comments go), mkdocstrings
 * cross-references `[text][pkg.module.Name]`, which have no definition and would print as
 * escaped brackets around the text, and one-line MDX import/export statements.
 */
function cleanProseLines(text: string): string {
  if (!text.includes('{/*') && !text.includes('][') && !ESM_LINE.test(text)) return text;
  const lines = text.split('\n');
  let fence: string | undefined;
  let prose: string[] = [];
  const out: string[] = [];
  const flush = () => {
    if (prose.length) out.push(cleanProse(prose.join('\n')));
    prose = [];
  };
  for (const line of lines) {
    const m = FENCE.exec(line);
    if (fence) {
      out.push(line);
      if (
        m?.[1] &&
        m[1][0] === fence[0] &&
        m[1].length >= fence.length &&
        !line.trim().slice(m[1].length).trim()
      ) {
        fence = undefined;
      }
    } else if (m?.[1]) {
      flush();
      fence = m[1];
      out.push(line);
    } else {
      prose.push(line);
    }
  }
  flush();
  return out.join('\n');
}

function cleanProse(text: string): string {
  return text
    .replace(/^(#{1,6}[ \t].*?)[ \t]*\{\/\*\s*([\w-]+)\s*\*\/\}[ \t]*$/gm, '$1 {#$2}')
    .replace(/\{\/\*[\s\S]*?\*\/\}/g, '')
    .replace(/\[([^[\]\n]+)\]\[[A-Za-z_][\w-]*(?:\.[\w-]+)+\]/g, '$1')
    .replace(ESM_LINES, '');
}
