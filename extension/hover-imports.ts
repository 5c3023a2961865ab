/**
 * What a hovered identifier refers to: the document's imports (ES modules, CommonJS require,
 * Python import/from) mapped to packages, and the identifier chain under the cursor. Pure
 * (unit-tested); a careful regex over comment-free text rather than a parser, since it runs on
 * every hover of every open file and must stay well under a millisecond for typical files.
 */

export interface ImportBinding {
  /** npm package (`@scope/name`, `zod`) or Python top-level module. */
  packageName: string;
  /** `default`, `*` (namespace / whole module) or the exported name. */
  imported: string;
  /** The specifier as written (`zod/v4`, `fastapi.responses`). */
  specifier: string;
}

export type ImportMap = Map<string, ImportBinding>;

const NODE_BUILTINS = new Set([
  'fs',
  'path',
  'os',
  'http',
  'https',
  'crypto',
  'url',
  'util',
  'events',
  'stream',
  'child_process',
  'assert',
  'buffer',
  'net',
  'tls',
  'zlib',
  'readline',
  'worker_threads',
  'process',
  'timers',
  'dns',
  'module',
  'vm',
  'perf_hooks',
]);

/** `@scope/pkg/sub` -> `@scope/pkg`; `pkg/sub` -> `pkg`; relative, absolute and builtins -> undefined. */
export function packageOf(specifier: string): string | undefined {
  if (!specifier || /^[./]/.test(specifier) || /^[a-z]+:/i.test(specifier)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  if (NODE_BUILTINS.has(name) || (specifier.startsWith('@') && parts.length < 2)) return undefined;
  return name;
}

/** Blanks out comments (keeping offsets and newlines) so commented-out imports do not count. */
export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** Import bindings of a JavaScript or TypeScript file. */
export function jsImports(text: string): ImportMap {
  const map: ImportMap = new Map();
  const src = stripComments(text);
  const add = (local: string, imported: string, specifier: string) => {
    const pkg = packageOf(specifier);
    if (pkg && /^[A-Za-z_$][\w$]*$/.test(local))
      map.set(local, { packageName: pkg, imported, specifier });
  };
  const named = (list: string, specifier: string, sep: RegExp) => {
    for (const part of list.split(',')) {
      const m = new RegExp(`^\\s*(?:type\\s+)?([\\w$]+)(?:${sep.source}([\\w$]+))?\\s*$`).exec(
        part,
      );
      if (m) add(m[2] ?? m[1]!, m[1]!, specifier);
    }
  };
  // import X, { a as b } from 'p' | import * as ns from 'p' | import type { T } from 'p'
  const esm = /\bimport\s+(?:type\s+)?([^;'"()]*?)\s*\bfrom\s*['"]([^'"]+)['"]/g;
  for (const m of src.matchAll(esm)) {
    const clause = m[1]!;
    const specifier = m[2]!;
    const ns = /\*\s*as\s+([\w$]+)/.exec(clause);
    if (ns) add(ns[1]!, '*', specifier);
    const braces = /\{([\s\S]*)\}/.exec(clause);
    if (braces) named(braces[1]!, specifier, /\s+as\s+/);
    const def = /^\s*([\w$]+)\s*(?:,|$)/.exec(clause);
    if (def && def[1] !== 'type') add(def[1]!, 'default', specifier);
  }
  // const x = require('p') | const { a, b: c } = require('p') | const x = require('p').y
  const cjs =
    /\b(?:const|let|var)\s+(\{[^}]*\}|[\w$]+)\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)(?:\.([\w$]+))?/g;
  for (const m of src.matchAll(cjs)) {
    const target = m[1]!;
    if (target.startsWith('{')) named(target.slice(1, -1), m[2]!, /\s*:\s*/);
    else add(target, m[3] ?? '*', m[2]!);
  }
  return map;
}

/** Import bindings of a Python file (`import a.b as c`, `from a.b import x as y`). */
export function pythonImports(text: string): ImportMap {
  const map: ImportMap = new Map();
  const src = text.replace(/#[^\n]*/g, '');
  for (const m of src.matchAll(/^[ \t]*import[ \t]+([^\n]+)/gm)) {
    for (const part of m[1]!.split(',')) {
      const p = /^\s*([\w.]+)(?:\s+as\s+(\w+))?\s*$/.exec(part);
      if (!p) continue;
      const top = p[1]!.split('.')[0]!;
      map.set(p[2] ?? top, { packageName: top, imported: '*', specifier: p[1]! });
    }
  }
  for (const m of src.matchAll(/^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]+)/gm)) {
    if (m[1]!.startsWith('.')) continue;
    const top = m[1]!.split('.')[0]!;
    for (const part of m[2]!.replace(/[()]/g, '').split(',')) {
      const p = /^\s*(\w+)(?:\s+as\s+(\w+))?\s*$/.exec(part);
      if (p) map.set(p[2] ?? p[1]!, { packageName: top, imported: p[1]!, specifier: m[1]! });
    }
  }
  return map;
}

export interface HoveredSymbol {
  /** The chain's first identifier (the local binding). */
  root: string;
  /** Members after it up to and including the hovered one (`z.object` on `object` -> ['object']). */
  members: string[];
  start: number;
  end: number;
}

const IDENT = /[\w$]/;

/** The identifier under `offset` and the `a.b.c` chain leading to it. */
export function symbolAt(text: string, offset: number): HoveredSymbol | undefined {
  let start = offset;
  let end = offset;
  while (start > 0 && IDENT.test(text[start - 1]!)) start--;
  while (end < text.length && IDENT.test(text[end]!)) end++;
  if (start === end || /^\d/.test(text[start]!)) return undefined;
  const chain = [text.slice(start, end)];
  let i = start;
  while (i > 0 && text[i - 1] === '.' && !(i > 1 && text[i - 2] === '.')) {
    let s = i - 1;
    while (s > 0 && IDENT.test(text[s - 1]!)) s--;
    if (s === i - 1) break;
    chain.unshift(text.slice(s, i - 1));
    i = s;
  }
  return { root: chain[0]!, members: chain.slice(1), start, end };
}

export interface HoverTarget {
  packageName: string;
  /** What to look up: `object` for `z.object`, `useQuery` for a named import, the package for a bare default. */
  symbol: string;
  /** `zod` + `object` -> `z.object`-style display (`zod.object`). */
  display: string;
}

/** The package symbol a hover at `offset` means, when the identifier comes from an import. */
export function hoverTarget(
  text: string,
  offset: number,
  imports: ImportMap,
): HoverTarget | undefined {
  const sym = symbolAt(text, offset);
  if (!sym) return undefined;
  const binding = imports.get(sym.root);
  if (!binding) return undefined;
  const base = binding.imported === '*' || binding.imported === 'default' ? [] : [binding.imported];
  const path = [...base, ...sym.members];
  const symbol = path.length > 0 ? path.join('.') : binding.packageName;
  return {
    packageName: binding.packageName,
    symbol,
    display: [binding.packageName, ...path].join('.'),
  };
}
