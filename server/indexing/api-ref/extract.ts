/**
 * The exported API of a package's declaration files, through the TypeScript compiler: every
 * symbol each typed module exports (re-exports, `export *`, `export =`, namespaces followed),
 * with its printed declarations and JSDoc. The compiler only sees files inside the package
 * folder, and no default library: nothing is type-checked, declarations are printed as written.
 */
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { isPathInside } from '../sources/options.js';
import { moduleName, type TypesEntry } from './entries.js';
import { docOf, mergeDocs, type ApiDoc } from './jsdoc.js';
import { moduleExports, sortedExports, type ExportGroup } from './modules.js';

export type ApiKind =
  'function' | 'class' | 'interface' | 'type' | 'enum' | 'const' | 'variable' | 'namespace';

export interface ApiMember {
  name: string;
  signatures: string[];
  doc: ApiDoc;
}

/** One exported symbol. */
export interface ApiSymbol {
  /** Qualified name (`createWidget`, `NS.inner`). */
  name: string;
  /** What the page is titled: the name, or `createApp (default export)`. */
  title: string;
  kind: ApiKind;
  /** The module (`pkg`, `pkg/sub`) that exports it first. */
  module: string;
  /** Entry subpath of that module (`.`, `./sub`). */
  subpath: string;
  /** Declarations as written, without comments and `export`/`declare`; a header for big types. */
  signatures: string[];
  /** Per-declaration summaries (overloads documented one by one), same order as `signatures`. */
  signatureSummaries: string[];
  doc: ApiDoc;
  /** Public members of classes and interfaces. */
  members: ApiMember[];
  /** True when the members are too many to print in the signature (they get their own sections). */
  splitMembers: boolean;
  /** Other names the same module exports it under. */
  aliases: string[];
  /** Other modules exporting it. */
  alsoIn: string[];
}

export interface ApiExtraction {
  symbols: ApiSymbol[];
  skipped: { path: string; reason: string }[];
}

export interface ExtractOptions {
  /** Symbols per package (namespace members included); the rest are counted in one skip. */
  maxSymbols?: number;
}

/** 2,000 covers every package we know but the giant SDKs (aws-sdk v2, googleapis). */
export const DEFAULT_MAX_SYMBOLS = 2000;
/** Past this many characters a class or interface is shown as a header plus member sections. */
const SPLIT_CHARS = 1500;
/** A type alias or constant type longer than this is cut (big string unions, generated types). */
const MAX_SIGNATURE_CHARS = 6000;
/** Namespaces inside namespaces are followed this deep. */
const MAX_NAMESPACE_DEPTH = 3;

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

function confinedHost(root: string, options: ts.CompilerOptions): ts.CompilerHost {
  const base = ts.createCompilerHost(options, true);
  const inside = (f: string) => isPathInside(root, resolve(f));
  return {
    ...base,
    fileExists: (f) => inside(f) && base.fileExists(f),
    readFile: (f) => (inside(f) ? base.readFile(f) : undefined),
    directoryExists: (d) => inside(d) && (base.directoryExists?.(d) ?? false),
    getDirectories: (d) => (inside(d) ? (base.getDirectories?.(d) ?? []) : []),
    // Unpacked packages hold no links, and resolving one must not lead outside.
    realpath: (p) => p,
    getSourceFile: (f, lang, onError, create) =>
      inside(f) ? base.getSourceFile(f, lang, onError, create) : undefined,
  };
}

function strip(printed: string): string {
  return printed.replace(/^(?:export\s+)?(?:default\s+)?(?:declare\s+)?/, '');
}

function cut(text: string): string {
  return text.length > MAX_SIGNATURE_CHARS
    ? `${text.slice(0, MAX_SIGNATURE_CHARS)}\n/* … ${text.length - MAX_SIGNATURE_CHARS} more characters */`
    : text;
}

function isPublicMember(m: ts.ClassElement | ts.TypeElement): boolean {
  if (m.name && ts.isPrivateIdentifier(m.name)) return false;
  const flags = ts.getCombinedModifierFlags(m as ts.Declaration);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
}

function memberName(m: ts.Node, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(m) || ts.isConstructSignatureDeclaration(m)) return 'constructor';
  if (ts.isCallSignatureDeclaration(m)) return '(call)';
  if (ts.isIndexSignatureDeclaration(m)) return '[index]';
  return ts.getNameOfDeclaration(m as ts.Declaration)?.getText(sf) ?? '(member)';
}

function print(node: ts.Node, sf: ts.SourceFile): string {
  return printer.printNode(ts.EmitHint.Unspecified, node, sf).trim();
}

