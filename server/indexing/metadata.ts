/**
 * What a library is called and what it is, derived from its own sources: ids, titles, the package
 * names its install instructions use, and the opening text of its main page. No hand-written
 * alias lists: every name here comes from the documentation itself.
 */

const INSTALL =
  /\b(?:npm\s+(?:i|install|add)|yarn\s+add|pnpm\s+(?:add|i|install)|bun\s+(?:add|i|install)|pip3?\s+install|uv\s+add|poetry\s+add|deno\s+add|npx\s+jsr\s+add)\s+((?:-{1,2}[\w-]+\s+)*)([^\n]+)/g;

/** Package names from install commands in code, most frequent first. */
export function installedPackages(codeBlocks: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const code of codeBlocks) {
    for (const m of code.matchAll(INSTALL)) {
      for (const raw of m[2]!.split(/\s+/)) {
        if (!raw || raw.startsWith('-') || /[&|;<>]/.test(raw)) break;
        const name = raw
          .replace(/^(?:npm:|jsr:)/, '')
          .replace(/(?<=.)@[^/]*$/, '')
          .replace(/\[.*\]$/, '')
          .replace(/[=<>~!].*$/, '')
          .replace(/["']/g, '')
          .toLowerCase();
        if (/^(@[\w.-]+\/)?[\w.-]+$/.test(name) && name.length <= 60)
          counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/** Lower-case words of a name: `@tanstack/react-query` -> [tanstack, react, query]. */
export function nameWords(name: string): string[] {
  return name
    .toLowerCase()
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** `TypeScript` -> `ts`, `TanStack Query` -> `tsq`: the initialism people type. */
function initialism(title: string): string | undefined {
  const humps = title.match(/[A-Z][a-z]+|[A-Z]+(?![a-z])|\d+/g) ?? [];
  return humps.length >= 2 ? humps.map((h) => h[0]!.toLowerCase()).join('') : undefined;
}

export interface AliasInput {
  libraryId: string;
  title: string;
  packageNames?: string[];
  codeBlocks: string[];
}

/**
 * Names for resolve: id parts, the title, name variants (`react.dev` -> `react`, `expressjs` ->
 * `express`), the title's initialism, and package names from the docs' own install commands that
 * share a word with the library's id or title (so a tutorial's `npm i dotenv` does not make the
 * library answer to "dotenv").
 */
export function deriveAliases(input: AliasInput): string[] {
  const [, owner = '', name = ''] = input.libraryId.split('/');
  const aliases = new Set<string>([
    input.title.toLowerCase(),
    owner.toLowerCase(),
    name.toLowerCase(),
  ]);
  const ownWords = new Set([...nameWords(input.title), ...nameWords(owner), ...nameWords(name)]);
  for (const n of [...aliases]) {
    const stripped = n.replace(/(?:[.-](?:dev|com|org|io|js)|js|-website|-docs|\.docs)$/, '');
    if (stripped && stripped !== n) aliases.add(stripped);
  }
  const init = initialism(input.title);
  if (init) aliases.add(init);
  for (const p of input.packageNames ?? []) aliases.add(p.toLowerCase());
  const installs = [...installedPackages(input.codeBlocks)].sort((a, b) => b[1] - a[1]);
  for (const [pkg, count] of installs.slice(0, 12)) {
    if (count < 2) continue;
    if (nameWords(pkg).some((w) => ownWords.has(w) && w.length >= 3)) aliases.add(pkg);
  }
  aliases.delete('');
  return [...aliases].slice(0, 30);
}

const MAIN_PAGE =
  /^(?:readme|index|introduction|intro|overview|getting-started|docs)\.(?:mdx?|markdown|html?|rst|txt)$/i;

/** Rank of a page as the library's main page: shallower and better-named first. */
export function mainPageRank(path: string): number {
  const depth = path.split('/').length - 1;
  const base = path.split('/').pop() ?? '';
  return depth * 10 + (MAIN_PAGE.test(base) ? 0 : 5);
}

/** A one- or two-sentence description from a page's opening prose (Markdown). */
export function describe(markdown: string): string {
  for (const block of markdown.split(/\n\s*\n/)) {
    const text = block
      .replace(/```[\s\S]*?```/g, '')
      .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[*_`#>]/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (
      text.length >= 40 &&
      /[a-z]/.test(text) &&
      !/^(?:import|export)\s/.test(text) &&
      !/^[-|:]/.test(text)
    ) {
      const sentences = text.match(/[^.!?]+[.!?]+(?:\s|$)/g) ?? [text];
      return sentences.slice(0, 2).join('').trim().slice(0, 300);
    }
  }
  return '';
}
