// What crosses threads as a value (DESIGN.md section 5). Structured clone
// would silently change some values: an instance of a class loses its
// prototype, a URL becomes {}, a function or symbol fails with no path.
// One walk over an outgoing value (the arguments, or a result) handles
// them before serialization: functions become reactor callables, instances
// of classes registered with threadable(SomeClass) and thrown-style Error
// values become markers that the receiving thread turns back into their
// class, a fromModule() reference (a plain object branded by a symbol-keyed
// property, which structured clone would drop) becomes a marker that the
// receiving thread makes again into a reference its reactor calls accept
// (to another machine it is refused), and everything else that would
// change is refused with a ValueNotCloneableError naming its path
// (`args[1].user.endpoint`): so is an array, plain object or registered
// class instance with any other own symbol-keyed property, an instance of
// a registered class that (or whose superclass) declares a private (#)
// instance member, which the instance made on arrival (its constructor
// not run) cannot have, and a Map, Set, Date, RegExp or boxed primitive
// with an own enumerable string-keyed property, which v8 writes without
// it. A typed array's or Buffer's own properties are not checked (they
// drop too): Object.keys would list each of its indices, millions for a
// buffer of megabytes; nor, as yet, an ArrayBuffer's or DataView's, or
// symbol-keyed ones on these built-ins.
// With flattenInstances (an opt-in, per pool and per call), an instance
// of an unregistered class made only of own data properties crosses as a
// plain object of them instead: built-ins whose state is not in their
// properties (a URL, a Promise, a WeakMap, a stream) are still refused.
// The walk enters arrays, plain objects, Maps and Sets. Inside a Map the
// path of a value is `.get(key)` when its key is a primitive (strings of
// up to 40 characters), else `.values()[i]`; of a key, `.keys()[i]`; of a
// Set member, `.values()[i]`, where i counts entries in iteration order:
// `args[0].get("home")`, `the result.tags.values()[1]`.
// Runs on every thread. Tests: test/values.ts.
import {
  isBigIntObject, isBooleanObject, isDate, isMap, isNumberObject, isRegExp, isSet, isSharedArrayBuffer, isStringObject,
} from 'node:util/types';
import type { CallableTable } from './callables.js';
import { decodeThrow, encodeThrow, ValueNotCloneableError, type EncodedThrow } from '../errors/errors.js';
import { keyOf, lookup } from '../base/registry.js';
import { moduleFunction, moduleReferenceOf, type ModuleReference } from '../identity/functions.js';
import {
  builtinOwnProperty, builtinSubclass, notPlainPrototype, privateMemberOf, privateMembers, refusal, reservedKey, symbolKeyed,
} from './refusals.js';
import { makeView, viewTypeIndex, viewTypeName, viewTypeNamed } from './view-types.js';

/** The key of every marker object: `{ [MARKER]: Marker }`. */
export const MARKER = '__reactorThreads';
/**
 * How deep the walk goes: what lies deeper crosses as v8.serialize takes
 * it, unchecked (a registered class's instance as a plain object). The
 * walk recurses, about half a KiB of stack a level before V8 compiles it:
 * a main thread's 1 MB stack held 1,000 levels but not 2,000 (a stack
 * that runs out still is a refusal: prepareOutbound). 64 dropped the class
 * of a registered AST node 64 levels down in silence (helper-128's fuzzing).
 */
export const WALK_MAX_DEPTH = 256;
const MAX_DEPTH = WALK_MAX_DEPTH;

type Marker =
  | { k: 'callable'; target: readonly [number, number] }
  | { k: 'class'; key: string; props: Record<string, unknown> }
  | { k: 'error'; error: EncodedThrow }
  | { k: 'module'; ref: ModuleReference }
  // A SharedArrayBuffer, or a view of one (its type's name, byte offset, byte length), by index among the value's shared memory.
  | { k: 'shared'; i: number; view?: readonly [string, number, number] }
  // A copied array (its items) and the properties beside them, walked: the
  // receiving side revives an array's items only, so these ride apart.
  | { k: 'array'; items: unknown[]; props: Record<string, unknown> };

