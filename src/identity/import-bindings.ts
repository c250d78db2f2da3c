// Which free names of a function sent as source are import bindings of the
// module that defined it, when no thread may import that module (the entry
// script, and so every function of a bundle). The module's file is read
// and parsed (acorn), its scopes analysed (eslint-scope), and each name
// followed to its declaration: an `import`, or a `require()` (bare, or in
// the interop helper of esbuild, TypeScript or Babel: require-bindings.ts).
// Anything else is refused, naming what it is; a name a bundler inlined
// from a package is refused naming the package to mark external
// (bundle-origins.ts). Under vitest, the text is vite's transform of the
// module, whose imports vitest-modules.ts reads; under jest with babel or
// ts-jest, their transform's (jest-modules.ts). Caller's thread.
// Tests: test/import-bindings.ts, test/bundlers.ts.
import type * as EslintScope from 'eslint-scope';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FunctionNotSendableError } from '../errors/errors.js';
import { analyze, isFunction, isNode, keyName, parse, type AstNode } from './parsers.js';
import { markedPath, packageAt, packageOfInit, type FileMarker } from './bundle-origins.js';
import { requireBinding } from './require-bindings.js';
import { transformedText, viteImportBinding } from './vitest-modules.js';
import { babelJestText, tsJestText, underJest } from './jest-modules.js';
import { loaderModules } from './loaders.js';
import { usesOuterNames } from './source.js';
import { resolveLater } from './specifiers.js';
import type { ImportBinding } from '../base/wire.js';
import { realSetImmediate } from '../base/real-timers.js';

interface ModuleAnalysis {
  url: string;
  file: string;
  text: string;
  program: AstNode;
  scopes: EslintScope.ScopeManager;
  /** Where each file a bundler concatenated begins, in order. */
  markers: FileMarker[];
  /** Whether `text` is known to be what ran (see analysisOf). */
  ran: boolean;
}

/** What a free name turned out to be. */
type Finding = { name: string; binding: ImportBinding } | { name: string; what: string; inlinedFrom?: string };

/**
 * Caller: the import bindings behind `free`, the free names of the
 * function whose source text is `text`, defined in the module `url`, and
 * behind those of its `globals` that the module declares. Throws a
 * FunctionNotSendableError naming each name that is no import; `why` says
 * why the function cannot simply be found in its module.
 */
export function importBindingsOf(url: string, text: string, free: readonly string[], globals: readonly string[],
  label: string, why: string): ImportBinding[] {
  let a: ModuleAnalysis;
  try {
    a = analysisOf(url, text);
  } catch (e) {
    // Without its text, a global stays a global, as before imports were followed.
    if (free.length === 0) return [];
    // (Read as JavaScript: a TypeScript entry script's types do not parse, README "How a function reaches a thread".)
    const typeScript = /\.[cm]?tsx?$/.test(url) ? ', as a TypeScript file is read as JavaScript there' : '';
    throw new FunctionNotSendableError(`${usesOuterNames(label, free)}, and its module could not be read to find `
      + `its imports (${(e as Error).message}${typeScript}); ${why}: ${moveIt}`, e);
  }
  // Each place the module has this text; else each function of its name
  // and parameters (a runner reprinted it); else, if a loader or a runner
  // may have changed it, the module's top level.
  let scopes = functionScopes(a, text);
  if (scopes.length === 0) scopes = namesakeScopes(a, text);
  if (scopes.length === 0 && a.ran) {
    // Defined in another module: its globals are globals, its other names that module's.
    if (free.length === 0) return [];
    throw new FunctionNotSendableError(`${usesOuterNames(label, free)}, and it is not defined in ${a.file}, `
      + 'where threadable() was called: call threadable() in the module that defines it');
  }
  const readings = (scopes.length > 0 ? scopes : [undefined]).map((scope) => readNames(a, scope, free, globals));
  const [{ names, findings }] = readings as [Reading];
  // The same text in two places may mean two things (`format` imported in
  // one, a local in another): which one this function is cannot be told.
  const unsure = readings.length > 1 ? namesOfManyMeanings(readings)
    : scopes.length === 0 ? names.filter((n) => declaredBelowTop(a, n)) : [];
  if (unsure.length > 0) {
    throw new FunctionNotSendableError(`${usesOuterNames(label, unsure)}, and ${a.file} `
      + `${scopes.length > 0 ? 'has its text in more than one place, where' : 'does not have its text (a loader changed it), and'} `
      + `${unsure.length > 1 ? 'these names mean' : 'that name means'} different things in different scopes: which it uses `
      + `cannot be told; ${why}: give it a body of its own, or ${moveIt}`);
  }
  const refused = findings.filter((f): f is Exclude<Finding, { binding: ImportBinding }> => !('binding' in f));
  if (refused.length > 0) throw new FunctionNotSendableError(refusal(label, refused, why));
  return findings.map((f) => (f as { binding: ImportBinding }).binding);
}

