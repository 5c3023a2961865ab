import type { Root, RootContent } from 'mdast';
import { heading, textParagraph, type ParsedPage } from './mdast-tools.js';

const ADORNMENT = /^([=\-~^"'#*+:.`_])\1+\s*$/;
const CODE_DIRECTIVE = /^\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)\s*$/;
const OTHER_DIRECTIVE = /^\.\.\s+[\w:-]+::/;
const COMMENT_OR_TARGET = /^\.\.(\s|$)/;

/** Plain text: blank-line separated paragraphs. */
export function parseText(text: string): ParsedPage {
  const children = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map(textParagraph);
  return { tree: { type: 'root', children } };
}

/**
 * Light reStructuredText: section titles (underlined, optionally overlined), `code-block`
 * directives and `::` literal blocks become headings and code; everything else paragraphs.
 * Directive markers such as `.. note::` are dropped but their indented content is kept.
 */
export function parseRst(text: string): ParsedPage {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const styles: string[] = [];
  const children: RootContent[] = [];
  let para: string[] = [];
  let pendingLiteral: string | undefined;

  const flushPara = () => {
    const value = para.join('\n').trim();
    para = [];
    if (!value) return;
    // "Text::" introduces a literal block and reads as "Text:"; a lone "::" disappears.
    if (/::$/.test(value)) pendingLiteral = '';
    const shown = value.replace(/\s*::$/, (m) => (m.trim() === m ? ':' : ''));
    if (shown.trim()) children.push(textParagraph(shown.replace(/^\s+/gm, '')));
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const next = lines[i + 1] ?? '';
    const trimmed = line.trim();

    if (pendingLiteral !== undefined && trimmed && /^\s/.test(line)) {
      const block = takeIndented(lines, i);
      children.push({ type: 'code', lang: pendingLiteral || null, value: block.text });
      i = block.end - 1;
      pendingLiteral = undefined;
      continue;
    }
    if (trimmed) pendingLiteral = undefined;

    const code = CODE_DIRECTIVE.exec(trimmed);
    if (code) {
      flushPara();
      pendingLiteral = code[1] ?? '';
      // Skip directive options (":linenos:") until the blank line before the body.
      while (/^\s+:[\w-]+:/.test(lines[i + 1] ?? '')) i++;
      continue;
    }
    if (OTHER_DIRECTIVE.test(trimmed) && !/^\s/.test(line)) {
      flushPara();
      const rest = trimmed.replace(OTHER_DIRECTIVE, '').trim();
      if (rest) para.push(rest);
      continue;
    }
    if (COMMENT_OR_TARGET.test(trimmed) && !/^\s/.test(line)) {
      flushPara();
      i = takeIndented(lines, i + 1).end - 1;
      continue;
    }

    // Overlined title: adornment, title, adornment.
    const over = ADORNMENT.exec(trimmed);
    if (over && next.trim() && ADORNMENT.exec((lines[i + 2] ?? '').trim())?.[1] === over[1]) {
      if (trimmed.length >= next.trim().length) {
        flushPara();
        children.push(sectionHeading(`${over[1]}${over[1]}`, next.trim(), styles));
        i += 2;
        continue;
      }
    }
    const under = ADORNMENT.exec(next.trim());
    if (
      trimmed &&
      !/^\s/.test(line) &&
      under?.[1] &&
      next.trim().length >= trimmed.length &&
      !ADORNMENT.test(trimmed)
    ) {
      flushPara();
      children.push(sectionHeading(under[1], trimmed, styles));
      i += 1;
      continue;
    }

    if (!trimmed) flushPara();
    else para.push(line);
  }
  flushPara();
  const root: Root = { type: 'root', children };
  return { tree: root };
}

function sectionHeading(style: string, title: string, styles: string[]): RootContent {
  // RST assigns levels by the order adornment styles first appear.
  if (!styles.includes(style)) styles.push(style);
  return heading(styles.indexOf(style) + 1, [{ type: 'text', value: title }]);
}

/** The indented block starting at or after `start` (leading blank lines skipped), dedented. */
function takeIndented(lines: string[], start: number): { text: string; end: number } {
  let i = start;
  while (i < lines.length && !(lines[i] ?? '').trim()) i++;
  const body: string[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() && !/^\s/.test(line)) break;
    body.push(line);
  }
  while (body.length && !(body[body.length - 1] ?? '').trim()) body.pop();
  const indent = Math.min(
    ...body.filter((l) => l.trim()).map((l) => /^\s*/.exec(l)?.[0].length ?? 0),
  );
  const text = body.map((l) => l.slice(Number.isFinite(indent) ? indent : 0)).join('\n');
  return { text, end: i };
}
