// Function identity (DESIGN.md section 3): how a function given to a pool
// becomes a descriptor that another thread can turn back into the same
// function. The caller side (threadable, fromModule, describe) runs on the
// submitting thread; loadFunction runs in the pool thread.
// Tests: test/functions.ts, test/threadable-esm-cjs.ts.
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FunctionNotSendableError } from '../errors/errors.js';
import { keyOf, lookup, moduleOfKey, register } from '../base/registry.js';
import { compileSource, refuseGenerator, sourceOf, type BindingFinder } from './source.js';
import { neverImported } from './unimportable.js';
import { importBindingsOf } from './import-bindings.js';
import { bindingValues } from './binding-values.js';
import { callerURL, importerFrom, importURL, registeringModuleURL, resolveLater, userCallerURL } from './specifiers.js';
import type { FunctionDescriptor } from '../base/wire.js';
import type { AnyFunction, ModuleFunction, TaskFunction } from '../base/public/functions.js';

const kModuleFunction = Symbol('reactor-threads.moduleFunction');

/**
 * What a fromModule() reference is made of: its specifier, its export, and
 * the file that called fromModule(), which a relative or bare specifier
 * resolves from. All another thread needs to make it again.
 */
export interface ModuleReference {
  readonly specifier: string;
  readonly exportName: string;
  readonly parentURL: string | undefined;
}

interface ModuleFunctionRecord extends ModuleFunction {
  readonly [kModuleFunction]: { specifier: string; parentURL: string | undefined };
}

/** Functions defined in modules a thread never imports (entry script, test files), sent as source instead. */
const entrySources = new WeakMap<Function, FunctionDescriptor>();

// Documented in index.ts, which exports it with its public type.
export function threadable<F extends Function>(f: F): F;
export function threadable<F extends Function>(name: string, f: F): F;
export function threadable<F extends Function>(nameOrF: string | F, maybeF?: F): F {
  const f = (typeof nameOrF === 'string' ? maybeF : nameOrF) as F;
  const name = typeof nameOrF === 'string' ? nameOrF : f?.name;
  if (typeof f !== 'function') throw new TypeError('threadable() takes a function or a class');
  refuseGenerator(f, name || 'anonymous function');
  const url = registeringModuleURL(threadable);
  if (!url) {
    throw new FunctionNotSendableError(
      `threadable(${name || 'anonymous'}) must be called at the top level of a module file`);
  }
  const unimportable = neverImported(url);
  if (unimportable) {
    const why = `it is defined in ${unimportable}`;
    // A class is found by its module, which each thread imports: it cannot travel as source.
    if (/^class\b/.test(Function.prototype.toString.call(f))) {
      throw new FunctionNotSendableError(`threadable(${name || 'an anonymous class'}) registers a class by its module, which each `
        + `thread imports to find it, but ${why}: move the class into a module of its own and register it there`);
    }
    // The function travels as source: self-contained but for its module's
    // imports, which the thread makes again.
    const findBindings: BindingFinder = (free, globals, text, label) => importBindingsOf(url, text, free, globals, label, why);
    entrySources.set(f, sourceDescriptor(f, name || 'anonymous', url, `${why}: move it into a module of its own`, findBindings,
      typeof nameOrF === 'string' && nameOrF !== '' ? nameOrF : undefined));
    return f;
  }
  register(url, name || undefined, f);
  return f;
}

// Documented in index.ts, which exports it with its public type.
export function fromModule<F extends AnyFunction = (...args: unknown[]) => unknown>(
  specifier: string, exportName: string): ModuleFunction<F> {
  if (typeof specifier !== 'string' || specifier === '') throw new TypeError('fromModule(): specifier must be a non-empty string');
  if (typeof exportName !== 'string' || exportName === '') throw new TypeError('fromModule(): exportName must be a non-empty string');
  return moduleFunction({ specifier, exportName, parentURL: callerURL(fromModule) }) as unknown as ModuleFunction<F>;
}

/**
 * The references moduleFunction() made: a copy of one (a spread, with
 * Object.assign) carries its brand too, and would cross as the reference,
 * its other properties dropped or its export name mixed with another's
 * specifier (helper-123's review).
 */
const made = new WeakSet<object>();

/**
 * The reference fromModule() makes; also, in the thread it crossed to,
 * the one a reference passed as a value becomes (src/codec/values.ts).
 */
export function moduleFunction({ specifier, exportName, parentURL }: ModuleReference): ModuleFunction {
  const record: ModuleFunctionRecord = { specifier, exportName, [kModuleFunction]: { specifier, parentURL } };
  made.add(record);
  return Object.freeze(record);
}

export function isModuleFunction(v: unknown): v is ModuleFunction {
  return typeof v === 'object' && v !== null && kModuleFunction in v;
}

/** The parts of `v` when it is a fromModule() reference, else undefined (src/codec/values.ts). */
export function moduleReferenceOf(v: object): ModuleReference | undefined {
  if (!made.has(v)) return undefined;
  // (As describe() reads it: the brand's specifier.)
  const { specifier, parentURL } = (v as ModuleFunctionRecord)[kModuleFunction];
  return { specifier, exportName: (v as ModuleFunctionRecord).exportName, parentURL };
}

/** How traces and errors name a task function: its name, or `specifier#export`. */
export function labelOf(f: unknown): string {
  if (isModuleFunction(f)) return `${f.specifier}#${f.exportName}`;
  return typeof f === 'function' ? f.name || 'anonymous' : String(f);
}

