/** Which symbols a declaration file exports, grouped by the module an import names. */
import ts from 'typescript';

/** Symbols one module exports: `pkg`, `pkg/sub`, or an ambient module (`fs` in @types/node). */
export interface ExportGroup {
  subpath: string;
  module: string;
  symbols: ts.Symbol[];
}

export function sortedExports(checker: ts.TypeChecker, moduleSymbol: ts.Symbol): ts.Symbol[] {
  // Code-unit order: identical pages (and so content hashes) on every machine.
  return checker
    .getExportsOfModule(moduleSymbol)
    .slice()
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Exports of a module file. A script (no import/export) declares either ambient modules
 * (`declare module "fs" {...}`, the @types style: one group per module, or the one named like
 * the package) or globals (one group).
 */
export function moduleExports(
  checker: ts.TypeChecker,
  sf: ts.SourceFile,
  subpath: string,
  module: string,
  inRoot: (d: ts.Declaration) => boolean,
): ExportGroup[] {
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  if (moduleSymbol) {
    const symbols = sortedExports(checker, moduleSymbol);
    const assigned = moduleSymbol.exports?.get(ts.InternalSymbolName.ExportEquals);
    // `export = fn` with a merged namespace: the function itself, then its namespace members.
    if (assigned && !symbols.includes(assigned)) symbols.unshift(assigned);
    return [{ subpath, module, symbols }];
  }
  const ambient = checker
    .getAmbientModules()
    .filter((m) => (m.declarations ?? []).some(inRoot))
    .map((m) => ({ symbol: m, name: m.name.replace(/^"|"$/g, '') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const own = ambient.find((m) => m.name === module);
  if (own) return [{ subpath, module, symbols: sortedExports(checker, own.symbol) }];
  if (ambient.length > 0) {
    return ambient.map((m) => ({
      subpath: `./${m.name}`,
      module: m.name,
      symbols: sortedExports(checker, m.symbol),
    }));
  }
  const globals: ts.Symbol[] = [];
  for (const statement of sf.statements) {
    const name = (statement as { name?: ts.Node }).name;
    const sym = name && ts.isIdentifier(name) ? checker.getSymbolAtLocation(name) : undefined;
    if (sym && !globals.includes(sym)) globals.push(sym);
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        const v = checker.getSymbolAtLocation(d.name);
        if (v && !globals.includes(v)) globals.push(v);
      }
    }
  }
  return [{ subpath, module, symbols: globals }];
}