/**
 * The built-in that structured clone copies faithfully, as it is, that `v`
 * is (Maps and Sets are walked): by its internal slot, as the serializer
 * tells them, not by its prototype chain (`Object.create(Date.prototype)`
 * is no Date, and arrived as {}) or its constructor's name (a class named
 * BigInt arrived as a plain object: helper-148).
 */
function faithfulBuiltin(v: object): Function | undefined {
  if (isDate(v)) return Date;
  if (isRegExp(v)) return RegExp;
  if (isNumberObject(v)) return Number;
  if (isStringObject(v)) return String;
  if (isBooleanObject(v)) return Boolean;
  if (isBigIntObject(v)) return BigInt;
  return undefined;
}

/** What the caller asks of an outgoing walk. */
export interface Outbound {
  /**
   * This thread's callables, by which functions cross; null where no
   * function can cross at all (to another machine: src/bullmq/).
   */
  callables: CallableTable | null;
  /** Handles of functions registered for this call (to release when it settles); null: refuse new ones. */
  handles: number[] | null;
  /** flattenInstances: instances of unregistered plain-data classes cross as plain objects. */
  flatten: boolean;
  /** Where the walk lists the ArrayBuffers and views it meets (for transfer(), src/codec/codec.ts); absent: not listed. */
  buffers?: unknown[];
  /**
   * Where shared memory goes when the value's trip can share it (a pool's
   * task and its result, which carry it by port, src/codec/codec.ts): the
   * value holds markers that name its index here. Absent: shared memory is
   * refused, since it would arrive as a copy.
   */
  shared?: SharedArrayBuffer[];
}

/**
 * What a container met by the walk became: OPEN while its contents are
 * being walked and nothing has asked for its copy yet.
 */
const OPEN: unique symbol = Symbol('open');

/** One walk's state. */
interface Walk extends Outbound {
  /**
   * Every container met so far and what it became: itself when nothing in
   * it changed, else its copy or marker. An object met twice (shared by two
   * parents, or in a cycle) is walked once and stays one object, and a
   * value that shares its parts (a DAG) costs its size, not its paths.
   * While a container is OPEN, a cycle back to it asks for its copy at once
   * (openCopy), so that the copy's cycle closes on the copy, not on the
   * original the serializer would see unchanged.
   */
  readonly met: Map<object, unknown>;
  /**
   * How many times the walk stopped at MAX_DEPTH (an object left as it
   * is, unwalked) or reused a result that had: a container whose walk
   * counted one is cut short, and is recorded in `cutAt`.
   */
  cut: number;
  /**
   * The containers whose walk MAX_DEPTH cut short, and the depth they were
   * walked at: met again nearer the top, one is walked again from there
   * (a new copy), so that what a path within the limit holds does not
   * depend on whether a deeper path met it first.
   */
  cutAt?: Map<object, number>;
  /** The path of the object the walk entered last: where a stack that ran out ran out. */
  at: string;
}
/**
 * The value as it should be serialized, or `value` itself when nothing
 * needed changing. Throws a ValueNotCloneableError naming the path of the
 * first value that cannot cross faithfully.
 */
export function prepareOutbound(value: unknown, path: string, out: Outbound): unknown {
  const w: Walk = {
    callables: out.callables, handles: out.handles, flatten: out.flatten, buffers: out.buffers, shared: out.shared,
    met: new Map(), cut: 0, at: path,
  };
  try {
    return walk(value, path, 0, w);
  } catch (e) {
    // (The stack ran out: a call made from deep in the caller's own stack,
    // or a getter of the value's that recurses: it is the cause.)
    if (!(e instanceof RangeError) || !/call stack/i.test(e.message)) throw e;
    throw new ValueNotCloneableError(w.at, new RangeError('the walk over it ran out of stack here: it is nested too deeply '
      + 'for this thread\'s stack (call with less of the stack in use, or send it flatter), or a getter of it recurses', { cause: e }));
  }
}

