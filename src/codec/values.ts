// What crosses threads as a value (DESIGN.md section 5). Structured clone
// would silently change some values: an instance of a class loses its
// prototype, a URL becomes {}, a function or symbol fails with no path.
// One walk over an outgoing value (the arguments, or a result) handles
// them before serialization: functions become reactor callables, instances
// of classes registered with threadable(SomeClass) and thrown-style Error
// values become markers that the receiving thread turns back into their
// class, and everything else that would change is refused with a
// ValueNotCloneableError naming its path (`args[1].user.endpoint`).
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
import { isSharedArrayBuffer } from 'node:util/types';
import type { CallableTable } from './callables.js';
import { decodeThrow, encodeThrow, ValueNotCloneableError, type EncodedThrow } from '../errors/errors.js';
import { keyOf, lookup } from '../base/registry.js';
import { notPlainPrototype, refusal } from './refusals.js';

/** The key of every marker object: `{ [MARKER]: Marker }`. */
export const MARKER = '__reactorThreads';
const MAX_DEPTH = 64;

type Marker =
  | { k: 'callable'; target: readonly [number, number] }
  | { k: 'class'; key: string; props: Record<string, unknown> }
  | { k: 'error'; error: EncodedThrow }
  // A SharedArrayBuffer, or a view of one (its type, byte offset, length), by index among the value's shared memory.
  | { k: 'shared'; i: number; view?: readonly [string, number, number] };

/** Built-ins that structured clone copies faithfully, as they are (Maps and Sets are walked). */
const faithful: Function[] = [Date, RegExp, Boolean, Number, String];
const faithfulNames = new Set(['BigInt']);

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

/** One walk's state. */
interface Walk extends Outbound {
  /** The objects on the path from the root: a cycle ends the descent there. */
  readonly seen: Set<object>;
  /** Flattened instances and their copies, so that one met twice (shared, or in a cycle) stays one object. */
  flattened: Map<object, Record<string, unknown>> | undefined;
  /** Shared memory and views of it, and their markers: one met twice stays one object on arrival. */
  sharedMarks: Map<object, Record<string, Marker>> | undefined;
}

/**
 * The value as it should be serialized, or `value` itself when nothing
 * needed changing. Throws a ValueNotCloneableError naming the path of the
 * first value that cannot cross faithfully.
 */
export function prepareOutbound(value: unknown, path: string, out: Outbound): unknown {
  return walk(value, path, 0, {
    callables: out.callables, handles: out.handles, flatten: out.flatten, buffers: out.buffers, shared: out.shared,
    seen: new Set(), flattened: undefined, sharedMarks: undefined,
  });
}

function mark(m: Marker): Record<string, Marker> {
  return { [MARKER]: m };
}

/** The built-in view types, by name: how a view of shared memory is made again on arrival. */
const viewTypes = new Map<string, new (b: SharedArrayBuffer, offset: number, length: number) => ArrayBufferView>([
  // (A Buffer stays a Buffer, as Node's deserializer makes it.)
  ['Buffer', function SharedBuffer(b: SharedArrayBuffer, offset: number, length: number) {
    return Buffer.from(b, offset, length);
  } as unknown as new (b: SharedArrayBuffer, offset: number, length: number) => ArrayBufferView],
  ['Int8Array', Int8Array], ['Uint8Array', Uint8Array], ['Uint8ClampedArray', Uint8ClampedArray],
  ['Int16Array', Int16Array], ['Uint16Array', Uint16Array], ['Int32Array', Int32Array], ['Uint32Array', Uint32Array],
  ['Float32Array', Float32Array], ['Float64Array', Float64Array], ['BigInt64Array', BigInt64Array],
  ['BigUint64Array', BigUint64Array], ['DataView', DataView],
]);

