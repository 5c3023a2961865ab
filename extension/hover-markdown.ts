/**
 * The hover's Markdown: the best snippet for the symbol, documentation text escaped (no raw HTML
 * reaches the hover; VS Code renders it with `supportHtml` off), code in fences that the text
 * cannot close, and links to our own two commands only. Pure (unit-tested).
 */
import type { Snippet } from '../shared/api.js';

/** Commands a hover link may run (the MarkdownString's `isTrusted.enabledCommands`). */
export const HOVER_COMMANDS = ['twinmcp.openInChat', 'twinmcp.openSource'] as const;

// Hovers are glanced at: ~1,200 characters of prose and 20 lines of code fit without scrolling.
const MAX_PROSE = 1200;
const MAX_CODE_LINES = 20;

/** Escapes Markdown and HTML so documentation text renders as the text it is. */
export function escapeMarkdown(text: string): string {
  return (
    text
      // `<` and `>` become entities below; a backslash before them would show.
      .replace(/[\\`*_{}[\]()#+\-.!|~]/g, '\\$&')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
  );
}

/** A fence longer than any backtick run inside the code, so the code cannot end it early. */
export function fence(code: string, lang: string): string {
  const longest = Math.max(2, ...(code.match(/`+/g) ?? []).map((r) => r.length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang.replace(/[^\w+-]/g, '')}\n${code}\n${ticks}`;
}

export function commandLink(
  label: string,
  command: (typeof HOVER_COMMANDS)[number],
  arg: unknown,
): string {
  return `[${escapeMarkdown(label)}](command:${command}?${encodeURIComponent(JSON.stringify([arg]))})`;
}

/** Picks the snippet for a symbol: a title naming it first, then the server's order (score). */
export function bestSnippet(snippets: Snippet[], symbol: string): Snippet | undefined {
  const last = symbol.split('.').at(-1)!.toLowerCase();
  const named = snippets.find((s) =>
    s.title
      .toLowerCase()
      .split(/[^\w$]+/)
      .includes(last),
  );
  return named ?? snippets[0];
}

export interface HoverDoc {
  display: string;
  /** Without the version (`/npm/zod`). */
  libraryId: string;
  version: string | null;
  /** The locked version of the workspace, when known. */
  locked?: string;
  snippet: Snippet;
}

export function hoverMarkdown(doc: HoverDoc): string {
  const { snippet } = doc;
  // The id in a code span (no escaping needed there) and the version as plain text: readers and
  // the integration suite look for `/owner/name/version` and the version at the end of line one.
  const version = doc.version?.replace(/[^\w.+-]/g, '') ?? '';
  const id = version ? `${doc.libraryId}/${version}` : doc.libraryId;
  const lines: string[] = [];
  lines.push(`**${escapeMarkdown(doc.display)}** — ${codeSpan(id)}${version ? ` ${version}` : ''}`);
  const where = [...snippet.breadcrumb, snippet.title].filter(Boolean).join(' › ');
  if (where) lines.push('', `*${escapeMarkdown(where)}*`);
  const prose = snippet.description || stripCode(snippet.content);
  if (prose.trim()) lines.push('', escapeMarkdown(truncate(prose.trim(), MAX_PROSE)));
  const code = snippet.code[0];
  if (code) {
    const codeLines = code.code.split('\n');
    const shown =
      codeLines.slice(0, MAX_CODE_LINES).join('\n') +
      (codeLines.length > MAX_CODE_LINES ? '\n…' : '');
    lines.push('', fence(shown, code.lang));
  }
  const question = `How do I use ${doc.display}?`;
  lines.push(
    '',
    [
      commandLink('Open in TwinMCP chat', 'twinmcp.openInChat', {
        text: question,
        libraries: [id],
      }),
      commandLink('Open source', 'twinmcp.openSource', {
        source: snippet.source,
        path: snippet.path,
      }),
    ].join(' · '),
  );
  return lines.join('\n');
}

function codeSpan(text: string): string {
  return `\`${text.replace(/`/g, '')}\``;
}

function stripCode(markdown: string): string {
  return markdown.replace(/```[\s\S]*?```/g, ' ').replace(/\s+/g, ' ');
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), max - 40))}…`;
}