function mark(m: Marker): Record<string, Marker> {
  return { [MARKER]: m };
}

/** Shared memory: a marker naming it among the value's shared memory, or refused where it cannot be shared. */
function markShared(v: SharedArrayBuffer | ArrayBufferView, path: string, w: Walk): Record<string, Marker> {
  if (!w.shared) {
    // v8.serialize refuses a SharedArrayBuffer and copies a view's
    // contents: the receiver would write to memory nobody else sees.
    throw new ValueNotCloneableError(path, new TypeError(w.callables
      ? 'shared memory (a SharedArrayBuffer, or a view of one) would arrive as a copy, not shared: a blocking call or a '
        + 'call to the reactor cannot share it (a ThreadPool task can); send its contents in an ArrayBuffer instead'
      : 'shared memory (a SharedArrayBuffer, or a view of one) cannot be shared with another machine: send its contents '
        + 'in an ArrayBuffer instead'));
  }
  const sab = (ArrayBuffer.isView(v) ? v.buffer : v) as SharedArrayBuffer;
  let i = w.shared.indexOf(sab);
  if (i < 0) i = w.shared.push(sab) - 1;
  const marker = ArrayBuffer.isView(v)
    ? mark({ k: 'shared', i, view: [viewTypeName(viewTypeIndex(v))!, v.byteOffset, v.byteLength] })
    : mark({ k: 'shared', i });
  // (One marker object for it: v8 writes it once, and revive() makes one view of it.)
  w.met.set(v, marker);
  return marker;
}

function walk(v: unknown, path: string, depth: number, w: Walk): unknown {
  // (A function too: made a marker here, it arrived as the marker itself,
  // since the receiving side revives nothing this deep; left as it is, the
  // serializer refuses it, as one level deeper: helper-148.)
  if (depth >= MAX_DEPTH && (typeof v === 'function' || (typeof v === 'object' && v !== null))) {
    w.cut++;
    return v;
  }
  if (typeof v === 'function') {
    if (!w.callables) {
      throw new ValueNotCloneableError(path, new TypeError(
        'a function cannot cross to another machine: pass data, and call a function the worker can import'));
    }
    // (One marker for a function met twice: the receiver revives it as one proxy.)
    const known = w.met.get(v);
    if (known !== undefined) return known;
    const target = w.callables.export(v, w.handles);
    if (!target) {
      throw new ValueNotCloneableError(path, new TypeError(
        'a function crosses only as a reactor callable passed to a task (keep it with reactor.keepCallable() to return it)'));
    }
    const marker = mark({ k: 'callable', target });
    w.met.set(v, marker);
    return marker;
  }
  if (typeof v === 'symbol') throw new ValueNotCloneableError(path, new TypeError('a symbol cannot be copied to another thread'));
  if (typeof v !== 'object' || v === null) return v;
  const known = w.met.get(v);
  if (known !== undefined) {
    if (known === OPEN) return openCopy(v, w);
    const at = w.cutAt?.get(v);
    if (at === undefined) return known;
    if (depth >= at) {
      w.cut++;
      return known;
    }
    // Walked deeper than here, and cut short: walked again from here.
  }
  const cut = w.cut;
  const result = walkObject(v, path, depth, w);
  if (w.cut !== cut) (w.cutAt ??= new Map()).set(v, depth);
  else w.cutAt?.delete(v);
  return result;
}

/**
 * The first own enumerable symbol-keyed property of `v`, which structured
 * clone would drop: it is refused, as a value that would change in
 * silence. (A non-enumerable one is left to drop, as a non-enumerable
 * string-keyed one is: a library's bookkeeping, MobX's say, not data.)
 * Every array and plain object is asked: no cheaper question tells an
 * object without one. It costs about 35 ns an object: a small plain
 * object's walk took 90 ns before, 128 with it.
 */
function enumerableSymbol(v: object): symbol | undefined {
  const symbols = Object.getOwnPropertySymbols(v);
  if (symbols.length === 0) return undefined;
  return symbols.find((s) => Object.prototype.propertyIsEnumerable.call(v, s));
}

