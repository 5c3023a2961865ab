import GithubSlugger from 'github-slugger';
import type { Heading, RootContent } from 'mdast';
import { blockPieces, splitText, type Piece } from './parse/blocks.js';
import { plainText } from './parse/mdast-tools.js';
import { parsePage } from './parse/page.js';
import { countJoined, countTokens } from './tokens.js';
import type { Chunk, SourcePage } from './types.js';

/** Target upper bound of a chunk, in o200k tokens. */
export const DEFAULT_MAX_TOKENS = 800;
/** A trailing piece of a split section smaller than this joins the previous chunk. */
export const DEFAULT_MIN_TOKENS = 50;
/** A code fence stays whole up to this many times maxTokens; larger ones are cut at lines. */
export const CODE_OVERSIZE_FACTOR = 4;

/** Options for {@link chunkPage}. */
export interface ChunkOptions {
  maxTokens?: number;
  minTokens?: number;
  /** A section whose subsections together stay under this many tokens is kept as one chunk. */
  mergeTokens?: number;
}

/** Small subsections ("Example", "Parameters") are kept with the section that names the API. */
export const DEFAULT_MERGE_TOKENS = 400;

interface Section {
  /** Heading depth (0 for text before the first heading). */
  depth: number;
  title: string;
  breadcrumb: string[];
  anchor: string;
  blocks: RootContent[];
}

/**
 * Splits a page into chunks that follow its headings. Never throws: unparseable input degrades
 * to plain-text paragraphs, and in the worst case to an empty list.
 */
export function chunkPage(page: SourcePage, opts: ChunkOptions = {}): Chunk[] {
  const maxTokens = Math.max(16, Math.floor(opts.maxTokens ?? DEFAULT_MAX_TOKENS));
  const minTokens = Math.max(0, Math.min(opts.minTokens ?? DEFAULT_MIN_TOKENS, maxTokens / 2));
  const mergeTokens = Math.min(maxTokens, opts.mergeTokens ?? DEFAULT_MERGE_TOKENS);
  try {
    return chunkTree(page, maxTokens, minTokens, mergeTokens);
  } catch {
    try {
      return chunkPlain(page, maxTokens);
    } catch {
      return [];
    }
  }
}

function chunkTree(
  page: SourcePage,
  maxTokens: number,
  minTokens: number,
  mergeTokens: number,
): Chunk[] {
  const { tree, title: pageTitle } = parsePage(page);
  const chunks: Chunk[] = [];
  const all = sections(tree.children, pageTitle).map((section) => ({
    section,
    pieces: section.blocks.flatMap((b) =>
      blockPieces(b, maxTokens, maxTokens * CODE_OVERSIZE_FACTOR),
    ),
  }));
  for (let i = 0; i < all.length; i++) {
    const { section } = all[i]!;
    let pieces = all[i]!.pieces;
    // Fold the following deeper sections (this one's subsections) in while the whole stays small.
    let size = pieces.reduce((n, p) => n + p.tokens + 1, 0);
    let j = i + 1;
    const folded: Piece[] = [];
    // A heading with no text of its own (a page's h1 over its sections) folds nothing: its
    // subsections' titles say more than its own.
    const foldable = section.depth > 0 && pieces.length > 0;
    while (foldable && j < all.length && all[j]!.section.depth > section.depth) {
      const sub = all[j]!;
      const subSize = sub.pieces.reduce((n, p) => n + p.tokens + 1, 0) + 8;
      if (size + subSize > mergeTokens) break;
      const heading = `${'#'.repeat(Math.min(6, sub.section.depth))} ${sub.section.title}`;
      folded.push({ text: heading, tokens: countTokens(heading), code: [] }, ...sub.pieces);
      size += subSize;
      j++;
    }
    // Only when every subsection fits: a half-folded parent would hide the rest's headings.
    const subtreeEnd = all.findIndex((s, k) => k > i && s.section.depth <= section.depth);
    if (folded.length && j === (subtreeEnd === -1 ? all.length : subtreeEnd)) {
      pieces = [...pieces, ...folded];
      i = j - 1;
    }
    for (const group of pack(pieces, maxTokens, minTokens)) {
      const text = group.map((p) => p.text).join('\n\n');
      chunks.push({
        path: page.path,
        pageTitle,
        title: section.title,
        breadcrumb: section.breadcrumb,
        anchor: section.anchor,
        text,
        code: group.flatMap((p) => p.code),
        tokens: countJoined(group),
        ordinal: chunks.length,
      });
    }
  }
  return chunks;
}

