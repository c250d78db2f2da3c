// The threadable registry: module-level functions and classes, known by
// their module URL plus a name, so that another thread can import the
// module and find the same function. It lives on globalThis under a
// Symbol.for key, so an ESM copy, a CJS copy and two installed versions of
// the package all share one. Runs on every thread. Tests: test/functions.ts.

/** `<module URL>#<name>`: how a registered function or class is known on every thread. */
export type ClassKey = string;

interface SharedRegistry {
  readonly version: 1;
  readonly keyOf: WeakMap<Function, ClassKey>;
  readonly byKey: Map<ClassKey, Function>;
  /** Per module: how many anonymous functions it registered so far. */
  readonly anonymousCount: Map<string, number>;
}

const slot = Symbol.for('reactor-threads.registry.v1');

function shared(): SharedRegistry {
  const g = globalThis as unknown as Record<symbol, SharedRegistry | undefined>;
  let r = g[slot];
  if (!r) {
    r = { version: 1, keyOf: new WeakMap(), byKey: new Map(), anonymousCount: new Map() };
    Object.defineProperty(globalThis, slot, { value: r, enumerable: false });
  }
  return r;
}

/**
 * Registers `f` as `<url>#<name>`. An anonymous function is named by the
 * order in which its module registers anonymous functions (`anonymous#1`,
 * …): the module's top-level code runs in the same order on every thread.
 * A second function under a taken name gets `#2`, `#3`… likewise.
 * Registering the same function again returns its first key, though it
 * takes its place under `url` too: a function that two modules register
 * (through a helper of theirs) is first registered by whichever a thread
 * imports first, and a module's numbering must not depend on that (one
 * module's next anonymous function ran as the other's: helper-145).
 */
export function register(url: string, name: string | undefined, f: Function): ClassKey {
  const r = shared();
  let base: string;
  if (name) {
    base = `${url}#${name}`;
  } else {
    const n = (r.anonymousCount.get(url) ?? 0) + 1;
    r.anonymousCount.set(url, n);
    base = `${url}#anonymous${n}`;
  }
  let key = base;
  for (let i = 2; r.byKey.has(key) && r.byKey.get(key) !== f; i++) key = `${base}#${i}`;
  r.byKey.set(key, f);
  const known = r.keyOf.get(f);
  if (known) return known;
  r.keyOf.set(f, key);
  return key;
}

export function keyOf(f: Function): ClassKey | undefined {
  return shared().keyOf.get(f);
}

export function lookup(key: ClassKey): Function | undefined {
  return shared().byKey.get(key);
}

/** The module URL part of a key. */
export function moduleOfKey(key: ClassKey): string {
  return key.slice(0, key.indexOf('#'));
}