/**
 * Refuses an instance (of prototype `proto`) of a subclass of the built-in
 * `base`, which would arrive as a plain `base`, its class lost.
 */
function refuseSubclass(proto: object, base: string, path: string, ownKeys?: string[]): never {
  let name: unknown;
  // (A getter of the prototype's may throw: the refusal stands, unnamed.)
  try { name = (proto as { constructor?: { name?: unknown } }).constructor?.name; } catch { /* unnamed */ }
  throw new ValueNotCloneableError(path, new TypeError(builtinSubclass(typeof name === 'string' && name ? name : 'an anonymous class', base, ownKeys)));
}

/**
 * The own enumerable string-keyed properties of `v`, a Map, Set, Date,
 * RegExp or boxed primitive, which v8 writes without them (an array keeps
 * them). A String's index keys are its characters, not properties: they
 * come first, one per character. Object.keys is cheap here: these have no
 * indexed elements (a typed array's would list every index: unchecked).
 */
function droppedKeys(v: object): string[] {
  const keys = Object.keys(v);
  return isStringObject(v) ? keys.slice(String.prototype.valueOf.call(v).length) : keys;
}

/**
 * A Map, Set, Date, RegExp or boxed primitive (`base`), whose own
 * properties v8 drops: refused if it has one. A subclass's instance is
 * refused, or with flattenInstances sent as the plain built-in, and so
 * refused if it has one too.
 */
function refuseBuiltinLosses(v: object, proto: object, base: Function, path: string, w: Walk): void {
  const subclass = proto !== base.prototype;
  if (subclass && !w.flatten) refuseSubclass(proto, base.name, path);
  const own = droppedKeys(v);
  if (own.length === 0) return;
  if (subclass) refuseSubclass(proto, base.name, path, own);
  throw new ValueNotCloneableError(path, new TypeError(builtinOwnProperty(base.name, own[0]!)));
}

function refuseSymbolKeys(v: object, path: string): void {
  const symbol = enumerableSymbol(v);
  if (symbol !== undefined) throw new ValueNotCloneableError(path, new TypeError(symbolKeyed(symbol)));
}

function refusePrivateMembers(C: Function, path: string): void {
  const found = privateMemberOf(C);
  if (found) throw new ValueNotCloneableError(path, new TypeError(privateMembers(C, found)));
}

/**
 * A fromModule() reference becomes a marker (one per reference, met twice
 * or not); to another machine it is refused.
 */
function markModuleReference(v: object, ref: ModuleReference, path: string, w: Walk): Record<string, Marker> {
  if (!w.callables) {
    throw new ValueNotCloneableError(path, new TypeError('a fromModule() reference cannot cross to another machine: '
      + 'pass its specifier and export name, and call fromModule() with them there'));
  }
  const marker = mark({ k: 'module', ref });
  w.met.set(v, marker);
  return marker;
}