/** The name of the built-in view type `view` is (a subclass is its built-in), as structured clone would see it. */
function viewTypeOf(view: ArrayBufferView): string {
  if (Buffer.isBuffer(view)) return 'Buffer';
  for (let p = Object.getPrototypeOf(view) as { constructor?: { name?: string } } | null; p; p = Object.getPrototypeOf(p)) {
    const name = p.constructor?.name;
    if (name !== undefined && viewTypes.has(name)) return name;
  }
  return 'Uint8Array';
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
  const known = w.sharedMarks?.get(v);
  if (known) return known;
  const sab = (ArrayBuffer.isView(v) ? v.buffer : v) as SharedArrayBuffer;
  let i = w.shared.indexOf(sab);
  if (i < 0) i = w.shared.push(sab) - 1;
  let marker: Record<string, Marker>;
  if (!ArrayBuffer.isView(v)) {
    marker = mark({ k: 'shared', i });
  } else {
    const type = viewTypeOf(v);
    const per = type === 'DataView' || type === 'Buffer' ? 1 : (v as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    marker = mark({ k: 'shared', i, view: [type, v.byteOffset, v.byteLength / per] });
  }
  // (One marker object for it: v8 writes it once, and revive() makes one view of it.)
  (w.sharedMarks ??= new Map()).set(v, marker);
  return marker;
}

function walk(v: unknown, path: string, depth: number, w: Walk): unknown {
  if (typeof v === 'function') {
    if (!w.callables) {
      throw new ValueNotCloneableError(path, new TypeError(
        'a function cannot cross to another machine: pass data, and call a function the worker can import'));
    }
    const target = w.callables.export(v, w.handles);
    if (!target) {
      throw new ValueNotCloneableError(path, new TypeError(
        'a function crosses only as a reactor callable passed to a task (keep it with reactor.keepCallable() to return it)'));
    }
    return mark({ k: 'callable', target });
  }
  if (typeof v === 'symbol') throw new ValueNotCloneableError(path, new TypeError('a symbol cannot be copied to another thread'));
  const { seen } = w;
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH || seen.has(v)) return v;
  if (Array.isArray(v)) {
    seen.add(v);
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const y = walk(v[i], `${path}[${i}]`, depth + 1, w);
      if (!Object.is(y, v[i])) (copy ??= v.slice())[i] = y;
    }
    seen.delete(v);
    return copy ?? v;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Object.prototype || proto === null) {
    seen.add(v);
    let copy: Record<string, unknown> | undefined;
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      const y = walk(x, `${path}.${k}`, depth + 1, w);
      if (!Object.is(y, x)) (copy ??= { ...(v as Record<string, unknown>) })[k] = y;
    }
    seen.delete(v);
    return copy ?? v;
  }
  if (v instanceof Map) return walkMap(v, path, depth, w);
  if (v instanceof Set) return walkSet(v, path, depth, w);
  if (isSharedArrayBuffer(v) || (ArrayBuffer.isView(v) && isSharedArrayBuffer(v.buffer))) return markShared(v, path, w);
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    w.buffers?.push(v);
    return v;
  }
  if (faithful.some((C) => v instanceof C) || faithfulNames.has(proto.constructor?.name ?? '')) return v;
  if (v instanceof Error) return mark({ k: 'error', error: encodeThrow(v) });
  const key = typeof proto.constructor === 'function' ? keyOf(proto.constructor) : undefined;
  if (key) {
    seen.add(v);
    const props: Record<string, unknown> = {};
    for (const k of Object.keys(v)) props[k] = walk((v as Record<string, unknown>)[k], `${path}.${k}`, depth + 1, w);
    seen.delete(v);
    return mark({ k: 'class', key, props });
  }
  const copy = w.flatten ? flatten(v, proto, path, depth, w) : undefined;
  if (copy) return copy;
  throw new ValueNotCloneableError(path, new TypeError(refusal(v, proto, w.flatten)));
}

/**
 * flattenInstances: `v`'s own properties, walked, in a plain object
 * (what structured clone would make of it, with the walk's changes), or
 * undefined when `v` is not plain data (refusals.ts says why).
 * Flattening an AST visits every node: this is its hot path.
 */
function flatten(v: object, proto: object, path: string, depth: number, w: Walk): Record<string, unknown> | undefined {
  const done = w.flattened?.get(v);
  if (done) return done;
  if (notPlainPrototype(proto)) return undefined;
  const keys = Object.keys(v);
  // Fewer enumerable keys than own ones: a symbol-keyed or hidden property.
  if (Reflect.ownKeys(v).length !== keys.length) return undefined;
  const copy: Record<string, unknown> = {};
  // (Recorded first: a cycle back to `v` finds the copy, not the instance.)
  (w.flattened ??= new Map()).set(v, copy);
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    if (!('value' in d)) {
      w.flattened.delete(v);
      return undefined;
    }
    const y = walk(d.value, `${path}.${k}`, depth + 1, w);
    // (An own `__proto__` is data here; assigning it would set the copy's prototype.)
    if (k === '__proto__') Object.defineProperty(copy, k, { value: y, enumerable: true, writable: true, configurable: true });
    else copy[k] = y;
  }
  return copy;
}