function sections(blocks: RootContent[], pageTitle: string): Section[] {
  const slugger = new GithubSlugger();
  const trail: Array<{ depth: number; title: string }> = [];
  const out: Section[] = [];
  let current: Section = {
    depth: 0,
    title: pageTitle,
    breadcrumb: [pageTitle],
    anchor: '',
    blocks: [],
  };
  for (const block of blocks) {
    if (block.type !== 'heading') {
      // Horizontal rules carry no text and would otherwise make empty sections look non-empty.
      if (block.type !== 'thematicBreak') current.blocks.push(block);
      continue;
    }
    out.push(current);
    const title = plainText(block) || pageTitle;
    if (block.data?.fromHtml && block.depth === 1 && title !== pageTitle) {
      // A banner heading: its section (usually empty) keeps its title but starts no trail.
      current = {
        depth: block.depth,
        title,
        breadcrumb: [pageTitle, title],
        anchor: anchorOf(block, title, slugger),
        blocks: [],
      };
      continue;
    }
    while (trail.length && (trail[trail.length - 1]?.depth ?? 0) >= block.depth) trail.pop();
    trail.push({ depth: block.depth, title });
    current = {
      depth: block.depth,
      title,
      breadcrumb: dedupe([pageTitle, ...trail.map((t) => t.title)]),
      anchor: anchorOf(block, title, slugger),
      blocks: [],
    };
  }
  out.push(current);
  // Heading-only sections stay when they have subsections to fold in; empty ones go later.
  return out;
}

function anchorOf(heading: Heading, title: string, slugger: GithubSlugger): string {
  const explicit = heading.data?.anchorId;
  // Still count the slug so later duplicates get the suffix GitHub would give them.
  const slug = slugger.slug(title);
  return explicit ?? slug;
}

function dedupe(trail: string[]): string[] {
  const out: string[] = [];
  for (const t of trail) {
    const last = out[out.length - 1];
    if (t && (last === undefined || last.toLowerCase() !== t.toLowerCase())) out.push(t);
  }
  return out;
}

/**
 * Groups pieces into chunks of at most maxTokens (a lone oversize fence excepted). When a
 * section must be split, the groups aim at equal sizes so the last one is not a sliver.
 */
function pack(pieces: Piece[], maxTokens: number, minTokens: number): Piece[][] {
  if (pieces.length === 0) return [];
  // +1 per piece for the blank line joining it to the next.
  const total = pieces.reduce((n, p) => n + p.tokens + 1, 0);
  if (total <= maxTokens) return [pieces];
  const target = total / Math.ceil(total / maxTokens);
  const groups: Piece[][] = [];
  let group: Piece[] = [];
  let size = 0;
  for (const piece of pieces) {
    if (group.length && (size + piece.tokens + 1 > maxTokens || size >= target)) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(piece);
    size += piece.tokens + 1;
  }
  if (group.length) {
    const prev = groups[groups.length - 1];
    const prevSize = prev?.reduce((n, p) => n + p.tokens + 1, 0) ?? 0;
    if (prev && size < minTokens && prevSize + size <= maxTokens + minTokens) prev.push(...group);
    else groups.push(group);
  }
  return groups;
}

/** Last resort when the Markdown pipeline itself failed: bounded plain-text chunks. */
function chunkPlain(page: SourcePage, maxTokens: number): Chunk[] {
  const title =
    page.path
      .split('/')
      .pop()
      ?.replace(/\.[^.]+$/, '') || page.path;
  return splitText(page.text, maxTokens)
    .filter((t) => /\S/.test(t))
    .map((text, ordinal) => ({
      path: page.path,
      pageTitle: title,
      title,
      breadcrumb: [title],
      anchor: '',
      text,
      code: [],
      tokens: countTokens(text),
      ordinal,
    }));
}