/** walk() for an object not met yet (or met deeper, where MAX_DEPTH cut its walk short). */
function walkObject(v: object, path: string, depth: number, w: Walk): unknown {
  const { met } = w;
  w.at = path;
  if (Array.isArray(v)) {
    // (Every realm's Array.prototype is an array; a subclass's prototype is
    // not. One set to null or Object.prototype holds no class to lose.)
    if (!w.flatten) {
      const proto = Object.getPrototypeOf(v) as object | null;
      if (proto !== null && proto !== Object.prototype && !Array.isArray(proto)) refuseSubclass(proto, 'Array', path);
    }
    refuseSymbolKeys(v, path);
    met.set(v, OPEN);
    for (let i = 0; i < v.length; i++) {
      const y = walk(v[i], `${path}[${i}]`, depth + 1, w);
      if (!Object.is(y, v[i])) (copyOf(v, w) as unknown[])[i] = y;
    }
    const copy = met.get(v);
    const props = copy === OPEN ? undefined : walkBesideItems(v, path, depth, w);
    // (Recorded as the marker: met later, the array is the marker again; a
    // cycle met while it was walked holds its items, which the marker's
    // revival gives these properties: one array on arrival.)
    if (props) met.set(v, mark({ k: 'array', items: copy as unknown[], props }));
    return closed(v, w);
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Object.prototype || proto === null) {
    const ref = moduleReferenceOf(v);
    if (ref) return markModuleReference(v, ref, path, w);
    refuseSymbolKeys(v, path);
    // A marker's key is the walk's own: the receiving side would revive a
    // look-alike, a callable or a module reference that its sender, a job's
    // payload say, chose (helper-123's review).
    if (Object.hasOwn(v, MARKER)) throw new ValueNotCloneableError(path, new TypeError(reservedKey(MARKER)));
    met.set(v, OPEN);
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      const y = walk(x, `${path}.${k}`, depth + 1, w);
      if (!Object.is(y, x)) setOwn(copyOf(v, w) as Record<string, unknown>, k, y);
    }
    return closed(v, w);
  }
  if (isMap(v)) {
    refuseBuiltinLosses(v, proto, Map, path, w);
    return walkMap(v, path, depth, w);
  }
  if (isSet(v)) {
    refuseBuiltinLosses(v, proto, Set, path, w);
    return walkSet(v, path, depth, w);
  }
  if (isSharedArrayBuffer(v) || (ArrayBuffer.isView(v) && isSharedArrayBuffer(v.buffer))) return markShared(v, path, w);
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    w.buffers?.push(v);
    return v;
  }
  const builtin = faithfulBuiltin(v);
  if (builtin) {
    refuseBuiltinLosses(v, proto, builtin, path, w);
    return v;
  }
  if (v instanceof Error) {
    const marker = mark({ k: 'error', error: encodeThrow(v) });
    met.set(v, marker);
    return marker;
  }
  const key = typeof proto.constructor === 'function' ? keyOf(proto.constructor) : undefined;
  if (key) {
    // (Its class's constructor does not run on arrival: a private member or symbol-keyed property would be missing.)
    refusePrivateMembers(proto.constructor, path);
    refuseSymbolKeys(v, path);
    const props: Record<string, unknown> = {};
    // (Recorded first: a cycle back to `v` finds its marker.)
    met.set(v, mark({ k: 'class', key, props }));
    for (const k of Object.keys(v)) setOwn(props, k, walk((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1, w));
    return met.get(v);
  }
  const copy = w.flatten ? flatten(v, proto, path, depth, w) : undefined;
  if (copy) return copy;
  throw new ValueNotCloneableError(path, new TypeError(refusal(v, proto, w.flatten)));
}

/**
 * The copy of an open array or plain object, made at its first changed
 * member (copy on write) or when a cycle reaches it: from then on its
 * members are set there.
 */
function copyOf(v: unknown[] | object, w: Walk): unknown {
  const known = w.met.get(v);
  if (known !== OPEN) return known;
  const copy = Array.isArray(v) ? copyArray(v) : { ...v };
  w.met.set(v, copy);
  return copy;
}

/**
 * An array's copy: its items, holes kept (not by slice(), which is no
 * method of an array whose prototype is null, and which runs an own
 * `constructor`'s species: helper-148, helper-151). What stands beside
 * them is walkBesideItems'.
 */
function copyArray(v: unknown[]): unknown[] {
  const copy = new Array<unknown>(v.length);
  for (let i = 0; i < v.length; i++) if (i in v) copy[i] = v[i];
  return copy;
}

/**
 * The properties beside an array's items (`a.extra`), walked, for its
 * copy's marker (undefined: it has none): v8 writes them for an array left
 * as it is, so a copied one must carry them too, walked as its items are
 * (raw, they lost their classes, and a cycle through them reached the
 * original: helper-151; set on the copy, their markers arrived as they
 * are, since the receiving side revives an array's items only:
 * helper-153). Object.keys lists every index first, a string each, so it
 * is read only where a copy was made anyway: beside an array left as it
 * is, they are not checked (README, What crosses).
 */
