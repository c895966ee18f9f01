/**
 * Finds `any` in the public types of an installed package, with the TypeScript compiler API: for every export
 * of every entry, the types of its signatures (parameters, returns, type arguments), of its class and interface
 * members and of the types these reach, as long as they are declared in the package itself (`net.Socket`'s own
 * `any`s are Node's business). An `any` here is written in a declaration, or is what TypeScript makes of a type
 * it cannot resolve (a missing export in a `.d.ts`, the defect behind `pgStream()` returning `any`).
 */
import ts from 'typescript';

/** One `any` found: where it was reached from, as `entry › Export › member › …`. */
export interface AnyFinding {
  readonly path: string;
  readonly declaredIn: string | undefined;
}

/**
 * Walks the exports of every module `entryFile` imports (`import * as e0 from 'pkg/entry'`) and returns each
 * `any` reachable through types declared under `packageDir`. `program` holds `entryFile`.
 */
export function findAnyInExports(program: ts.Program, entryFile: string, packageDir: string): AnyFinding[] {
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entryFile);
  if (file === undefined) throw new Error(`${entryFile} is not in the program`);

  const ours = (node: ts.Node | undefined): boolean => node !== undefined && node.getSourceFile().fileName.startsWith(packageDir);
  const findings: AnyFinding[] = [];
  const seenTypes = new Set<ts.Type>();
  const seenSymbols = new Set<ts.Symbol>();

  const report = (path: string, node: ts.Node | undefined): void => {
    findings.push({ path, declaredIn: node === undefined ? undefined : `${node.getSourceFile().fileName.slice(packageDir.length + 1)}:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}` });
  };

  const visitSignature = (sig: ts.Signature, path: string): void => {
    for (const p of sig.getParameters()) visitSymbolType(p, `${path}(${p.getName()})`);
    visitType(sig.getReturnType(), `${path} → return`, sig.getDeclaration());
    for (const tp of sig.getTypeParameters() ?? []) {
      const constraint = tp.getConstraint();
      if (constraint !== undefined) visitType(constraint, `${path} <${tp.symbol.getName()}>`, sig.getDeclaration());
    }
  };

  const visitSymbolType = (symbol: ts.Symbol, path: string): void => {
    const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (decl === undefined || !ours(decl)) return;
    visitType(checker.getTypeOfSymbolAtLocation(symbol, decl), path, decl);
  };

  const visitMembers = (type: ts.Type, path: string): void => {
    for (const prop of checker.getPropertiesOfType(type)) {
      // Members inherited from elsewhere (EventEmitter, net.Socket) are not the package's.
      if (!(prop.declarations ?? []).some(ours)) continue;
      if ((prop.declarations ?? []).some((d) => ts.getCombinedModifierFlags(d as ts.Declaration) & ts.ModifierFlags.Private)) continue;
      if (prop.getName().startsWith('#')) continue;
      visitSymbolType(prop, `${path}.${prop.getName()}`);
    }
    for (const sig of type.getCallSignatures()) visitSignature(sig, path);
    for (const sig of type.getConstructSignatures()) visitSignature(sig, `new ${path}`);
    for (const info of checker.getIndexInfosOfType(type)) visitType(info.type, `${path}[index]`, info.declaration);
  };

  const visitType = (type: ts.Type, path: string, at: ts.Node | undefined): void => {
    if (type.flags & ts.TypeFlags.Any) {
      report(path, at);
      return;
    }
    if (seenTypes.has(type)) return;
    seenTypes.add(type);
    if (type.isUnionOrIntersection()) {
      for (const t of type.types) visitType(t, path, at);
      return;
    }
    if (type.flags & ts.TypeFlags.Object) {
      const object = type as ts.ObjectType;
      if (object.objectFlags & ts.ObjectFlags.Reference) {
        const reference = type as ts.TypeReference;
        const parameters = reference.target.typeParameters ?? [];
        checker.getTypeArguments(reference).forEach((arg, i) => {
          // `AsyncIterable<T>` is `AsyncIterable<T, any, any>` by the lib's defaults: not an `any` of ours.
          const parameter = parameters[i];
          const fallback = parameter === undefined ? undefined : checker.getDefaultFromTypeParameter(parameter);
          if (arg.flags & ts.TypeFlags.Any && fallback !== undefined && fallback.flags & ts.TypeFlags.Any) return;
          visitType(arg, `${path}<${i}>`, at);
        });
      }
      const declared = type.getSymbol()?.declarations ?? [];
      if (declared.some(ours)) visitMembers(type, path);
    }
  };

  const visitExport = (symbol: ts.Symbol, path: string): void => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    if (seenSymbols.has(target)) return;
    seenSymbols.add(target);
    const decl = target.valueDeclaration ?? target.declarations?.[0];
    if (decl === undefined) {
      // An export whose declaration cannot be found: what a missing export in a .d.ts looks like.
      report(`${path} (unresolved)`, undefined);
      return;
    }
    if (!ours(decl)) return;
    if (target.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      visitType(checker.getDeclaredTypeOfSymbol(target), path, decl);
    }
    if (target.flags & ts.SymbolFlags.Value) {
      const valueType = checker.getTypeOfSymbolAtLocation(target, decl);
      if (target.flags & ts.SymbolFlags.Class) {
        for (const sig of valueType.getConstructSignatures()) visitSignature(sig, `new ${path}`);
        visitMembers(valueType, path);
      } else {
        visitType(valueType, path, decl);
      }
    }
  };

  for (const statement of file.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const spec = (statement.moduleSpecifier as ts.StringLiteral).text;
    const moduleSymbol = checker.getSymbolAtLocation(statement.moduleSpecifier);
    if (moduleSymbol === undefined) {
      report(`${spec} (no types)`, undefined);
      continue;
    }
    for (const exported of checker.getExportsOfModule(moduleSymbol)) visitExport(exported, `${spec} › ${exported.getName()}`);
  }
  return findings;
}