let builtinFunctions: Map<Function, { url: string; exportName: string }> | undefined;
/** Functions exported by Node's built-in modules, found by identity. */
function builtinExport(f: Function): { url: string; exportName: string } | undefined {
  if (!builtinFunctions) {
    builtinFunctions = new Map();
    const req = createRequire(__filename);
    const quiet = new Set(['punycode', 'sys', 'wasi', 'test', 'trace_events', 'inspector', 'repl',
      'cluster', 'domain', 'node:sea', 'node:sqlite', 'node:test']);
    for (const name of builtinModules) {
      if (quiet.has(name) || name.startsWith('_') || name.includes('/')) continue;
      let mod: Record<string, unknown>;
      try { mod = req(`node:${name}`) as Record<string, unknown>; } catch { continue; }
      for (const [k, v] of Object.entries(mod)) {
        if (typeof v === 'function' && !builtinFunctions.has(v) && !/^[A-Z]/.test(k)) {
          builtinFunctions.set(v, { url: `node:${name}`, exportName: k });
        }
      }
    }
  }
  return builtinFunctions.get(f);
}

const describedSources = new WeakMap<Function, FunctionDescriptor>();

/**
 * A plain function's descriptor. Its imports resolve from `base`, the
 * file that defined or first sent it: found only when it has any, since
 * reading the stack costs a few microseconds. With `findBindings`, its
 * free names may be imports of its module.
 */
function sourceDescriptor(f: Function, label: string, base: string | undefined, fix: string,
  findBindings?: BindingFinder, givenName?: string): FunctionDescriptor {
  const { source, imports, bindings, strict, keepNames } = sourceOf(f, fix, findBindings, givenName);
  const d: FunctionDescriptor = { kind: 'source', source, label };
  if (imports) d.imports = { base: base ?? userCallerURL() ?? null };
  if (bindings) d.bindings = bindings;
  if (strict) d.strict = true;
  if (keepNames) d.keepNames = true;
  return d;
}

/**
 * Caller: the descriptor of a task function. Throws a
 * FunctionNotSendableError naming why `f` cannot be sent.
 */
export function describe(f: unknown): FunctionDescriptor {
  if (isModuleFunction(f)) {
    const { specifier, parentURL } = (f as ModuleFunctionRecord)[kModuleFunction];
    return { kind: 'export', url: resolveLater(specifier, parentURL, `fromModule('${specifier}')`), exportName: f.exportName,
      label: labelOf(f) };
  }
  if (typeof f !== 'function') {
    throw new FunctionNotSendableError(
      `expected a function or a fromModule() reference, got ${f === null ? 'null' : typeof f}`);
  }
  const label = labelOf(f);
  const key = keyOf(f);
  if (key) return { kind: 'threadable', url: moduleOfKey(key), key, label };
  const entry = entrySources.get(f);
  if (entry) return entry;
  const builtin = builtinExport(f);
  if (builtin) return { kind: 'export', ...builtin, label: `${builtin.url}#${builtin.exportName}` };
  let described = describedSources.get(f);
  if (!described) {
    described = sourceDescriptor(f, label, undefined,
      'pass it as an argument, or define the function in a module and mark it with threadable()');
    describedSources.set(f, described);
  }
  return described;
}

// ---- the thread side ----

/**
 * Why an import failed, for the message: a caller who logs only the
 * message should not have to dig the reason out of `cause`.
 */
function whyNotImported(e: unknown): string {
  const { code, url } = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; url?: unknown };
  // Node's own message names the importer, which is this file: misleading.
  if (code === 'ERR_MODULE_NOT_FOUND' && typeof url === 'string' && url.startsWith('file:')) {
    return `module not found: ${fileURLToPath(url)}`;
  }
  return e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
}

/** Thread: the function a descriptor names (importing its module if needed). */
export async function loadFunction(d: FunctionDescriptor): Promise<Function> {
  switch (d.kind) {
    case 'source': {
      const bound = d.bindings && { names: d.bindings.map((b) => b.name), values: await bindingValues(d.bindings, d.label) };
      return compileSource(d.source, d.label, d.imports && importerFrom(d.imports.base ?? undefined), bound,
        { strict: d.strict === true, keepNames: d.keepNames === true });
    }
    case 'threadable': {
      try {
        await importURL(d.url);
      } catch (e) {
        throw new FunctionNotSendableError(`cannot import ${d.url} in the thread to find ${d.label}: ${whyNotImported(e)}`, e);
      }
      const f = lookup(d.key);
      if (!f) {
        throw new FunctionNotSendableError(`${d.url} did not register ${d.label} when imported in the thread `
          + '(is its threadable() call conditional?)');
      }
      return f;
    }
    case 'export': {
      let mod: Record<string, unknown>;
      try {
        mod = await importURL(d.url);
      } catch (e) {
        throw new FunctionNotSendableError(`cannot import ${d.label} in the thread: ${whyNotImported(e)}`, e);
      }
      // Own properties only: a name found on the default export's prototype chain is no export
      // (fromModule('node:zlib', 'constructor') ran Object(), from a job of another machine too).
      let f = Object.hasOwn(mod, d.exportName) ? mod[d.exportName] : undefined;
      if (f === undefined && typeof mod.default === 'object' && mod.default !== null && Object.hasOwn(mod.default, d.exportName)) {
        f = (mod.default as Record<string, unknown>)[d.exportName];
      }
      if (typeof f !== 'function') throw new FunctionNotSendableError(`${d.label} is not an exported function`);
      // (Only here can a module's export be seen: the caller holds a reference.)
      refuseGenerator(f, d.label);
      return f;
    }
    case 'multiple':
      throw new FunctionNotSendableError('internal: the multiple-call runner is not loadable');
  }
}