function walkBesideItems(v: unknown[], path: string, depth: number, w: Walk): Record<string, unknown> | undefined {
  const keys = Object.keys(v);
  let first = keys.length;
  while (first > 0 && !isArrayIndex(keys[first - 1]!)) first--;
  if (first === keys.length) return undefined;
  const props: Record<string, unknown> = {};
  for (let i = first; i < keys.length; i++) {
    const k = keys[i]!;
    setOwn(props, k, walk((v as unknown as Record<string, unknown>)[k], `${path}.${k}`, depth + 1, w));
  }
  return props;
}

/** Whether `k` names an array's item: a canonical integer below 2^32 - 1. */
function isArrayIndex(k: string): boolean {
  const n = Number(k);
  return Number.isInteger(n) && n >= 0 && n < 4294967295 && String(n) === k;
}

/**
 * A cycle has reached `v`, still open: what stands for it. An array or a
 * plain object is copied now; a Map or Set gets an empty one, which
 * walkMap and walkSet fill when they close it.
 */
function openCopy(v: object, w: Walk): unknown {
  if (isMap(v) || isSet(v)) {
    const empty = isMap(v) ? new Map() : new Set();
    w.met.set(v, empty);
    return empty;
  }
  return copyOf(v, w);
}

/** Closes a walked array or plain object: what it became (itself when nothing changed). */
function closed(v: object, w: Walk): unknown {
  const known = w.met.get(v);
  if (known !== OPEN) return known;
  w.met.set(v, v);
  return v;
}

/**
 * flattenInstances: `v`'s own properties, walked, in a plain object
 * (what structured clone would make of it, with the walk's changes), or
 * undefined when `v` is not plain data (refusals.ts says why).
 * Flattening an AST visits every node: this is its hot path.
 */
function flatten(v: object, proto: object, path: string, depth: number, w: Walk): Record<string, unknown> | undefined {
  if (notPlainPrototype(proto)) return undefined;
  // (Its copy is a plain object: with the marker's key, the receiving side
  // revived it as whatever marker it held, an Error or a module reference
  // its sender chose: helper-148.)
  if (Object.hasOwn(v, MARKER)) throw new ValueNotCloneableError(path, new TypeError(reservedKey(MARKER)));
  const keys = Object.keys(v);
  // Fewer enumerable keys than own ones: a symbol-keyed or hidden property.
  if (Reflect.ownKeys(v).length !== keys.length) return undefined;
  const copy: Record<string, unknown> = {};
  // (Recorded first: a cycle back to `v` finds the copy, not the instance.)
  w.met.set(v, copy);
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    if (!('value' in d)) {
      w.met.delete(v);
      return undefined;
    }
    setOwn(copy, k, walk(d.value, `${path}.${k}`, depth + 1, w));
  }
  return copy;
}

/** Sets an own data property; an own `__proto__` is data here, which assigning it would not be. */
function setOwn(o: Record<string, unknown>, k: string, value: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  else o[k] = value;
}

/** The path of a Map's value: `.get(key)` for a short primitive key, else by position. */
/** The path, after its Map's, of the value of the Map's `i`th entry, keyed `key` (see above). */
export function mapValuePath(key: unknown, i: number): string {
  switch (typeof key) {
    case 'string': if (key.length <= 40) return `.get(${JSON.stringify(key)})`; break;
    case 'number': return `.get(${Object.is(key, -0) ? '-0' : String(key)})`;
    case 'boolean': case 'undefined': return `.get(${String(key)})`;
    case 'bigint': return `.get(${key}n)`;
    case 'object': if (key === null) return '.get(null)'; break;
  }
  return `.values()[${i}]`;
}

