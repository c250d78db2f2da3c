// mocha's test files, which a thread must never import (unimportable.ts):
// mocha leaves no global naming the file it loads, and its default spec
// (test/*.js) names none as a test, so under mocha a test file is also one
// that declares suites, tests or hooks as it loads. Caller's thread.
// Tests: test/test-runners.ts (test/_projects/runners/mocha).
import { readFileSync, realpathSync } from 'node:fs';
import { isFunction, isNode, parse, type AstNode } from './parsers.js';

/**
 * Whether mocha runs this process: its command (bin/mocha.js, reached
 * through node_modules/.bin/mocha, a link that Node leaves unresolved in
 * argv: helper-153; or the child it starts for Node's flags) or a worker
 * of its --parallel mode (lib/nodejs/worker.js). It leaves nothing else to
 * tell it by: no global names its test file, and its default spec
 * (test/*.js) names none as a test.
 */
export const underMocha = ((): boolean => {
  const command = process.argv[1] ?? '';
  let real = command;
  try { real = realpathSync(command); } catch { /* not a file */ }
  // (An installed mocha's: an app of its own under some mocha/lib/ folder is none: helper-154.)
  return /[\\/]node_modules[\\/]mocha[\\/](bin|lib)[\\/]/.test(real) || /[\\/]\.bin[\\/]_?mocha(\.cmd|\.ps1)?$/i.test(command);
})();

/** What mocha's interfaces (BDD, TDD) declare with: suites, tests and hooks. */
const mochaCalls = new Set(['describe', 'context', 'it', 'specify', 'suite', 'test', 'before', 'after', 'beforeEach',
  'afterEach', 'setup', 'teardown', 'suiteSetup', 'suiteTeardown']);
const declaresSuites = new Map<string, boolean>();

/**
 * Whether `file` declares mocha's suites, tests or root hooks as it loads:
 * calls them outside any function of its own (at its top level, or in a
 * loop or block there), not in a comment or a string, as a first reading
 * by line took (helper-153: a helper module's comment made it a test
 * file). Parsed once; a file acorn cannot parse (TypeScript) is read by a
 * call at a line's start.
 */
export function declaresMochaTests(file: string): boolean {
  let found = declaresSuites.get(file);
  if (found === undefined) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { /* unreadable: not one */ }
    found = callsAsItLoads(text);
    declaresSuites.set(file, found);
  }
  return found;
}

function callsAsItLoads(text: string): boolean {
  let program: AstNode | undefined;
  for (const sourceType of ['module', 'script'] as const) {
    try {
      program = parse(text, { ecmaVersion: 'latest', sourceType, allowHashBang: true, allowReturnOutsideFunction: sourceType === 'script' });
      break;
    } catch { /* the other, or neither */ }
  }
  // (TypeScript: by a call at a line's start, its comments and strings left out, as helper-154
  // found a comment naming a test made a helper module one. Suites declared in a loop there
  // go unseen: name such a file *.spec.ts.)
  if (!program) return /^(describe|context|it|specify|suite|test)(\.(only|skip))?\s*\(/m.test(withoutCommentsAndStrings(text));
  /** Code that runs later, not as the file loads. */
  const deferred = (n: AstNode): boolean => n.type === 'ClassBody' || isFunction(n);
  // (A name the file declares itself, a `function test()` of its own, is not mocha's.)
  const own = ownNames(program.body as AstNode[]);
  const visit = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.some(visit);
    if (!isNode(node) || deferred(node)) return false;
    if (node.type === 'CallExpression') {
      let callee = node.callee as AstNode;
      // (describe.only, it.skip)
      if (callee.type === 'MemberExpression') callee = callee.object as AstNode;
      if (callee.type === 'Identifier' && mochaCalls.has(callee.name as string) && !own.has(callee.name as string)) return true;
    }
    return Object.keys(node).some((k) => k !== 'type' && visit(node[k]));
  };
  return visit(program.body);
}

/** `text` with its comments and string literals (template literals too) blanked, roughly: for a file acorn cannot parse. */
function withoutCommentsAndStrings(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|`(?:\\[\s\S]|[^`\\])*`|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g, '""');
}

/** The names a program's top level declares: functions, classes, variables (plain identifiers) and imports. */
function ownNames(body: readonly AstNode[]): Set<string> {
  const names = new Set<string>();
  // (Destructured too: const { before } = require('lodash').)
  const named = (n: unknown): void => {
    if (!isNode(n)) return;
    if (n.type === 'Identifier') names.add(n.name as string);
    else if (n.type === 'ObjectPattern') for (const p of n.properties as AstNode[]) named(p.type === 'RestElement' ? p.argument : p.value);
    else if (n.type === 'ArrayPattern') for (const e of n.elements as unknown[]) named(e);
    else if (n.type === 'AssignmentPattern') named(n.left);
    else if (n.type === 'RestElement') named(n.argument);
  };
  for (const statement of body) {
    const d = statement.type === 'ExportNamedDeclaration' && isNode(statement.declaration) ? statement.declaration : statement;
    if (d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration') named(d.id);
    else if (d.type === 'VariableDeclaration') for (const v of d.declarations as AstNode[]) named(v.id);
    else if (d.type === 'ImportDeclaration') for (const spec of d.specifiers as AstNode[]) named(spec.local);
  }
  return names;
}