interface Reading { names: string[]; findings: Finding[] }

/** The names that mean different things in different readings (or are the module's own in only some). */
function namesOfManyMeanings(readings: readonly Reading[]): string[] {
  const names = new Set(readings.flatMap((r) => r.findings.map((f) => f.name)));
  const meaningOf = (r: Reading, name: string): string => JSON.stringify(r.findings.find((f) => f.name === name) ?? null);
  return [...names].filter((name) => new Set(readings.map((r) => meaningOf(r, name))).size > 1);
}

/** What `free` (and the module's own names among `globals`) are, seen from `scope`. */
function readNames(a: ModuleAnalysis, scope: EslintScope.Scope | undefined, free: readonly string[],
  globals: readonly string[]): Reading {
  const found = globals.flatMap((name) => {
    const v = variableOf(a, scope, name);
    return v ? [{ name, v }] : [];
  });
  return {
    names: [...free, ...found.map((g) => g.name)],
    findings: [...free.map((name) => find(a, name, variableOf(a, scope, name))), ...found.map((g) => find(a, g.name, g.v))],
  };
}

/** Whether a scope below the module's top level declares `name`. */
function declaredBelowTop(a: ModuleAnalysis, name: string): boolean {
  return a.scopes.scopes.some((s) => s.type !== 'global' && s.type !== 'module'
    && s.block.type !== 'Program' && s.set.has(name));
}

const moveIt = 'let it use only imports of that module and its own arguments, or move it into a module of its own '
  + '(if you bundle the program, keep that module out of the bundle, as a file of its own)';

function refusal(label: string, refused: readonly { name: string; what: string; inlinedFrom?: string }[],
  why: string): string {
  const reasons = refused.map((r) => `'${r.name}' is ${r.what}`).join('; ');
  const packages = [...new Set(refused.flatMap((r) => r.inlinedFrom ? [r.inlinedFrom] : []))];
  const fixes: string[] = [];
  if (packages.length > 0) {
    const list = packages.map((p) => `'${p}'`).join(', ');
    const flags = packages.map((p) => `--external:${p}`).join(' ');
    fixes.push(`A bundled function can use a package only through an import: mark ${list} external when bundling `
      + `(esbuild ${flags}, or --packages=external for every package; Rollup external; webpack externals).`);
  }
  if (refused.some((r) => !r.inlinedFrom)) fixes.push(`${why[0]!.toUpperCase()}${why.slice(1)}: ${moveIt}.`);
  // (Only the names refused: an import beside them is fine, and naming it
  // too sent a reader after the wrong one, helper-156.)
  return `${usesOuterNames(label, refused.map((r) => r.name))}: ${reasons}. ${fixes.join(' ')}`;
}

// A module is read once per turn of the event loop: its threadable() calls
// run together as it loads, and a bundle's syntax tree is too big to keep.
const analyses = new Map<string, ModuleAnalysis>();
/** The texts read this turn, by source and module (babel's transform costs tens of ms). */
const texts = new Map<string, string | undefined>();

/**
 * The module as it ran, read as the text that has the function `fnText`:
 * vitest's transform of it, babel-jest's or ts-jest's made again, or the file itself;
 * when none has it, vitest's or the file's. `ran`: whether that text is
 * known to be what ran (else a loader or a runner may have changed it).
 */