/** As walk() for a Map: its keys and values. A copy when any changed, in the same order. */
function walkMap(m: Map<unknown, unknown>, path: string, depth: number, w: Walk): unknown {
  w.met.set(m, OPEN);
  const entries: [unknown, unknown][] = [];
  let changed = false;
  let i = 0;
  // (The built-in's entries, as v8 writes them: not a subclass's own, nor
  // none for one whose prototype was set to null, under flattenInstances.)
  for (const [k, x] of Map.prototype.entries.call(m)) {
    const k2 = walk(k, `${path}.keys()[${i}]`, depth + 1, w);
    const x2 = walk(x, `${path}${mapValuePath(k, i)}`, depth + 1, w);
    if (!Object.is(k2, k) || !Object.is(x2, x)) changed = true;
    entries.push([k2, x2]);
    i++;
  }
  const copy = w.met.get(m) as Map<unknown, unknown> | typeof OPEN;
  if (copy !== OPEN) {
    for (const [k, x] of entries) copy.set(k, x);
    return copy;
  }
  const result = changed ? new Map(entries) : m;
  w.met.set(m, result);
  return result;
}

/** As walk() for a Set: its members. A copy when any changed, in the same order. */
function walkSet(set: Set<unknown>, path: string, depth: number, w: Walk): unknown {
  w.met.set(set, OPEN);
  const members: unknown[] = [];
  let changed = false;
  let i = 0;
  for (const x of Set.prototype.values.call(set)) {
    const y = walk(x, `${path}.values()[${i}]`, depth + 1, w);
    if (!Object.is(y, x)) changed = true;
    members.push(y);
    i++;
  }
  const copy = w.met.get(set) as Set<unknown> | typeof OPEN;
  if (copy !== OPEN) {
    for (const x of members) copy.add(x);
    return copy;
  }
  const result = changed ? new Set(members) : set;
  w.met.set(set, result);
  return result;
}

/** How markers come back to life in one value. */
interface Revival {
  /** Builds a callable's proxy. */
  makeProxy(target: readonly [number, number]): Function;
  /** Makes a fromModule() reference again. */
  makeReference(ref: ModuleReference): unknown;
  /** The buffers that came with the value; its shared memory among them (by a marker's index). */
  readonly buffers: readonly unknown[] | undefined;
  /**
   * Every object met so far and what it became: a marker met twice (shared,
   * or in a cycle) is one object on arrival, and a value that shares its
   * parts is revived once per part. Containers are revived in place.
   */
  readonly met: Map<object, unknown>;
  /** More items than any array of the value can hold (see presentIndices). */
  readonly maxItems: number;
}

/**
 * The indices of `a`'s items, holes skipped. An array longer than
 * `maxItems` (what the bytes it came in could hold) is sparse: its items
 * are found by Object.keys, not by counting to its length, which a job of
 * another machine's chose (2 ** 32 - 1 in 30 bytes held a worker's thread
 * for minutes: helper-154).
 */
export function presentIndices(a: readonly unknown[], maxItems: number): Iterable<number> {
  if (a.length <= maxItems) return denseIndices(a);
  return Object.keys(a).filter(isArrayIndex).map(Number);
}

function* denseIndices(a: readonly unknown[]): Iterable<number> {
  for (let i = 0; i < a.length; i++) if (i in a) yield i;
}

/**
 * On arrival: markers back into functions, class instances, errors,
 * fromModule() references and shared memory. `makeProxy` builds
 * callables; `buffers` came beside the value (codec.ts decodeValue);
 * `makeReference` makes a fromModule() reference again (a value from
 * another machine, which must not name code to import, refuses one).
 */
export function reviveInbound(value: unknown, makeProxy: Revival['makeProxy'], buffers?: readonly unknown[],
  makeReference: Revival['makeReference'] = moduleFunction, maxItems = Infinity): unknown {
  return revive(value, 0, { makeProxy, makeReference, buffers, met: new Map(), maxItems });
}

function reviveShared(m: { i: number; view?: readonly [string, number, number] }, buffers: Revival['buffers']): unknown {
  const sab = buffers?.[m.i];
  if (!isSharedArrayBuffer(sab)) throw new TypeError('reactor-threads: shared memory missing from a value that names it');
  if (!m.view) return sab;
  const [type, offset, bytes] = m.view;
  const index = viewTypeNamed(type);
  if (index < 0) throw new TypeError(`reactor-threads: unknown view type ${type}`);
  return makeView(index, sab, offset, bytes);
}