interface Printed {
  signature: string;
  /** `class A extends B { … }`: what a big type shows above its member sections. */
  header: string;
  members: ApiMember[];
  memberCount: number;
}

function membersOf(
  nodes: readonly (ts.ClassElement | ts.TypeElement)[],
  owner: string,
  sf: ts.SourceFile,
  out: ApiMember[],
): void {
  for (const m of nodes) {
    if (ts.isClassStaticBlockDeclaration(m) || ts.isSemicolonClassElement(m)) continue;
    const name = `${owner}.${memberName(m, sf)}`;
    const sig = strip(print(m, sf));
    const existing = out.find((x) => x.name === name);
    if (existing) {
      existing.signatures.push(sig);
      existing.doc = mergeDocs([existing.doc, docOf(m)]);
    } else out.push({ name, signatures: [sig], doc: docOf(m) });
  }
}

/** The printed declaration and, for classes and interfaces, the public members. */
function printDeclaration(decl: ts.Declaration, owner: string): Printed | undefined {
  const sf = decl.getSourceFile();
  if (ts.isClassDeclaration(decl) || ts.isInterfaceDeclaration(decl)) {
    const elements = (decl.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>).filter(
      isPublicMember,
    );
    const members: ApiMember[] = [];
    membersOf(elements, owner, sf, members);
    const withMembers = (list: readonly (ts.ClassElement | ts.TypeElement)[]) =>
      ts.isClassDeclaration(decl)
        ? ts.factory.updateClassDeclaration(
            decl,
            decl.modifiers,
            decl.name,
            decl.typeParameters,
            decl.heritageClauses,
            list as ts.ClassElement[],
          )
        : ts.factory.updateInterfaceDeclaration(
            decl,
            decl.modifiers,
            decl.name,
            decl.typeParameters,
            decl.heritageClauses,
            list as ts.TypeElement[],
          );
    const header = strip(print(withMembers([]), sf)).replace(/\{\s*\}$/, '{ … }');
    return {
      signature: strip(print(withMembers(elements), sf)),
      header,
      members,
      memberCount: elements.length,
    };
  }
  if (ts.isVariableDeclaration(decl)) {
    const list = decl.parent;
    const keyword = ts.isVariableDeclarationList(list)
      ? list.flags & ts.NodeFlags.Const
        ? 'const'
        : list.flags & ts.NodeFlags.Let
          ? 'let'
          : 'var'
      : 'const';
    const signature = cut(`${keyword} ${print(decl, sf)};`);
    return { signature, header: signature, members: [], memberCount: 0 };
  }
  if (ts.isModuleDeclaration(decl)) {
    const keyword = decl.flags & ts.NodeFlags.Namespace ? 'namespace' : 'module';
    const signature = `${keyword} ${decl.name.getText(sf)} { … }`;
    return { signature, header: signature, members: [], memberCount: 0 };
  }
  if (
    ts.isFunctionDeclaration(decl) ||
    ts.isTypeAliasDeclaration(decl) ||
    ts.isEnumDeclaration(decl)
  ) {
    const signature = cut(strip(print(decl, sf)));
    return { signature, header: signature, members: [], memberCount: 0 };
  }
  return undefined;
}

function kindOf(sym: ts.Symbol, decls: ts.Declaration[]): ApiKind | undefined {
  const f = sym.flags;
  if (f & ts.SymbolFlags.Class) return 'class';
  if (f & ts.SymbolFlags.Function) return 'function';
  if (f & ts.SymbolFlags.Enum) return 'enum';
  if (f & ts.SymbolFlags.Interface) return 'interface';
  if (f & ts.SymbolFlags.TypeAlias) return 'type';
  if (f & ts.SymbolFlags.Variable) {
    const v = decls.find(ts.isVariableDeclaration);
    return v && ts.isVariableDeclarationList(v.parent) && v.parent.flags & ts.NodeFlags.Const
      ? 'const'
      : 'variable';
  }
  if (f & (ts.SymbolFlags.ValueModule | ts.SymbolFlags.NamespaceModule)) return 'namespace';
  return undefined;
}

/**
 * Walks the exports of each entry module (root first) and returns one ApiSymbol per exported
 * symbol; a symbol re-exported by several modules appears once, under the first.
 */
