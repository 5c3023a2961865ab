/**
 * Markdown to mdast through markdown-it. markdown-it tokenizes CommonMark (plus GFM tables and
 * strikethrough) ~30x faster than micromark (the react docs: 0.1 s against 4 s of CPU), and
 * parsing was most of indexing time; the rest of the pipeline keeps working on mdast.
 *
 * Blocks carry a `position` (line, column, offset into `source`) from markdown-it's line maps,
 * so mdast-tools.ts can reuse an untouched block's source text; inline nodes carry none.
 */
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import type {
  AlignType,
  BlockContent,
  List,
  ListItem,
  PhrasingContent,
  Root,
  RootContent,
  Table,
  TableCell,
  TableRow,
} from 'mdast';
import { markEdited } from './mdast-tools.js';

// No linkify (bare URLs stay text, as remark without autolink literals) and no typographer
// (quotes and dashes stay as written, so phrases match the source).
const parser = new MarkdownIt('default', { html: true, linkify: false, typographer: false });
// MDX has no indented code: JSX children are often indented, and stay text.
const mdxParser = new MarkdownIt('default', {
  html: true,
  linkify: false,
  typographer: false,
}).disable('code');

type Parent = { type: string; children: unknown[] };

/** Parses `source` (line endings already `\n`) into an mdast root. */
export function markdownItToMdast(source: string, opts: { mdx?: boolean } = {}): Root {
  const tokens = (opts.mdx ? mdxParser : parser).parse(source, {});
  const lines = lineStarts(source);
  const root: Root = { type: 'root', children: [] };
  const walker = new Walker(tokens, source, lines);
  root.children = walker.blocks('') as RootContent[];
  return root;
}

function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

class Walker {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
    private readonly lines: number[],
  ) {}

  /** Block nodes up to the token of type `close` (consumed), or to the end. */
  blocks(close: string): unknown[] {
    const out: unknown[] = [];
    while (this.i < this.tokens.length) {
      const t = this.tokens[this.i]!;
      if (close && t.type === close) {
        this.i++;
        return out;
      }
      const node = this.block(t);
      if (node) out.push(node);
    }
    return out;
  }

  private block(t: Token): unknown {
    this.i++;
    let node: (RootContent & { position?: unknown }) | undefined;
    switch (t.type) {
      case 'heading_open': {
        const children = this.inlineUntil('heading_close');
        node = { type: 'heading', depth: Number(t.tag.slice(1)) as 1, children };
        break;
      }
      case 'paragraph_open':
        node = { type: 'paragraph', children: this.inlineUntil('paragraph_close') };
        break;
      case 'bullet_list_open':
      case 'ordered_list_open':
        node = this.list(t);
        break;
      case 'blockquote_open':
        node = {
          type: 'blockquote',
          children: this.blocks('blockquote_close') as BlockContent[],
        };
        break;
      case 'fence': {
        const info = t.info.trim();
        const space = info.search(/\s/);
        node = {
          type: 'code',
          lang: (space === -1 ? info : info.slice(0, space)) || null,
          meta: space === -1 ? null : info.slice(space).trim() || null,
          value: t.content.replace(/\n$/, ''),
        };
        break;
      }
      case 'code_block':
        node = { type: 'code', lang: null, meta: null, value: t.content.replace(/\n+$/, '') };
        break;
      case 'html_block':
        node = { type: 'html', value: t.content.replace(/\n+$/, '') };
        break;
      case 'hr':
        node = { type: 'thematicBreak' };
        break;
      case 'table_open':
        node = this.table();
        break;
      default:
        // `inline` outside a paragraph or heading (they read their own), a close token of a
        // container this walker does not track, or a plugin's token.
        return undefined;
    }
    if (t.map) node.position = this.position(t.map);
    return node;
  }

  private list(open: Token): List {
    const close = open.type === 'bullet_list_open' ? 'bullet_list_close' : 'ordered_list_close';
    const items: ListItem[] = [];
    let loose = false;
    while (this.i < this.tokens.length) {
      const t = this.tokens[this.i]!;
      this.i++;
      if (t.type === close) break;
      if (t.type !== 'list_item_open') continue;
      const from = this.i;
      const children = this.blocks('list_item_close') as BlockContent[];
      // markdown-it hides the paragraphs of tight lists.
      for (let k = from; k < this.i; k++) {
        const p = this.tokens[k]!;
        if (p.type === 'paragraph_open' && !p.hidden && p.level === open.level + 2) loose = true;
      }
      const item: ListItem = { type: 'listItem', spread: false, checked: null, children };
      takeTaskMarker(item);
      items.push(item);
    }
    for (const item of items) item.spread = loose;
    const start = open.attrGet('start');
    return {
      type: 'list',
      ordered: open.type === 'ordered_list_open',
      start: open.type === 'ordered_list_open' ? (start === null ? 1 : Number(start)) : null,
      spread: loose,
      children: items,
    };
  }

  private table(): Table {
    const rows: TableRow[] = [];
    const align: AlignType[] = [];
    let row: TableCell[] | undefined;
    let header = true;
    while (this.i < this.tokens.length) {
      const t = this.tokens[this.i]!;
      this.i++;
      if (t.type === 'table_close') break;
      if (t.type === 'tbody_open') header = false;
      else if (t.type === 'tr_open') row = [];
      else if (t.type === 'tr_close' && row) {
        rows.push({ type: 'tableRow', children: row });
        row = undefined;
      } else if ((t.type === 'th_open' || t.type === 'td_open') && row) {
        if (header) align.push(cellAlign(t.attrGet('style')));
        row.push({
          type: 'tableCell',
          children: this.inlineUntil(t.type.replace('open', 'close')),
        });
      }
    }
    return { type: 'table', align, children: rows };
  }

  /** The inline token's content as phrasing nodes, then skips to `close` (consumed). */
  private inlineUntil(close: string): PhrasingContent[] {
    let children: PhrasingContent[] = [];
    while (this.i < this.tokens.length) {
      const t = this.tokens[this.i]!;
      this.i++;
      if (t.type === close) break;
      if (t.type === 'inline') children = phrasing(t.children ?? []);
    }
    return children;
  }

  private position(map: [number, number]) {
    const [first, last] = map;
    const lineStart = this.lines[first] ?? this.source.length;
    let offset = lineStart;
    while (this.source[offset] === ' ' || this.source[offset] === '\t') offset++;
    const endLine = this.lines[last];
    const end = endLine === undefined ? this.source.length : Math.max(offset, endLine - 1);
    return {
      start: { line: first + 1, column: offset - lineStart + 1, offset },
      end: { line: last, column: end - (this.lines[last - 1] ?? 0) + 1, offset: end },
    };
  }
}