function revive(v: unknown, depth: number, r: Revival): unknown {
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH) return v;
  const known = r.met.get(v);
  if (known !== undefined) return known;
  const proto = Object.getPrototypeOf(v) as object | null;
  const m = proto === Object.prototype || proto === null ? (v as Record<string, unknown>)[MARKER] as Marker | undefined : undefined;
  if (m && typeof m === 'object' && 'k' in m) return reviveMarker(v, m, depth, r);
  // (In place: a cycle back to `v` is already what it will be.)
  r.met.set(v, v);
  if (Array.isArray(v)) {
    // (Holes stay holes: only elements that are there are revived.)
    if (v.length <= r.maxItems) {
      for (let i = 0; i < v.length; i++) if (i in v) v[i] = revive(v[i], depth + 1, r);
    } else {
      for (const i of presentIndices(v, r.maxItems)) v[i] = revive(v[i], depth + 1, r);
    }
  } else if (v instanceof Map) {
    const keys = [...v.keys()];
    const entries = [...v].map(([k, x]) => [revive(k, depth + 1, r), revive(x, depth + 1, r)] as const);
    // A revived key is a new object: rebuild the Map, in its order.
    if (entries.some(([k], i) => k !== keys[i])) v.clear();
    for (const [k, x] of entries) v.set(k, x);
  } else if (v instanceof Set) {
    const members = [...v];
    const revived = members.map((x) => revive(x, depth + 1, r));
    if (revived.some((x, i) => x !== members[i])) {
      v.clear();
      for (const x of revived) v.add(x);
    }
  } else if (proto === Object.prototype || proto === null) {
    for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = revive((v as Record<string, unknown>)[k], depth + 1, r);
  }
  return v;
}

/**
 * An array that crossed as a copy with properties beside its items: its
 * items, revived in place (unless a cycle met them first), given those
 * properties. Both the marker and the items are that one array. Its items
 * and properties are revived at the depth the walk gave them.
 */
function reviveArray(v: object, m: { items: unknown[]; props: Record<string, unknown> }, depth: number, r: Revival): unknown[] {
  const { items, props } = m;
  // (A job of another machine's is anyone's bytes.)
  if (!Array.isArray(items) || typeof props !== 'object' || props === null) {
    throw new TypeError('reactor-threads: a malformed array marker');
  }
  r.met.set(v, items);
  if (!r.met.has(items)) {
    r.met.set(items, items);
    for (const i of presentIndices(items, r.maxItems)) items[i] = revive(items[i], depth + 1, r);
  }
  for (const k of Object.keys(props)) setOwn(items as unknown as Record<string, unknown>, k, revive(props[k], depth + 1, r));
  return items;
}

/** What marker `v` (whose content is `m`) stands for. */
function reviveMarker(v: object, m: Marker, depth: number, r: Revival): unknown {
  let got: unknown;
  if (m.k === 'callable') got = r.makeProxy(m.target);
  else if (m.k === 'error') got = decodeThrow(m.error);
  else if (m.k === 'module') got = r.makeReference(m.ref);
  else if (m.k === 'shared') got = reviveShared(m, r.buffers);
  else if (m.k === 'array') return reviveArray(v, m, depth, r);
  else {
    const cls = lookup(m.key);
    if (typeof cls !== 'function') {
      throw new ValueNotCloneableError(m.key.slice(m.key.indexOf('#') + 1), new TypeError(
        `its class ${m.key} is not registered in this thread: import the module that defines it in the task's module`));
    }
    const obj = Object.create(cls.prototype as object) as Record<string, unknown>;
    // (Recorded first: a cycle back through the instance finds it.)
    r.met.set(v, obj);
    for (const [k, x] of Object.entries(m.props)) setOwn(obj, k, revive(x, depth + 1, r));
    return obj;
  }
  r.met.set(v, got);
  return got;
}