export function extractApi(
  root: string,
  packageName: string,
  entries: TypesEntry[],
  opts: ExtractOptions = {},
): ApiExtraction {
  const maxSymbols = opts.maxSymbols ?? DEFAULT_MAX_SYMBOLS;
  const realRoot = realpathSync(root);
  const options: ts.CompilerOptions = {
    noLib: true,
    types: [],
    typeRoots: [],
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const files = entries.map((e) => join(realRoot, ...e.file.split('/')));
  const program = ts.createProgram({
    rootNames: files,
    options,
    host: confinedHost(realRoot, options),
  });
  const checker = program.getTypeChecker();
  const symbols: ApiSymbol[] = [];
  const skipped: ApiExtraction['skipped'] = [];
  const seen = new Map<ts.Symbol, ApiSymbol>();
  let overCap = 0;
  let unresolved = 0;
  const inRoot = (d: ts.Declaration) => isPathInside(realRoot, resolve(d.getSourceFile().fileName));

  const visit = (
    exportName: string,
    sym: ts.Symbol,
    where: ExportGroup,
    prefix: string,
    depth: number,
  ) => {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const decls = (target.declarations ?? []).filter(inRoot);
    if (decls.length === 0) {
      unresolved++;
      return;
    }
    const { module } = where;
    const known = seen.get(target);
    if (known) {
      const name = `${prefix}${exportName}`;
      if (known.module !== module) {
        if (!known.alsoIn.includes(module)) known.alsoIn.push(module);
      } else if (name !== known.name && !known.aliases.includes(name)) known.aliases.push(name);
      return;
    }
    const kind = kindOf(target, decls);
    if (!kind) return;
    if (symbols.length >= maxSymbols) {
      overCap++;
      return;
    }
    const declName = ts.getNameOfDeclaration(decls[0]!)?.getText(decls[0]!.getSourceFile());
    const isDefault = exportName === 'default' || exportName === 'export=';
    const baseName = isDefault && declName ? declName : exportName;
    const name = `${prefix}${baseName}`;
    const signatures: string[] = [];
    const headers: string[] = [];
    const signatureSummaries: string[] = [];
    const members: ApiMember[] = [];
    let memberCount = 0;
    for (const d of decls) {
      const printed = printDeclaration(d, name);
      if (!printed) continue;
      signatures.push(printed.signature);
      headers.push(printed.header);
      signatureSummaries.push(docOf(d).summary);
      memberCount += printed.memberCount;
      for (const m of printed.members) {
        const same = members.find((x) => x.name === m.name);
        if (same) {
          same.signatures.push(...m.signatures);
          same.doc = mergeDocs([same.doc, m.doc]);
        } else members.push(m);
      }
    }
    const splitMembers = signatures.join('\n').length > SPLIT_CHARS && memberCount > 0;
    const symbol: ApiSymbol = {
      name,
      title: exportName === 'default' ? `${name} (default export)` : name,
      kind,
      module,
      subpath: where.subpath,
      signatures: splitMembers ? headers : signatures,
      signatureSummaries,
      doc: mergeDocs(decls.map(docOf)),
      members,
      splitMembers,
      aliases: [],
      alsoIn: [],
    };
    seen.set(target, symbol);
    symbols.push(symbol);
    if (target.flags & (ts.SymbolFlags.ValueModule | ts.SymbolFlags.NamespaceModule)) {
      if (depth >= MAX_NAMESPACE_DEPTH) return;
      for (const m of sortedExports(checker, target))
        visit(m.name, m, where, `${name}.`, depth + 1);
    }
  };

  for (const entry of entries) {
    const file = join(realRoot, ...entry.file.split('/'));
    const sf = program.getSourceFile(file);
    if (!sf) {
      skipped.push({ path: entry.file, reason: 'declaration file could not be read' });
      continue;
    }
    const groups = moduleExports(
      checker,
      sf,
      entry.subpath,
      moduleName(packageName, entry.subpath),
      inRoot,
    );
    for (const group of groups) {
      // `export { Thing as Renamed }` beside `export * ` of Thing: the declared name is the page.
      const renamed = (sym: ts.Symbol) =>
        (sym.flags & ts.SymbolFlags.Alias) !== 0 &&
        !['default', 'export='].includes(sym.name) &&
        checker.getAliasedSymbol(sym).name !== sym.name;
      const all = group.symbols;
      for (const sym of [...all.filter((x) => !renamed(x)), ...all.filter(renamed)]) {
        visit(sym.name, sym, group, '', 0);
      }
    }
  }
  if (overCap > 0) {
    skipped.push({
      path: 'api/',
      reason: `API reference capped at ${maxSymbols} symbols; ${overCap} more not indexed`,
    });
  }
  if (unresolved > 0) {
    skipped.push({
      path: 'api/',
      reason: `${unresolved} re-exported symbols come from other packages and are not documented here`,
    });
  }
  return { symbols, skipped };
}
