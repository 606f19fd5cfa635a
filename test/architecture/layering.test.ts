// Dependencies flow one way: the commands (ci/, central-controller/, shard-agent/, demo/, cli/) import
// the shared core (core/, schemas/), never the reverse. The source is parsed with TypeScript's own
// parser, so every form of import counts: static, type-only, `export … from`, dynamic `import()`,
// `import("…")` types and `require`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../../core/project-root.ts';

const PROJECT_ROOT = projectRoot();

const SHARED = ['core', 'schemas'];
const COMMANDS = ['ci', 'central-controller', 'shard-agent', 'demo', 'cli'];

interface Import {
  specifier: string | null; // null: a dynamic import whose target is not a string literal
  line: number;
}

/** Every module specifier a TypeScript source refers to. */
export function importsOf(fileName: string, text: string): Import[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Import[] = [];
  const add = (node: ts.Node, spec: ts.Expression | undefined) =>
    out.push({ specifier: spec && ts.isStringLiteralLike(spec) ? spec.text : null, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier) add(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal as ts.Expression);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The problems of one file under a shared folder: imports of a command folder, and imports that cannot be checked. */
export function layeringProblems(root: string, file: string, text: string): string[] {
  const problems: string[] = [];
  for (const { specifier, line } of importsOf(file, text)) {
    const where = `${relative(root, file)}:${line}`;
    if (specifier === null) {
      problems.push(`${where}: a dynamic import of a computed name cannot be checked; use a string literal`);
      continue;
    }
    if (!specifier.startsWith('.') && !specifier.startsWith('/')) continue; // a package or node: builtin
    const target = relative(root, resolve(dirname(file), specifier)).split(/[\\/]/)[0];
    if (COMMANDS.includes(target)) problems.push(`${where}: imports ${specifier} (${target}/ is a command folder; move what is shared into core/ or pass it in)`);
  }
  return problems;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(m|c)?tsx?$/.test(e.name))
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

test('core/ and schemas/ never import ci/, central-controller/, shard-agent/, demo/ or cli/', () => {
  const files = SHARED.flatMap((d) => tsFilesUnder(join(PROJECT_ROOT, d)));
  assert.ok(files.length > 30, `expected the shared sources, found ${files.length} files`);
  const problems = files.flatMap((f) => layeringProblems(PROJECT_ROOT, f, readFileSync(f, 'utf8')));
  assert.deepEqual(problems, []);
});

test('the check sees every form of import', () => {
  const file = join(PROJECT_ROOT, 'core', 'x', 'probe.ts');
  const text = [
    "import { a } from '../../ci/rules/index.ts';",
    "import type { B } from '../../central-controller/b.ts';",
    "export { c } from '../../shard-agent/c.ts';",
    "export * from '../../demo/d.ts';",
    "const e = await import('../../cli/e.ts');",
    "type F = import('../../ci/f.ts').F;",
    "const g = require('../../cli/g.ts');",
    'const h = await import(name);',
    "import { ok } from '../compiler/rule.ts';",
    "import { alsoOk } from '../../schemas/model.ts';",
    "import yaml from 'js-yaml';",
    "const fine = await import('node:fs');",
    "const text = 'import x from \"../../ci/not-an-import.ts\"';",
  ].join('\n');
  const problems = layeringProblems(PROJECT_ROOT, file, text);
  assert.deepEqual(
    problems.map((p) => p.split(':')[1]),
    ['1', '2', '3', '4', '5', '6', '7', '8'],
    problems.join('\n'),
  );
  assert.match(problems[0], /^core\/x\/probe\.ts:1: imports \.\.\/\.\.\/ci\/rules\/index\.ts \(ci\/ is a command folder/);
});
