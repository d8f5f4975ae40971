#!/usr/bin/env node
// Checks that no two packages export the same name from their `src/index.ts`: a user who imports
// from two @skingan packages must never have to alias one `PRESETS` or `TrainResult` away, and one
// concept has one home (another package imports it, and does not re-export it). Exit 1 listing each
// clashing name with the packages that export it.
//
//   node tools/check-exports.mjs
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The names a module's source exports (values and types), from its syntax alone. */
export function exportedNames(source, fileName = 'index.ts') {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const names = [];
  for (const st of sf.statements) {
    if (ts.isExportDeclaration(st)) {
      if (!st.exportClause)
        throw new Error(`${fileName}: \`export *\` hides which names it exports; list them`);
      if (ts.isNamedExports(st.exportClause))
        for (const e of st.exportClause.elements) names.push(e.name.text);
      else names.push(st.exportClause.name.text); // export * as ns
      continue;
    }
    const exported =
      ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
    } else if (st.name && ts.isIdentifier(st.name)) {
      names.push(st.name.text);
    }
  }
  return names;
}

/** name → packages exporting it, for names exported by two or more packages. */
export function clashes(byPackage) {
  const owners = new Map();
  for (const [pkg, names] of byPackage) {
    for (const n of new Set(names)) owners.set(n, [...(owners.get(n) ?? []), pkg]);
  }
  return new Map([...owners].filter(([, pkgs]) => pkgs.length > 1).sort(([a], [b]) => a.localeCompare(b)));
}

function main() {
  const byPackage = new Map();
  for (const p of readdirSync(join(root, 'packages')).sort()) {
    const index = join(root, 'packages', p, 'src', 'index.ts');
    if (existsSync(index))
      byPackage.set(p, exportedNames(readFileSync(index, 'utf8'), `packages/${p}/src/index.ts`));
  }
  const found = clashes(byPackage);
  if (found.size === 0) {
    console.log(`check-exports: ${byPackage.size} packages, no name exported by two of them`);
    return;
  }
  for (const [name, pkgs] of found) console.error(`${name}: exported by ${pkgs.join(', ')}`);
  console.error(
    `check-exports: ${found.size} name(s) exported by more than one package; give each a package-qualified name, or keep one definition and import it`,
  );
  process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
