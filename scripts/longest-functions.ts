/**
 * Lists the longest functions under a folder (default `src/`) or in one file, longest first,
 * with the TypeScript compiler API: every function declaration, method, accessor, constructor,
 * function expression and arrow function. `lines` spans the whole function, nested functions
 * included; `own` leaves out the lines of the functions nested in it (an object literal of small
 * methods is long, not one long piece of logic).
 *
 *   npx tsx scripts/longest-functions.ts [folder or file] [--top N] [--by own]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

interface FunctionSpan {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
  readonly own: number;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node)
  );
}

/** `Class.method`, `name` of the variable or property an arrow is assigned to, or `<anonymous>`. */
function nameOf(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  const own = node.name ? node.name.getText(source) : undefined;
  const parent = node.parent;
  const holder =
    ts.isClassLike(parent) && parent.name ? `${parent.name.text}.` : ts.isObjectLiteralExpression(parent) ? '{}.' : '';
  if (ts.isConstructorDeclaration(node)) return `${holder}constructor`;
  if (own) return `${holder}${own}`;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(source);
  }
  return '<anonymous>';
}

function lineSpan(node: ts.Node, source: ts.SourceFile): number {
  const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
  const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
  return end - start + 1;
}

function functionsIn(file: string): FunctionSpan[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: FunctionSpan[] = [];
  /** Returns the lines of the outermost functions found under `node`. */
  const visit = (node: ts.Node): number => {
    if (isFunction(node)) {
      const lines = lineSpan(node, source);
      let nested = 0;
      node.forEachChild((child) => void (nested += visit(child)));
      found.push({
        file,
        line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
        name: nameOf(node, source),
        lines,
        own: lines - nested,
      });
      return lines;
    }
    let nested = 0;
    node.forEachChild((child) => void (nested += visit(child)));
    return nested;
  };
  visit(source);
  return found;
}

const args = process.argv.slice(2);
const valueOf = (flag: string): string | undefined => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const top = Number(valueOf('--top') ?? 10);
const byOwn = valueOf('--by') === 'own';
const root = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 'src';
const all = (root.endsWith('.ts') ? [root] : tsFiles(root))
  .flatMap(functionsIn)
  .sort((a, b) => (byOwn ? b.own - a.own || b.lines - a.lines : b.lines - a.lines || b.own - a.own));
console.log('lines  own  function (file:line)');
for (const f of all.slice(0, top)) {
  console.log(`${String(f.lines).padStart(5)} ${String(f.own).padStart(4)}  ${f.name} (${f.file}:${f.line})`);
}