/** The path of a Map's value: `.get(key)` for a short primitive key, else by position. */
function mapValuePath(key: unknown, i: number): string {
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
function walkMap(m: Map<unknown, unknown>, path: string, depth: number, w: Walk): Map<unknown, unknown> {
  w.seen.add(m);
  let copy: Map<unknown, unknown> | undefined;
  let i = 0;
  for (const [k, x] of m) {
    const k2 = walk(k, `${path}.keys()[${i}]`, depth + 1, w);
    const x2 = walk(x, `${path}${mapValuePath(k, i)}`, depth + 1, w);
    if (!copy && (!Object.is(k2, k) || !Object.is(x2, x))) {
      copy = new Map();
      let j = 0;
      for (const [pk, px] of m) { if (j++ === i) break; copy.set(pk, px); }
    }
    copy?.set(k2, x2);
    i++;
  }
  w.seen.delete(m);
  return copy ?? m;
}

/** As walk() for a Set: its members. A copy when any changed, in the same order. */
function walkSet(set: Set<unknown>, path: string, depth: number, w: Walk): Set<unknown> {
  w.seen.add(set);
  let copy: Set<unknown> | undefined;
  let i = 0;
  for (const x of set) {
    const y = walk(x, `${path}.values()[${i}]`, depth + 1, w);
    if (!copy && !Object.is(y, x)) {
      copy = new Set();
      let j = 0;
      for (const p of set) { if (j++ === i) break; copy.add(p); }
    }
    copy?.add(y);
    i++;
  }
  w.seen.delete(set);
  return copy ?? set;
}

/** How markers come back to life in one value. */
interface Revival {
  /** Builds a callable's proxy. */
  makeProxy(target: readonly [number, number]): Function;
  /** The buffers that came with the value; its shared memory among them (by a marker's index). */
  readonly buffers: readonly unknown[] | undefined;
  /** Shared memory markers already revived: one marker object met twice is one view. */
  readonly shared: Map<object, unknown>;
}

/**
 * On arrival: markers back into functions, class instances, errors and
 * shared memory. `makeProxy` builds callables; `buffers` came beside the
 * value (codec.ts decodeValue).
 */
export function reviveInbound(value: unknown, makeProxy: Revival['makeProxy'], buffers?: readonly unknown[]): unknown {
  return revive(value, 0, { makeProxy, buffers, shared: new Map() });
}

function reviveShared(m: { i: number; view?: readonly [string, number, number] }, buffers: Revival['buffers']): unknown {
  const sab = buffers?.[m.i];
  if (!isSharedArrayBuffer(sab)) throw new TypeError('reactor-threads: shared memory missing from a value that names it');
  if (!m.view) return sab;
  const [type, offset, length] = m.view;
  const View = viewTypes.get(type);
  if (!View) throw new TypeError(`reactor-threads: unknown view type ${type}`);
  return new View(sab, offset, length);
}

function revive(v: unknown, depth: number, r: Revival): unknown {
  if (typeof v !== 'object' || v === null || depth >= MAX_DEPTH) return v;
  if (Array.isArray(v)) {
    // (Holes stay holes: only elements that are there are revived.)
    for (let i = 0; i < v.length; i++) if (i in v) v[i] = revive(v[i], depth + 1, r);
    return v;
  }
  if (v instanceof Map) {
    const keys = [...v.keys()];
    const entries = [...v].map(([k, x]) => [revive(k, depth + 1, r), revive(x, depth + 1, r)] as const);
    // A revived key is a new object: rebuild the Map, in its order.
    if (entries.some(([k], i) => k !== keys[i])) v.clear();
    for (const [k, x] of entries) v.set(k, x);
    return v;
  }
  if (v instanceof Set) {
    const members = [...v];
    const revived = members.map((x) => revive(x, depth + 1, r));
    if (revived.some((x, i) => x !== members[i])) {
      v.clear();
      for (const x of revived) v.add(x);
    }
    return v;
  }
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto !== Object.prototype && proto !== null) return v;
  const m = (v as Record<string, unknown>)[MARKER] as Marker | undefined;
  if (m && typeof m === 'object' && 'k' in m) {
    if (m.k === 'callable') return r.makeProxy(m.target);
    if (m.k === 'error') return decodeThrow(m.error);
    if (m.k === 'shared') {
      let got = r.shared.get(v);
      if (got === undefined) r.shared.set(v, got = reviveShared(m, r.buffers));
      return got;
    }
    const cls = lookup(m.key);
    if (typeof cls !== 'function') {
      throw new ValueNotCloneableError(m.key.slice(m.key.indexOf('#') + 1), new TypeError(
        `its class ${m.key} is not registered in this thread: import the module that defines it in the task's module`));
    }
    const obj = Object.create(cls.prototype as object) as Record<string, unknown>;
    for (const [k, x] of Object.entries(m.props)) obj[k] = revive(x, depth + 1, r);
    return obj;
  }
  for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = revive((v as Record<string, unknown>)[k], depth + 1, r);
  return v;
}
