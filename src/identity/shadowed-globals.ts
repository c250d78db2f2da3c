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
// synchronously, in this thread. A session is connected on first use and
// kept: it enables no domain (no debugger, no profiler).
// Caller's thread. Tests: test/functions.ts.
import type { Session } from 'node:inspector';

/** Where the probe finds the function: a global for a moment, since Runtime.evaluate reaches only globals. */
const SLOT = 'Symbol.for(\'reactor-threads.scopeProbe\')';
const slotKey = Symbol.for('reactor-threads.scopeProbe');
const GROUP = 'reactor-threads';

interface RemoteObject { objectId?: string; description?: string; type?: string }
interface PropertyDescriptor { name: string; value?: RemoteObject }
interface Properties { result: PropertyDescriptor[]; internalProperties?: PropertyDescriptor[] }

/** This thread's session; null once it turned out that none can be had (Node built without the inspector). */
let session: Session | null | undefined;

function connected(): Session | null {
  if (session !== undefined) return session;
  try {
    const { Session: S } = require('node:inspector') as typeof import('node:inspector');
    session = new S();
    session.connect();
  } catch {
    session = null;
  }
  return session;
}

/** A protocol call, answered before post() returns (a session of this thread's). */
function call<T>(s: Session, method: string, params: object): T {
  let answer: { error: Error | null; result?: object } | undefined;
  s.post(method, params, (error: Error | null, result?: object) => { answer = { error, result }; });
  if (!answer) throw new Error(`${method} was not answered synchronously`);
  if (answer.error) throw answer.error;
  return answer.result as T;
}

/**
 * Whether a variable holds its name's global itself: `import process from
 * 'node:process'`, `const { URL } = require('node:url')`. In a thread the
 * name's global is that thread's own, as the same import there would give.
 * (Not `crypto` from 'node:crypto': the global is Web Crypto.)
 */
function isTheGlobal(s: Session, v: PropertyDescriptor): boolean {
  if (!v.value?.objectId) return false;
  const same = call<{ result: { value?: unknown } }>(s, 'Runtime.callFunctionOn', {
    functionDeclaration: 'function (name) { return this === globalThis[name]; }',
    objectId: v.value.objectId, arguments: [{ value: v.name }], returnByValue: true, silent: true,
  });
  return same.result.value === true;
}

/**
 * The names among `names` (globals that `f`'s source uses) that a scope
 * around `f` declares: the module's, a function's that made it, a block's,
 * a script's top-level `let` (not a script's top-level `var`, which is a
 * property of the global object and so a global, as in the thread), unless
 * what it declares is the global itself.
 * Undefined when it cannot be told: then they are taken as globals.
 */
export function shadowedGlobals(f: Function, names: readonly string[]): string[] | undefined {
  const s = connected();
  if (!s) return undefined;
  const g = globalThis as Record<symbol, unknown>;
  try {
    g[slotKey] = f;
    const { result } = call<{ result: RemoteObject }>(s, 'Runtime.evaluate',
      { expression: `globalThis[${SLOT}]`, objectGroup: GROUP, silent: true });
    const own = call<Properties>(s, 'Runtime.getProperties', { objectId: result.objectId, ownProperties: true });
    const scopes = own.internalProperties?.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
    if (!scopes) return undefined;
    const wanted = new Set(names);
    const found = new Set<string>();
    for (const scope of call<Properties>(s, 'Runtime.getProperties', { objectId: scopes, ownProperties: true }).result) {
      // (The list's own entries are its scopes, by index; the global scope is the thread's too.)
      if (!/^\d+$/.test(scope.name) || scope.value?.description === 'Global' || !scope.value?.objectId) continue;
      for (const v of call<Properties>(s, 'Runtime.getProperties', { objectId: scope.value.objectId, ownProperties: true }).result) {
        if (wanted.has(v.name) && !found.has(v.name) && !isTheGlobal(s, v)) found.add(v.name);
      }
    }
    return names.filter((n) => found.has(n));
  } catch {
    return undefined;
  } finally {
    delete g[slotKey];
    try { call(s, 'Runtime.releaseObjectGroup', { objectGroup: GROUP }); } catch { /* nothing held */ }
  }
}
