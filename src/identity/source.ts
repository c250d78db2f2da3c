// The plain-function fallback: a function that is neither threadable nor a
// module export is sent as its source text and compiled in the thread. That
// is only correct when it uses nothing from its surroundings, so the source
// is parsed (acorn) and its scopes analysed (eslint-scope) on the caller:
// a free variable, `this`, `super` or an outer `arguments` is refused with
// an error that names it, and so is a global's name that a scope around
// the function declares (shadowed-globals.ts). Caller's thread. Tests:
// test/functions.ts.
import { readFileSync } from 'node:fs';
import { types } from 'node:util';
import { runInThisContext } from 'node:vm';
import { FunctionNotSendableError } from '../errors/errors.js';
import { analyze, isFunction, isNode, parse, type AstNode } from './parsers.js';
import { scopeFacts, type ScopeFacts } from './shadowed-globals.js';
import { userCallerFile, userCallStack } from './specifiers.js';
import type { ImportBinding } from '../base/wire.js';

/** Globals every thread has: this thread's, as they were when the package loaded. */
const knownGlobals = new Set(Object.getOwnPropertyNames(globalThis));

const nativeCode = /\{\s*\[native code\]\s*\}\s*$/;

/** A plain function as it travels. */
export interface SentSource {
  source: string;
  /** Whether it has `import(...)` expressions, rewritten to call IMPORTER. */
  imports: boolean;
  /** Its free names that are imports of its module, which the thread binds. */
  bindings?: ImportBinding[];
  /** Its code is strict where it was defined (an ES module, a strict function): compiled so in the thread. */
  strict?: true;
  /** It calls a compiler's `__name` helper (KEEP_NAMES), which the thread gives it. */
  keepNames?: true;
}

/**
 * The helper esbuild's keepNames option calls after each function and
 * class it names (tsx always sets it): `__name(inner, "inner")`, defined
 * once per module, so a function sent as source found it free and was
 * refused. When every use is a call of this shape and V8 shows the name
 * around the function holding esbuild's helper (shadowed-globals.ts),
 * the thread gives the function a helper of its own, which sets the
 * name, as esbuild's does. (esbuild renames an application's own
 * top-level `__name`; another compiler's or a hand-written one is an
 * outer variable, refused.)
 */
const KEEP_NAMES = '__name';
const keepNamesHelper = (target: object, value: string): object =>
  Object.defineProperty(target, 'name', { value, configurable: true });

/**
 * Finds the import bindings behind a function's free names, or throws a
 * FunctionNotSendableError naming those that are not imports. `globals`
 * are the names it uses that every thread has as globals, unless its
 * module declares them (`import * as crypto` hides the global crypto).
 */
export type BindingFinder = (free: readonly string[], globals: readonly string[], text: string, label: string) => ImportBinding[];

/** CommonJS's names of each module's own (a thread compiles a sent function outside any module). */
const MODULE_OWN = new Set(['require', 'module', 'exports', '__filename', '__dirname']);

/**
 * The start of every refusal of free names: `label` and the names, quoted;
 * for a CommonJS module's own names, what to write instead (passing
 * `require` itself only fails again: a function crosses as a proxy to this
 * thread, helper-156).
 */
