// The plain-function fallback: a function that is neither threadable nor a
// module export is sent as its source text and compiled in the thread. That
// is only correct when it uses nothing from its surroundings, so the source
// is parsed (acorn) and its scopes analysed (eslint-scope) on the caller:
// a free variable, `this`, `super` or an outer `arguments` is refused with
// an error that names it. Caller's thread. Tests: test/functions.ts.
import type * as Acorn from 'acorn';
import type * as EslintScope from 'eslint-scope';
import { types } from 'node:util';
import { runInThisContext } from 'node:vm';
import { FunctionNotSendableError } from '../errors/errors.js';

/** Globals every thread has: this thread's, as they were when the package loaded. */
const knownGlobals = new Set(Object.getOwnPropertyNames(globalThis));

interface AstNode { type: string; [k: string]: unknown }

// Loaded on first use: only a caller that sends a plain function needs
// them, never a pool thread, and they cost a few ms of start-up.
let acorn: typeof Acorn | undefined;
let eslintScope: typeof EslintScope | undefined;
function parse(code: string, options: Acorn.Options): Acorn.Program {
  acorn ??= require('acorn') as typeof Acorn;
  return acorn.parse(code, options);
}
function analyze(ast: object): EslintScope.ScopeManager {
  eslintScope ??= require('eslint-scope') as typeof EslintScope;
  return eslintScope.analyze(ast, { ecmaVersion: 2022, sourceType: 'script' });
}

const nativeCode = /\{\s*\[native code\]\s*\}\s*$/;

/** A plain function as it travels. */
export interface SentSource {
  source: string;
  /** Whether it has `import(...)` expressions, rewritten to call IMPORTER. */
  imports: boolean;
}

/**
 * What an `import(...)` in a sent function calls instead. A script compiled
 * in a thread has no module to resolve from, and giving it Node's default
 * loader (vm's USE_MAIN_CONTEXT_DEFAULT_LOADER) resolves from the thread's
 * working directory, not from the caller's file, and prints an
 * ExperimentalWarning. The thread passes a function that resolves from
 * the caller's file and imports from a real module.
 */
const IMPORTER = '__reactorThreadsImport';

/** Caller: the source to compile in a thread, or a FunctionNotSendableError. */
export function sourceOf(f: Function, fix: string): SentSource {
  const label = sourceLabel(f);
  const text = Function.prototype.toString.call(f);
  if (nativeCode.test(text)) {
    throw new FunctionNotSendableError(f.name.startsWith('bound ')
      ? `${label} is a bound function, which cannot be sent to a thread; pass what it binds as arguments instead`
      : `${label} is a native function that is not an export of a built-in module; use fromModule(specifier, exportName)`);
  }
  if (/^class\b/.test(text)) {
    throw new FunctionNotSendableError(`${label} is a class; a task runs a function`);
  }
  refuseGenerator(f, label);
  const { fn, source } = parseFunction(text, label);
  const free = freeNames(fn);
  if (free.length > 0) {
    const names = free.map((n) => `'${n}'`).join(', ');
    throw new FunctionNotSendableError(
      `${label} uses ${names} from outside its own body, which a thread cannot see; ${fix}`);
  }
  return rewriteImports(fn, source);
}

/** `import(x)` -> `IMPORTER(x)`: the keyword is the first six characters of each ImportExpression. */
function rewriteImports(fn: AstNode, source: string): SentSource {
  const starts: number[] = [];
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) { for (const n of node) visit(n); return; }
    const n = node as AstNode;
    if (n.type === 'ImportExpression') starts.push(n.start as number);
    for (const k of Object.keys(n)) if (k !== 'type') visit(n[k]);
  };
  visit(fn);
  if (starts.length === 0) return { source, imports: false };
  let out = source;
  // (From the last, so the earlier offsets still hold.)
  for (const at of starts.sort((a, b) => b - a)) out = out.slice(0, at) + IMPORTER + out.slice(at + 'import'.length);
  return { source: out, imports: true };
}