function analysisOf(url: string, fnText: string): ModuleAnalysis {
  const file = fileURLToPath(url);
  const vite = transformedText(file);
  const candidates: [string, () => string | undefined][] = [
    ['vite', () => vite], ['babel-jest', () => babelJestText(file)], ['ts-jest', () => tsJestText(file)],
    ['file', () => readFileSync(file, 'utf8')],
  ];
  for (const [kind, read] of candidates) {
    const key = `${kind}\0${url}`;
    const cached = analyses.get(key);
    if (!cached && !texts.has(key)) texts.set(key, read());
    const text = cached?.text ?? texts.get(key);
    if (text === undefined || !text.includes(fnText)) continue;
    return cached ?? analyze1(url, file, text, key, true);
  }
  const key = `${vite === undefined ? 'file' : 'vite'}\0${url}`;
  return analyses.get(key) ?? analyze1(url, file, vite ?? readFileSync(file, 'utf8'), key, vite !== undefined || !textMayChange());
}

/** Whether something in this process may run a module as other text than its file's: a loader, or a test runner. */
function textMayChange(): boolean {
  return loaderModules().length > 0 || underJest();
}

function analyze1(url: string, file: string, text: string, key: string, ran: boolean): ModuleAnalysis {
  const markers: FileMarker[] = [];
  const onComment = (block: boolean, value: string, start: number): void => {
    const path = block ? undefined : markedPath(value);
    if (path) markers.push({ at: start, path });
  };
  let program: AstNode | undefined;
  // A .js file may be either; a CommonJS one may be sloppy-mode code, or return at its top level.
  let sourceType: 'module' | 'script' = file.endsWith('.cjs') ? 'script' : 'module';
  if (sourceType === 'module') {
    try {
      program = parse(text, { ecmaVersion: 'latest', sourceType, allowHashBang: true, ranges: true, onComment });
    } catch {
      markers.length = 0;
      sourceType = 'script';
    }
  }
  program ??= parse(text, { ecmaVersion: 'latest', sourceType, allowHashBang: true, allowReturnOutsideFunction: true, ranges: true, onComment });
  const scopes = analyze(program, { ecmaVersion: 2022, sourceType, nodejsScope: sourceType === 'script' });
  const a: ModuleAnalysis = { url, file, text, program, scopes, markers, ran };
  if (analyses.size === 0) realSetImmediate(() => { analyses.clear(); texts.clear(); }).unref();
  analyses.set(key, a);
  return a;
}

/**
 * The scopes of the functions of the file that have the name and the
 * simple parameters of the function whose text is `text`: the same
 * function, reprinted (babel-jest reprints every file it runs). None for
 * an anonymous function, or one whose text does not parse alone.
 */
function namesakeScopes(a: ModuleAnalysis, text: string): EslintScope.Scope[] {
  const wanted = signatureOf(text);
  if (!wanted) return [];
  const found: AstNode[] = [];
  const visit = (node: AstNode): void => {
    if (isFunction(node) && signatureOfNode(node) === wanted) found.push(node);
    for (const key of Object.keys(node)) {
      const value = node[key];
      for (const child of Array.isArray(value) ? value : [value]) if (isNode(child)) visit(child);
    }
  };
  visit(a.program);
  return found.flatMap((fn) => a.scopes.acquire(fn) ?? []);
}

/** `name(a,b)` of a named function with identifier parameters; else undefined. */
function signatureOfNode(fn: AstNode): string | undefined {
  const id = fn.id as AstNode | null | undefined;
  const params = fn.params as AstNode[];
  if (!id || params.some((p) => p.type !== 'Identifier')) return undefined;
  return `${String(id.name)}(${params.map((p) => String(p.name)).join(',')})`;
}

function signatureOf(text: string): string | undefined {
  try {
    const program = parse(`(${text})`, { ecmaVersion: 'latest', sourceType: 'script' });
    const fn = ((program.body as AstNode[])[0]!).expression as AstNode;
    return isFunction(fn) ? signatureOfNode(fn) : undefined;
  } catch {
    return undefined;  // (A method shorthand, or text of a newer syntax.)
  }
}

/** The scopes of the functions whose text is `text`, wherever the file has it. */
function functionScopes(a: ModuleAnalysis, text: string): EslintScope.Scope[] {
  return functionNodes(a, text).flatMap((fn) => a.scopes.acquire(fn) ?? []);
}