export function usesOuterNames(label: string, names: readonly string[]): string {
  const own = names.filter((n) => MODULE_OWN.has(n));
  const hint = own.length === 0 ? ''
    : ` (${own.map((n) => `'${n}'`).join(', ')} ${own.length > 1 ? 'are' : 'is'} its CommonJS module's own: `
      + `inside the function, load modules with await import(), which resolves a relative specifier from this file, `
      + `and pass the values of __dirname or __filename as arguments)`;
  return `${label} uses ${names.map((n) => `'${n}'`).join(', ')} from outside its own body, which a thread cannot see${hint}`;
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

/**
 * Caller: the source to compile in a thread, or a FunctionNotSendableError.
 * With `findBindings`, free names may be imports of the function's module.
 * `name`: the name threadable() was given, for errors.
 */
export function sourceOf(f: Function, fix: string, findBindings?: BindingFinder, name?: string): SentSource {
  const label = name ?? sourceLabel(f);
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
  const { free, globals, sent, evals, keepsNames } = readSource(text, label);
  // A direct eval sees every name around it, which the thread does not
  // have, whatever names the parser found (changed after 0.1.1: one that
  // used no outer name by itself was sent: helper-143).
  if (evals) {
    throw new FunctionNotSendableError(`${label} calls eval(), which sees the names around it, and a thread cannot; ${fix}`);
  }
  // `this` and `arguments` are never imports.
  if (free.length > 0 && (!findBindings || free.some((n) => n.startsWith('this') || n === 'arguments'))) {
    throw new FunctionNotSendableError(`${usesOuterNames(label, free)}; ${fix}`);
  }
  const bindings = findBindings?.(free, globals, text, label);
  // A global's name that a scope around it declares means that declaration
  // here, and the global in the thread; unless an import of its module
  // that the thread binds too (findBindings) is what declares it.
  // (Changed after 0.1.1: with findBindings none was checked, and an
  // entry script's threadable() of a function from another module that
  // closed over require('node:crypto') ran against Web Crypto: helper-143.)
  const bound = bindings && new Set(bindings.map((b) => b.name));
  const unbound = bound ? globals.filter((g) => !bound.has(g)) : globals;
  const facts = unbound.length > 0 || keepsNames
    ? scopeFactsAt(f, unbound, text, keepsNames ? KEEP_NAMES : undefined) : undefined;
  if (facts && facts.shadowed.length > 0) throw new FunctionNotSendableError(shadowedNames(label, facts.shadowed));
  // (A module's own `__name`, whatever it does, is an outer variable;
  // without node:inspector it cannot be told from esbuild's: helper-146.)
  if (keepsNames && !facts?.keepsNames) throw new FunctionNotSendableError(`${usesOuterNames(label, [KEEP_NAMES])}; ${fix}`);
  const out: SentSource = bindings?.length ? { ...sent, bindings } : { ...sent };
  if (keepsNames) out.keepNames = true;
  // (Else a module's function ran sloppy in the thread: a write to a
  // frozen object was ignored where it threw here: helper-143.)
  if (/^function\b/.test(text) ? isStrictFunction(f) : strictAround(f, text, facts)) out.strict = true;
  return out;
}

/**
 * Whether a sync `function` is strict, which it says itself: reading a
 * strict function's `caller` throws (Function.prototype's accessor; up to
 * Node 24 a sloppy one also had an own `caller`, since gone).
 */
function isStrictFunction(f: Function): boolean {
  try {
    void (f as { caller?: unknown }).caller;
    return false;
  } catch {
    return true;
  }
}

const strictness = new Map<string, boolean>();

/**
 * Whether the code around an arrow, a method or an async function is
 * strict, which V8 does not tell of the function itself: an ES module's
 * always is (`facts`, when V8 was asked of its scopes anyway); else the
 * file that sent it decides when the function is found in it (a function
 * written in the call, the usual case), where it stands: an ES module, a
 * class body, a function or a file with a 'use strict' directive (as
 * TypeScript and Babel emit atop CommonJS). One sent from another file
 * than its own is asked of V8: strict in an ES module, else taken as
 * sloppy (a strict CommonJS file's function sent from another file runs
 * sloppy). Known once per sending file and text.
 */
function strictAround(f: Function, text: string, facts: ScopeFacts | undefined): boolean {
  if (facts?.inModule) return true;
  const file = userCallerFile();
  const key = file === undefined ? undefined : `${file}\0${text}`;
  let strict = key === undefined ? undefined : strictness.get(key);
  if (strict !== undefined) return strict;
  let asked = facts;
  // (Its place, where the text stands more than once in the file: the
  // answer is this function's, not the text's, and is not kept.)
  let placed = false;
  const where = (): { line: number; column: number } | undefined => {
    placed = true;
    // (Asked of this function: `facts` may be another's, of the same text and place.)
    return scopeFacts(f, [])?.location;
  };
  strict = (file === undefined ? undefined : strictWhereWritten(file, text, where))
    ?? (asked ??= scopeFacts(f, []))?.inModule === true;
  if (key !== undefined && !placed) {
    if (strictness.size >= READINGS_KEPT) strictness.clear();
    strictness.set(key, strict);
  }
  return strict;
}

/** A sending file as strictWhereWritten() reads it. */
interface SenderFile { text: string; module: boolean; program: AstNode | null | undefined }
const senderFiles = new Map<string, SenderFile | null>();

/**
 * Whether the function whose source is `text` is strict where `file` (as
 * a stack frame names it: a file: URL for an ES module, else a path)
 * holds it; undefined when it holds no function of that text (only a
 * comment or a string of it, say) or cannot be read or parsed. Where the
 * text stands more than once, with different answers, `where()` (V8's
 * location of the function) picks the one. The file is read and parsed
 * once.
 */
function strictWhereWritten(file: string, text: string, where: () => { line: number; column: number } | undefined): boolean | undefined {
  let sender = senderFiles.get(file);
  if (sender === undefined) {
    try {
      sender = { text: readFileSync(file.startsWith('file:') ? new URL(file) : file, 'utf8'), module: file.startsWith('file:'), program: undefined };
    } catch {
      sender = null;
    }
    senderFiles.set(file, sender);
  }
  if (!sender) return undefined;
  const found = new Map<number, boolean>();
  for (let at = sender.text.indexOf(text); at >= 0; at = sender.text.indexOf(text, at + 1)) {
    if (sender.program === undefined) {
      try {
        sender.program = parse(sender.text, {
          ecmaVersion: 'latest', sourceType: sender.module ? 'module' : 'script',
          allowHashBang: true, allowReturnOutsideFunction: !sender.module, allowAwaitOutsideFunction: sender.module,
        });
      } catch {
        sender.program = null;
      }
    }
    if (!sender.program) return undefined;
    const path = pathTo(sender.program, at, at + text.length);
    if (path) found.set(at, sender.module || path.some(makesStrict));
  }
  const answers = new Set(found.values());
  if (answers.size < 2) return answers.size === 1 ? [...answers][0] : undefined;
  const location = where();
  if (!location) return undefined;
  const lines = sender.text.split('\n', location.line + 1);
  if (lines.length <= location.line) return undefined;
  const offset = lines.slice(0, location.line).reduce((n, l) => n + l.length + 1, 0) + location.column;
  return found.get(offset);
}

/** The nodes from `root` down to one spanning exactly [start, end), or undefined. */
function pathTo(root: AstNode, start: number, end: number): AstNode[] | undefined {
  const path: AstNode[] = [];
  let node: AstNode | undefined = root;
  while (node) {
    path.push(node);
    if (node.start === start && node.end === end && node !== root) return path;
    let inner: AstNode | undefined;
    for (const k of Object.keys(node)) {
      const v: unknown = node[k];
      for (const c of (Array.isArray(v) ? v : [v]) as unknown[]) {
        if (isNode(c) && c.start <= start && c.end >= end && c !== node) inner = c;
      }
      if (inner) break;
    }
    node = inner;
  }
  return undefined;
}

/** Whether code inside `node` is strict for its sake: a class, or a 'use strict' directive of a program or function body. */
function makesStrict(node: AstNode): boolean {
  if (node.type === 'ClassBody') return true;
  const body = node.type === 'Program' ? node.body : isFunction(node) ? (node.body as AstNode).body : undefined;
  if (!Array.isArray(body)) return false;
  for (const statement of body as AstNode[]) {
    if (typeof statement.directive !== 'string') break;
    if (statement.directive === 'use strict') return true;
  }
  return false;
}

/** What a function's text says, whichever function object has it. */
interface SourceReading { free: string[]; globals: string[]; keepsNames: boolean; sent: SentSource; evals: boolean }

/**
 * Readings of recent texts (and their shadowed globals, by place): an
 * inline function made anew for each call (`deferToThread((x) => x + 1, i)`
 * in a loop) is a new object each time, with the same text. Cleared when
 * full rather than kept in order: a program sends few distinct texts.
 */
const readings = new Map<string, SourceReading>();
const shadowings = new Map<string, ScopeFacts>();
const READINGS_KEPT = 512;

/**
 * What `f`'s surroundings declare of `globals`, and whether they are a
 * module's, found once per text and place: a function made anew for each
 * call at one place is one definition, and asking V8 costs 0.2-0.5 ms
 * (shadowed-globals.ts), more than the rest of sending it. The place is
 * the calls outside this package that led here (CALL_STACK_DEPTH of them),
 * so that functions sent through an application's own helper are told
 * apart by where the helper was called from; two definitions of one text
 * that come the same way share the first one's answer. Code an eval made
 * is asked each time, and an answer that could not be had is not kept.
 */
function scopeFactsAt(f: Function, globals: readonly string[], text: string, namer?: string): ScopeFacts | undefined {
  let place: string | undefined;
  // (The stack is read by setting Error.prepareStackTrace: --frozen-intrinsics refuses that.)
  try { place = userCallStack(CALL_STACK_DEPTH); } catch { place = undefined; }
  const key = place === undefined ? undefined : `${place}\0${text}`;
  const known = key === undefined ? undefined : shadowings.get(key);
  if (known) return known;
  const found = scopeFacts(f, globals, namer);
  if (found === undefined) return undefined;
  if (key !== undefined) {
    if (shadowings.size >= READINGS_KEPT) shadowings.clear();
    shadowings.set(key, found);
  }
  return found;
}

const CALL_STACK_DEPTH = 8;

/** Why a function whose global names its surroundings declare is refused. */
function shadowedNames(label: string, names: readonly string[]): string {
  const them = names.map((n) => `'${n}'`).join(', ');
  return `${label} uses ${them} as ${names.length > 1 ? 'names' : 'a name'} that its module or a scope around it declares, `
    + `where a thread would see the global of that name instead: import what it needs inside the function `
    + `(await import('node:crypto'), say), pass the value as an argument, or define the function in a module and mark it `
    + 'with threadable()';
}

/** The reading of `text`, parsed once. */
function readSource(text: string, label: string): SourceReading {
  let r = readings.get(text);
  if (r) return r;
  const { fn, source } = parseFunction(text, label);
  r = { ...freeNames(fn), sent: rewriteImports(fn, source), evals: callsEval(fn) };
  if (readings.size >= READINGS_KEPT) readings.clear();
  readings.set(text, r);
  return r;
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

/**
 * Names the function uses but does not declare: `globals` every thread
 * has, and the rest; and whether it calls esbuild's `__name` helper, in
 * that helper's shape only (KEEP_NAMES), which then counts as neither.
 */
function freeNames(fn: AstNode): { free: string[]; globals: string[]; keepsNames: boolean } {
  const program = { type: 'Program', sourceType: 'script', body: [{ type: 'ExpressionStatement', expression: fn }] };
  const manager = analyze(program, { ecmaVersion: 2022, sourceType: 'script' });
  const free = new Set<string>();
  const globals = new Set<string>();
  let namers: Set<unknown> | undefined;
  let keepsNames = false;
  for (const ref of manager.globalScope!.through) {
    const name = ref.identifier.name;
    if (name === KEEP_NAMES && (namers ??= keepNamesCallees(fn)).has(ref.identifier)) {
      keepsNames = true;
      continue;
    }
    (!knownGlobals.has(name) || name === 'arguments' ? free : globals).add(name);
  }
  if (usesOuterThis(fn)) free.add(fn.type === 'ArrowFunctionExpression' ? 'this' : 'this (a method that needs its object)');
  return { free: [...free], globals: [...globals], keepsNames };
}

/** The callees of `__name(x, "name")` calls in `fn`: KEEP_NAMES's shape, a string literal naming. */
function keepNamesCallees(fn: AstNode): Set<unknown> {
  const callees = new Set<unknown>();
  anyNode(fn, (n) => {
    const callee = n.callee as AstNode | undefined;
    const args = n.arguments as AstNode[] | undefined;
    if (n.type === 'CallExpression' && callee?.type === 'Identifier' && callee.name === KEEP_NAMES && args?.length === 2
      && args[0]!.type !== 'SpreadElement' && args[1]!.type === 'Literal' && typeof args[1]!.value === 'string') {
      callees.add(callee);
    }
    return false;
  });
  return callees;
}

/**
 * Whether a node in `root` passes `test`, looking into every node but
 * those `enter` turns away (the node itself is still tested).
 */
function anyNode(root: unknown, test: (n: AstNode) => boolean, enter: (n: AstNode) => boolean = () => true): boolean {
  if (typeof root !== 'object' || root === null) return false;
  if (Array.isArray(root)) return root.some((n) => anyNode(n, test, enter));
  const n = root as AstNode;
  if (test(n)) return true;
  if (!enter(n)) return false;
  for (const k of Object.keys(n)) if (k !== 'type' && anyNode(n[k], test, enter)) return true;
  return false;
}

/** Whether `fn` makes a direct `eval(...)` call anywhere in it. */
function callsEval(fn: AstNode): boolean {
  return anyNode(fn, (n) => n.type === 'CallExpression' && (n.callee as AstNode).type === 'Identifier'
    && (n.callee as AstNode).name === 'eval');
}

/** `this` or `super` that does not belong to a function nested inside `fn`. */
function usesOuterThis(fn: AstNode): boolean {
  const outer = (n: AstNode): boolean => n.type === 'ThisExpression' || n.type === 'Super';
  // A nested non-arrow function or class has a `this` of its own.
  const sameThis = (n: AstNode): boolean => n.type !== 'FunctionExpression' && n.type !== 'FunctionDeclaration'
    && n.type !== 'ClassBody';
  return anyNode(fn.params, outer, sameThis) || anyNode(fn.body, outer, sameThis);
}

/** What a sent function's free names are bound to in the thread. */
export interface BoundNames { names: readonly string[]; values: readonly unknown[] }

/** How a sent source is compiled: as sourceOf() found it. */
export interface CompileAs { strict?: boolean; keepNames?: boolean }

/**
 * Thread: compiles a source sent by sourceOf(). `importer` is what its
 * `import(...)` expressions call, when it has any; `bound` gives its free
 * names that were imports of its module.
 */
export function compileSource(source: string, label: string,
  importer?: (specifier: unknown, options?: ImportCallOptions) => Promise<unknown>, bound?: BoundNames,
  as: CompileAs = {}): Function {
  const filename = `reactor-threads:${label}`;
  // (On the source's first line, so the function's line numbers stay its own.)
  const directive = as.strict ? '\'use strict\'; ' : '';
  // The names become parameters of a function around the source.
  const names = [...importer ? [IMPORTER] : [], ...as.keepNames ? [KEEP_NAMES] : [], ...bound?.names ?? []];
  const values = [...importer ? [importer] : [], ...as.keepNames ? [keepNamesHelper] : [], ...bound?.values ?? []];
  const f: unknown = names.length > 0
    ? (runInThisContext(`(function (${names.join(', ')}) { ${directive}return ${source}; })`, { filename }) as
      (...values: unknown[]) => unknown)(...values)
    : runInThisContext(`${directive}${source}`, { filename });
  if (typeof f !== 'function') throw new FunctionNotSendableError(`${label} did not compile to a function`);
  return f;
}