/** How errors name `f`: its name, or what it is when it has none. */
function sourceLabel(f: Function): string {
  // bind() names a function 'bound ' + its target's name: 'bound ' alone
  // for an anonymous target (an inline arrow).
  const name = f.name.replace(/^(?:bound )+/, '');
  return `${f.name.slice(0, f.name.length - name.length)}${name || 'anonymous function'}`;
}

/**
 * Throws a FunctionNotSendableError for a generator function (async ones
 * too): it would run, and only its result, an iterator, would fail to
 * cross. Refused before it runs, with what to do instead.
 */
export function refuseGenerator(f: Function, label: string): void {
  if (!types.isGeneratorFunction(f)) return;
  throw new FunctionNotSendableError(`${label} is a generator function: its result, an iterator, cannot cross `
    + 'threads; return an array of its items instead, or, to stream them, pass a function as an argument '
    + '(it becomes a reactor callable) and call it for each item');
}

/** Parses a function's source text: an expression, or a method shorthand. */
function parseFunction(text: string, label: string): { fn: AstNode; source: string } {
  try {
    const program = parse(`(${text})`, { ecmaVersion: 'latest', sourceType: 'script', ranges: true }) as unknown as AstNode;
    const fn = ((program.body as AstNode[])[0]!).expression as AstNode;
    return { fn, source: `(${text})` };
  } catch { /* a method: `name(a) { … }` is not an expression */ }
  let program: AstNode;
  try {
    program = parse(`({${text}})`, { ecmaVersion: 'latest', sourceType: 'script', ranges: true }) as unknown as AstNode;
  } catch (e) {
    throw new FunctionNotSendableError(`the source of ${label} cannot be parsed`, e);
  }
  const prop = (((program.body as AstNode[])[0]!.expression as AstNode).properties as AstNode[])[0]!;
  if (prop.computed || prop.kind !== 'init') {
    throw new FunctionNotSendableError(`${label} is an accessor or computed method; make it a plain function`);
  }
  const key = prop.key as AstNode;
  const name = key.type === 'Identifier' ? key.name as string : String(key.value);
  return { fn: prop.value as AstNode, source: `({${text}})[${JSON.stringify(name)}]` };
}

/** Names the function uses but neither declares nor finds among the globals. */
function freeNames(fn: AstNode): string[] {
  const program = { type: 'Program', sourceType: 'script', body: [{ type: 'ExpressionStatement', expression: fn }] };
  const manager = analyze(program);
  const free = new Set<string>();
  for (const ref of manager.globalScope!.through) {
    const name = ref.identifier.name;
    if (!knownGlobals.has(name) || name === 'arguments') free.add(name);
  }
  if (usesOuterThis(fn)) free.add(fn.type === 'ArrowFunctionExpression' ? 'this' : 'this (a method that needs its object)');
  return [...free];
}

/** `this` or `super` that does not belong to a function nested inside `fn`. */
function usesOuterThis(fn: AstNode): boolean {
  let found = false;
  const visit = (node: unknown): void => {
    if (found || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) { for (const n of node) visit(n); return; }
    const n = node as AstNode;
    if (n.type === 'ThisExpression' || n.type === 'Super') { found = true; return; }
    // A nested non-arrow function or class has a `this` of its own.
    if (n.type === 'FunctionExpression' || n.type === 'FunctionDeclaration'
      || n.type === 'ClassBody') return;
    for (const k of Object.keys(n)) if (k !== 'type') visit(n[k]);
  };
  visit(fn.params);
  visit(fn.body);
  return found;
}

/**
 * Thread: compiles a source sent by sourceOf(). `importer` is what its
 * `import(...)` expressions call, when it has any.
 */
export function compileSource(source: string, label: string, importer?: (specifier: unknown, options?: ImportCallOptions) => Promise<unknown>): Function {
  const filename = `reactor-threads:${label}`;
  // (On the first line, so the function's line numbers stay its own.)
  const f: unknown = importer
    ? (runInThisContext(`(function (${IMPORTER}) { return ${source}; })`, { filename }) as (i: typeof importer) => unknown)(importer)
    : runInThisContext(source, { filename });
  if (typeof f !== 'function') throw new FunctionNotSendableError(`${label} did not compile to a function`);
  return f;
}