function cellAlign(style: string | null): AlignType {
  const m = style ? /text-align:\s*(left|right|center)/.exec(style) : null;
  return (m?.[1] as AlignType | undefined) ?? null;
}

const TASK = /^\[([ xX])\][ \t]+/;

/** GFM task list items: `- [x] done` becomes `checked: true` with the marker removed. */
function takeTaskMarker(item: ListItem): void {
  const first = item.children[0];
  if (first?.type !== 'paragraph') return;
  const text = first.children[0];
  if (text?.type !== 'text') return;
  const m = TASK.exec(text.value);
  if (!m) return;
  item.checked = m[1] !== ' ';
  text.value = text.value.slice(m[0].length);
  markEdited(text);
}

/** Inline tokens to phrasing content; soft breaks become newlines inside text, as in remark. */
function phrasing(tokens: Token[]): PhrasingContent[] {
  const root: Parent = { type: 'root', children: [] };
  const stack: Parent[] = [root];
  const push = (node: PhrasingContent) => stack[stack.length - 1]!.children.push(node);
  const text = (value: string) => {
    const siblings = stack[stack.length - 1]!.children;
    const last = siblings[siblings.length - 1] as { type: string; value: string } | undefined;
    if (last?.type === 'text') last.value += value;
    else siblings.push({ type: 'text', value });
  };
  const open = (node: Parent, markup?: string) => {
    // `_x_` would be sliced as written; PostgreSQL's parser reads `_reducer._` as one lexeme
    // (`reducer._`), so such blocks are serialized (with `*`) instead (mdast-tools.ts).
    if (markup?.startsWith('_')) markEdited(node);
    push(node as unknown as PhrasingContent);
    stack.push(node);
  };
  for (const t of tokens) {
    switch (t.type) {
      case 'text':
      case 'text_special':
        text(t.content);
        break;
      case 'softbreak':
        text('\n');
        break;
      case 'hardbreak':
        push({ type: 'break' });
        break;
      case 'code_inline':
        push({ type: 'inlineCode', value: t.content });
        break;
      case 'html_inline':
        push({ type: 'html', value: t.content });
        break;
      case 'image':
        push({
          type: 'image',
          url: t.attrGet('src') ?? '',
          alt: t.content,
          title: t.attrGet('title'),
        });
        break;
      case 'em_open':
        open({ type: 'emphasis', children: [] }, t.markup);
        break;
      case 'strong_open':
        open({ type: 'strong', children: [] }, t.markup);
        break;
      case 's_open':
        open({ type: 'delete', children: [] });
        break;
      case 'link_open':
        open({
          type: 'link',
          url: t.attrGet('href') ?? '',
          title: t.attrGet('title'),
          children: [],
        } as Parent);
        break;
      case 'em_close':
      case 'strong_close':
      case 's_close':
      case 'link_close':
        if (stack.length > 1) stack.pop();
        break;
      default:
        if (t.content) text(t.content);
    }
  }
  return root.children as PhrasingContent[];
}