/**
 * The variable `name` names inside the function (whose `scope` is
 * undefined when a loader changed its text: then at the module's top
 * level). Null when the module does not declare it.
 */
function variableOf(a: ModuleAnalysis, scope: EslintScope.Scope | undefined, name: string): EslintScope.Variable | null {
  if (scope) return scope.through.find((r) => r.identifier.name === name)?.resolved ?? null;
  const top = a.scopes.globalScope?.childScopes.find((s) => s.type === 'module' || s.type === 'function');
  return top?.set.get(name) ?? a.scopes.globalScope?.set.get(name) ?? null;
}

/** At each place the file has `text`, the outermost function node whose text (a method's from its key) it is. */
function functionNodes(a: ModuleAnalysis, text: string): AstNode[] {
  const nodes: AstNode[] = [];
  for (let at = a.text.indexOf(text); at >= 0; at = a.text.indexOf(text, at + 1)) {
    const end = at + text.length;
    let node: AstNode | undefined = a.program;
    while (node) {
      if (isFunction(node) && node.start >= at && node.end === end) {
        nodes.push(node);
        break;
      }
      node = childAround(node, end);
    }
  }
  return nodes;
}

/** The child of `node` whose range holds offset `end`. */
function childAround(node: AstNode, end: number): AstNode | undefined {
  for (const key of Object.keys(node)) {
    const value = node[key];
    for (const child of Array.isArray(value) ? value : [value]) {
      if (isNode(child) && child.start < end && child.end >= end) return child;
    }
  }
  return undefined;
}

/** What the variable `v` (which `name` names) is: an import binding, or why it is not. */
function find(a: ModuleAnalysis, name: string, v: EslintScope.Variable | null): Finding {
  if (!v) {
    return { name, what: commonJSNames.has(name) ? `the CommonJS module's own ${name}, not an import` : `not declared in ${a.file}` };
  }
  const def = v.defs[0]!;
  if (v.defs.length > 1) return { name, what: `declared more than once in ${a.file}` };
  if (v.references.some((r) => r.isWrite() && !r.init)) return { name, what: `a variable that ${a.file} assigns to, not an import` };
  if (def.type === 'ImportBinding') return { name, binding: esmBinding(a, name, def.node, def.parent!) };
  if (def.type === 'Variable') {
    const binding = requireBinding(a.url, a.text, name, v.scope, def.node) ?? viteImportBinding(a.url, name, def.node);
    if (binding) return { name, binding };
  }
  const inlinedFrom = packageAt(a.markers, def.node.start) ?? packageOfInit(a.markers, v.scope, def);
  if (inlinedFrom) return { name, what: `not an import: the bundle inlined it from the package '${inlinedFrom}'`, inlinedFrom };
  return { name, what: `${kindOf(def)} of ${a.file}, not an import` };
}

const commonJSNames = new Set(['require', 'module', 'exports', '__filename', '__dirname']);

function kindOf(def: EslintScope.Definition): string {
  switch (def.type) {
    case 'Variable': return `a ${String(def.parent?.kind ?? 'variable')}`;
    case 'FunctionName': return 'a function';
    case 'ClassName': return 'a class';
    case 'Parameter': return 'a parameter of an enclosing function';
    default: return 'a local name';
  }
}

/** `import … from 'specifier'`, resolved as the module would resolve it. */
function esmBinding(a: ModuleAnalysis, name: string, spec: AstNode, decl: AstNode): ImportBinding {
  const specifier = String((decl.source as AstNode).value);
  const url = resolveLater(specifier, a.url, `import '${specifier}'`);
  const withAttributes = decl.attributes as AstNode[] | undefined;
  const attributes = withAttributes?.length
    ? Object.fromEntries(withAttributes.map((w) => [keyName(w.key as AstNode), String((w.value as AstNode).value)]))
    : undefined;
  const common = attributes ? { name, url, attributes } : { name, url };
  if (spec.type === 'ImportNamespaceSpecifier') return { kind: 'namespace', ...common };
  if (spec.type === 'ImportDefaultSpecifier') return { kind: 'default', ...common };
  const exportName = keyName(spec.imported as AstNode);
  return exportName === 'default' ? { kind: 'default', ...common } : { kind: 'named', ...common, exportName };
}

