// Which global names a plain function uses that its own surroundings
// declare instead. A function sent as source (source.ts) may use globals,
// since every thread has them; but its text alone cannot tell `crypto` the
// global from `const crypto = require('node:crypto')` above it, or from a
// parameter of the function that made it (`make(performance)`), and in the
// thread the name then means the global: a wrong result, or a misleading
// TypeError, with no refusal (a newcomer's trial, helper-134). What a
// function's surroundings hold is not visible to JavaScript, but V8 lists
// it for debuggers (the function's [[Scopes]]: each scope around it, with
// the variables a closure there keeps), and node:inspector asks V8 for it
// synchronously, in this thread. One session per thread, connected on
// first use and shared by every copy of the package there (a test runner
// loads one per test file); it enables no domain (no debugger, no
// profiler).
// Caller's thread. Tests: test/functions.ts.
import type { Session } from 'node:inspector';
import { runInThisContext } from 'node:vm';

/**
 * What this thread's copies of the package share: the session, and where
 * the probe finds the function. Runtime.evaluate reaches only the main
 * context's globals, which is not the package's under jest or vitest's
 * vmThreads (a context of their own per test file); and it is made once,
 * so that a globalThis frozen later still takes the function.
 */
interface Shared { session: Session | null | undefined; f: Function | undefined }
const SHARED = 'reactor-threads.scopeProbe';

let shared: Shared | null | undefined;

function sharedState(): Shared | null {
  if (shared !== undefined) return shared;
  try {
    const main = runInThisContext('globalThis') as Record<symbol, Shared | undefined>;
    shared = main[Symbol.for(SHARED)] ??= { session: undefined, f: undefined };
  } catch {
    shared = null;
  }
  return shared;
}

function connected(state: Shared): Session | null {
  if (state.session !== undefined) return state.session;
  try {
    const { Session: S } = require('node:inspector') as typeof import('node:inspector');
    const s = new S();
    s.connect();
    state.session = s;
  } catch {
    // (Node built without the inspector.)
    state.session = null;
  }
  return state.session;
}

/** A protocol call, answered before post() returns (a session of this thread's). */
function call<T>(s: Session, method: string, params: object): T {
  let answer: { error: Error | null; result?: object } | undefined;
  s.post(method, params, (error: Error | null, result?: object) => { answer = { error, result }; });
  if (!answer) throw new Error(`${method} was not answered synchronously`);
  if (answer.error) throw answer.error;
  return answer.result as T;
}

interface RemoteObject { objectId?: string; value?: unknown }
interface Properties { internalProperties?: { name: string; value?: RemoteObject }[] }

/**
 * Runs with `this` the function's [[Scopes]] list (each entry's `object`
 * holds that scope's variables; the last is the function's realm's
 * global): the names a scope declares, unless it holds the global itself
 * (`import process from 'node:process'`, a parameter `undefined` left
 * undefined), which in a thread is that thread's own, as the same import
 * there would give (not `crypto` from 'node:crypto': the global is Web
 * Crypto). With `namer`, also whether the nearest scope that declares
 * that name holds esbuild's keepNames helper, by its text (source.ts
 * KEEP_NAMES), spaces aside: `(target, value) => __defProp(target,
 * "name", { value, configurable: true })`, its names minified or not.
 * One call, whatever the scopes hold: listing their variables
 * costs with the module's size (6 ms for a module of 1,000 functions).
 */
const FIND_SHADOWED = `function (names, namer) {
  let global;
  let module = false;
  for (let i = 0; i < this.length; i++) {
    if (this[i].description === 'Global') global = this[i].object;
    else if (this[i].description === 'Module') module = true;
  }
  const found = [];
  for (const name of names) {
    for (let i = 0; i < this.length; i++) {
      const scope = this[i];
      if (scope.description === 'Global' || !(name in scope.object)) continue;
      if (global === undefined || !Object.is(scope.object[name], global[name])) found.push(name);
      break;
    }
  }
  let keepsNames = false;
  if (namer) {
    for (let i = 0; i < this.length; i++) {
      const scope = this[i];
      if (scope.description === 'Global' || !(namer in scope.object)) continue;
      const f = scope.object[namer];
      const text = typeof f === 'function' ? Function.prototype.toString.call(f).replace(/\\s+/g, '') : '';
      const m = /^\\(([\\w$]+),([\\w$]+)\\)=>[\\w$.]+\\(\\1,["']name["'],\\{value(:[\\w$]+)?,configurable:(true|!0)\\}\\)$/.exec(text);
      keepsNames = m !== null && (m[3] === undefined ? m[2] === 'value' : m[3] === ':' + m[2]);
      break;
    }
  }
  return { found, module, keepsNames };
}`;

/** What V8 tells of a function's surroundings (shadowedGlobals). */
export interface ScopeFacts {
  /**
   * The global names asked about that a scope around it declares, holding
   * something else. (As they hold now: a `let URL = globalThis.URL`
   * assigned another class after the answer is kept goes unseen.)
   */
  shadowed: string[];
  /** Whether it was defined in an ES module, whose code is strict. */
  inModule: boolean;
  /** Where its source begins in its script (0-based line and column), when V8 says. */
  location: { line: number; column: number } | undefined;
  /** Asked with `namer`: whether the name around it holds esbuild's keepNames helper (FIND_SHADOWED). */
  keepsNames: boolean;
}

/**
 * The names among `names` (globals that `f`'s source uses) that a scope
 * around `f` declares: the module's, a function's that made it, a block's,
 * a script's top-level `let` (not a script's top-level `var`, which is a
 * property of the global object and so a global, as in the thread), unless
 * what it declares is the global itself; and whether `f` was defined in an
 * ES module (its scopes include the module's: V8 lists it for every
 * function of a module).
 * Undefined when it cannot be told: then they are taken as globals, and
 * the function as sloppy unless it says otherwise.
 */
export function scopeFacts(f: Function, names: readonly string[], namer?: string): ScopeFacts | undefined {
  const state = sharedState();
  const s = state && connected(state);
  if (!state || !s) return undefined;
  const group = 'reactor-threads';
  try {
    state.f = f;
    const { result } = call<{ result: RemoteObject }>(s, 'Runtime.evaluate',
      { expression: `globalThis[Symbol.for('${SHARED}')].f`, objectGroup: group, silent: true });
    const own = call<Properties>(s, 'Runtime.getProperties', { objectId: result.objectId, ownProperties: true });
    const scopes = own.internalProperties?.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    const at = own.internalProperties?.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as
      { lineNumber?: unknown; columnNumber?: unknown } | undefined;
    const location = typeof at?.lineNumber === 'number' && typeof at.columnNumber === 'number'
      ? { line: at.lineNumber, column: at.columnNumber } : undefined;
    if (!scopes) return undefined;
    const found = call<{ result: RemoteObject }>(s, 'Runtime.callFunctionOn', {
      objectId: scopes, functionDeclaration: FIND_SHADOWED, arguments: [{ value: names }, { value: namer ?? null }],
      returnByValue: true, silent: true,
    });
    const v = found.result.value as { found?: unknown; module?: unknown; keepsNames?: unknown } | undefined;
    if (!v || !Array.isArray(v.found)) return undefined;
    return { shadowed: v.found as string[], inModule: v.module === true, location, keepsNames: v.keepsNames === true };
  } catch {
    return undefined;
  } finally {
    state.f = undefined;
    try { call(s, 'Runtime.releaseObjectGroup', { objectGroup: group }); } catch { /* nothing held */ }
  }
}
