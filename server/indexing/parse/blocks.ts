import type { Code, List, Root, RootContent, Table } from 'mdast';
import { visit } from 'unist-util-visit';
import { countTokens } from '../tokens.js';
import type { CodeBlock } from '../types.js';
import { stringifyBlock } from './mdast-tools.js';

/** A piece of a section's Markdown that is never cut further when packing chunks. */
export interface Piece {
  text: string;
  tokens: number;
  code: CodeBlock[];
}

/**
 * Markdown pieces for one top-level block, each at most `maxTokens` except code fences, which
 * stay whole up to `maxCodeTokens` (beyond that they are cut at line boundaries into several
 * complete fences, so a pathological file still yields bounded chunks).
 */
export function blockPieces(
  node: RootContent,
  maxTokens: number,
  maxCodeTokens: number,
  depth = 0,
): Piece[] {
  const text = stringifyBlock(node);
  if (!/\S/.test(text)) return [];
  const tokens = countTokens(text);
  if (tokens <= maxTokens) return [{ text, tokens, code: codeIn(node) }];
  // Each level re-serialises the rest of the subtree; past a few levels (pathological nesting)
  // plain text splitting is both cheaper and good enough.
  if (depth > MAX_SPLIT_DEPTH && node.type !== 'code')
    return splitText(text, maxTokens).map(textPiece);
  const sub = (n: RootContent) => blockPieces(n, maxTokens, maxCodeTokens, depth + 1);
  switch (node.type) {
    case 'code':
      return tokens <= maxCodeTokens
        ? [{ text, tokens, code: codeIn(node) }]
        : splitCode(node, maxTokens);
    case 'list':
      return splitList(node, sub);
    case 'table':
      return splitTable(node, maxTokens);
    case 'blockquote':
    case 'footnoteDefinition':
      return node.children.length > 1
        ? node.children.flatMap((c) => sub({ ...node, children: [c] } as RootContent))
        : node.children.flatMap(sub);
    default:
      return splitText(text, maxTokens).map(textPiece);
  }
}

function codeIn(node: RootContent | Root): CodeBlock[] {
  const out: CodeBlock[] = [];
  visit(node, 'code', (c: Code) => {
    out.push({ lang: c.lang ?? '', code: c.value });
  });
  return out;
}

function textPiece(text: string): Piece {
  return { text, tokens: countTokens(text), code: [] };
}

function splitList(list: List, sub: (n: RootContent) => Piece[]): Piece[] {
  if (list.children.length === 1) {
    // One huge item: its blocks lose the bullet but keep their text and fences.
    return (list.children[0]?.children ?? []).flatMap(sub);
  }
  const start = list.start ?? 1;
  return list.children.flatMap((item, i) =>
    sub({ ...list, start: list.ordered ? start + i : list.start, children: [item] }),
  );
}

function splitTable(table: Table, maxTokens: number): Piece[] {
  const [header, ...rows] = table.children;
  if (!header || rows.length === 0)
    return splitText(stringifyBlock(table), maxTokens).map(textPiece);
  const headerTokens = countTokens(stringifyBlock({ ...table, children: [header] }));
  const pieces: Piece[] = [];
  let batch: typeof rows = [];
  let batchTokens = headerTokens;
  const flush = () => {
    if (batch.length)
      pieces.push(textPiece(stringifyBlock({ ...table, children: [header, ...batch] })));
    batch = [];
    batchTokens = headerTokens;
  };
  for (const row of rows) {
    const rowTokens = countTokens(stringifyBlock({ ...table, children: [row] }));
    if (headerTokens + rowTokens > maxTokens) {
      // A single row bigger than a chunk: emit it as text pieces, the header repeated once.
      flush();
      const text = stringifyBlock({ ...table, children: [header, row] });
      pieces.push(...splitText(text, maxTokens).map(textPiece));
      continue;
    }
    if (batchTokens + rowTokens > maxTokens) flush();
    batch.push(row);
    batchTokens += rowTokens;
  }
  flush();
  return pieces;
}

function splitCode(code: Code, maxTokens: number): Piece[] {
  // Leave room for the fence lines.
  const budget = Math.max(1, maxTokens - 8);
  return splitText(code.value, budget, ['\n']).map((value) => {
    const node: Code = { ...code, value };
    const text = stringifyBlock(node);
    return { text, tokens: countTokens(text), code: [{ lang: code.lang ?? '', code: value }] };
  });
}

const MAX_SPLIT_DEPTH = 6;

const SEPARATORS: Array<string | RegExp> = ['\n\n', '\n', /(?<=[.!?;:])\s+/, /\s+/];

/**
 * Splits text into parts of at most `maxTokens`, preferring paragraph, line, sentence and word
 * boundaries in that order, and cutting inside a word only when nothing else fits.
 */
export function splitText(text: string, maxTokens: number, separators = SEPARATORS): string[] {
  if (countTokens(text) <= maxTokens) return [text];
  const [sep, ...rest] = separators;
  if (sep === undefined) return hardSplit(text, maxTokens);
  const joiner = typeof sep === 'string' ? sep : ' ';
  const parts = text.split(sep).filter((p) => p.length > 0);
  if (parts.length <= 1) return splitText(text, maxTokens, rest);

  const out: string[] = [];
  let current = '';
  let currentTokens = 0;
  for (const part of parts) {
    const partTokens = countTokens(part);
    if (partTokens > maxTokens) {
      if (current) out.push(current);
      out.push(...splitText(part, maxTokens, rest));
      current = '';
      currentTokens = 0;
      continue;
    }
    // +1 approximates the joiner; the exact count is re-measured on the final chunk text.
    if (current && currentTokens + partTokens + 1 > maxTokens) {
      out.push(current);
      current = '';
      currentTokens = 0;
    }
    current = current ? current + joiner + part : part;
    currentTokens += partTokens + (currentTokens ? 1 : 0);
  }
  if (current) out.push(current);
  return out;
}

function hardSplit(text: string, maxTokens: number): string[] {
  // Cut by characters (decoding a token prefix could split a code point), shrinking the window
  // until it fits.
  const out: string[] = [];
  let pos = 0;
  let width = Math.max(1, maxTokens * 4);
  while (pos < text.length) {
    let end = Math.min(text.length, pos + width);
    while (end - pos > 1 && countTokens(text.slice(pos, end)) > maxTokens) {
      end = pos + Math.floor((end - pos) * 0.7);
    }
    // Do not leave a lone surrogate at the cut.
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1] ?? '') && end - pos > 1) end--;
    out.push(text.slice(pos, end));
    width = Math.max(width, end - pos);
    pos = end;
  }
  return out;
}
