// Modules a thread must never import, because importing one runs what it
// is for a second time: the program's entry script (it would start the
// program again) and a test file under a test runner (it would declare its
// tests again, outside the runner: vitest throws "failed to find the
// current suite", jest "test is not defined"). A threadable defined in one
// travels as source instead (src/identity/functions.ts). Caller's thread.
// Tests: test/threadable-esm-cjs.ts, test/test-runners.ts.
import { readFileSync, realpathSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isFunction, isNode, parse, type AstNode } from './parsers.js';

let entryURLs: Set<string> | undefined;
function isEntryScript(url: string): boolean {
  if (!isMainThread) return false;
  if (!entryURLs) {
    entryURLs = new Set();
    const main = process.argv[1];
    if (main) {
      for (const candidate of [main, `${main}.js`, `${main}.mjs`, `${main}.cjs`]) {
        try { entryURLs.add(pathToFileURL(realpathSync(candidate)).href); } catch { /* absent */ }
      }
    }
  }
  try { return entryURLs.has(pathToFileURL(realpathSync(fileURLToPath(url))).href); } catch { return false; }
}

/** What the runners leave on the global object of the code they test. */
interface RunnerGlobals {
  /** vitest's worker state: the test file it runs. */
  __vitest_worker__?: { filepath?: string };
  /** jest's `expect`: its state names the test file it runs. */
  expect?: { getState?: () => { testPath?: string } };
}

/** Names of test files by the runners' conventions. */
const testFileName = /[._-](test|spec)\.[cm]?[jt]sx?$|[\\/]__tests__[\\/]/;

/**
 * Whether mocha runs this process: its command (bin/mocha.js, reached
 * through node_modules/.bin/mocha, a link that Node leaves unresolved in
 * argv: helper-153; or the child it starts for Node's flags) or a worker
 * of its --parallel mode (lib/nodejs/worker.js). It leaves nothing else to
 * tell it by: no global names its test file, and its default spec
 * (test/*.js) names none as a test.
 */
const underMocha = ((): boolean => {
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
function declaresMochaTests(file: string): boolean {
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

function isTestFile(url: string): boolean {
  const file = fileURLToPath(url);
  const g = globalThis as RunnerGlobals;
  if (g.__vitest_worker__?.filepath === file) return true;
  try {
    if (g.expect?.getState?.().testPath === file) return true;
  } catch { /* not jest's expect */ }
  // Under a runner, other files named as tests are tests too.
  const underRunner = g.__vitest_worker__ !== undefined || process.env.JEST_WORKER_ID !== undefined
    || process.env.NODE_TEST_CONTEXT !== undefined || process.execArgv.includes('--test') || underMocha;
  // (Under mocha, whose default spec is test/*.js, also a file that declares its suites at its top level.)
  return underRunner && (testFileName.test(file) || (underMocha && declaresMochaTests(file)));
}

/** Why a thread must never import the module at `url` (a file: URL), or undefined if it may. */
export function neverImported(url: string): string | undefined {
  if (!url.startsWith('file:')) return undefined;
  if (isEntryScript(url)) return 'the entry script (in a bundle, every function is), which a thread never imports (it would start the program again)';
  if (isTestFile(url)) return 'a test file, which a thread never imports (it would declare its tests again)';
  return undefined;
}
